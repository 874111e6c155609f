// Sampler.java: token sampling (lola_sampler): parameters, a seeded generator, a history.
package org.lola;

import java.lang.ref.Cleaner;
import org.lola.swig.lola_sampler;
import org.lola.swig.lola_sampler_params;

/** Picks tokens from logits. Confined to one thread at a time. */
public final class Sampler implements AutoCloseable {
    static {
        NativeLibrary.load();
    }

    private final lola_sampler handle;
    private final Cleaner.Cleanable cleanable;

    public Sampler(SamplerParams params) {
        lola_sampler_params p = params.toNative();
        try {
            handle = new lola_sampler(p);
        } finally {
            p.delete();
        }
        cleanable = Native.register(this, handle::delete);
    }

    /** A greedy sampler. */
    public static Sampler greedy() {
        return new Sampler(SamplerParams.greedy());
    }

    /** Samples from a logits row and records the token in the history. */
    public int sample(float[] logits) {
        return handle.sample(logits);
    }

    /** Samples from the context's last logits row without copying it. */
    public int sample(Context ctx) {
        // The call reads the context's logits: hold the context's lock too, as its own methods
        // do (see lola_java.i), so that a close() or feed on another thread waits for it.
        synchronized (ctx.handle) {
            return handle.sample_context(ctx.handle);
        }
    }

    /** Adds tokens to the history (e.g. the prompt, for the repetition penalty). */
    public void accept(int[] tokens) {
        handle.accept(tokens);
    }

    /** Clears the history and reseeds. */
    public void reset(long seed) {
        handle.reset(seed);
    }

    @Override
    public void close() {
        cleanable.clean();
    }
}
