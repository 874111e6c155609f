// FinishReason.java: why a generation ended (the OpenAI / llama.cpp finish_reason values).
package org.lola;

/** Why a {@link Generation} (and so a chat or completion) ended. */
public enum FinishReason {
    /** The model produced an end-of-generation token (EOS, end of turn); it was not fed. */
    STOP,
    /** {@code maxTokens} tokens were generated. */
    LENGTH
}
