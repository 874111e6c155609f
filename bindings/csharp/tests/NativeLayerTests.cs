// NativeLayerTests.cs: the SWIG traps, on the generated proxies themselves: a null or deleted
// handle passed to the wrapper throws NullHandle (lola.i's check typemap + our %exception)
// instead of reaching C, and a failing constructor leaves no proxy owning garbage.
using NUnit.Framework;

namespace Lola.Tests
{
    [TestFixture]
    public class NativeLayerTests
    {
        static void ExpectNullHandle(TestDelegate call)
        {
            var e = Assert.Throws<LolaException>(call);
            Assert.AreEqual(Status.NullHandle, e.Status);
            StringAssert.Contains("closed or null", e.NativeMessage);
        }

        [Test]
        public void NullAndDeletedProxiesAreRefused()
        {
            using (var p = new Native.lola_context_params())
                ExpectNullHandle(() => new Native.lola_context(null, p, null, null));

            var model = new Native.lola_model(TestModel.Path, null, null);
            var context = new Native.lola_context(model, null, null, null);
            context.feed(new[] { 1, 2 }, 0);
            context.Dispose();
            ExpectNullHandle(() => context.feed(new[] { 3 }, 0));
            ExpectNullHandle(() => context.copy_logits(-1, new float[TestModel.VocabSize]));
            using (var sampler = new Native.lola_sampler(null))
                ExpectNullHandle(() => sampler.sample_context(context));
            model.Dispose();
            ExpectNullHandle(() => model.tokenize(new byte[] { 65 }, 0, new int[4]));
            model.Dispose();  // deleting twice is a no-op
        }

        [Test]
        public void FailedConstructorThrowsTheLibraryStatus()
        {
            var e = Assert.Throws<LolaException>(() => new Native.lola_model("/nonexistent/x.gguf", null, null));
            Assert.AreEqual(Status.IO, e.Status);
            StringAssert.Contains("/nonexistent/x.gguf", e.NativeMessage);
        }
    }
}
