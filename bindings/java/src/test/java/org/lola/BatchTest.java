package org.lola;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Batched decode: bitwise equal to feeding each context alone; refusals feed no context. */
class BatchTest extends TinyModelTest {
    private static List<Context> contexts(int n) {
        List<Context> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            AttentionParams a = new AttentionParams().chunkSize(4).sparseCapacity(i % 2 == 0 ? 3 : 0)
                    .featureMap(FeatureMap.ELU1);
            Context c = new Context(model, ContextParams.builder().attention(a).build());
            int[] prompt = new int[3 + 5 * i];
            for (int j = 0; j < prompt.length; j++) prompt[j] = (j * 7 + i) % 90 + 1;
            c.feed(prompt);
            out.add(c);
        }
        return out;
    }

    private static int argmax(float[] l) {
        int best = 0;
        for (int i = 1; i < l.length; i++) if (l[i] > l[best]) best = i;
        return best;
    }

    @Test
    void batchedDecodeEqualsOneByOne() {
        List<Context> batched = contexts(3), single = contexts(3);
        try (Batch batch = new Batch(model, 3, 2)) {
            for (int step = 0; step < 25; step++) {
                int[] tokens = new int[3];
                for (int i = 0; i < 3; i++) tokens[i] = argmax(single.get(i).logits());
                batch.decode(batched, tokens);
                for (int i = 0; i < 3; i++) {
                    single.get(i).feed(new int[] {tokens[i]});
                    float[] a = batched.get(i).logits(), b = single.get(i).logits();
                    for (int k = 0; k < a.length; k++)
                        assertEquals(Float.floatToRawIntBits(b[k]), Float.floatToRawIntBits(a[k]), "step " + step);
                }
            }
        }
        for (int i = 0; i < 3; i++) assertArrayEquals(single.get(i).saveState(), batched.get(i).saveState());
        for (Context c : batched) c.close();
        for (Context c : single) c.close();
    }

    @Test
    void refusalsFeedNothing() {
        List<Context> ctxs = contexts(2);
        byte[][] before = {ctxs.get(0).saveState(), ctxs.get(1).saveState()};
        try (Batch batch = new Batch(model, 2, 1)) {
            LolaException e = assertThrows(LolaException.class, () -> batch.decode(ctxs, new int[] {1, 97}));
            assertEquals(Status.INVALID_ARGUMENT, e.status());
            assertTrue(e.nativeMessage().contains("contexts[1]: token 97 is out of range"), e.nativeMessage());
            e = assertThrows(LolaException.class, () -> batch.decode(ctxs, new int[] {1}));
            assertEquals(Status.SIZE_MISMATCH, e.status());
            e = assertThrows(LolaException.class,
                    () -> batch.decode(Arrays.asList(ctxs.get(0), ctxs.get(0)), new int[] {1, 2}));
            assertTrue(e.nativeMessage().contains("contexts[1] appears twice"), e.nativeMessage());
            Context closed = contexts(1).get(0);
            closed.close();
            e = assertThrows(LolaException.class, () -> batch.decode(Arrays.asList(ctxs.get(0), closed), new int[] {1, 2}));
            assertEquals(Status.NULL_HANDLE, e.status());
        }
        assertArrayEquals(before[0], ctxs.get(0).saveState());
        assertArrayEquals(before[1], ctxs.get(1).saveState());
        assertEquals(Status.INVALID_ARGUMENT,
                assertThrows(LolaException.class, () -> new Batch(model, 0, 1)).status());
        for (Context c : ctxs) c.close();
    }
}
