// ChatTests.cs: chat messages, ApplyChatTemplate and the one-call Chat / Complete with their
// streaming and async forms. The tiny model has no chat template liblola knows, so on it the
// chat calls must fail with Unsupported, and Complete (the same run without a template) is
// checked against a hand-made generation; the real template is checked on the default model
// (SmolLM2-135M-Instruct) when it is on this machine, and the test is skipped otherwise.
using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;

namespace Lola.Tests
{
    [TestFixture]
    public class ChatTests
    {
        static readonly ChatMessage[] Question = { ChatMessage.User("What is the capital of France?") };

        static void Expect(Status status, TestDelegate call)
        {
            var e = Assert.Throws<LolaException>(call);
            Assert.AreEqual(status, e.Status, e.Message);
        }

        [Test]
        public void MessagesHaveTheirRolesAndRefuseNul()
        {
            Assert.AreEqual("user", ChatMessage.User("hi").Role);
            Assert.AreEqual("system", ChatMessage.System("be brief").Role);
            Assert.AreEqual("assistant", ChatMessage.Assistant("hello").Role);
            Assert.AreEqual("hi", ChatMessage.User("hi").Content);
            Assert.AreEqual("tool", new ChatMessage("tool", "x").Role);
            Assert.Throws<ArgumentNullException>(() => ChatMessage.User(null));
            Assert.Throws<ArgumentNullException>(() => new ChatMessage(null, "x"));
            // A NUL would end the C string early (and shift the packed messages).
            Assert.Throws<ArgumentException>(() => ChatMessage.User("hi\0there"));
            Assert.Throws<ArgumentException>(() => new ChatMessage("us\0er", "hi"));
        }

        [Test]
        public void TheTinyModelHasNoKnownTemplate()
        {
            using (var model = new Model(TestModel.Path))
            {
                Expect(Status.Unsupported, () => model.ApplyChatTemplate(Question));
                Expect(Status.Unsupported, () => model.ApplyChatTemplate(new ChatMessage[0], addAssistant: false));
                Expect(Status.Unsupported, () => model.Chat(Question));
                // The streaming forms apply the template at once, so the error is not deferred.
                Expect(Status.Unsupported, () => model.ChatStream(Question));
                Expect(Status.Unsupported, () => model.ChatStreamAsync(Question));
                // ChatAsync reports it through its task.
                Task<ChatResponse> task = model.ChatAsync(Question);
                Expect(Status.Unsupported, () => task.GetAwaiter().GetResult());
                var e = Assert.Throws<LolaException>(() => model.Chat(Question));
                StringAssert.Contains("template", e.NativeMessage.ToLowerInvariant());
            }
        }

        [Test]
        public void BadArgumentsAreExceptionsNotCrashes()
        {
            using (var model = new Model(TestModel.Path))
            {
                Assert.Throws<ArgumentNullException>(() => model.ApplyChatTemplate(null));
                Assert.Throws<ArgumentException>(() => model.ApplyChatTemplate(new ChatMessage[] { ChatMessage.User("a"), null }));
                Assert.Throws<ArgumentNullException>(() => model.Chat(null));
                Assert.Throws<ArgumentNullException>(() => model.ChatAsync(null));
                Assert.Throws<ArgumentNullException>(() => model.Complete(null));
                Assert.Throws<ArgumentOutOfRangeException>(() => model.Complete("hi", new ChatOptions { MaxTokens = -1 }));
                Expect(Status.InvalidArgument, () => model.Complete("hi", new ChatOptions { Sampling = new SamplerParams { RepeatPenalty = -1 } }));
                Expect(Status.InvalidArgument, () => model.Complete("hi", new ChatOptions { Context = new ContextParams { Attention = { ChunkSize = 0 } } }));
                model.Dispose();
                Assert.Throws<ObjectDisposedException>(() => model.Complete("hi"));
                Assert.Throws<ObjectDisposedException>(() => model.ApplyChatTemplate(Question));
            }
        }

        [Test]
        public void CompleteIsTheGenerationByHand()
        {
            using (var model = new Model(TestModel.Path))
            {
                var options = new ChatOptions { MaxTokens = 20, Sampling = SamplerParams.Greedy(), Context = TestModel.SmallLola() };
                ChatResponse r = model.Complete("hello world", options);

                int[] prompt = model.Tokenize("hello world", addSpecial: true);
                List<int> expected;
                using (var c = model.CreateContext(TestModel.SmallLola()))
                using (var s = Sampler.Greedy())
                {
                    c.Feed(prompt);
                    s.Accept(prompt);
                    expected = c.Generate(s, 20).Select(t => t.Id).ToList();
                }
                Assert.AreEqual(20, expected.Count, "precondition: no EOS within 20 tokens");
                CollectionAssert.AreEqual(expected, r.Tokens);
                Assert.AreEqual(20, r.CompletionTokens);
                Assert.AreEqual(prompt.Length, r.PromptTokens);
                Assert.AreEqual(model.Detokenize(expected.ToArray()), r.Text);
                Assert.AreEqual(FinishReason.Length, r.FinishReason);

                ChatResponse none = model.Complete("hello world", new ChatOptions { MaxTokens = 0 });
                Assert.AreEqual("", none.Text);
                Assert.AreEqual(0, none.CompletionTokens);
                Assert.AreEqual(FinishReason.Length, none.FinishReason);
            }
        }

        [Test]
        public void CompleteStopsAtEndOfGeneration()
        {
            using (var model = new Model(TestModel.Path))
            {
                // No sampler setting forces the end token, so this finds a prompt whose greedy
                // run ends by itself (the runs are deterministic: the same one every time) and
                // checks that the reason says so.
                var greedy = new ChatOptions { MaxTokens = 200, Sampling = SamplerParams.Greedy(), Context = TestModel.SmallLola() };
                ChatResponse stopped = null;
                for (int i = 0; i < 94 && stopped == null; i++)
                {
                    ChatResponse r = model.Complete(new string((char)('!' + i), 1), greedy);
                    if (r.CompletionTokens < greedy.MaxTokens)
                        stopped = r;
                    else
                        Assert.AreEqual(FinishReason.Length, r.FinishReason);
                }
                if (stopped == null)
                    Assert.Ignore("no single-character prompt makes the tiny model stop within 200 tokens");
                Assert.AreEqual(FinishReason.Stop, stopped.FinishReason);
                Assert.IsFalse(stopped.Tokens.Contains(TestModel.Eos), "the end token is not part of the reply");
            }
        }

        // ---- the real template, on the default model -------------------------------------------

        [Test]
        public void ChatOnTheDefaultModel()
        {
            using (var model = new Model(TestModel.DefaultModelPath))
            {
                var chat = new[] { ChatMessage.System("You are a geography teacher."), Question[0] };
                string text = model.ApplyChatTemplate(chat);
                Assert.AreEqual("<|im_start|>system\nYou are a geography teacher.<|im_end|>\n" +
                                "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n" +
                                "<|im_start|>assistant\n", text);
                Assert.IsFalse(model.ApplyChatTemplate(chat, addAssistant: false).EndsWith("assistant\n"));

                var options = new ChatOptions { MaxTokens = 40, Sampling = SamplerParams.Greedy() };
                ChatResponse r = model.Chat(Question, options);
                StringAssert.Contains("Paris", r.Text);
                Assert.AreEqual(FinishReason.Stop, r.FinishReason, r.Text);
                Assert.AreEqual(model.Tokenize(model.ApplyChatTemplate(Question), parseSpecial: true).Length, r.PromptTokens);
                Assert.AreEqual(r.Tokens.Length, r.CompletionTokens);

                // Streaming, async streaming and the async call give the same reply.
                Assert.AreEqual(r.Text, string.Concat(model.ChatStream(Question, options).Select(t => t.Text)));
                Assert.AreEqual(r.Text, string.Concat(AsyncTests.Drain(model.ChatStreamAsync(Question, options)).Select(t => t.Text)));
                Assert.AreEqual(r.Text, model.ChatAsync(Question, options).Result.Text);

                // Stopping a stream early disposes its context; the model goes on.
                Assert.AreEqual(2, model.ChatStream(Question, options).Take(2).Count());
                using (var cts = new CancellationTokenSource())
                {
                    cts.Cancel();
                    Task<ChatResponse> canceled = model.ChatAsync(Question, options, cts.Token);
                    Assert.Catch<OperationCanceledException>(() => canceled.GetAwaiter().GetResult());
                    Assert.Catch<OperationCanceledException>(() => AsyncTests.Drain(model.ChatStreamAsync(Question, options, cts.Token)));
                }
            }
        }

        [Test]
        public void CancellingAChatStopsItsPromptFeed()
        {
            using (var model = new Model(TestModel.DefaultModelPath))
            using (var cts = new CancellationTokenSource())
            {
                // A long prompt (11,000 tokens) fed in one-token steps takes a minute or more;
                // the cancellation lands inside the feed and stops it at the next step. The
                // bound is loose on purpose (a loaded machine): it only tells "at the next
                // step" from "at the end of the feed".
                var chat = new[] { ChatMessage.User(string.Join(" ", Enumerable.Repeat("The quick brown fox jumps over the lazy dog.", 1000))) };
                var options = new ChatOptions { MaxTokens = 5, Context = new ContextParams { BatchSize = 1 } };
                var watch = System.Diagnostics.Stopwatch.StartNew();
                Task<ChatResponse> run = model.ChatAsync(chat, options, cts.Token);
                cts.CancelAfter(200);
                Assert.Catch<OperationCanceledException>(() => run.GetAwaiter().GetResult());
                Assert.Less(watch.ElapsedMilliseconds, 15000, "canceled at the next step, not at the end of the feed");
            }
        }
    }
}
