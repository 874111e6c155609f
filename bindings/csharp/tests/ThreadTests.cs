// ThreadTests.cs: the threading contract: several threads, each with its own context, on one
// shared model give exactly the sequential results.
using System;
using System.Linq;
using System.Threading;
using NUnit.Framework;

namespace Lola.Tests
{
    [TestFixture]
    public class ThreadTests
    {
        static int[] Run(Model model, string prompt)
        {
            using (var c = model.CreateContext(TestModel.SmallLola()))
            using (var s = Sampler.Greedy())
            {
                c.Feed(model.Tokenize(prompt));
                int[] ids = c.Generate(s, 24).Select(t => t.Id).ToArray();
                // Fold the final logits in, so a race anywhere in the state shows.
                return ids.Concat(c.GetLogits().Select(x => BitConverter.ToInt32(BitConverter.GetBytes(x), 0))).ToArray();
            }
        }

        [Test]
        public void ContextsOnOneModelRunConcurrently()
        {
            string[] prompts = { "first prompt", "second one", "third: longer prompt text", "4", "fifth", "sixth!" };
            using (var model = new Model(TestModel.Path))
            {
                int[][] sequential = prompts.Select(p => Run(model, p)).ToArray();
                var parallel = new int[prompts.Length][];
                var errors = new Exception[prompts.Length];
                for (int round = 0; round < 3; round++)
                {
                    var threads = Enumerable.Range(0, prompts.Length).Select(i => new Thread(() =>
                    {
                        try { parallel[i] = Run(model, prompts[i]); }
                        catch (Exception e) { errors[i] = e; }
                    })).ToArray();
                    foreach (var t in threads) t.Start();
                    foreach (var t in threads) t.Join();
                    for (int i = 0; i < prompts.Length; i++)
                    {
                        Assert.IsNull(errors[i], "thread " + i);
                        CollectionAssert.AreEqual(sequential[i], parallel[i], "prompt " + i);
                    }
                }
            }
        }

        [Test]
        public void ErrorsAreThreadLocal()
        {
            using (var model = new Model(TestModel.Path))
            {
                var messages = new string[4];
                var threads = Enumerable.Range(0, 4).Select(i => new Thread(() =>
                {
                    using (var c = model.CreateContext())
                    {
                        for (int n = 0; n < 50; n++)
                        {
                            try { c.Feed(TestModel.VocabSize + i); }
                            catch (LolaException e) { messages[i] = e.NativeMessage; }
                        }
                    }
                })).ToArray();
                foreach (var t in threads) t.Start();
                foreach (var t in threads) t.Join();
                for (int i = 0; i < 4; i++)
                    StringAssert.Contains((TestModel.VocabSize + i).ToString(), messages[i]);
            }
        }
    }
}
