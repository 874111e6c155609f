// ChatMessage.java: one message of a chat (role, content), the input of the chat template.
package org.lola;

import java.util.Objects;

/**
 * One message of a chat: a role ({@code "system"}, {@code "user"} or {@code "assistant"}) and
 * its text. {@code ChatMessage.user("Hi")} reads best; the role is checked by liblola when the
 * template is applied (an unknown role is INVALID_ARGUMENT there).
 *
 * @param role the speaker, not null, no NUL character
 * @param content the text, not null, no NUL character (the C template takes C strings)
 */
public record ChatMessage(String role, String content) {
    public ChatMessage {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(content, "content");
        if (role.indexOf('\0') >= 0)
            throw new IllegalArgumentException("a chat message's role cannot hold a NUL character");
        if (content.indexOf('\0') >= 0)
            throw new IllegalArgumentException("a chat message's content cannot hold a NUL character");
    }

    /** A {@code "system"} message: instructions for the assistant. */
    public static ChatMessage system(String content) {
        return new ChatMessage("system", content);
    }

    /** A {@code "user"} message. */
    public static ChatMessage user(String content) {
        return new ChatMessage("user", content);
    }

    /** An {@code "assistant"} message: an earlier reply, to continue a conversation. */
    public static ChatMessage assistant(String content) {
        return new ChatMessage("assistant", content);
    }
}
