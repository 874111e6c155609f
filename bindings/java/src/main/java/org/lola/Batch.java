// Batch.java: batched decode (lola_batch_*): one token for each of many contexts of a model in
// one step, every weight matrix read once for all of them.
package org.lola;

import java.lang.ref.Cleaner;
import java.util.List;
import org.lola.swig.lola_status;
import org.lola.swig.lola_swig_batch;

/**
 * The activations of one decode step for up to {@code maxContexts} contexts of one model, made
 * once and reused. Each context keeps its own cache, position and logits; after
 * {@link #decode} every context's logits are bitwise those that {@code context.feed(token)}
 * alone would give. Confined to one thread at a time; a decode holds the lock of every context
 * it is given.
 */
public final class Batch implements AutoCloseable {
    static {
        NativeLibrary.load();
    }

    private final lola_swig_batch handle;
    private final Model model;
    private final int maxContexts;
    private final Cleaner.Cleanable cleanable;

    /**
     * A batch for {@code model}: {@code maxContexts} in [1, 65536], {@code nThreads} (its matrix
     * products) in [1, 1024], else a {@link LolaException} with {@code INVALID_ARGUMENT}.
     */
    public Batch(Model model, int maxContexts, int nThreads) {
        synchronized (model.handle) {
            handle = new lola_swig_batch(model.handle, maxContexts, nThreads);
        }
        this.model = model;
        this.maxContexts = maxContexts;
        cleanable = Native.register(this, handle::delete);
    }

    public Model model() {
        return model;
    }

    public int maxContexts() {
        return maxContexts;
    }

    /**
     * Feeds {@code tokens[i]} to {@code contexts.get(i)} in one step. Every check comes first and
     * an error feeds no context; the message names {@code contexts[i]}: {@code INVALID_ARGUMENT}
     * for a token out of range, a context of another model, the same context twice, or more
     * contexts than {@link #maxContexts()}; {@code SIZE_MISMATCH} when the lengths differ;
     * {@code NULL_HANDLE} for a closed context.
     */
    public void decode(List<Context> contexts, int[] tokens) {
        if (contexts.size() != tokens.length)
            throw new LolaException(lola_status.LOLA_ERR_SIZE_MISMATCH.swigValue(),
                    contexts.size() + " contexts but " + tokens.length + " tokens: one token per context");
        if (contexts.size() > maxContexts)
            throw new LolaException(lola_status.LOLA_ERR_INVALID_ARGUMENT.swigValue(),
                    contexts.size() + " contexts, more than the batch's max_contexts " + maxContexts);
        decodeLocked(contexts, tokens, 0);
    }

    // Holds the lock of contexts i.. (their proxies' monitors, as their own methods do), then runs.
    private void decodeLocked(List<Context> contexts, int[] tokens, int i) {
        if (i == contexts.size()) {
            handle.decode(tokens);
            return;
        }
        Context c = contexts.get(i);
        if (c == null)
            throw new LolaException(lola_status.LOLA_ERR_NULL_HANDLE.swigValue(), "contexts[" + i + "] is null");
        synchronized (c.handle) {
            handle.set(i, c.handle);
            decodeLocked(contexts, tokens, i + 1);
        }
    }

    /** Frees the batch now (idempotent); the contexts are not affected. */
    @Override
    public void close() {
        cleanable.clean();
    }
}
