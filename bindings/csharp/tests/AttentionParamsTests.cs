// AttentionParamsTests.cs: the one attention settings class of LayerParams and ContextParams:
// defaults from the library, Resolve, that the settings reach both create calls, and the
// enums against the generated ones of lola.h.
using System;
using System.Linq;
using NUnit.Framework;

namespace Lola.Tests
{
    [TestFixture]
    public class AttentionParamsTests
    {
        static LayerParams Small(AttentionParams a)
        {
            return new LayerParams { HeadCount = 2, KvHeadCount = 1, HeadDim = 4, Attention = a };
        }

        [Test]
        public void DefaultsComeFromTheLibrary()
        {
            var a = new AttentionParams();
            Assert.AreEqual(Attention.Lola, a.Attention);
            Assert.AreEqual(AttentionParams.ModelDefault, a.ChunkSize);
            Assert.AreEqual(AttentionParams.ModelDefault, a.SparseCapacity);
            Assert.AreEqual(-1, AttentionParams.ModelDefault);
            Assert.AreEqual(FeatureMap.Auto, a.FeatureMap);
            Assert.AreEqual(Mixing.ModelDefault, a.Mixing);
            Assert.AreEqual(Scoring.SelfRecallError, a.Scoring);
            Assert.AreEqual(0x4C6F4C41UL, a.Seed);
            Assert.AreEqual(1e-6f, a.Eps);
            Assert.IsNotNull(new LayerParams().Attention);
            Assert.IsNotNull(new ContextParams().Attention);
        }

        [Test]
        public void ResolveForALayerAndForAModel()
        {
            var a = new AttentionParams { SparseCapacity = 5, Scoring = Scoring.Recency };
            var r = a.Resolve();
            Assert.AreEqual(64, r.ChunkSize, "the library's chunk size");
            Assert.AreEqual(5, r.SparseCapacity, "a set field is kept");
            Assert.AreEqual(Mixing.Lola, r.Mixing);
            Assert.AreEqual(Scoring.Recency, r.Scoring);
            Assert.AreEqual(AttentionParams.ModelDefault, a.ChunkSize, "Resolve returns a copy");
            var model = new Model(TestModel.Path);
            var tokens = new[] { 1, 5, 9, 2, 7, 3, 8, 4, 6, 1, 2 };
            try
            {
                var rm = new AttentionParams().Resolve(model);
                Assert.That(rm.ChunkSize, Is.GreaterThanOrEqualTo(1));
                Assert.That(rm.SparseCapacity, Is.GreaterThanOrEqualTo(0));
                Assert.AreNotEqual(Mixing.ModelDefault, rm.Mixing);
                // the resolved values make the same context as the defaults
                using (var d = model.CreateContext(new ContextParams { Attention = null }))
                using (var e = model.CreateContext(new ContextParams { Attention = rm }))
                {
                    d.Feed(tokens);
                    e.Feed(tokens);
                    CollectionAssert.AreEqual(d.GetLogits(), e.GetLogits());
                    CollectionAssert.AreEqual(d.SaveState(), e.SaveState());
                }
            }
            finally
            {
                model.Dispose();
            }
            // as every call on a disposed Model
            Assert.Throws<ObjectDisposedException>(() => new AttentionParams().Resolve(model));
        }

        [Test]
        public void OneSettingsObjectReachesTheLayer()
        {
            var a = new AttentionParams { ChunkSize = 4, SparseCapacity = 3 };
            using (var l = new Layer(Small(a)))
            {
                Assert.AreEqual(4, l.Info.ChunkSize);
                Assert.AreEqual(3, l.Info.SparseCapacity);
                Assert.AreEqual(Attention.Lola, l.Info.Attention);
            }
            a.ChunkSize = 8;
            a.Attention = Attention.Full;
            using (var l = new Layer(Small(a)))
            {
                Assert.AreEqual(8, l.Info.ChunkSize);
                Assert.AreEqual(Attention.Full, l.Info.Attention);
            }
            using (var l = new Layer(Small(null)))
            {
                Assert.AreEqual(64, l.Info.ChunkSize, "null: every default");
                Assert.AreEqual(64, l.Info.SparseCapacity);
            }
            var e = Assert.Throws<LolaException>(() => new Layer(Small(new AttentionParams { ChunkSize = 0 })));
            Assert.AreEqual(Status.InvalidArgument, e.Status);
        }

        [Test]
        public void OneSettingsObjectReachesTheContext()
        {
            using (var model = new Model(TestModel.Path))
            {
                var e = Assert.Throws<LolaException>(() => model.CreateContext(
                    new ContextParams { Attention = { FeatureMap = FeatureMap.Precomputed } }));
                Assert.AreEqual(Status.InvalidArgument, e.Status, e.Message);
                var tokens = new[] { 1, 5, 9, 2, 7, 3, 8, 4, 6, 1, 2 };
                var p = new ContextParams { Attention = { Attention = Attention.Full } };
                using (var full = model.CreateContext(p))
                using (var lola = model.CreateContext(TestModel.SmallLola()))
                {
                    full.Feed(tokens);
                    lola.Feed(tokens);
                    var fi = full.Info;
                    Assert.AreEqual(tokens.Length * fi.LayerCount * model.Info.HeadCount, fi.WindowCount,
                                    "full attention keeps every token in the window");
                    Assert.That(lola.Info.FoldedCount, Is.GreaterThan(0), "LoLA folds the oldest tokens");
                }
            }
        }

        [Test]
        public void PerLayerKindsMakeAHybrid()
        {
            using (var model = new Model(TestModel.Path))
            {
                int n = model.Info.LayerCount;
                var tokens = new[] { 1, 5, 9, 2, 7, 3, 8, 4, 6, 1, 2, 9, 4, 4, 7, 1 };
                var kinds = new Attention?[n];
                kinds[0] = Attention.Full;
                var p = TestModel.SmallLola();
                p.LayerAttention = kinds;
                using (var hybrid = model.CreateContext(p))
                {
                    hybrid.Feed(tokens);
                    Assert.AreEqual(tokens.Length, hybrid.GetPositions(0, 0, Memory.Window).Length,
                                    "the full layer keeps every token");
                    Assert.AreEqual(3, hybrid.GetPositions(1, 0, Memory.Sparse).Length, "layer 1 is LoLA");
                }
                var allFull = TestModel.SmallLola();
                allFull.LayerAttention = Enumerable.Repeat<Attention?>(Attention.Full, n).ToArray();
                var full = new ContextParams { Attention = { ChunkSize = 4, SparseCapacity = 3, Attention = Attention.Full } };
                using (var a = model.CreateContext(allFull))
                using (var b = model.CreateContext(full))
                {
                    a.Feed(tokens);
                    b.Feed(tokens);
                    CollectionAssert.AreEqual(b.GetLogits(), a.GetLogits());
                }
                var wrong = TestModel.SmallLola();
                wrong.LayerAttention = new Attention?[] { Attention.Full };
                var e = Assert.Throws<LolaException>(() => model.CreateContext(wrong));
                Assert.AreEqual(Status.InvalidArgument, e.Status, e.Message);
                StringAssert.Contains("n_layer_attention is 1", e.Message);
            }
        }

        static void Covers(Type publicEnum, Type generated, int sentinels)
        {
            foreach (int v in Enum.GetValues(generated).Cast<object>().Select(x => Convert.ToInt32(x)))
                Assert.IsTrue(Enum.IsDefined(publicEnum, v), publicEnum.Name + " lacks " + v);
            Assert.AreEqual(Enum.GetValues(generated).Length + sentinels, Enum.GetValues(publicEnum).Length,
                            publicEnum.Name + " has a value lola.h does not");
        }

        [Test]
        public void EnumsMatchTheHeader()
        {
            Covers(typeof(Attention), typeof(Native.lola_attention), 0);
            Covers(typeof(FeatureMap), typeof(Native.lola_feature_map), 1);
            Assert.AreEqual(Native.lolacs.LOLA_FEATURE_MAP_AUTO, (int)FeatureMap.Auto);
            Covers(typeof(Mixing), typeof(Native.lola_mixing), 1);
            Assert.AreEqual(Native.lolacs.LOLA_MODEL_DEFAULT, (int)Mixing.ModelDefault);
            Covers(typeof(Scoring), typeof(Native.lola_scoring), 0);
            Covers(typeof(Device), typeof(Native.lola_device), 0);
            Covers(typeof(Memory), typeof(Native.lola_memory), 0);
        }
    }
}
