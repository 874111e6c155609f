// Info.cs: read-only snapshots of the info structs of lola.h (copied out of the native structs,
// so they stay valid after the object they describe changes or is disposed).
namespace Lola
{
    /// <summary>Shapes and sizes of a loaded model (lola_model_info).</summary>
    public sealed class ModelInfo
    {
        public string Architecture { get; internal set; }
        public string Name { get; internal set; }
        public int LayerCount { get; internal set; }
        public int HeadCount { get; internal set; }
        public int KvHeadCount { get; internal set; }
        public int HeadDim { get; internal set; }
        public int EmbeddingSize { get; internal set; }
        public int FeedForwardSize { get; internal set; }
        public int VocabSize { get; internal set; }
        /// <summary>Trained context length; 0 when the file does not say.</summary>
        public long TrainContextLength { get; internal set; }
        public ulong WeightBytes { get; internal set; }
        /// <summary>True when the model has hedgehog feature maps and gates (from its file or
        /// its adapter).</summary>
        public bool HasLolaTensors { get; internal set; }
        /// <summary>True when loaded with <see cref="ModelParams.AdapterPath"/>.</summary>
        public bool HasAdapter { get; internal set; }
        /// <summary>Identifies the weights the model computes with (its file and its adapter):
        /// saved context state restores only on a model with the same fingerprint, and an
        /// adapter records its base's.</summary>
        public ulong Fingerprint { get; internal set; }
    }

    /// <summary>What <see cref="Model.Perplexity"/> measured (lola_perplexity_result).</summary>
    public sealed class PerplexityResult
    {
        /// <summary>Windows evaluated.</summary>
        public long WindowCount { get; internal set; }
        /// <summary>Tokens whose probability was scored (the second half of each window).</summary>
        public long ScoredCount { get; internal set; }
        /// <summary>Mean negative log-likelihood of a scored token, in nats.</summary>
        public double Nll { get; internal set; }
        /// <summary>exp(Nll).</summary>
        public double Value { get; internal set; }
    }

    /// <summary>Special tokens of a model's vocabulary; -1 where there is none.</summary>
    public sealed class SpecialTokens
    {
        public int Bos { get; internal set; }
        public int Eos { get; internal set; }
        public int Eot { get; internal set; }
        public int Unk { get; internal set; }
        public int Pad { get; internal set; }
    }

    /// <summary>Totals of a context's cache state over its layers (lola_context_info).</summary>
    public sealed class ContextInfo
    {
        /// <summary>Tokens fed since creation or the last reset.</summary>
        public long PastCount { get; internal set; }
        public int LayerCount { get; internal set; }
        /// <summary>Heads that own a cache state, per layer.</summary>
        public int StateHeadCount { get; internal set; }
        /// <summary>Cache state of all layers (constant in PastCount for LoLA).</summary>
        public ulong StateBytes { get; internal set; }
        public long WindowCount { get; internal set; }
        public long SparseCount { get; internal set; }
        public long FoldedCount { get; internal set; }
        public long EvictedCount { get; internal set; }
    }

    /// <summary>Shapes and totals of a standalone layer (lola_layer_info).</summary>
    public sealed class LayerInfo
    {
        public int HeadCount { get; internal set; }
        public int KvHeadCount { get; internal set; }
        public int HeadDim { get; internal set; }
        public int FeatureDim { get; internal set; }
        public int StateHeadCount { get; internal set; }
        public int ChunkSize { get; internal set; }
        public int SparseCapacity { get; internal set; }
        public Attention Attention { get; internal set; }
        public long TokenCount { get; internal set; }
        public ulong Bytes { get; internal set; }
    }

    /// <summary>Cache state of one query head (lola_head_state): every fed position is in
    /// exactly one of window, sparse cache, linear state (folded) or evicted.</summary>
    public sealed class HeadState
    {
        /// <summary>The state this query head reads (shared within a KV group when possible).
        /// </summary>
        public int StateHead { get; internal set; }
        public long WindowCount { get; internal set; }
        public long SparseCount { get; internal set; }
        public long FoldedCount { get; internal set; }
        public long EvictedCount { get; internal set; }
        public ulong Bytes { get; internal set; }

        internal static HeadState From(Native.lola_head_state s)
        {
            using (s)
            {
                return new HeadState
                {
                    StateHead = s.state_head, WindowCount = s.n_window, SparseCount = s.n_sparse,
                    FoldedCount = s.n_folded, EvictedCount = s.n_evicted, Bytes = s.bytes,
                };
            }
        }
    }
}
