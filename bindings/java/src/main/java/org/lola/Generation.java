// Generation.java: streaming generation as an Iterable of tokens with their text, built from
// sampler.sample + context.feed + model.tokenToPiece + model.isEog (no callbacks).
package org.lola;

import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * The tokens {@link Context#generate} produces, one per iteration step, computed lazily: the
 * next token is sampled and fed when {@code hasNext()} is asked. Iterate once. Each {@link
 * Token}'s text holds the characters it completes (empty when its bytes end inside a UTF-8
 * character that the next token finishes); if the stream ends inside a character, a last
 * Token with id -1 carries the replacement text.
 */
public final class Generation implements Iterable<Generation.Token> {
    /** A generated token id and the text it completes. */
    public record Token(int id, String text) {}

    private final Context ctx;
    private final Sampler sampler;
    private final int maxTokens;
    private final Utf8Joiner joiner = new Utf8Joiner();
    private boolean started;
    private boolean done;
    private int count;
    private FinishReason finishReason;
    private Token next;

    Generation(Context ctx, Sampler sampler, int maxTokens) {
        if (maxTokens < 0) throw new IllegalArgumentException("maxTokens < 0");
        this.ctx = ctx;
        this.sampler = sampler;
        this.maxTokens = maxTokens;
    }

    @Override
    public Iterator<Token> iterator() {
        if (started) throw new IllegalStateException("a Generation can be iterated once");
        started = true;
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                if (next == null && !done) next = step();
                return next != null;
            }

            @Override
            public Token next() {
                if (!hasNext()) throw new NoSuchElementException();
                Token t = next;
                next = null;
                return t;
            }
        };
    }

    /** Tokens generated (sampled and fed) so far; the end-of-generation token is not counted. */
    public int count() {
        return count;
    }

    /** Why the generation ended; null while it has not. */
    public FinishReason finishReason() {
        return finishReason;
    }

    /** The whole text, consuming the generation. */
    public String text() {
        StringBuilder sb = new StringBuilder();
        for (Token t : this) sb.append(t.text());
        return sb.toString();
    }

    private Token step() {
        if (count >= maxTokens) {
            finishReason = FinishReason.LENGTH;
        } else {
            ctx.takeAbort(); // polled before each token, as lola_generate does
            int token = sampler.sample(ctx);
            if (!ctx.model().isEog(token)) {
                ctx.feed(new int[] {token});
                count++;
                return new Token(token, joiner.push(ctx.model().tokenToPiece(token)));
            }
            finishReason = FinishReason.STOP;
        }
        done = true;
        String rest = joiner.finish();
        return rest.isEmpty() ? null : new Token(-1, rest);
    }
}
