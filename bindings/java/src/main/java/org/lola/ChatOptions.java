// ChatOptions.java: the settings of the one-call Model.chat / Model.complete and their
// streaming forms: how many tokens, how to sample, which context to run on.
package org.lola;

import java.util.Objects;

/**
 * Immutable settings of {@link Model#chat}, {@link Model#chatStream}, {@link Model#complete}
 * and {@link Model#completeStream}; built with {@link #builder()}. Unset: at most {@link
 * #DEFAULT_MAX_TOKENS} tokens, liblola's default sampling (temperature 0.8, top-k 40, top-p
 * 0.95, min-p 0.05, its fixed default seed) and a context with liblola's default parameters.
 *
 * <pre>{@code
 * ChatOptions greedy = ChatOptions.builder().maxTokens(64).sampler(SamplerParams.greedy()).build();
 * }</pre>
 */
public final class ChatOptions {
    /** The token limit when {@link Builder#maxTokens} is not called. */
    public static final int DEFAULT_MAX_TOKENS = 256;

    private static final ChatOptions DEFAULTS = builder().build();

    private final int maxTokens;
    private final SamplerParams sampler;
    private final ContextParams context;

    private ChatOptions(Builder b) {
        maxTokens = b.maxTokens;
        sampler = b.sampler;
        context = b.context;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Every default. */
    public static ChatOptions defaults() {
        return DEFAULTS;
    }

    /** The most tokens to generate. */
    public int maxTokens() {
        return maxTokens;
    }

    /** How tokens are sampled. */
    public SamplerParams sampler() {
        return sampler;
    }

    /** The parameters of the fresh context each call runs on. */
    public ContextParams context() {
        return context;
    }

    public static final class Builder {
        private int maxTokens = DEFAULT_MAX_TOKENS;
        private SamplerParams sampler = SamplerParams.builder().build();
        private ContextParams context = ContextParams.builder().build();

        private Builder() {}

        /** The most tokens to generate (0 or more); generation also stops at an end-of-generation token. */
        public Builder maxTokens(int n) {
            if (n < 0) throw new IllegalArgumentException("maxTokens < 0");
            maxTokens = n;
            return this;
        }

        /** How to sample, e.g. {@link SamplerParams#greedy()} or a seeded builder. */
        public Builder sampler(SamplerParams params) {
            sampler = Objects.requireNonNull(params, "sampler");
            return this;
        }

        /** The context's parameters (threads, attention settings, ...). */
        public Builder context(ContextParams params) {
            context = Objects.requireNonNull(params, "context");
            return this;
        }

        public ChatOptions build() {
            return new ChatOptions(this);
        }
    }
}
