// BatchTests.cs: batched decode, bitwise equal to feeding each context alone; refusals feed no
// context.
using System;
using System.Collections.Generic;
using NUnit.Framework;

namespace Lola.Tests
{
    [TestFixture]
    public class BatchTests : TinyModelFixture
    {
        List<Context> Contexts(int n)
        {
            var list = new List<Context>();
            for (int i = 0; i < n; i++)
            {
                var p = new ContextParams();
                p.Attention.ChunkSize = 4;
                p.Attention.SparseCapacity = i % 2 == 0 ? 3 : 0;
                p.Attention.FeatureMap = FeatureMap.Elu1;
                var c = new Context(model, p);
                var prompt = new int[3 + 5 * i];
                for (int j = 0; j < prompt.Length; j++)
                    prompt[j] = (j * 7 + i) % 90 + 1;
                c.Feed(prompt);
                list.Add(c);
            }
            return list;
        }

        static int ArgMax(float[] l)
        {
            int best = 0;
            for (int i = 1; i < l.Length; i++)
                if (l[i] > l[best])
                    best = i;
            return best;
        }

        [Test]
        public void BatchedDecodeEqualsOneByOne()
        {
            var batched = Contexts(3);
            var single = Contexts(3);
            using (var batch = new Batch(model, 3, 2))
            {
                for (int step = 0; step < 25; step++)
                {
                    var tokens = new int[3];
                    for (int i = 0; i < 3; i++)
                        tokens[i] = ArgMax(single[i].GetLogits());
                    batch.Decode(batched, tokens);
                    for (int i = 0; i < 3; i++)
                    {
                        single[i].Feed(tokens[i]);
                        var a = batched[i].GetLogits();
                        var b = single[i].GetLogits();
                        for (int k = 0; k < a.Length; k++)
                            Assert.AreEqual(BitConverter.SingleToInt32Bits(b[k]), BitConverter.SingleToInt32Bits(a[k]),
                                            "step " + step);
                    }
                }
            }
            for (int i = 0; i < 3; i++)
            {
                CollectionAssert.AreEqual(single[i].SaveState(), batched[i].SaveState());
                single[i].Dispose();
                batched[i].Dispose();
            }
        }

        [Test]
        public void RefusalsFeedNothing()
        {
            var ctxs = Contexts(2);
            var before = new[] { ctxs[0].SaveState(), ctxs[1].SaveState() };
            using (var batch = new Batch(model, 2, 1))
            {
                var e = Assert.Throws<LolaException>(() => batch.Decode(ctxs, new[] { 1, 97 }));
                Assert.AreEqual(Status.InvalidArgument, e.Status);
                StringAssert.Contains("contexts[1]: token 97 is out of range", e.NativeMessage);
                e = Assert.Throws<LolaException>(() => batch.Decode(ctxs, new[] { 1 }));
                Assert.AreEqual(Status.SizeMismatch, e.Status);
                e = Assert.Throws<LolaException>(() => batch.Decode(new List<Context> { ctxs[0], ctxs[0] }, new[] { 1, 2 }));
                StringAssert.Contains("contexts[1] appears twice", e.NativeMessage);
                var closed = Contexts(1)[0];
                closed.Dispose();
                Assert.Throws<ObjectDisposedException>(() => batch.Decode(new List<Context> { ctxs[0], closed }, new[] { 1, 2 }));
            }
            CollectionAssert.AreEqual(before[0], ctxs[0].SaveState());
            CollectionAssert.AreEqual(before[1], ctxs[1].SaveState());
            Assert.AreEqual(Status.InvalidArgument, Assert.Throws<LolaException>(() => new Batch(model, 0, 1)).Status);
            foreach (var c in ctxs)
                c.Dispose();
        }
    }
}
