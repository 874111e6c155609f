// LibraryTests.cs: the ABI check, the status enum against the library's names, and the UTF-8
// joining of token pieces.
using System;
using System.Linq;
using System.Text;
using NUnit.Framework;

namespace Lola.Tests
{
    [TestFixture]
    public class LibraryTests
    {
        [Test]
        public void DeviceCounts()
        {
            // The CPU is always there; CUDA counts what the driver reports (0 in CI).
            Assert.AreEqual(1, Library.DeviceCount(Device.Cpu));
            Assert.GreaterOrEqual(Library.DeviceCount(Device.Cuda), 0);
            Assert.Throws<LolaException>(() => Library.DeviceCount((Device)7));
        }

        [Test]
        public void AbiCheck()
        {
            Assert.AreEqual(Library.CompiledAbiVersion, Library.RuntimeAbiVersion);
            Library.CheckAbi(1, 1);
            var e = Assert.Throws<AbiMismatchException>(() => Library.CheckAbi(1, 2));
            Assert.AreEqual(1, e.Expected);
            Assert.AreEqual(2, e.Actual);
            StringAssert.Contains("ABI", e.Message);
            Assert.Throws<AbiMismatchException>(() => Library.CheckAbi(2, 1));
            Library.EnsureCompatible();
            StringAssert.IsMatch(@"^\d+\.\d+\.\d+$", Library.Version);
        }

        [Test]
        public void StatusValuesMatchTheLibrary()
        {
            foreach (Status s in Enum.GetValues(typeof(Status)))
            {
                string name = Library.StatusName(s);  // e.g. LOLA_ERR_SIZE_MISMATCH
                string bare = name.Replace("LOLA_ERR_", "").Replace("LOLA_", "").Replace("_", "");
                Assert.AreEqual(bare.ToLowerInvariant(), s.ToString().ToLowerInvariant(), name);
            }
            // Every lola_status of lola.h (the generated enum: 0..LOLA_ERR_ABORTED today) has a
            // Status of the same value and name: a status added to lola.h fails here.
            var generated = Enum.GetValues(typeof(Native.lola_status)).Cast<Native.lola_status>()
                                       .Select(v => (int)v).ToArray();
            int last = (int)Native.lola_status.LOLA_ERR_ABORTED;
            for (int code = 0; code <= Math.Max(last, generated.Max()); code++)
            {
                string name = Native.lolacs.lola_status_string((Native.lola_status)code);
                Assert.AreNotEqual("LOLA_ERR_UNKNOWN", name, "lola.h has no status " + code);
                Assert.IsTrue(Enum.IsDefined(typeof(Status), code), name + " has no Status");
                Assert.AreEqual(name, Library.StatusName((Status)code));
            }
            Assert.AreEqual(generated.Length, Enum.GetValues(typeof(Status)).Length,
                            "Status and lola.h list the same statuses");
            Assert.AreEqual("LOLA_ERR_UNKNOWN", Library.StatusName((Status)(generated.Max() + 1)),
                            "the library knows no status past the header's");
        }

        [Test]
        public void SplitUtf8CharactersJoinAcrossPieces()
        {
            byte[] bytes = Encoding.UTF8.GetBytes("aé€😀z");
            // Every split of the bytes into pieces of 1..3 bytes yields the same text.
            for (int size = 1; size <= 3; size++)
            {
                var decoder = new TokenTextDecoder();
                var text = new StringBuilder();
                for (int i = 0; i < bytes.Length; i += size)
                {
                    string piece = decoder.Push(bytes.Skip(i).Take(size).ToArray());
                    Assert.IsFalse(piece.Contains('\uFFFD'), "no replacement mid-character");
                    text.Append(piece);
                }
                text.Append(decoder.Flush());
                Assert.AreEqual("aé€😀z", text.ToString());
            }
            var d = new TokenTextDecoder();
            Assert.AreEqual("", d.Push(new byte[] { 0xE2, 0x82 }));
            Assert.AreEqual("\uFFFD", d.Flush(), "an unfinished character at the end");
        }
    }
}
