// LayerTest.java: the standalone layer under the full-attention baseline against a naive Java
// causal softmax attention with grouped KV heads; sizes checked; state round trip.
package org.lola;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import org.junit.jupiter.api.Test;

class LayerTest {
    static final int H = 4, HKV = 2, D = 8;

    static float[] random(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) r.nextGaussian();
        return a;
    }

    /** y[t][h] = sum_{s<=t} softmax_s(q[t][h].k[s][g]/sqrt(D)) v[s][g], g = h / (H/HKV). */
    static float[] naive(int T, float[] q, float[] k, float[] v) {
        float[] y = new float[T * H * D];
        double scale = 1.0 / Math.sqrt(D);
        for (int t = 0; t < T; t++) {
            for (int h = 0; h < H; h++) {
                int g = h / (H / HKV);
                double[] w = new double[t + 1];
                double max = Double.NEGATIVE_INFINITY;
                for (int s = 0; s <= t; s++) {
                    double dot = 0;
                    for (int d = 0; d < D; d++) dot += q[(t * H + h) * D + d] * k[(s * HKV + g) * D + d];
                    w[s] = dot * scale;
                    max = Math.max(max, w[s]);
                }
                double sum = 0;
                for (int s = 0; s <= t; s++) sum += w[s] = Math.exp(w[s] - max);
                for (int d = 0; d < D; d++) {
                    double acc = 0;
                    for (int s = 0; s <= t; s++) acc += w[s] * v[(s * HKV + g) * D + d];
                    y[(t * H + h) * D + d] = (float) (acc / sum);
                }
            }
        }
        return y;
    }

    static LayerParams full() {
        return LayerParams.builder().nHeads(H).nKvHeads(HKV).headDim(D)
                .attention(new AttentionParams().attention(Attention.FULL).chunkSize(4)).build();
    }

    @Test
    void fullAttentionMatchesNaiveSoftmax() {
        Random r = new Random(7);
        int T = 37;
        float[] q = random(r, T * H * D), k = random(r, T * HKV * D), v = random(r, T * HKV * D);
        float[] expect = naive(T, q, k, v);
        try (Layer layer = new Layer(full())) {
            // in two calls, to cross the chunked and token-by-token paths
            int T1 = 21;
            float[] y1 = layer.feed(T1, java.util.Arrays.copyOf(q, T1 * H * D),
                    java.util.Arrays.copyOf(k, T1 * HKV * D), java.util.Arrays.copyOf(v, T1 * HKV * D));
            float[] y2 = layer.feed(T - T1, java.util.Arrays.copyOfRange(q, T1 * H * D, q.length),
                    java.util.Arrays.copyOfRange(k, T1 * HKV * D, k.length),
                    java.util.Arrays.copyOfRange(v, T1 * HKV * D, v.length));
            float[] y = new float[T * H * D];
            System.arraycopy(y1, 0, y, 0, y1.length);
            System.arraycopy(y2, 0, y, y1.length, y2.length);
            for (int i = 0; i < y.length; i++) assertEquals(expect[i], y[i], 1e-4, "element " + i);
            assertEquals(T, layer.info().nTokens());
            assertEquals(T, layer.positions(0, Memory.WINDOW).length);
        }
    }

    @Test
    void wrongSizesAndStateRoundTrip() {
        Random r = new Random(3);
        try (Layer layer = new Layer(LayerParams.builder().nHeads(H).nKvHeads(HKV).headDim(D)
                .attention(new AttentionParams().chunkSize(4).sparseCapacity(3)).build())) {
            LolaException e = assertThrows(LolaException.class,
                    () -> layer.feed(2, new float[5], new float[2 * HKV * D], new float[2 * HKV * D]));
            assertEquals(Status.SIZE_MISMATCH, e.status());
            e = assertThrows(LolaException.class, () -> layer.feed(1, null, null, null, null));
            assertEquals(Status.SIZE_MISMATCH, e.status(), "a null array is (NULL, 0)");
            layer.feed(10, random(r, 10 * H * D), random(r, 10 * HKV * D), random(r, 10 * HKV * D));
            byte[] blob = layer.saveState();
            float[] q = random(r, H * D), k = random(r, HKV * D), v = random(r, HKV * D);
            float[] next;
            try (Layer copy = layer.clone()) {
                next = layer.feed(1, q, k, v);
                assertArrayEquals(next, copy.feed(1, q, k, v));
            }
            layer.restoreState(blob);
            assertArrayEquals(next, layer.feed(1, q, k, v));
        }
        LolaException e = assertThrows(LolaException.class, () -> new Layer(LayerParams.builder()
                .nHeads(3).nKvHeads(2).build()));
        assertEquals(Status.INVALID_ARGUMENT, e.status());
        e = assertThrows(LolaException.class, () -> new Layer(LayerParams.builder().nHeads(H)
                .windowFactors(new float[H + 1]).build()));
        assertEquals(Status.SIZE_MISMATCH, e.status());
    }
}
