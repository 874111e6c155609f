// RoundTripTest.java: load, tokenize, feed, logits, cache state, save/restore, clone, generate.
package org.lola;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class RoundTripTest extends TinyModelTest {
    @Test
    void modelInfo() {
        ModelInfo i = model.info();
        assertEquals("llama", i.architecture());
        assertEquals(2, i.nLayer());
        assertEquals(97, i.nVocab());
        assertEquals(97, model.nVocab());
        assertEquals(96, model.specialTokens().eos());
        assertTrue(model.isEog(96));
        assertFalse(model.isEog(0));
    }

    @Test
    void tokenizeRoundTrip() {
        int[] t = model.tokenize("hello world");
        assertEquals(11, t.length);
        assertEquals('h' - '!', t[0]);
        assertEquals(94, t[5]); // the space
        assertEquals("hello world", model.detokenize(t));
        assertArrayEquals(new byte[] {'h'}, model.tokenToPiece(t[0]));
    }

    @Test
    void logitsEqualAcrossIdenticalContexts() {
        int[] t = model.tokenize("hello world");
        try (Context a = model.newContext(TestModel.lolaParams());
             Context b = model.newContext(TestModel.lolaParams())) {
            assertEquals(11, a.feed(t));
            assertEquals(11, b.feed(t));
            float[] la = a.logits();
            assertEquals(model.nVocab(), la.length);
            assertArrayEquals(la, b.logits());
            FloatBuffer buf = ByteBuffer.allocateDirect(4 * (model.nVocab() + 3))
                    .order(ByteOrder.nativeOrder()).asFloatBuffer();
            buf.position(3);
            a.logits(buf);
            assertEquals(3 + model.nVocab(), buf.position());
            float[] fromBuf = new float[model.nVocab()];
            buf.position(3);
            buf.get(fromBuf);
            assertArrayEquals(la, fromBuf);
            assertEquals(11, a.info().nPast());
        }
    }

    @Test
    void allLogitsRows() {
        try (Context c = model.newContext(TestModel.lolaParams())) {
            int[] t = model.tokenize("abc");
            c.feed(t, true);
            assertEquals(3, c.logitsRows());
            float[] last = new float[model.nVocab()];
            c.logits(2, last);
            assertArrayEquals(c.logits(), last);
        }
    }

    @Test
    void cachePositionsWithinRange() {
        try (Context c = model.newContext(TestModel.lolaParams())) {
            c.feed(model.tokenize("hello world, a longer prompt"));
            ContextInfo info = c.info();
            long nPast = info.nPast();
            assertEquals(28, nPast);
            for (int layer = 0; layer < info.nLayer(); layer++) {
                for (int head = 0; head < 4; head++) {
                    HeadState h = c.headState(layer, head);
                    long[] w = c.positions(layer, head, Memory.WINDOW);
                    long[] s = c.positions(layer, head, Memory.SPARSE);
                    assertEquals(h.nWindow(), w.length);
                    assertEquals(h.nSparse(), s.length);
                    assertTrue(s.length <= 2);
                    assertEquals(nPast, h.nWindow() + h.nSparse() + h.nFolded() + h.nEvicted());
                    for (long p : w) assertTrue(p >= 0 && p < nPast);
                    for (long p : s) assertTrue(p >= 0 && p < nPast);
                    assertTrue(h.nFolded() > 0, "28 tokens with C = 4 fold some into the linear state");
                }
            }
        }
    }

    @Test
    void saveRestoreAndClone() {
        try (Context c = model.newContext(TestModel.lolaParams())) {
            c.feed(model.tokenize("hello"));
            byte[] blob = c.saveState();
            float[] before = c.logits();
            try (Context copy = c.clone()) {
                c.feed(model.tokenize(" world"));
                float[] after = c.logits();
                copy.feed(model.tokenize(" world"));
                assertArrayEquals(after, copy.logits(), "a clone continues like the original");
                c.restoreState(blob);
                assertEquals(5, c.info().nPast());
                c.feed(model.tokenize(" world"));
                assertArrayEquals(after, c.logits(), "restored state continues identically");
                assertFalse(java.util.Arrays.equals(before, after));
            }
        }
    }

    static List<Integer> greedy(String prompt, int max) {
        try (Context c = model.newContext(TestModel.lolaParams()); Sampler s = Sampler.greedy()) {
            c.feed(model.tokenize(prompt));
            List<Integer> out = new ArrayList<>();
            StringBuilder text = new StringBuilder();
            for (Generation.Token t : c.generate(s, max)) {
                out.add(t.id());
                text.append(t.text());
            }
            int[] ids = out.stream().mapToInt(Integer::intValue).toArray();
            assertEquals(model.detokenize(ids), text.toString());
            return out;
        }
    }

    @Test
    void greedyStreamingIsDeterministicAndStopsAtMax() {
        List<Integer> a = greedy("hello world", 12);
        List<Integer> b = greedy("hello world", 12);
        assertEquals(a, b);
        assertTrue(a.size() <= 12);
        assertEquals(a.subList(0, Math.min(5, a.size())), greedy("hello world", 5));
        assertTrue(greedy("hello world", 0).isEmpty());
    }

    @Test
    void greedyMatchesArgmaxOfLogits() {
        try (Context c = model.newContext(TestModel.lolaParams())) {
            c.feed(model.tokenize("hello world"));
            float[] l = c.logits();
            int best = 0;
            for (int i = 1; i < l.length; i++) if (l[i] > l[best]) best = i;
            try (Sampler s = Sampler.greedy()) {
                assertEquals(best, s.sample(l));
                assertEquals(best, s.sample(c));
            }
        }
    }
}
