// AttentionParams.java: what every head's memory does (lola_attention_params), shared by
// LayerParams and ContextParams: one builder, one place for each setting.
package org.lola;

import org.lola.swig.lola;
import org.lola.swig.lola_attention_params;
import org.lola.swig.lolaConstants;

/**
 * The attention settings of a {@link Layer} or a {@link Context}: attention kind, chunk size,
 * sparse capacity, feature map, mixing, scoring, seed, eps. A new object holds liblola's
 * defaults (lola_attention_params_init, read from the loaded library); the setters are fluent
 * and return this object. {@link LayerParams.Builder#attention} and
 * {@link ContextParams.Builder#attention} copy it, so changing it later changes neither.
 * Confined to one thread at a time, like any mutable builder.
 */
public final class AttentionParams {
    static {
        NativeLibrary.load();
    }

    /** LOLA_MODEL_DEFAULT, for chunkSize and sparseCapacity (their default): the model's value
     *  from its lola.* metadata, else (and always for a standalone layer) the library's. */
    public static final int MODEL_DEFAULT = lolaConstants.LOLA_MODEL_DEFAULT;

    private Attention attention;
    private int chunkSize, sparseCapacity, featureDim;
    private FeatureMap featureMap;
    private Mixing mixing;
    private Scoring scoring;
    private boolean performerOrthogonal;
    private long seed;
    private float eps;

    /** liblola's defaults. */
    public AttentionParams() {
        lola_attention_params p = new lola_attention_params();
        try {
            read(p);
        } finally {
            p.delete();
        }
    }

    /** A copy of {@code other}. */
    public AttentionParams(AttentionParams other) {
        attention = other.attention;
        chunkSize = other.chunkSize;
        sparseCapacity = other.sparseCapacity;
        featureMap = other.featureMap;
        featureDim = other.featureDim;
        mixing = other.mixing;
        scoring = other.scoring;
        performerOrthogonal = other.performerOrthogonal;
        seed = other.seed;
        eps = other.eps;
    }

    /** LOLA (default), FULL (exact softmax baseline) or WINDOW. */
    public AttentionParams attention(Attention a) { attention = java.util.Objects.requireNonNull(a); return this; }
    /** C, the chunk and window unit (>= 1), or {@link #MODEL_DEFAULT} (default). */
    public AttentionParams chunkSize(int c) { chunkSize = c; return this; }
    /** lambda, sparse cache entries per head (>= 0), or {@link #MODEL_DEFAULT} (default). */
    public AttentionParams sparseCapacity(int n) { sparseCapacity = n; return this; }
    /** AUTO (default: hedgehog when hedgehog weights are present, else performer) or a map;
     *  PRECOMPUTED is for standalone layers only. */
    public AttentionParams featureMap(FeatureMap f) { featureMap = java.util.Objects.requireNonNull(f); return this; }
    /** F; 0 (default) picks the map's. */
    public AttentionParams featureDim(int f) { featureDim = f; return this; }
    /** A mixing mode, or {@link Mixing#MODEL_DEFAULT} (default). */
    public AttentionParams mixing(Mixing m) { mixing = java.util.Objects.requireNonNull(m); return this; }
    public AttentionParams scoring(Scoring s) { scoring = java.util.Objects.requireNonNull(s); return this; }
    /** Performer only: draw orthogonal blocks of projection rows. */
    public AttentionParams performerOrthogonal(boolean o) { performerOrthogonal = o; return this; }
    /** Seeds the performer projections (layer l of a model uses seed + l) and random scoring. */
    public AttentionParams seed(long s) { seed = s; return this; }
    /** Epsilon of the mixing and self-recall-error denominators. */
    public AttentionParams eps(float e) { eps = e; return this; }

    public Attention attention() { return attention; }
    public int chunkSize() { return chunkSize; }
    public int sparseCapacity() { return sparseCapacity; }
    public FeatureMap featureMap() { return featureMap; }
    public int featureDim() { return featureDim; }
    public Mixing mixing() { return mixing; }
    public Scoring scoring() { return scoring; }
    public boolean performerOrthogonal() { return performerOrthogonal; }
    public long seed() { return seed; }
    public float eps() { return eps; }

    /**
     * A copy with every {@link #MODEL_DEFAULT} field (chunk size, sparse capacity, mixing)
     * replaced by what a context on {@code model} would use, or, with {@code model} null, what a
     * standalone layer would use (lola_attention_params_resolve). This object is unchanged.
     *
     * @throws LolaException NULL_HANDLE if the model is closed
     */
    public AttentionParams resolve(Model model) {
        lola_attention_params p = toNative();
        try {
            if (model == null) {
                lola.resolve_attention_for_layer(p);
            } else {
                model.handle.resolve_attention(p);
            }
            AttentionParams r = new AttentionParams(this);
            r.read(p);
            return r;
        } finally {
            p.delete();
        }
    }

    /** A native struct holding these settings (the caller deletes it). */
    lola_attention_params toNative() {
        lola_attention_params p = new lola_attention_params();
        p.setAttention(attention.code);
        p.setChunk_size(chunkSize);
        p.setSparse_capacity(sparseCapacity);
        p.setFeature_map(featureMap.code);
        p.setFeature_dim(featureDim);
        p.setMixing(mixing.code);
        p.setScoring(scoring.code);
        p.setPerformer_orthogonal(performerOrthogonal ? 1 : 0);
        p.setSeed(seed);
        p.setEps(eps);
        return p;
    }

    private void read(lola_attention_params p) {
        attention = Attention.fromCode(p.getAttention());
        chunkSize = p.getChunk_size();
        sparseCapacity = p.getSparse_capacity();
        featureMap = FeatureMap.fromCode(p.getFeature_map());
        featureDim = p.getFeature_dim();
        mixing = Mixing.fromCode(p.getMixing());
        scoring = Scoring.fromCode(p.getScoring());
        performerOrthogonal = p.getPerformer_orthogonal() != 0;
        seed = p.getSeed();
        eps = p.getEps();
    }

    @Override
    public String toString() {
        return "AttentionParams{attention=" + attention + ", chunkSize=" + chunkSize
                + ", sparseCapacity=" + sparseCapacity + ", featureMap=" + featureMap
                + ", featureDim=" + featureDim + ", mixing=" + mixing + ", scoring=" + scoring
                + ", performerOrthogonal=" + performerOrthogonal + ", seed=" + seed + ", eps=" + eps + "}";
    }
}
