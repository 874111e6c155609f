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
}
