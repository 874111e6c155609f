// MisuseTests.cs: one context, layer or sampler used from several threads at once is
// serialised, and Dispose from another thread waits for the running call: errors or correct
// results, never a crash (two threads feeding one context died with SIGSEGV before the leases
// took a lock).
using System;
using System.Threading;
using NUnit.Framework;

namespace Lola.Tests
{
    [TestFixture]
    public class MisuseTests
    {
        static ContextParams OneTokenSteps()
        {
            return new ContextParams { BatchSize = 1, Threads = 1, Attention = { ChunkSize = 4, SparseCapacity = 2 } };
        }

        /// <summary>Runs `body` on `n` threads at once; returns the first unexpected exception.
        /// ObjectDisposedException is expected when another thread disposes the object.</summary>
        static Exception RunOnThreads(int n, Action body)
        {
            Exception failure = null;
            var threads = new Thread[n];
            for (int i = 0; i < n; i++)
            {
                threads[i] = new Thread(() =>
                {
                    try { body(); }
                    catch (ObjectDisposedException) { }
                    catch (Exception e) { Interlocked.CompareExchange(ref failure, e, null); }
                });
                threads[i].Start();
            }
            foreach (var t in threads)
                t.Join();
            return failure;
        }

        [Test]
        public void ConcurrentFeedsOfOneContextAreSerialised()
        {
            using (var model = new Model(TestModel.Path))
            using (var c = model.CreateContext(OneTokenSteps()))
            {
                Assert.IsNull(RunOnThreads(4, () =>
                {
                    for (int k = 0; k < 5; k++)
                        c.Feed(new int[40]);
                }));
                Assert.AreEqual(4 * 5 * 40, c.Info.PastCount);
            }
        }

        [Test]
        public void SamplingAContextWhileOtherThreadsFeedIt()
        {
            using (var model = new Model(TestModel.Path))
            using (var c = model.CreateContext(OneTokenSteps()))
            using (var s = Sampler.Greedy())
            {
                c.Feed(new[] { 1, 2, 3 });
                int feeders = 0;
                Assert.IsNull(RunOnThreads(4, () =>
                {
                    if (Interlocked.Increment(ref feeders) % 2 == 0)
                        for (int k = 0; k < 100; k++) c.Feed(new[] { k % 90 });
                    else
                        for (int k = 0; k < 100; k++) Assert.That(s.Sample(c), Is.InRange(0, TestModel.VocabSize - 1));
                }));
                Assert.AreEqual(3 + 2 * 100, c.Info.PastCount);
            }
        }

        [Test]
        public void DisposeWhileAnotherThreadFeeds()
        {
            using (var model = new Model(TestModel.Path))
            {
                for (int round = 0; round < 10; round++)
                {
                    var c = model.CreateContext(OneTokenSteps());
                    Exception failure = null;
                    var t = new Thread(() =>
                    {
                        try { c.Feed(new int[300]); }
                        catch (ObjectDisposedException) { }
                        catch (Exception e) { failure = e; }
                    });
                    t.Start();
                    Thread.Sleep(2);
                    c.Dispose();
                    t.Join();
                    Assert.IsNull(failure);
                    Assert.Throws<ObjectDisposedException>(() => c.Feed(new[] { 1 }));
                }
            }
        }

        [Test]
        public void ModelPathWithNulIsRefused()
        {
            // Before: C saw the path up to the NUL and loaded that file.
            Assert.Throws<ArgumentException>(() => new Model(TestModel.Path + "\0ignored"));
        }

        [Test]
        public void ConcurrentFeedsOfOneLayerAreSerialised()
        {
            var p = new LayerParams { HeadCount = 4, KvHeadCount = 2, HeadDim = 8, Attention = { ChunkSize = 4, SparseCapacity = 2 } };
            using (var layer = new Layer(p))
            {
                var q = new float[4 * 8];
                var kv = new float[2 * 8];
                for (int i = 0; i < q.Length; i++) q[i] = 0.01f * i;
                for (int i = 0; i < kv.Length; i++) kv[i] = 0.02f * i;
                Assert.IsNull(RunOnThreads(4, () =>
                {
                    var mine = new float[q.Length];
                    for (int k = 0; k < 50; k++)
                        layer.Feed(1, q, kv, kv, mine);
                }));
                Assert.AreEqual(4 * 50, layer.Info.TokenCount);
            }
        }
    }
}
