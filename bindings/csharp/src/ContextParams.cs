// ContextParams.cs: every field of lola_context_params as a property. The defaults are read from
// lola_context_params_init() (run by the native struct's constructor) when the object is made,
// so they never drift from the library's.
namespace Lola
{
    /// <summary>Parameters of a <see cref="Context"/>: threads, batch size and every LoLA
    /// option (attention kind, chunk size, sparse capacity, feature map, mixing, scoring...).
    /// </summary>
    public sealed class ContextParams
    {
        /// <summary>LOLA_MODEL_DEFAULT: for ChunkSize and SparseCapacity (their default), the
        /// model's value from its lola.* metadata, else the library's (64).</summary>
        public const int ModelDefault = -1;

        /// <summary>Worker threads of the context (n_threads, >= 1).</summary>
        public int Threads { get; set; }
        /// <summary>Tokens per forward step in a prefill (batch_size).</summary>
        public int BatchSize { get; set; }
        public Attention Attention { get; set; }
        /// <summary>C: the chunk and window unit (chunk_size, >= 1), or ModelDefault.</summary>
        public int ChunkSize { get; set; }
        /// <summary>lambda: sparse cache entries per head (sparse_capacity, >= 0), or
        /// ModelDefault.</summary>
        public int SparseCapacity { get; set; }
        public FeatureMap FeatureMap { get; set; }
        /// <summary>F; 0 picks the feature map's default (feature_dim).</summary>
        public int FeatureDim { get; set; }
        /// <summary>Mixing.ModelDefault (default): the model's, else Mixing.Lola.</summary>
        public Mixing Mixing { get; set; }
        public Scoring Scoring { get; set; }
        /// <summary>Seeds performer projections (layer l uses Seed + l) and random scoring.</summary>
        public ulong Seed { get; set; }
        /// <summary>Epsilon of the mixing and self-recall-error denominators.</summary>
        public float Eps { get; set; }
        /// <summary>Performer only: draw orthogonal blocks of projection rows.</summary>
        public bool PerformerOrthogonal { get; set; }
        /// <summary>NaN (default): the model's gates when it has LoLA tensors, else 0. A number:
        /// the gate logit w of every head, g = sigmoid(w).</summary>
        public float GateLogit { get; set; }

        public ContextParams()
        {
            Library.EnsureCompatible();
            using (var p = new Native.lola_context_params())
            {
                Threads = p.n_threads;
                BatchSize = p.batch_size;
                Attention = (Attention)p.attention;
                ChunkSize = p.chunk_size;
                SparseCapacity = p.sparse_capacity;
                FeatureMap = (FeatureMap)p.feature_map;
                FeatureDim = p.feature_dim;
                Mixing = (Mixing)p.mixing;
                Scoring = (Scoring)p.scoring;
                Seed = p.seed;
                Eps = p.eps;
                PerformerOrthogonal = p.performer_orthogonal != 0;
                GateLogit = p.gate_logit;
            }
        }

        /// <summary>A native struct filled from these properties (the caller disposes it).
        /// </summary>
        internal Native.lola_context_params ToNative()
        {
            var p = new Native.lola_context_params();
            p.n_threads = Threads;
            p.batch_size = BatchSize;
            p.attention = (int)Attention;
            p.chunk_size = ChunkSize;
            p.sparse_capacity = SparseCapacity;
            p.feature_map = (int)FeatureMap;
            p.feature_dim = FeatureDim;
            p.mixing = (int)Mixing;
            p.scoring = (int)Scoring;
            p.seed = Seed;
            p.eps = Eps;
            p.performer_orthogonal = PerformerOrthogonal ? 1 : 0;
            p.gate_logit = GateLogit;
            return p;
        }
    }
}
