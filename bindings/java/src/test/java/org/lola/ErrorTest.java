// ErrorTest.java: bad input becomes a LolaException with the right Status and liblola's message.
package org.lola;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lola.swig.lola_context;
import org.lola.swig.lola_model;

class ErrorTest {
    static LolaException expect(Status status, Runnable r) {
        LolaException e = assertThrows(LolaException.class, r::run);
        assertEquals(status, e.status(), e.getMessage());
        assertEquals(status.code(), e.code());
        assertTrue(e.getMessage().length() > status.name().length() + 2, "a message: " + e.getMessage());
        return e;
    }

    @Test
    void missingFile() {
        LolaException e = expect(Status.IO, () -> Model.load("/nonexistent/model.gguf"));
        assertTrue(e.getMessage().contains("/nonexistent/model.gguf"), e.getMessage());
    }

    @Test
    void corruptFile(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("corrupt.gguf");
        byte[] bytes = Files.readAllBytes(Path.of(TestModel.path()));
        Files.write(f, java.util.Arrays.copyOf(bytes, 100)); // truncated
        expect(Status.CORRUPT_DATA, () -> Model.load(f.toString()));
        Files.write(f, "not a gguf file at all, just text".getBytes());
        expect(Status.CORRUPT_DATA, () -> Model.load(f.toString()));
    }

    @Test
    void badTokensParamsAndSizes() {
        try (Model m = Model.load(TestModel.path());
             Context c = m.newContext(TestModel.lolaParams())) {
            LolaException e = expect(Status.INVALID_ARGUMENT, () -> c.feed(new int[] {1, 97}));
            assertTrue(e.getMessage().contains("97"), e.getMessage());
            expect(Status.INVALID_ARGUMENT, () -> c.feed(new int[] {-1}));
            assertEquals(0, c.info().nPast(), "a refused feed feeds nothing");
            expect(Status.INVALID_ARGUMENT, () -> m.detokenize(new int[] {500}));
            expect(Status.INVALID_ARGUMENT,
                    () -> m.newContext(ContextParams.builder().attention(new AttentionParams().chunkSize(0)).build()));
            expect(Status.INVALID_ARGUMENT,
                    () -> m.newContext(ContextParams.builder().attention(new AttentionParams().sparseCapacity(-3)).build()));
            expect(Status.INVALID_ARGUMENT,
                    () -> new Sampler(SamplerParams.builder().repeatPenalty(-1f).build()));
            expect(Status.UNSUPPORTED, c::logits); // nothing fed yet
            c.feed(m.tokenize("hi"));
            expect(Status.BUFFER_TOO_SMALL, () -> c.logits(-1, new float[5]));
            expect(Status.NON_FINITE, () -> {
                try (Sampler s = Sampler.greedy()) {
                    float[] l = c.logits();
                    l[3] = Float.NaN;
                    s.sample(l);
                }
            });
            FloatBuffer small = ByteBuffer.allocateDirect(4 * 10)
                    .order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer();
            expect(Status.BUFFER_TOO_SMALL, () -> c.logits(small));
            assertThrows(IllegalArgumentException.class, () -> c.logits(FloatBuffer.allocate(200)));
            expect(Status.CORRUPT_DATA, () -> c.restoreState(new byte[] {1, 2, 3, 4}));
            byte[] blob = c.saveState();
            blob[blob.length / 2] ^= 0x5A;
            expect(Status.CORRUPT_DATA, () -> c.restoreState(blob));
            try (Context other = m.newContext(ContextParams.builder().attention(new AttentionParams().chunkSize(8)).build())) {
                expect(Status.INCOMPATIBLE, () -> other.restoreState(c.saveState()));
            }
        }
    }

    @Test
    void useAfterCloseThrows() {
        Model m = Model.load(TestModel.path());
        Context c = m.newContext(TestModel.lolaParams());
        c.close();
        c.close(); // idempotent
        expect(Status.NULL_HANDLE, () -> c.feed(new int[] {1}));
        expect(Status.NULL_HANDLE, c::info);
        expect(Status.NULL_HANDLE, c::saveState);
        m.close();
        expect(Status.NULL_HANDLE, () -> m.tokenize("x"));
        expect(Status.NULL_HANDLE, () -> m.newContext(ContextParams.defaults()));
        Sampler s = Sampler.greedy();
        s.close();
        expect(Status.NULL_HANDLE, () -> s.sample(new float[] {1f}));
    }

    @Test
    void contextOutlivesClosedModel() {
        Model m = Model.load(TestModel.path());
        int[] t = m.tokenize("hello");
        try (Context c = m.newContext(TestModel.lolaParams())) {
            m.close(); // liblola keeps the model for its context
            assertEquals(5, c.feed(t));
            assertEquals(97, c.logits().length);
        }
    }

    @Test
    void lowLevelDeleteTwiceAndUseAfterDelete() {
        lola_model m = new lola_model(TestModel.path(), null, null);
        lola_context c = new lola_context(m, null, null, null);
        assertSame(m, c.getModel(), "the context proxy holds its model proxy");
        assertSame(m, c.clone().getModel());
        c.delete();
        c.delete();
        expect(Status.NULL_HANDLE, () -> c.feed(new int[] {1}, 0));
        m.delete();
        expect(Status.NULL_HANDLE, () -> new lola_context(m, null, null, null));
    }
}
