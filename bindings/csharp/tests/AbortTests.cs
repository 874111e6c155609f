// AbortTests.cs: Context.RequestAbort() stops a feed or a generation running on another thread
// with Aborted, keeps what was fed, leaves the context usable, and is consumed by one abort.
using System;
using System.Linq;
using System.Threading;
using NUnit.Framework;

namespace Lola.Tests
{
    [TestFixture]
    public class AbortTests
    {
        // 200,000 one-token steps take about a second uncancelled (5,000 take only 30 ms on the
        // tiny model: too short to be sure a request from another thread lands inside the feed).
        const int Long = 200000;

        /// <summary>Printable ids only (0..93), so that no token is special.</summary>
        static int[] Tokens(int n, int offset)
        {
            return Enumerable.Range(0, n).Select(i => (i * 7 + offset) % 94).ToArray();
        }

        /// <summary>One token per forward step: a long feed polls the flag thousands of times.
        /// </summary>
        static ContextParams OneTokenSteps()
        {
            return new ContextParams { BatchSize = 1, Threads = 1, Attention = { ChunkSize = 4, SparseCapacity = 2 } };
        }

        static void AssertAborted(TestDelegate call)
        {
            var e = Assert.Throws<LolaException>(call);
            Assert.AreEqual(Status.Aborted, e.Status, e.Message);
        }

        [Test]
        public void AbortFromAnotherThreadStopsALongFeed()
        {
            using (var model = new Model(TestModel.Path))
            using (var c = model.CreateContext(OneTokenSteps()))
            {
                int[] prompt = Tokens(Long, 0);
                var feeding = new ManualResetEventSlim();
                Exception cancellerError = null;
                var canceller = new Thread(() =>
                {
                    try
                    {
                        feeding.Wait();
                        Thread.Sleep(5);  // well inside the feed, which runs for about a second
                        c.RequestAbort();  // must not wait for the feed, which holds a lease
                    }
                    catch (Exception e) { cancellerError = e; }
                });
                canceller.Start();
                feeding.Set();
                AssertAborted(() => c.Feed(prompt));
                Assert.IsTrue(canceller.Join(10000));
                Assert.IsNull(cancellerError);

                long fed = c.PastCount;
                Assert.That(fed > 0 && fed < Long, "fed " + fed + " of " + Long);
                var none = Assert.Throws<LolaException>(() => c.GetLogits());
                Assert.AreEqual(Status.Unsupported, none.Status, "no logits after an abort");

                // The context goes on from where it stopped: the same state as feeding the fed
                // prefix plus 10 more tokens in one uninterrupted run.
                c.Feed(prompt.Skip((int)fed).Take(10).ToArray());
                Assert.AreEqual(fed + 10, c.PastCount);
                float[] resumed = c.GetLogits();
                using (var reference = model.CreateContext(OneTokenSteps()))
                {
                    reference.Feed(prompt.Take((int)fed + 10).ToArray());
                    float[] expected = reference.GetLogits();
                    for (int i = 0; i < expected.Length; i++)
                        Assert.AreEqual(expected[i], resumed[i], 1e-4f, "logit " + i);
                }
                Assert.That(resumed.All(x => !float.IsNaN(x) && !float.IsInfinity(x)));
            }
        }

        [Test]
        public void ARequestBeforeACallIsConsumedByIt()
        {
            using (var model = new Model(TestModel.Path))
            using (var c = model.CreateContext(new ContextParams { BatchSize = 4, Threads = 1 }))
            {
                c.RequestAbort();
                AssertAborted(() => c.Feed(Tokens(20, 1)));
                Assert.AreEqual(4, c.PastCount, "the flag is polled after each step of 4 tokens");
                // Consumed: the next feed runs to the end.
                c.Feed(Tokens(20, 2));
                Assert.AreEqual(24, c.PastCount);
                Assert.AreEqual(TestModel.VocabSize, c.GetLogits().Length);

                // ClearAbort withdraws a request no call has consumed.
                c.RequestAbort();
                c.ClearAbort();
                c.Feed(Tokens(20, 3));
                Assert.AreEqual(44, c.PastCount);

                // A feed of one step never polls: the request waits for the next poll.
                c.RequestAbort();
                c.Feed(5);
                Assert.AreEqual(45, c.PastCount);
                AssertAborted(() => c.Feed(Tokens(8, 4)));
                Assert.AreEqual(45 + 4, c.PastCount);
            }
        }

        [Test]
        public void EachCloneHasItsOwnFlag()
        {
            using (var model = new Model(TestModel.Path))
            using (var c = model.CreateContext(new ContextParams { BatchSize = 2, Threads = 1 }))
            {
                c.Feed(Tokens(6, 0));
                using (var copy = c.Clone())
                {
                    copy.RequestAbort();
                    c.Feed(Tokens(6, 1));
                    Assert.AreEqual(12, c.PastCount, "the original is not aborted");
                    AssertAborted(() => copy.Feed(Tokens(6, 1)));
                    Assert.AreEqual(6 + 2, copy.PastCount);
                }
            }
        }

        [Test]
        public void GenerationStopsAtTheNextTokenAfterARequestFromAnotherThread()
        {
            using (var model = new Model(TestModel.Path))
            using (var c = model.CreateContext(TestModel.SmallLola()))
            using (var s = Sampler.Greedy())
            {
                int[] prompt = model.Tokenize("hello world");
                // Precondition: without an abort this prompt generates all 40 tokens (no EOS).
                using (var reference = model.CreateContext(TestModel.SmallLola()))
                using (var rs = Sampler.Greedy())
                {
                    reference.Feed(prompt);
                    Assert.AreEqual(40, reference.Generate(rs, 40).Count());
                }

                c.Feed(prompt);
                var fifth = new ManualResetEventSlim();
                var requested = new ManualResetEventSlim();
                var canceller = new Thread(() =>
                {
                    fifth.Wait();
                    c.RequestAbort();
                    requested.Set();
                });
                canceller.Start();
                int count = 0;
                AssertAborted(() =>
                {
                    foreach (var token in c.Generate(s, 40))
                    {
                        if (++count == 5)
                        {
                            fifth.Set();
                            Assert.IsTrue(requested.Wait(10000));
                        }
                    }
                });
                Assert.IsTrue(canceller.Join(10000));
                Assert.AreEqual(5, count, "the step after the request throws");
                Assert.AreEqual(prompt.Length + 5, c.PastCount, "every yielded token stays fed");
                Assert.AreEqual(TestModel.VocabSize, c.GetLogits().Length, "the logits stay valid");
                // Consumed: generation goes on.
                Assert.AreEqual(3, c.Generate(s, 3).Count());
            }
        }

        [Test]
        public void CancellationTokenRegistrationAbortsAFeed()
        {
            using (var model = new Model(TestModel.Path))
            using (var c = model.CreateContext(OneTokenSteps()))
            using (var source = new CancellationTokenSource())
            {
                source.CancelAfter(5);
                using (source.Token.Register(c.RequestAbort))
                    AssertAborted(() => c.Feed(Tokens(Long, 0)));
                Assert.That(c.PastCount > 0 && c.PastCount < Long, "fed " + c.PastCount);
            }
        }

        [Test]
        public void RequestAbortAfterDisposeThrows()
        {
            using (var model = new Model(TestModel.Path))
            {
                var c = model.CreateContext();
                c.Dispose();
                Assert.Throws<ObjectDisposedException>(() => c.RequestAbort());
            }
        }
    }
}
