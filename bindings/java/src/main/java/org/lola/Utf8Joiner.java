// Utf8Joiner.java: joins token pieces (byte strings that may split a UTF-8 character) into text.
package org.lola;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Streaming decoder: {@link #push} returns the text of every character completed so far and
 * keeps the bytes of a character still incomplete; {@link #finish} flushes them (as U+FFFD).
 */
final class Utf8Joiner {
    private final ByteArrayOutputStream pending = new ByteArrayOutputStream();

    String push(byte[] piece) {
        pending.writeBytes(piece);
        byte[] all = pending.toByteArray();
        int complete = completePrefix(all);
        pending.reset();
        pending.write(all, complete, all.length - complete);
        return new String(all, 0, complete, StandardCharsets.UTF_8);
    }

    String finish() {
        String rest = new String(pending.toByteArray(), StandardCharsets.UTF_8);
        pending.reset();
        return rest;
    }

    /** Length of the prefix that does not end inside a character (invalid bytes count as complete). */
    static int completePrefix(byte[] b) {
        int n = b.length;
        // A lead byte among the last three whose sequence runs past the end: stop before it.
        for (int back = 1; back <= 3 && back <= n; back++) {
            int c = b[n - back] & 0xFF;
            if ((c & 0xC0) == 0x80) continue; // continuation byte: look further back
            int need = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
            return need > back ? n - back : n;
        }
        return n;
    }
}
