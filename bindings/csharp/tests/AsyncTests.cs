// AsyncTests.cs: Context.GenerateAsync yields what Generate yields (greedy), runs its steps off
// the caller's thread, stops with OperationCanceledException at the next token once its token
// is canceled (keeping what it fed), refuses overlapping steps; the cancellable feed of the
// chat path aborts a long prefill.
using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;

namespace Lola.Tests
{
    [TestFixture]
    public class AsyncTests : TinyModelFixture
    {
        int[] prompt;

        protected override void Loaded()
        {
            prompt = model.Tokenize("hello world");
        }

        static T Wait<T>(ValueTask<T> task)
        {
            return task.AsTask().GetAwaiter().GetResult();
        }

        /// <summary>An explicit MoveNextAsync loop: what `await foreach` compiles to (mcs has no
        /// C# 8).</summary>
        internal static List<Token> Drain(IAsyncEnumerable<Token> stream, CancellationToken ct = default(CancellationToken))
        {
            var tokens = new List<Token>();
            var e = stream.GetAsyncEnumerator(ct);
            try
            {
                while (Wait(e.MoveNextAsync()))
                    tokens.Add(e.Current);
            }
            finally
            {
                e.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
            return tokens;
        }

        List<Token> SyncReference(int maxTokens)
        {
            using (var c = model.CreateContext(TestModel.SmallLola()))
            using (var s = Sampler.Greedy())
            {
                c.Feed(prompt);
                return c.Generate(s, maxTokens).ToList();
            }
        }

        [Test]
        public void GreedyAsyncEqualsSyncGeneration()
        {
            List<Token> expected = SyncReference(30);
            Assert.AreEqual(30, expected.Count, "precondition: no EOS within 30 tokens");
            using (var c = model.CreateContext(TestModel.SmallLola()))
            using (var s = Sampler.Greedy())
            {
                c.Feed(prompt);
                List<Token> got = Drain(c.GenerateAsync(s, 30));
                CollectionAssert.AreEqual(expected.Select(t => t.Id), got.Select(t => t.Id));
                Assert.AreEqual(string.Concat(expected.Select(t => t.Text)), string.Concat(got.Select(t => t.Text)));
                Assert.AreEqual(prompt.Length + 30, c.PastCount);
                Assert.AreEqual(0, Drain(c.GenerateAsync(s, 0)).Count);
            }
        }

        [Test]
        public void StepsRunOffTheCallersThread()
        {
            using (var c = model.CreateContext(TestModel.SmallLola()))
            using (var s = Sampler.Greedy())
            {
                c.Feed(prompt);
                var e = c.GenerateAsync(s, 5).GetAsyncEnumerator();
                ValueTask<bool> step;
                // This thread holds the context's call lock: a step run here would re-enter it
                // (the lock is reentrant) and finish; on the thread pool it waits for the lock.
                using (c.Acquire())
                {
                    step = e.MoveNextAsync();
                    Thread.Sleep(200);
                    Assert.IsFalse(step.IsCompleted, "MoveNextAsync must not run the step on the caller's thread");
                    // One step at a time.
                    Assert.Throws<InvalidOperationException>(() => e.MoveNextAsync());
                }
                Assert.IsTrue(Wait(step));
                Assert.AreEqual(SyncReference(1)[0].Id, e.Current.Id);
                e.DisposeAsync().AsTask().Wait();
                Assert.Throws<ObjectDisposedException>(() => e.MoveNextAsync());
            }
        }

        [Test]
        public void CancellationStopsAtTheNextTokenAndKeepsWhatWasFed()
        {
            List<Token> expected = SyncReference(12);
            using (var c = model.CreateContext(TestModel.SmallLola()))
            using (var s = Sampler.Greedy())
            using (var cts = new CancellationTokenSource())
            {
                c.Feed(prompt);
                var got = new List<int>();
                var e = c.GenerateAsync(s, 12, cts.Token).GetAsyncEnumerator();
                while (got.Count < 4 && Wait(e.MoveNextAsync()))
                    got.Add(e.Current.Id);
                cts.Cancel();
                var stopped = Assert.Catch<OperationCanceledException>(() => Wait(e.MoveNextAsync()));
                Assert.AreEqual(cts.Token, stopped.CancellationToken);
                Assert.IsFalse(Wait(e.MoveNextAsync()), "a canceled stream is over");
                e.DisposeAsync().AsTask().Wait();
                Assert.AreEqual(prompt.Length + 4, c.PastCount, "the tokens returned stay fed, no more");
                // The context goes on where the stream stopped.
                got.AddRange(c.Generate(s, 8).Select(t => t.Id));
                CollectionAssert.AreEqual(expected.Select(t => t.Id), got);
            }
        }

        [Test]
        public void CanceledBeforeTheFirstTokenFeedsNothing()
        {
            using (var c = model.CreateContext(TestModel.SmallLola()))
            using (var s = Sampler.Greedy())
            using (var cts = new CancellationTokenSource())
            {
                c.Feed(prompt);
                cts.Cancel();
                Assert.Catch<OperationCanceledException>(() => Drain(c.GenerateAsync(s, 5, cts.Token)));
                // The token given to GetAsyncEnumerator (WithCancellation) cancels too.
                Assert.Catch<OperationCanceledException>(() => Drain(c.GenerateAsync(s, 5), cts.Token));
                Assert.AreEqual(prompt.Length, c.PastCount);
                Assert.AreEqual(3, c.Generate(s, 3).Count(), "no abort request is left behind");
            }
        }

        [Test]
        public void AsyncErrorsAreTheSyncOnes()
        {
            using (var c = model.CreateContext())
            using (var s = Sampler.Greedy())
            {
                Assert.Throws<ArgumentNullException>(() => c.GenerateAsync(null, 3));
                Assert.Throws<ArgumentOutOfRangeException>(() => c.GenerateAsync(s, -1));
                // No logits before the first feed: the step fails, as Generate does.
                var e = Assert.Throws<LolaException>(() => Drain(c.GenerateAsync(s, 3)));
                Assert.AreEqual(Status.Unsupported, e.Status);
                // A RequestAbort stops the async stream as it stops Generate.
                c.Feed(prompt);
                c.RequestAbort();
                e = Assert.Throws<LolaException>(() => Drain(c.GenerateAsync(s, 3)));
                Assert.AreEqual(Status.Aborted, e.Status);
                c.Dispose();
                Assert.Throws<ObjectDisposedException>(() => c.GenerateAsync(s, 3));
            }
        }

        [Test]
        public void CancellableFeedAbortsALongPrefill()
        {
            const int Long = 200000;  // about a second of one-token steps (AbortTests)
            int[] tokens = Enumerable.Range(0, Long).Select(i => (i * 7) % 94).ToArray();
            using (var c = model.CreateContext(new ContextParams { BatchSize = 1, Threads = 1, Attention = { ChunkSize = 4, SparseCapacity = 2 } }))
            using (var cts = new CancellationTokenSource())
            {
                cts.CancelAfter(5);
                var e = Assert.Catch<OperationCanceledException>(() => c.Feed(tokens, cts.Token));
                Assert.AreEqual(cts.Token, e.CancellationToken);
                Assert.That(c.PastCount > 0 && c.PastCount < Long, "fed " + c.PastCount);
                // No request is left for the next call.
                long fed = c.PastCount;
                c.Feed(tokens.Take(20).ToArray());
                Assert.AreEqual(fed + 20, c.PastCount);
                // Canceled already: nothing is fed.
                Assert.Catch<OperationCanceledException>(() => c.Feed(tokens, cts.Token));
                Assert.AreEqual(fed + 20, c.PastCount);
            }
        }
    }
}
