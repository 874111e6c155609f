// ContextParams.java: the parameters of a Context (lola_context_params), built with a Builder.
package org.lola;

import org.lola.swig.lola_context_params;

/**
 * Immutable parameters of a {@link Context}: every field of lola_context_params. Fields left
 * unset keep liblola's defaults (lola_context_params_init), so a newer liblola's defaults apply.
 */
public final class ContextParams {
    private final Builder b;

    private ContextParams(Builder b) {
        this.b = b.copy();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** liblola's defaults. */
    public static ContextParams defaults() {
        return builder().build();
    }

    /** A native struct with liblola's defaults and the fields set here (the caller deletes it). */
    lola_context_params toNative() {
        lola_context_params p = new lola_context_params();
        if (b.nThreads != null) p.setN_threads(b.nThreads);
        if (b.batchSize != null) p.setBatch_size(b.batchSize);
        if (b.attention != null) p.setAttention(b.attention.code);
        if (b.chunkSize != null) p.setChunk_size(b.chunkSize);
        if (b.sparseCapacity != null) p.setSparse_capacity(b.sparseCapacity);
        if (b.featureMap != null) p.setFeature_map(b.featureMap.code);
        if (b.featureDim != null) p.setFeature_dim(b.featureDim);
        if (b.mixing != null) p.setMixing(b.mixing.code);
        if (b.scoring != null) p.setScoring(b.scoring.code);
        if (b.seed != null) p.setSeed(b.seed);
        if (b.eps != null) p.setEps(b.eps);
        if (b.performerOrthogonal != null) p.setPerformer_orthogonal(b.performerOrthogonal ? 1 : 0);
        if (b.gateLogit != null) p.setGate_logit(b.gateLogit);
        return p;
    }

    public static final class Builder {
        private Integer nThreads, batchSize, chunkSize, sparseCapacity, featureDim;
        private Attention attention;
        private FeatureMap featureMap;
        private Mixing mixing;
        private Scoring scoring;
        private Long seed;
        private Float eps, gateLogit;
        private Boolean performerOrthogonal;

        private Builder() {}

        private Builder copy() {
            Builder c = new Builder();
            c.nThreads = nThreads;
            c.batchSize = batchSize;
            c.chunkSize = chunkSize;
            c.sparseCapacity = sparseCapacity;
            c.featureDim = featureDim;
            c.attention = attention;
            c.featureMap = featureMap;
            c.mixing = mixing;
            c.scoring = scoring;
            c.seed = seed;
            c.eps = eps;
            c.gateLogit = gateLogit;
            c.performerOrthogonal = performerOrthogonal;
            return c;
        }

        /** Worker threads of this context (default 1). */
        public Builder nThreads(int n) { nThreads = n; return this; }
        /** Tokens per forward step in a prefill (default 64). */
        public Builder batchSize(int n) { batchSize = n; return this; }
        /** LoLA (default), FULL (exact softmax baseline) or WINDOW. */
        public Builder attention(Attention a) { attention = a; return this; }
        /** C, the chunk and window unit (default 64). */
        public Builder chunkSize(int c) { chunkSize = c; return this; }
        /** lambda, sparse cache entries per head (default 64). */
        public Builder sparseCapacity(int n) { sparseCapacity = n; return this; }
        /** AUTO (default: hedgehog when the model has LoLA tensors, else performer) or a map. */
        public Builder featureMap(FeatureMap f) { featureMap = f; return this; }
        /** F; 0 = the map's default. */
        public Builder featureDim(int f) { featureDim = f; return this; }
        public Builder mixing(Mixing m) { mixing = m; return this; }
        public Builder scoring(Scoring s) { scoring = s; return this; }
        /** Seeds the performer projections (layer l uses seed + l) and random scoring. */
        public Builder seed(long s) { seed = s; return this; }
        public Builder eps(float e) { eps = e; return this; }
        public Builder performerOrthogonal(boolean o) { performerOrthogonal = o; return this; }
        /** The gate logit w of every head (g = sigmoid(w)); NaN (default): the model's gates. */
        public Builder gateLogit(float w) { gateLogit = w; return this; }

        public ContextParams build() {
            return new ContextParams(this);
        }
    }
}
