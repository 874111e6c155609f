// Context.java: one inference stream over a model (lola_context): feed tokens, read logits,
// inspect and save the cache state, generate.
package org.lola;

import java.lang.ref.Cleaner;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import org.lola.swig.lola_context;
import org.lola.swig.lola_context_info;
import org.lola.swig.lola_context_params;
import org.lola.swig.lolaConstants;

/**
 * A context: every attention layer of its model as a LoLA layer (or a baseline) with its own
 * cache state. Confined to one thread at a time (it may move between threads); many contexts
 * on one model may run concurrently. Holds its {@link Model}, which therefore stays alive as
 * long as the context does.
 */
public final class Context implements AutoCloseable {
    static {
        NativeLibrary.load();
    }

    final lola_context handle;
    private final Model model;
    private final Cleaner.Cleanable cleanable;

    /** A new context on {@code model}. */
    public Context(Model model, ContextParams params) {
        lola_context_params p = params.toNative();
        try {
            this.handle = new lola_context(model.handle, p);
        } finally {
            p.delete();
        }
        this.model = model;
        this.cleanable = Native.register(this, handle::delete);
    }

    private Context(Model model, lola_context handle) {
        this.handle = handle;
        this.model = model;
        this.cleanable = Native.register(this, handle::delete);
    }

    public Model model() {
        return model;
    }

    /** Feeds tokens (prefill or decode) and computes the last token's logits; returns how many were fed. */
    public int feed(int[] tokens) {
        return feed(tokens, false);
    }

    /** Feeds tokens; with {@code allLogits} every token's logits row is kept. */
    public int feed(int[] tokens, boolean allLogits) {
        return (int) handle.feed(tokens, allLogits ? lolaConstants.LOLA_FEED_ALL_LOGITS : 0);
    }

    /** Forgets every token. */
    public void reset() {
        handle.reset();
    }

    /** Rows of logits the last feed kept. */
    public int logitsRows() {
        return (int) handle.logits_rows();
    }

    /** A copy of the last token's logits, {@code nVocab} floats. */
    public float[] logits() {
        float[] out = new float[model.nVocab()];
        logits(-1, out);
        return out;
    }

    /** Row {@code row} (-1: the last) of the logits into {@code out}, which needs n_vocab floats. */
    public void logits(int row, float[] out) {
        handle.copy_logits(row, out);
    }

    /**
     * The last logits row written into a direct buffer in native byte order, from its position,
     * which then advances by n_vocab.
     */
    public void logits(FloatBuffer out) {
        if (!out.isDirect()) throw new IllegalArgumentException("the FloatBuffer must be direct");
        if (out.order() != ByteOrder.nativeOrder())
            throw new IllegalArgumentException("the FloatBuffer must be in ByteOrder.nativeOrder()");
        handle.copy_logits_to_buffer(-1, out.slice());
        out.position(out.position() + model.nVocab());
    }

    public ContextInfo info() {
        lola_context_info i = handle.info();
        try {
            return new ContextInfo(i.getN_past(), i.getN_layer(), i.getN_state_heads(),
                    i.getState_bytes(), i.getN_window(), i.getN_sparse(), i.getN_folded(),
                    i.getN_evicted());
        } finally {
            i.delete();
        }
    }

    /** The cache state of query head {@code head} of layer {@code layer}. */
    public HeadState headState(int layer, int head) {
        return HeadState.of(handle.head_state(layer, head));
    }

    /** Token positions (ascending) held in one memory of one head of one layer. */
    public long[] positions(int layer, int head, Memory memory) {
        int n = (int) handle.positions(layer, head, memory.code, null);
        long[] out = new long[n];
        if (n > 0) handle.positions(layer, head, memory.code, out);
        return out;
    }

    /** The state as a checksummed blob carrying the model's fingerprint. */
    public byte[] saveState() {
        byte[] blob = new byte[(int) handle.state_size()];
        int n = (int) handle.state_save(blob);
        return n == blob.length ? blob : java.util.Arrays.copyOf(blob, n);
    }

    /**
     * Restores a saved state, validated completely first (the context is unchanged on error).
     *
     * @throws LolaException CORRUPT_DATA, VERSION_MISMATCH or INCOMPATIBLE
     */
    public void restoreState(byte[] blob) {
        handle.state_restore(blob);
    }

    /** An independent copy of this context's state on the same model. */
    @Override
    public Context clone() {
        return new Context(model, handle.clone());
    }

    /**
     * Streams up to {@code maxTokens} tokens after what was fed: each step samples from the
     * current logits, stops at an end-of-generation token (not fed), else feeds it and yields
     * it with its text. Feed the prompt first.
     */
    public Generation generate(Sampler sampler, int maxTokens) {
        return new Generation(this, sampler, maxTokens);
    }

    /** Releases the context; idempotent. Later calls throw {@link LolaException} (NULL_HANDLE). */
    @Override
    public void close() {
        cleanable.clean();
    }
}
