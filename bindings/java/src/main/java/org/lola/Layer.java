// Layer.java: one standalone LoLA attention layer (lola_layer), without a model.
package org.lola;

import java.lang.ref.Cleaner;
import org.lola.swig.lola_attention_params;
import org.lola.swig.lola_layer;
import org.lola.swig.lola_layer_info;
import org.lola.swig.lola_layer_params;

/**
 * One multi-head attention layer's memory system. Arrays are float32, token-major: q is
 * [T][n_heads][head_dim], k and v [T][n_kv_heads][head_dim], outputs [T][n_heads][head_dim].
 * Confined to one thread at a time.
 */
public final class Layer implements AutoCloseable {
    static {
        NativeLibrary.load();
    }

    private final lola_layer handle;
    private final Cleaner.Cleanable cleanable;
    private final int nHeads, headDim;

    public Layer(LayerParams params) {
        this(create(params));
    }

    private Layer(lola_layer handle) {
        this.handle = handle;
        this.cleanable = Native.register(this, handle::delete);
        LayerInfo i = info();
        nHeads = i.nHeads();
        headDim = i.headDim();
    }

    private static lola_layer create(LayerParams params) {
        lola_layer_params p = params.toNative();
        AttentionParams a = params.attentionOrNull();
        // The native attention struct lives until the create call has returned: liblola
        // reads it during lola_layer_create only (the wrapper sets the pointer in a copy).
        lola_attention_params na = a == null ? null : a.toNative();
        try {
            return new lola_layer(p, na, params.windowFactors, params.hedgehogQ, params.hedgehogK);
        } finally {
            p.delete();
            if (na != null) na.delete();
        }
    }

    /** Feeds {@code nTokens} tokens and returns their outputs, [nTokens][n_heads][head_dim]. */
    public float[] feed(int nTokens, float[] q, float[] k, float[] v) {
        float[] y = new float[Math.max(0, nTokens) * nHeads * headDim];
        feed(nTokens, q, k, v, y);
        return y;
    }

    /** Feeds tokens, writing the outputs into {@code y} (null: update the cache only). */
    public void feed(int nTokens, float[] q, float[] k, float[] v, float[] y) {
        handle.feed(nTokens, q, k, v, y);
    }

    /** As feed, for {@link FeatureMap#PRECOMPUTED}: fq, fk are [T][n_heads][feature_dim]. */
    public float[] feedFeatures(int nTokens, float[] q, float[] k, float[] v, float[] fq, float[] fk) {
        float[] y = new float[Math.max(0, nTokens) * nHeads * headDim];
        handle.feed_features(nTokens, q, k, v, fq, fk, y);
        return y;
    }

    public void reset() {
        handle.reset();
    }

    public LayerInfo info() {
        lola_layer_info i = handle.info();
        try {
            return new LayerInfo(i.getN_heads(), i.getN_kv_heads(), i.getHead_dim(),
                    i.getFeature_dim(), i.getN_state_heads(), i.getChunk_size(),
                    i.getSparse_capacity(), i.getAttention(), i.getN_tokens(), i.getBytes());
        } finally {
            i.delete();
        }
    }

    public HeadState headState(int head) {
        return HeadState.of(handle.head_state(head));
    }

    public long[] positions(int head, Memory memory) {
        int n = (int) handle.positions(head, memory.code, null);
        long[] out = new long[n];
        if (n > 0) handle.positions(head, memory.code, out);
        return out;
    }

    public byte[] saveState() {
        byte[] blob = new byte[(int) handle.state_size()];
        int n = (int) handle.state_save(blob);
        return n == blob.length ? blob : java.util.Arrays.copyOf(blob, n);
    }

    public void restoreState(byte[] blob) {
        handle.state_restore(blob);
    }

    @Override
    public Layer clone() {
        return new Layer(handle.clone());
    }

    @Override
    public void close() {
        cleanable.clean();
    }
}
