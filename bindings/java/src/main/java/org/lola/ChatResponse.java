// ChatResponse.java: the result of the one-call Model.chat / Model.complete.
package org.lola;

/**
 * What {@link Model#chat} and {@link Model#complete} return.
 *
 * @param text the generated text (the end-of-generation token not included)
 * @param promptTokens how many tokens the prompt (the rendered chat) had
 * @param completionTokens how many tokens were generated
 * @param finishReason {@link FinishReason#STOP} at an end-of-generation token, {@link
 *     FinishReason#LENGTH} at {@code maxTokens}
 */
public record ChatResponse(String text, int promptTokens, int completionTokens,
                           FinishReason finishReason) {
    /** promptTokens + completionTokens. */
    public int totalTokens() {
        return promptTokens + completionTokens;
    }
}
