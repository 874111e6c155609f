// RoundTripTests.cs: the model -> context -> logits -> generation path on the tiny model.
using System;
using System.Collections.Generic;
using System.Linq;
using NUnit.Framework;

namespace Lola.Tests
{
    [TestFixture]
    public class RoundTripTests : TinyModelFixture
    {
        [Test]
        public void ModelInfoDescribesTheTinyModel()
        {
            ModelInfo info = model.Info;
            Assert.AreEqual("llama", info.Architecture);
            Assert.AreEqual(TestModel.VocabSize, info.VocabSize);
            Assert.AreEqual(TestModel.LayerCount, info.LayerCount);
            Assert.AreEqual(TestModel.HeadCount, info.HeadCount);
            Assert.AreEqual(2, info.KvHeadCount);
            Assert.AreEqual(32, info.EmbeddingSize);
            Assert.AreEqual(TestModel.Eos, model.SpecialTokens.Eos);
            Assert.IsTrue(model.IsEndOfGeneration(TestModel.Eos));
            Assert.IsFalse(model.IsEndOfGeneration(TestModel.Id('a')));
        }

        [Test]
        public void TokenizeAndDetokenizeRoundTrip()
        {
            int[] tokens = model.Tokenize("hello world");
            Assert.AreEqual(11, tokens.Length);
            CollectionAssert.AreEqual("hello world".Select(TestModel.Id).ToArray(), tokens);
            Assert.AreEqual("hello world", model.Detokenize(tokens));
            Assert.AreEqual(new byte[] { (byte)'w' }, model.TokenPiece(TestModel.Id('w')));
            Assert.AreEqual(0, model.Tokenize("").Length);
            // Special text becomes the EOS token only when asked to parse specials.
            CollectionAssert.AreEqual(new[] { TestModel.Eos }, model.Tokenize("<|endoftext|>", parseSpecial: true));
            Assert.AreEqual(13, model.Tokenize("<|endoftext|>").Length);
        }

        [Test]
        public void LogitsHaveVocabSizeAndMatchAcrossIdenticalContexts()
        {
            int[] prompt = model.Tokenize("hello world");
            using (var a = model.CreateContext(TestModel.SmallLola()))
            using (var b = model.CreateContext(TestModel.SmallLola()))
            {
                a.Feed(prompt);
                b.Feed(new ReadOnlySpan<int>(prompt));
                float[] la = a.GetLogits();
                Assert.AreEqual(TestModel.VocabSize, la.Length);
                CollectionAssert.AreEqual(la, b.GetLogits());
                Assert.IsTrue(la.All(x => !float.IsNaN(x) && !float.IsInfinity(x)));
                // Copy-out into a caller's larger array and into a span slice.
                var big = new float[TestModel.VocabSize + 5];
                a.CopyLogits(big);
                CollectionAssert.AreEqual(la, big.Take(TestModel.VocabSize).ToArray());
                var slice = new float[2 * TestModel.VocabSize];
                a.CopyLogits(new Span<float>(slice, TestModel.VocabSize, TestModel.VocabSize));
                CollectionAssert.AreEqual(la, slice.Skip(TestModel.VocabSize).ToArray());
                Assert.AreEqual(11, a.PastCount);
            }
        }

        [Test]
        public void AllLogitsKeepsOneRowPerToken()
        {
            using (var c = model.CreateContext(TestModel.SmallLola()))
            using (var d = model.CreateContext(TestModel.SmallLola()))
            {
                c.Feed(model.Tokenize("abc"), allLogits: true);
                Assert.AreEqual(3, c.LogitRows);
                d.Feed(model.Tokenize("ab"));
                CollectionAssert.AreEqual(d.GetLogits(), c.GetLogits(1));
                d.Feed(TestModel.Id('c'));
                CollectionAssert.AreEqual(d.GetLogits(), c.GetLogits(-1));
            }
        }

        [Test]
        public void GreedyStreamingIsArgmaxDeterministicAndStopsAtMax()
        {
            int[] prompt = model.Tokenize("hello world");
            List<Token> first, second;
            using (var c = model.CreateContext(TestModel.SmallLola()))
            using (var sampler = Sampler.Greedy())
            {
                c.Feed(prompt);
                first = c.Generate(sampler, 12).ToList();
                Assert.AreEqual(prompt.Length + first.Count, c.PastCount);
            }
            using (var c = model.CreateContext(TestModel.SmallLola()))
            using (var sampler = Sampler.Greedy())
            {
                c.Feed(prompt);
                second = c.Generate(sampler, 12).ToList();
                Assert.AreEqual(0, c.Generate(sampler, 0).Count());
            }
            CollectionAssert.AreEqual(first.Select(t => t.Id), second.Select(t => t.Id));

            // The same sequence by hand: argmax of copied logits, stopping at EOS or at 12.
            var expected = new List<int>();
            using (var c = model.CreateContext(TestModel.SmallLola()))
            {
                c.Feed(prompt);
                while (expected.Count < 12)
                {
                    int t = TestModel.ArgMax(c.GetLogits());
                    if (t == TestModel.Eos)
                        break;
                    expected.Add(t);
                    c.Feed(t);
                }
            }
            CollectionAssert.AreEqual(expected, first.Select(t => t.Id));
            foreach (Token t in first)
            {
                CollectionAssert.AreEqual(model.TokenPiece(t.Id), t.Bytes);
                Assert.AreEqual(model.Detokenize(new[] { t.Id }), t.Text);
            }
            // Breaking out of the enumeration stops feeding.
            using (var c = model.CreateContext(TestModel.SmallLola()))
            using (var sampler = Sampler.Greedy())
            {
                c.Feed(prompt);
                foreach (Token t in c.Generate(sampler, 100))
                    break;
                Assert.AreEqual(prompt.Length + 1, c.PastCount);
            }
        }

        [Test]
        public void CachePositionsLieInThePastAndAccountForEveryToken()
        {
            using (var c = model.CreateContext(TestModel.SmallLola()))
            {
                c.Feed(model.Tokenize("the quick brown fox jumps over the lazy dog"));
                long past = c.PastCount;
                Assert.AreEqual(43, past);
                ContextInfo info = c.Info;
                Assert.AreEqual(TestModel.LayerCount, info.LayerCount);
                Assert.Greater(info.FoldedCount, 0, "tokens reached the linear state");
                for (int layer = 0; layer < TestModel.LayerCount; layer++)
                {
                    for (int head = 0; head < TestModel.HeadCount; head++)
                    {
                        HeadState s = c.GetHeadState(layer, head);
                        Assert.AreEqual(past, s.WindowCount + s.SparseCount + s.FoldedCount + s.EvictedCount);
                        long[] window = c.GetPositions(layer, head, Memory.Window);
                        long[] sparse = c.GetPositions(layer, head, Memory.Sparse);
                        Assert.AreEqual(s.WindowCount, window.Length);
                        Assert.AreEqual(s.SparseCount, sparse.Length);
                        Assert.LessOrEqual(sparse.Length, 3);
                        foreach (long[] positions in new[] { window, sparse })
                        {
                            for (int i = 0; i < positions.Length; i++)
                            {
                                Assert.That(positions[i], Is.InRange(0L, past - 1));
                                if (i > 0)
                                    Assert.Greater(positions[i], positions[i - 1]);
                            }
                        }
                        Assert.AreEqual(past - 1, window[window.Length - 1], "the newest token is in the window");
                    }
                }
            }
        }

        [Test]
        public void SaveAndRestoreGiveIdenticalLogits()
        {
            int[] prompt = model.Tokenize("state of the art");
            using (var a = model.CreateContext(TestModel.SmallLola()))
            using (var b = model.CreateContext(TestModel.SmallLola()))
            {
                a.Feed(prompt);
                byte[] blob = a.SaveState();
                Assert.Greater(blob.Length, 0);
                b.Feed(model.Tokenize("something else entirely"));
                b.RestoreState(blob);
                Assert.AreEqual(a.PastCount, b.PastCount);
                var e = Assert.Throws<LolaException>(() => b.GetLogits());
                Assert.AreEqual(Status.Unsupported, e.Status, "no logits until the next feed");
                a.Feed(TestModel.Id('!'));
                b.Feed(TestModel.Id('!'));
                CollectionAssert.AreEqual(a.GetLogits(), b.GetLogits());
                CollectionAssert.AreEqual(a.SaveState(), b.SaveState());
            }
        }

        [Test]
        public void CloneIsAnIndependentCopy()
        {
            using (var a = model.CreateContext(TestModel.SmallLola()))
            {
                a.Feed(model.Tokenize("clone me"));
                using (var b = a.Clone())
                {
                    Assert.AreSame(model, b.Model);
                    Assert.AreEqual(a.PastCount, b.PastCount);
                    a.Feed(TestModel.Id('x'));
                    b.Feed(TestModel.Id('x'));
                    CollectionAssert.AreEqual(a.GetLogits(), b.GetLogits());
                    b.Feed(TestModel.Id('y'));
                    Assert.AreEqual(a.PastCount + 1, b.PastCount);
                }
                a.Reset();
                Assert.AreEqual(0, a.PastCount);
            }
        }

        [Test]
        public void EveryLolaParameterReachesTheContext()
        {
            var p = new ContextParams
            {
                Threads = 2, BatchSize = 3, GateLogit = 1.5f,
                Attention = new AttentionParams
                {
                    Attention = Attention.Lola, ChunkSize = 8, SparseCapacity = 5,
                    FeatureMap = FeatureMap.Elu1, FeatureDim = 0, Mixing = Mixing.LolCats,
                    Scoring = Scoring.Recency, Seed = 7, Eps = 1e-5f, PerformerOrthogonal = true,
                },
            };
            float[] reference;
            using (var c = model.CreateContext(p))
            {
                c.Feed(model.Tokenize("parameters, all of them"));
                reference = c.GetLogits();
                // Chunk 8: the window is the previous chunk plus the current partial one; the
                // sparse cache is full (5) and, with recency scoring, holds the 5 positions just
                // before the window.
                long[] window = c.GetPositions(0, 0, Memory.Window);
                long[] sparse = c.GetPositions(0, 0, Memory.Sparse);
                Assert.That(window.Length, Is.InRange(8, 16));
                CollectionAssert.AreEqual(Enumerable.Range((int)window[0] - 5, 5).Select(i => (long)i), sparse);
            }
            // A changed gate changes the output: the parameter is not silently dropped.
            p.GateLogit = -1.5f;
            using (var c = model.CreateContext(p))
            {
                c.Feed(model.Tokenize("parameters, all of them"));
                CollectionAssert.AreNotEqual(reference, c.GetLogits());
            }
            var defaults = new ContextParams();
            Assert.AreEqual(Attention.Lola, defaults.Attention.Attention);
            Assert.AreEqual(FeatureMap.Auto, defaults.Attention.FeatureMap);
            Assert.IsTrue(float.IsNaN(defaults.GateLogit));
            Assert.AreEqual(AttentionParams.ModelDefault, defaults.Attention.ChunkSize);
            Assert.AreEqual(AttentionParams.ModelDefault, defaults.Attention.SparseCapacity);
            Assert.AreEqual(Mixing.ModelDefault, defaults.Attention.Mixing);
        }

        [Test]
        public void ContextOutlivesADisposedModel()
        {
            var m = new Model(TestModel.Path);
            var c = m.CreateContext(TestModel.SmallLola());
            m.Dispose();
            Assert.Throws<ObjectDisposedException>(() => m.Tokenize("x"));
            Assert.Throws<ObjectDisposedException>(() => m.CreateContext());
            c.Feed(new[] { 1, 2, 3 });
            using (var sampler = Sampler.Greedy())
            {
                int generated = c.Generate(sampler, 5).Count();
                Assert.That(generated, Is.InRange(0, 5));
                Assert.AreEqual(3 + generated, c.PastCount);
            }
            using (var clone = c.Clone())
                Assert.AreEqual(c.PastCount, clone.PastCount);
            c.Dispose();
        }
    }
}
