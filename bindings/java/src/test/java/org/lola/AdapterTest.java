// AdapterTest.java: a LoLA adapter (ModelParams.Builder#adapter) applies its maps and defaults,
// and is refused on a model it was not trained for.
package org.lola;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AdapterTest {
    /** The adapter tests/ writes beside the tiny model (F = 8, C = 4, lambda = 3). */
    static String adapterPath() {
        String m = TestModel.path();
        return m.substring(0, m.length() - ".gguf".length()) + ".adapter.gguf";
    }

    static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) if (hay[i + j] != needle[j]) continue outer;
            return i;
        }
        return -1;
    }

    @Test
    void appliesItsMapsAndDefaults() {
        try (Model base = Model.load(TestModel.path());
                Model m = Model.load(TestModel.path(), ModelParams.builder().adapter(adapterPath()).build())) {
            assertTrue(m.info().hasAdapter());
            assertTrue(m.info().hasLolaTensors());
            assertFalse(base.info().hasAdapter());
            assertNotEquals(base.info().fingerprint(), m.info().fingerprint());
            AttentionParams a = new AttentionParams().resolve(m);
            assertEquals(4, a.chunkSize());
            assertEquals(3, a.sparseCapacity());
        }
    }

    @Test
    void refusedOnAnotherModel(@TempDir Path dir) throws IOException {
        byte[] bytes = Files.readAllBytes(Path.of(adapterPath()));
        byte[] key = "lola.adapter.base_fingerprint".getBytes(StandardCharsets.US_ASCII);
        int at = indexOf(bytes, key);
        assertTrue(at > 0);
        bytes[at + key.length + 4] ^= 1;  // the u64 after the key and its type
        Path other = dir.resolve("other.adapter.gguf");
        Files.write(other, bytes);
        LolaException e = ErrorTest.expect(Status.INCOMPATIBLE,
                () -> Model.load(TestModel.path(), ModelParams.builder().adapter(other.toString()).build()));
        assertTrue(e.getMessage().contains("fingerprint"), e.getMessage());
        ErrorTest.expect(Status.IO,
                () -> Model.load(TestModel.path(), ModelParams.builder().adapter("/nonexistent/a.gguf").build()));
        assertThrows(IllegalArgumentException.class, () -> ModelParams.builder().adapter(""));
    }

    @Test
    void perplexityOfAnyAttention() {
        try (Model m = Model.load(TestModel.path())) {
            int[] tokens = m.tokenize("the quick brown fox jumps over the lazy dog ".repeat(8));
            ContextParams full = ContextParams.builder().attention(new AttentionParams().attention(Attention.FULL)).build();
            Perplexity p = m.perplexity(tokens, 64, full, 0);
            assertEquals(tokens.length / 64, p.nWindows());
            assertEquals(p.nWindows() * 32, p.nScored());
            assertEquals(Math.exp(p.nll()), p.perplexity(), 1e-9 * p.perplexity());
            Perplexity one = m.perplexity(tokens, 64, ContextParams.builder().build(), 1);
            assertEquals(1, one.nWindows());
            assertNotEquals(p.nll(), one.nll());
            ErrorTest.expect(Status.INVALID_ARGUMENT, () -> m.perplexity(tokens, 1, full, 0));
        }
    }
}
