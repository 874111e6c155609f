// LayerTests.cs: the standalone layer against a naive C# softmax attention (full-attention
// baseline), and its state and cache queries.
using System;
using NUnit.Framework;

namespace Lola.Tests
{
    [TestFixture]
    public class LayerTests
    {
        const int H = 4, KV = 2, D = 8;

        static LayerParams FullParams()
        {
            return new LayerParams { HeadCount = H, KvHeadCount = KV, HeadDim = D, Attention = { Attention = Attention.Full } };
        }

        static float[] RandomArray(Random rng, int n)
        {
            var a = new float[n];
            for (int i = 0; i < n; i++)
                a[i] = (float)(rng.NextDouble() * 2 - 1);
            return a;
        }

        /// <summary>Causal softmax attention with grouped KV heads, written from the definition.
        /// </summary>
        static float[] NaiveAttention(int T, float[] q, float[] k, float[] v)
        {
            var y = new float[T * H * D];
            double scale = 1 / Math.Sqrt(D);
            for (int t = 0; t < T; t++)
            {
                for (int h = 0; h < H; h++)
                {
                    int g = h / (H / KV);
                    var scores = new double[t + 1];
                    double max = double.NegativeInfinity;
                    for (int j = 0; j <= t; j++)
                    {
                        double s = 0;
                        for (int d = 0; d < D; d++)
                            s += q[(t * H + h) * D + d] * k[(j * KV + g) * D + d];
                        scores[j] = s * scale;
                        max = Math.Max(max, scores[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j <= t; j++)
                        sum += scores[j] = Math.Exp(scores[j] - max);
                    for (int d = 0; d < D; d++)
                    {
                        double acc = 0;
                        for (int j = 0; j <= t; j++)
                            acc += scores[j] * v[(j * KV + g) * D + d];
                        y[(t * H + h) * D + d] = (float)(acc / sum);
                    }
                }
            }
            return y;
        }

        [Test]
        public void FullAttentionMatchesNaiveSoftmax()
        {
            const int T = 37, split = 20;
            var rng = new Random(1234);
            float[] q = RandomArray(rng, T * H * D), k = RandomArray(rng, T * KV * D), v = RandomArray(rng, T * KV * D);
            float[] expected = NaiveAttention(T, q, k, v);
            using (var layer = new Layer(FullParams()))
            {
                // Two calls (20 + 17 tokens) through spans over the same arrays.
                var y = new float[T * H * D];
                layer.Feed(split, new ReadOnlySpan<float>(q, 0, split * H * D),
                           new ReadOnlySpan<float>(k, 0, split * KV * D),
                           new ReadOnlySpan<float>(v, 0, split * KV * D),
                           new Span<float>(y, 0, split * H * D));
                layer.Feed(T - split, new ReadOnlySpan<float>(q, split * H * D, (T - split) * H * D),
                           new ReadOnlySpan<float>(k, split * KV * D, (T - split) * KV * D),
                           new ReadOnlySpan<float>(v, split * KV * D, (T - split) * KV * D),
                           new Span<float>(y, split * H * D, (T - split) * H * D));
                for (int i = 0; i < y.Length; i++)
                    Assert.AreEqual(expected[i], y[i], 1e-5, "element " + i);

                LayerInfo info = layer.Info;
                Assert.AreEqual(T, info.TokenCount);
                Assert.AreEqual(Attention.Full, info.Attention);
                long[] window = layer.GetPositions(0, Memory.Window);
                Assert.AreEqual(T, window.Length, "full attention keeps every token");
                for (int i = 0; i < T; i++)
                    Assert.AreEqual(i, window[i]);
                Assert.AreEqual(T, layer.GetHeadState(3).WindowCount);
            }
        }

        [Test]
        public void StateRoundTripCloneAndReset()
        {
            var rng = new Random(5);
            var p = new LayerParams { HeadCount = H, KvHeadCount = KV, HeadDim = D, Attention = { ChunkSize = 4, SparseCapacity = 2 } };
            using (var a = new Layer(p))
            using (var b = new Layer(p))
            {
                a.Feed(30, RandomArray(rng, 30 * H * D), RandomArray(rng, 30 * KV * D), RandomArray(rng, 30 * KV * D));
                HeadState s = a.GetHeadState(0);
                Assert.AreEqual(30, s.WindowCount + s.SparseCount + s.FoldedCount + s.EvictedCount);
                Assert.AreEqual(2, s.SparseCount);
                b.RestoreState(a.SaveState());
                float[] q = RandomArray(rng, H * D), k = RandomArray(rng, KV * D), v = RandomArray(rng, KV * D);
                using (var c = a.Clone())
                {
                    float[] ya = a.Feed(1, q, k, v);
                    CollectionAssert.AreEqual(ya, b.Feed(1, q, k, v));
                    CollectionAssert.AreEqual(ya, c.Feed(1, q, k, v));
                }
                a.Reset();
                Assert.AreEqual(0, a.Info.TokenCount);
            }
        }
    }
}
