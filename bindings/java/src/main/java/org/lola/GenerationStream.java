// GenerationStream.java: a streamed chat or completion that owns its fresh Context and
// Sampler (Model.chatStream / Model.completeStream) and frees them when it ends.
package org.lola;

import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * The tokens of one chat reply or completion, produced lazily on a context of its own. The
 * prompt is already fed when the stream is returned; iterating samples, feeds and yields one
 * {@link Generation.Token} at a time (see {@link Generation} for the UTF-8 rule). The context
 * and the sampler are freed as soon as the iteration ends (or throws), and by {@link #close()}
 * if it is abandoned early: use try-with-resources.
 *
 * <pre>{@code
 * try (GenerationStream stream = model.chatStream(messages, options)) {
 *     for (Generation.Token t : stream) System.out.print(t.text());
 *     System.out.println(" [" + stream.finishReason() + "]");
 * }
 * }</pre>
 *
 * Iterate once; confined to one thread at a time, like the context it owns.
 */
public final class GenerationStream implements Iterable<Generation.Token>, AutoCloseable {
    private final Context ctx;
    private final Sampler sampler;
    private final Generation generation;
    private final int promptTokens;
    private final StringBuilder text = new StringBuilder();
    private boolean started;
    private boolean closed;

    /** Feeds {@code prompt} to a fresh context; frees everything if that fails. */
    GenerationStream(Model model, int[] prompt, ChatOptions options) {
        if (prompt.length == 0) throw new IllegalArgumentException("the prompt has no tokens to feed");
        Sampler s = new Sampler(options.sampler());
        Context c = null;
        try {
            c = model.newContext(options.context());
            c.feed(prompt);
            s.accept(prompt); // the prompt counts for the repetition penalty
        } catch (RuntimeException | Error e) {
            if (c != null) c.close();
            s.close();
            throw e;
        }
        ctx = c;
        sampler = s;
        promptTokens = prompt.length;
        generation = c.generate(s, options.maxTokens());
    }

    @Override
    public Iterator<Generation.Token> iterator() {
        if (started) throw new IllegalStateException("a GenerationStream can be iterated once");
        started = true;
        if (closed) throw new IllegalStateException("the GenerationStream is closed");
        Iterator<Generation.Token> it = generation.iterator();
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                if (closed) return false;
                boolean more;
                try {
                    more = it.hasNext();
                } catch (RuntimeException | Error e) {
                    close();
                    throw e;
                }
                if (!more) close();
                return more;
            }

            @Override
            public Generation.Token next() {
                if (!hasNext()) throw new NoSuchElementException();
                Generation.Token t = it.next();
                text.append(t.text());
                return t;
            }
        };
    }

    /** How many tokens the prompt had. */
    public int promptTokens() {
        return promptTokens;
    }

    /** Tokens generated so far. */
    public int completionTokens() {
        return generation.count();
    }

    /** Why the generation ended; null while it runs, or when it was closed before its end. */
    public FinishReason finishReason() {
        return generation.finishReason();
    }

    /** The text streamed so far. */
    public String text() {
        return text.toString();
    }

    /**
     * Runs the generation to its end (what has not been iterated yet) and sums it up; the
     * text is all of it, streamed before or not.
     */
    public ChatResponse response() {
        if (!started) {
            Iterator<Generation.Token> it = iterator(); // collects the text
            while (it.hasNext()) it.next();
        } else if (!closed) {
            throw new IllegalStateException("response() while the stream is being iterated: finish the loop first");
        }
        return new ChatResponse(text(), promptTokens, completionTokens(), finishReason());
    }

    /** The context this stream runs on (for tests: closed once the stream ends). */
    Context context() {
        return ctx;
    }

    /** Frees the context and the sampler; idempotent. Iteration then ends. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        ctx.close();
        sampler.close();
    }
}
