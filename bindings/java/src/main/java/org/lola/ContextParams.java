// ContextParams.java: the parameters of a Context (lola_context_params), built with a Builder;
// the attention settings are one AttentionParams (shared with LayerParams).
package org.lola;

import org.lola.swig.lola_context_params;

/**
 * Immutable parameters of a {@link Context}: threads, batch size, gate logit, the attention
 * settings and optional per-layer attention kinds. Fields left unset keep liblola's defaults (lola_context_params_init), so a newer
 * liblola's defaults apply.
 */
public final class ContextParams {
    private final Integer nThreads, batchSize;
    private final Float gateLogit;
    /** A private copy; null: every default (the C struct's attention = NULL). */
    private final AttentionParams attention;
    /** lola_context_params.layer_attention as C values; null: one kind for every layer. */
    private final int[] layerAttention;

    private ContextParams(Builder b) {
        nThreads = b.nThreads;
        batchSize = b.batchSize;
        gateLogit = b.gateLogit;
        attention = b.attention == null ? null : new AttentionParams(b.attention);
        layerAttention = b.layerAttention == null ? null : b.layerAttention.clone();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** liblola's defaults. */
    public static ContextParams defaults() {
        return builder().build();
    }

    /** A copy of the attention settings (liblola's defaults when none were given). */
    public AttentionParams attention() {
        return attention == null ? new AttentionParams() : new AttentionParams(attention);
    }

    /** The attention settings as given, or null (the caller must not modify them). */
    AttentionParams attentionOrNull() {
        return attention;
    }

    /** The per-layer kinds as C values (a copy), or null; passed to the native calls beside
     *  the struct. */
    int[] layerAttentionOrNull() {
        return layerAttention == null ? null : layerAttention.clone();
    }

    /** A native struct with liblola's defaults and the fields set here (the caller deletes it). */
    lola_context_params toNative() {
        lola_context_params p = new lola_context_params();
        if (nThreads != null) p.setN_threads(nThreads);
        if (batchSize != null) p.setBatch_size(batchSize);
        if (gateLogit != null) p.setGate_logit(gateLogit);
        return p;
    }

    public static final class Builder {
        private Integer nThreads, batchSize;
        private Float gateLogit;
        private AttentionParams attention;
        private int[] layerAttention;

        private Builder() {}

        /** Worker threads of this context (default 1). */
        public Builder nThreads(int n) { nThreads = n; return this; }
        /** Tokens per forward step in a prefill (default 64). */
        public Builder batchSize(int n) { batchSize = n; return this; }
        /** Every layer's memory (copied at {@link #build}); unset: every default. The feature
         *  map may not be PRECOMPUTED. */
        public Builder attention(AttentionParams a) { attention = a; return this; }
        /** The gate logit w of every head (g = sigmoid(w)); NaN (default): the model's gates. */
        public Builder gateLogit(float w) { gateLogit = w; return this; }
        /** Per-layer attention kinds (lola_context_params.layer_attention): one entry per layer
         *  of the model, each an {@link Attention} or null for the attention settings' kind: a
         *  hybrid such as a few FULL layers among LoLA ones (their cache grows with the
         *  context). Unset (default): every layer computes the attention settings' kind. A
         *  count other than the model's layers is refused (INVALID_ARGUMENT) at creation. */
        public Builder layerAttention(Attention... kinds) {
            layerAttention = new int[kinds.length];
            for (int i = 0; i < kinds.length; i++)
                layerAttention[i] = kinds[i] == null ? AttentionParams.MODEL_DEFAULT : kinds[i].code();
            return this;
        }

        public ContextParams build() {
            return new ContextParams(this);
        }
    }
}
