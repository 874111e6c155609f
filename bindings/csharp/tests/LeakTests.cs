// LeakTests.cs: creating and releasing models and contexts many times keeps the resident set
// flat, both through Dispose and through the finalizers. Finalizer lag is not a leak: the GC
// does not see native memory, so undisposed objects pile up between collections and the RSS
// climbs to a plateau (about 3 x 300 rounds here) before it stays flat; that path is therefore
// measured after a longer warm-up, and every measurement first collects and finalizes.
using System;
using System.IO;
using NUnit.Framework;

namespace Lola.Tests
{
    [TestFixture]
    public class LeakTests
    {
        // Each round loads the model and makes three contexts (LoLA, full attention, a clone)
        // holding ~86 KB of cache state each: leaking any of them for 300 rounds exceeds this
        // bound (a leak of every native object measured 56 MB).
        const long BoundBytes = 12L << 20;
        const int Rounds = 300;

        static long ResidentBytes()
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            string[] fields = File.ReadAllText("/proc/self/statm").Split(' ');
            return long.Parse(fields[1]) * Environment.SystemPageSize;
        }

        static void Round(bool dispose)
        {
            var model = new Model(TestModel.Path);
            var a = model.CreateContext(TestModel.SmallLola());
            var b = model.CreateContext(new ContextParams { Attention = { Attention = Attention.Full } });
            a.Feed(model.Tokenize("leak check"));
            b.Feed(model.Tokenize("leak check"));
            var c = a.Clone();
            byte[] blob = a.SaveState();
            c.RestoreState(blob);
            if (dispose)
            {
                c.Dispose();
                b.Dispose();
                model.Dispose();  // before a: the context keeps the model alive
                a.Dispose();
            }
        }

        static void Check(bool dispose)
        {
            int warmUp = dispose ? 30 : 4 * Rounds;
            for (int i = 0; i < warmUp; i++)
                Round(dispose);
            long before = ResidentBytes();
            for (int i = 0; i < Rounds; i++)
                Round(dispose);
            long growth = ResidentBytes() - before;
            Console.WriteLine("{0} rounds ({1}): RSS grew {2} KB", Rounds, dispose ? "Dispose" : "finalizers", growth / 1024);
            Assert.Less(growth, BoundBytes);
        }

        [Test]
        public void DisposeReleasesEverything()
        {
            Check(true);
        }

        [Test]
        public void FinalizersReleaseEverything()
        {
            Check(false);
        }
    }
}
