// ErrorTests.cs: bad input becomes LolaException with the right Status and the C library's
// message (or ObjectDisposedException after Dispose), never a crash.
using System;
using System.IO;
using System.Linq;
using NUnit.Framework;

namespace Lola.Tests
{
    [TestFixture]
    public class ErrorTests : TinyModelFixture
    {
        static LolaException Expect(Status status, TestDelegate call)
        {
            var e = Assert.Throws<LolaException>(call);
            Assert.AreEqual(status, e.Status, e.Message);
            Assert.IsNotEmpty(e.NativeMessage, "the C library's message is carried");
            StringAssert.Contains(e.NativeMessage, e.Message);
            return e;
        }

        [Test]
        public void MissingFile()
        {
            string path = Path.Combine(Path.GetTempPath(), "lola-cs-no-such-model.gguf");
            var e = Expect(Status.IO, () => new Model(path));
            StringAssert.Contains(path, e.NativeMessage);
        }

        [Test]
        public void CorruptFiles()
        {
            string dir = Path.Combine(Path.GetTempPath(), "lola-cs-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            try
            {
                string garbage = Path.Combine(dir, "garbage.gguf");
                File.WriteAllBytes(garbage, Enumerable.Range(0, 4096).Select(i => (byte)(i * 7)).ToArray());
                Expect(Status.CorruptData, () => new Model(garbage));

                byte[] good = File.ReadAllBytes(TestModel.Path);
                string truncated = Path.Combine(dir, "truncated.gguf");
                File.WriteAllBytes(truncated, good.Take(good.Length / 2).ToArray());
                Expect(Status.CorruptData, () => new Model(truncated));
            }
            finally
            {
                Directory.Delete(dir, true);
            }
        }

        [Test]
        public void TokenOutOfRangeFeedsNothing()
        {
            using (var c = model.CreateContext())
            {
                c.Feed(new[] { 1, 2 });
                Expect(Status.InvalidArgument, () => c.Feed(new[] { 3, TestModel.VocabSize }));
                Expect(Status.InvalidArgument, () => c.Feed(-1));
                Assert.AreEqual(2, c.PastCount);
                Expect(Status.InvalidArgument, () => c.Feed(new int[0]));
                Expect(Status.InvalidArgument, () => model.Detokenize(new[] { 500 }));
            }
        }

        [Test]
        public void BadParameters()
        {
            Expect(Status.InvalidArgument, () => model.CreateContext(new ContextParams { Attention = { ChunkSize = 0 } }));
            Expect(Status.InvalidArgument, () => model.CreateContext(new ContextParams { Attention = { SparseCapacity = -2 } }));
            Expect(Status.InvalidArgument, () => model.CreateContext(new ContextParams { Threads = 0 }));
            Expect(Status.InvalidArgument, () => new Sampler(new SamplerParams { RepeatPenalty = 0 }));
            Expect(Status.InvalidArgument, () => new Layer(new LayerParams { HeadCount = 3, KvHeadCount = 2 }));
            Expect(Status.SizeMismatch, () => new Layer(new LayerParams { HeadCount = 2, WindowFactors = new float[3] }));
            Expect(Status.NonFinite, () => new Layer(new LayerParams { HeadCount = 2, WindowFactors = new[] { 0f, float.NaN } }));
        }

        [Test]
        public void WrongArraySizes()
        {
            using (var c = model.CreateContext())
            {
                c.Feed(new[] { 5 });
                Expect(Status.BufferTooSmall, () => c.CopyLogits(new float[TestModel.VocabSize - 1]));
                Expect(Status.InvalidArgument, () => c.GetLogits(3));
            }
            using (var layer = new Layer(new LayerParams { HeadCount = 2, KvHeadCount = 1, HeadDim = 4 }))
            {
                Expect(Status.SizeMismatch, () => layer.Feed(2, new float[2 * 2 * 4], new float[2 * 4], new float[2 * 4 - 1]));
                Expect(Status.SizeMismatch, () => layer.Feed(1, new float[8], new float[4], new float[4], new float[7]));
                Expect(Status.NonFinite, () => layer.Feed(1, new float[8], new[] { 0, 0, float.PositiveInfinity, 0 }, new float[4]));
                Assert.AreEqual(0, layer.Info.TokenCount, "nothing was fed");
            }
            using (var s = Sampler.Greedy())
                Expect(Status.NonFinite, () => s.Sample(new[] { 0f, float.NaN }));
        }

        [Test]
        public void CorruptAndIncompatibleStates()
        {
            using (var a = model.CreateContext(TestModel.SmallLola()))
            using (var other = model.CreateContext(new ContextParams { Attention = { ChunkSize = 16 } }))
            {
                a.Feed(model.Tokenize("some state"));
                byte[] blob = a.SaveState();
                long past = a.PastCount;
                byte[] flipped = (byte[])blob.Clone();
                flipped[flipped.Length / 2] ^= 0x40;
                Expect(Status.CorruptData, () => a.RestoreState(flipped));
                Expect(Status.CorruptData, () => a.RestoreState(blob.Take(blob.Length - 9).ToArray()));
                Expect(Status.CorruptData, () => a.RestoreState(new byte[0]));
                Expect(Status.Incompatible, () => other.RestoreState(blob));
                Assert.AreEqual(past, a.PastCount, "a failed restore changes nothing");
                a.Feed(1);
            }
        }

        [Test]
        public void GenerateNeedsLogits()
        {
            using (var c = model.CreateContext())
            using (var s = Sampler.Greedy())
                Expect(Status.Unsupported, () => c.Generate(s, 3).ToList());
        }

        [Test]
        public void UseAfterDisposeThrowsObjectDisposed()
        {
            var m = new Model(TestModel.Path);
            var c = m.CreateContext();
            var s = Sampler.Greedy();
            var l = new Layer(new LayerParams { HeadCount = 1, HeadDim = 4 });
            c.Feed(1);
            c.Dispose();
            s.Dispose();
            l.Dispose();
            m.Dispose();
            Assert.Throws<ObjectDisposedException>(() => c.Feed(2));
            Assert.Throws<ObjectDisposedException>(() => c.GetLogits());
            Assert.Throws<ObjectDisposedException>(() => c.SaveState());
            Assert.Throws<ObjectDisposedException>(() => c.Clone());
            Assert.Throws<ObjectDisposedException>(() => c.Generate(Sampler.Greedy(), 1));
            Assert.Throws<ObjectDisposedException>(() => s.Sample(new float[3]));
            Assert.Throws<ObjectDisposedException>(() => l.Feed(1, new float[4], new float[4], new float[4]));
            Assert.Throws<ObjectDisposedException>(() => m.Tokenize("a"));
            Assert.Throws<ObjectDisposedException>(() => { var unused = m.Info; });
            Assert.Throws<ObjectDisposedException>(() => new Context(m));
            // Dispose twice is harmless.
            c.Dispose();
            m.Dispose();
        }

        static string AdapterPath
        {
            // The adapter tests/ writes beside the tiny model (F = 8, C = 4, lambda = 3).
            get { return TestModel.Path.Substring(0, TestModel.Path.Length - ".gguf".Length) + ".adapter.gguf"; }
        }

        [Test]
        public void AdapterAppliesAndIsRefusedOnAnotherModel()
        {
            using (var m = new Model(TestModel.Path, new ModelParams { AdapterPath = AdapterPath }))
            {
                Assert.IsTrue(m.Info.HasAdapter);
                Assert.IsTrue(m.Info.HasLolaTensors);
                Assert.IsFalse(model.Info.HasAdapter);
                Assert.AreNotEqual(model.Info.Fingerprint, m.Info.Fingerprint);
                var a = new AttentionParams().Resolve(m);
                Assert.AreEqual(4, a.ChunkSize);
                Assert.AreEqual(3, a.SparseCapacity);
            }
            byte[] bytes = File.ReadAllBytes(AdapterPath);
            byte[] key = System.Text.Encoding.ASCII.GetBytes("lola.adapter.base_fingerprint");
            int at = -1;
            for (int i = 0; i + key.Length <= bytes.Length && at < 0; i++)
                if (bytes.Skip(i).Take(key.Length).SequenceEqual(key)) at = i;
            Assert.Greater(at, 0);
            bytes[at + key.Length + 4] ^= 1;  // the u64 after the key and its type
            string other = Path.Combine(Path.GetTempPath(), "lola-cs-" + Guid.NewGuid().ToString("N") + ".adapter.gguf");
            File.WriteAllBytes(other, bytes);
            try
            {
                var e = Expect(Status.Incompatible, () => new Model(TestModel.Path, new ModelParams { AdapterPath = other }));
                StringAssert.Contains("fingerprint", e.NativeMessage);
            }
            finally
            {
                File.Delete(other);
            }
            Expect(Status.IO, () => new Model(TestModel.Path, new ModelParams { AdapterPath = "/nonexistent/a.gguf" }));
        }

        [Test]
        public void PerplexityOfAnyAttention()
        {
            var text = string.Concat(Enumerable.Repeat("the quick brown fox jumps over the lazy dog ", 8));
            int[] tokens = model.Tokenize(text);
            var full = new ContextParams { Attention = new AttentionParams { Attention = Attention.Full } };
            var p = model.Perplexity(tokens, 64, full);
            Assert.AreEqual(tokens.Length / 64, p.WindowCount);
            Assert.AreEqual(p.WindowCount * 32, p.ScoredCount);
            Assert.AreEqual(Math.Exp(p.Nll), p.Value, 1e-9 * p.Value);
            var one = model.Perplexity(tokens, 64, null, 1);
            Assert.AreEqual(1, one.WindowCount);
            Assert.AreNotEqual(p.Nll, one.Nll);
            Expect(Status.InvalidArgument, () => model.Perplexity(tokens, 1, full));
        }
    }
}
