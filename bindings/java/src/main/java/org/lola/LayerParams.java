// LayerParams.java: the parameters of a standalone Layer (lola_layer_params): shapes, threads,
// weights, and the attention settings as one AttentionParams (shared with ContextParams).
package org.lola;

import org.lola.swig.lola_layer_params;

/** Immutable parameters of a {@link Layer}; unset fields keep liblola's defaults. */
public final class LayerParams {
    final Integer nHeads, nKvHeads, headDim, nThreads;
    final Float softmaxScale;
    final float[] windowFactors, hedgehogQ, hedgehogK;
    /** A private copy; null: every default (the C struct's attention = NULL). */
    private final AttentionParams attention;

    private LayerParams(Builder b) {
        nHeads = b.nHeads;
        nKvHeads = b.nKvHeads;
        headDim = b.headDim;
        nThreads = b.nThreads;
        softmaxScale = b.softmaxScale;
        attention = b.attention == null ? null : new AttentionParams(b.attention);
        windowFactors = b.windowFactors == null ? null : b.windowFactors.clone();
        hedgehogQ = b.hedgehogQ == null ? null : b.hedgehogQ.clone();
        hedgehogK = b.hedgehogK == null ? null : b.hedgehogK.clone();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A copy of the attention settings (liblola's defaults when none were given). */
    public AttentionParams attention() {
        return attention == null ? new AttentionParams() : new AttentionParams(attention);
    }

    /** The attention settings as given, or null (the caller must not modify them). */
    AttentionParams attentionOrNull() {
        return attention;
    }

    lola_layer_params toNative() {
        lola_layer_params p = new lola_layer_params();
        if (nHeads != null) p.setN_heads(nHeads);
        if (nKvHeads != null) p.setN_kv_heads(nKvHeads);
        if (headDim != null) p.setHead_dim(headDim);
        if (softmaxScale != null) p.setSoftmax_scale(softmaxScale);
        if (nThreads != null) p.setN_threads(nThreads);
        return p;
    }

    public static final class Builder {
        private Integer nHeads, nKvHeads, headDim, nThreads;
        private Float softmaxScale;
        private AttentionParams attention;
        private float[] windowFactors, hedgehogQ, hedgehogK;

        private Builder() {}

        public Builder nHeads(int n) { nHeads = n; return this; }
        public Builder nKvHeads(int n) { nKvHeads = n; return this; }
        public Builder headDim(int d) { headDim = d; return this; }
        /** The memory's settings (copied at {@link #build}); unset: every default. */
        public Builder attention(AttentionParams a) { attention = a; return this; }
        /** 0 means 1/sqrt(head_dim) (default). */
        public Builder softmaxScale(float s) { softmaxScale = s; return this; }
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
