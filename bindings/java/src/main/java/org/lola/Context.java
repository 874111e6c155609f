// Context.java: one inference stream over a model (lola_context): feed tokens, read logits,
// inspect and save the cache state, generate.
package org.lola;

import java.lang.ref.Cleaner;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import org.lola.swig.lola_abort_flag;
import org.lola.swig.lola_attention_params;
import org.lola.swig.lola_context;
import org.lola.swig.lola_context_info;
import org.lola.swig.lola_context_params;
import org.lola.swig.lolaConstants;

/**
 * A context: every attention layer of its model as a LoLA layer (or a baseline) with its own
 * cache state. Confined to one thread at a time (it may move between threads); many contexts
 * on one model may run concurrently. Holds its {@link Model}, which therefore stays alive as
 * long as the context does. {@link #requestAbort()} is the exception to the confinement: any
 * thread may call it to stop the feed or generation running on this context.
 */
public final class Context implements AutoCloseable {
    static {
        NativeLibrary.load();
    }

    final lola_context handle;
    // The C flag liblola polls between forward steps (see lola_handles.i); freed after handle.
    private final lola_abort_flag abort;
    private final Model model;
    private final Cleaner.Cleanable cleanable;

    /** A new context on {@code model}. */
    public Context(Model model, ContextParams params) {
        this(model, create(model, params));
    }

    private static lola_context create(Model model, ContextParams params) {
        lola_context_params p = params.toNative();
        AttentionParams a = params.attentionOrNull();
        // Read by liblola during lola_context_create only; deleted after it returned.
        lola_attention_params na = a == null ? null : a.toNative();
        try {
            // Under the model proxy's lock (see lola_java.i): a Model.close() on another thread
            // waits until the context holds its own reference to the model.
            synchronized (model.handle) {
                return new lola_context(model.handle, p, na, params.layerAttentionOrNull());
            }
        } finally {
            p.delete();
            if (na != null) na.delete();
        }
    }

    /** Takes ownership of {@code handle} and gives it its abort flag. */
    private Context(Model model, lola_context handle) {
        lola_abort_flag flag = null;
        try {
            flag = new lola_abort_flag();
            flag.attach(handle);
        } catch (RuntimeException | Error e) {
            handle.delete();
            if (flag != null) flag.delete();
            throw e;
        }
        this.handle = handle;
        this.abort = flag;
        this.model = model;
        this.cleanable = Native.register(this, release(handle, flag));
    }

    // A static factory, so that the cleaning action cannot capture this Context.
    private static Runnable release(lola_context handle, lola_abort_flag flag) {
        return () -> {
            handle.delete();
            flag.delete(); // after the context: liblola reads it while the context runs
        };
    }

    public Model model() {
        return model;
    }

    /**
     * Feeds tokens (prefill or decode) and computes the last token's logits; returns how many
     * were fed (all of them).
     *
     * @throws LolaException ABORTED after {@link #requestAbort()}: the tokens of the forward
     *     steps already run stay fed ({@link #nPast()} tells how many in all), and the logits
     *     are unavailable until the next feed
     */
    public int feed(int[] tokens) {
        return feed(tokens, false);
    }

    /** Feeds tokens; with {@code allLogits} every token's logits row is kept. See {@link #feed(int[])}. */
    public int feed(int[] tokens, boolean allLogits) {
        return (int) handle.feed(tokens, allLogits ? lolaConstants.LOLA_FEED_ALL_LOGITS : 0);
    }

    /**
     * Asks the feed or generation running on this context (or, if none is, the next one) to
     * stop with {@link LolaException} {@link Status#ABORTED}. Callable from any thread; returns
     * at once, without waiting for the running call. One request is consumed by the one abort
     * it causes. A feed checks between its forward steps (every {@code batchSize} tokens), so
     * a feed of one step (a decode) runs to the end and leaves the request to the next call;
     * {@link #generate} checks before each token.
     *
     * @throws LolaException NULL_HANDLE after {@link #close()}
     */
    public void requestAbort() {
        synchronized (abort) { // SWIG's delete() is synchronized on the proxy: no use after free
            abort.request();
        }
    }

    /** Withdraws a {@link #requestAbort()} that no call has consumed yet. */
    public void clearAbort() {
        synchronized (abort) {
            abort.clear();
        }
    }

    /** Consumes a pending abort request: throws LolaException ABORTED if there was one. */
    void takeAbort() {
        abort.take();
    }

    /** Tokens fed since creation or the last reset (n_past; after an abort, those fed). */
    public long nPast() {
        return info().nPast();
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
        // JNI writes through the address regardless, and a read-only mapping would crash.
        if (out.isReadOnly()) throw new IllegalArgumentException("the FloatBuffer is read-only");
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
     * it with its text. Feed the prompt first. After {@link #requestAbort()} the next step
     * throws LolaException ABORTED; every token yielded before stays fed and the logits valid.
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
