// LayerParams.java: the parameters of a standalone Layer (lola_layer_params), with a Builder.
package org.lola;

import org.lola.swig.lola_layer_params;

/** Immutable parameters of a {@link Layer}; unset fields keep liblola's defaults. */
public final class LayerParams {
    final Integer nHeads, nKvHeads, headDim, chunkSize, sparseCapacity, featureDim, nThreads;
    final Attention attention;
    final FeatureMap featureMap;
    final Mixing mixing;
    final Scoring scoring;
    final Long seed;
    final Float softmaxScale, eps;
    final Boolean performerOrthogonal;
    final float[] windowFactors, hedgehogQ, hedgehogK;

    private LayerParams(Builder b) {
        nHeads = b.nHeads;
        nKvHeads = b.nKvHeads;
        headDim = b.headDim;
        chunkSize = b.chunkSize;
        sparseCapacity = b.sparseCapacity;
        featureDim = b.featureDim;
        nThreads = b.nThreads;
        attention = b.attention;
        featureMap = b.featureMap;
        mixing = b.mixing;
        scoring = b.scoring;
        seed = b.seed;
        softmaxScale = b.softmaxScale;
        eps = b.eps;
        performerOrthogonal = b.performerOrthogonal;
        windowFactors = b.windowFactors == null ? null : b.windowFactors.clone();
        hedgehogQ = b.hedgehogQ == null ? null : b.hedgehogQ.clone();
        hedgehogK = b.hedgehogK == null ? null : b.hedgehogK.clone();
    }

    public static Builder builder() {
        return new Builder();
    }

    lola_layer_params toNative() {
        lola_layer_params p = new lola_layer_params();
        if (nHeads != null) p.setN_heads(nHeads);
        if (nKvHeads != null) p.setN_kv_heads(nKvHeads);
        if (headDim != null) p.setHead_dim(headDim);
        if (attention != null) p.setAttention(attention.code);
        if (chunkSize != null) p.setChunk_size(chunkSize);
        if (sparseCapacity != null) p.setSparse_capacity(sparseCapacity);
        if (featureMap != null) p.setFeature_map(featureMap.code);
        if (featureDim != null) p.setFeature_dim(featureDim);
        if (mixing != null) p.setMixing(mixing.code);
        if (scoring != null) p.setScoring(scoring.code);
        if (seed != null) p.setSeed(seed);
        if (softmaxScale != null) p.setSoftmax_scale(softmaxScale);
        if (eps != null) p.setEps(eps);
        if (performerOrthogonal != null) p.setPerformer_orthogonal(performerOrthogonal ? 1 : 0);
        if (nThreads != null) p.setN_threads(nThreads);
        return p;
    }

    public static final class Builder {
        private Integer nHeads, nKvHeads, headDim, chunkSize, sparseCapacity, featureDim, nThreads;
        private Attention attention;
        private FeatureMap featureMap;
        private Mixing mixing;
        private Scoring scoring;
        private Long seed;
        private Float softmaxScale, eps;
        private Boolean performerOrthogonal;
        private float[] windowFactors, hedgehogQ, hedgehogK;

        private Builder() {}

        public Builder nHeads(int n) { nHeads = n; return this; }
        public Builder nKvHeads(int n) { nKvHeads = n; return this; }
        public Builder headDim(int d) { headDim = d; return this; }
        public Builder attention(Attention a) { attention = a; return this; }
        public Builder chunkSize(int c) { chunkSize = c; return this; }
        public Builder sparseCapacity(int n) { sparseCapacity = n; return this; }
        public Builder featureMap(FeatureMap f) { featureMap = f; return this; }
        public Builder featureDim(int f) { featureDim = f; return this; }
        public Builder mixing(Mixing m) { mixing = m; return this; }
        public Builder scoring(Scoring s) { scoring = s; return this; }
        public Builder seed(long s) { seed = s; return this; }
        /** 0 means 1/sqrt(head_dim) (default). */
        public Builder softmaxScale(float s) { softmaxScale = s; return this; }
        public Builder eps(float e) { eps = e; return this; }
        public Builder performerOrthogonal(boolean o) { performerOrthogonal = o; return this; }
        public Builder nThreads(int n) { nThreads = n; return this; }
        /** [n_heads] gate logits (copied); unset: all 0. */
        public Builder windowFactors(float[] w) { windowFactors = w; return this; }
        /** Hedgehog maps, each [n_heads][head_dim][feature_dim/2] (copied). */
        public Builder hedgehog(float[] q, float[] k) { hedgehogQ = q; hedgehogK = k; return this; }

        public LayerParams build() {
            return new LayerParams(this);
        }
    }
}
