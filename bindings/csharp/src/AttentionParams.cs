// AttentionParams.cs: what every head's memory does (lola_attention_params), the one settings
// class that LayerParams.Attention and ContextParams.Attention both hold. Defaults are read from
// lola_attention_params_init() (the native struct's constructor) when the object is made.
namespace Lola
{
    /// <summary>Attention settings of a <see cref="Layer"/> or a <see cref="Context"/>:
    /// attention kind, chunk size, sparse capacity, feature map, mixing, scoring, seed, eps.
    /// Read when the layer or context is created (later changes do not reach it).</summary>
    public sealed class AttentionParams
    {
        /// <summary>LOLA_MODEL_DEFAULT: for ChunkSize and SparseCapacity (their default), the
        /// model's value from its lola.* metadata, else (and always for a standalone layer) the
        /// library's (64).</summary>
        public const int ModelDefault = Native.lolacs.LOLA_MODEL_DEFAULT;

        public Attention Attention { get; set; }
        /// <summary>C: the chunk and window unit (>= 1), or ModelDefault.</summary>
        public int ChunkSize { get; set; }
        /// <summary>lambda: sparse cache entries per head (>= 0), or ModelDefault.</summary>
        public int SparseCapacity { get; set; }
        /// <summary>Auto (default): hedgehog when hedgehog weights are present, else performer.
        /// Precomputed: standalone layers only.</summary>
        public FeatureMap FeatureMap { get; set; }
        /// <summary>F; 0 picks the feature map's default.</summary>
        public int FeatureDim { get; set; }
        /// <summary>Mixing.ModelDefault (default): the model's, else Mixing.Lola.</summary>
        public Mixing Mixing { get; set; }
        public Scoring Scoring { get; set; }
        /// <summary>Performer only: draw orthogonal blocks of projection rows.</summary>
        public bool PerformerOrthogonal { get; set; }
        /// <summary>Seeds performer projections (layer l of a model uses Seed + l) and random
        /// scoring.</summary>
        public ulong Seed { get; set; }
        /// <summary>Epsilon of the mixing and self-recall-error denominators.</summary>
        public float Eps { get; set; }

        public AttentionParams()
        {
            Library.EnsureCompatible();
            using (var p = new Native.lola_attention_params())
                Read(p);
        }

        /// <summary>A copy of these settings.</summary>
        public AttentionParams Clone()
        {
            return (AttentionParams)MemberwiseClone();
        }

        /// <summary>A copy whose ModelDefault fields (ChunkSize, SparseCapacity, Mixing) hold
        /// what a context on `model` would use, or, with `model` null, what a standalone layer
        /// would use (lola_attention_params_resolve). This object is unchanged.</summary>
        public AttentionParams Resolve(Model model = null)
        {
            var r = Clone();
            using (var p = ToNative())
            {
                if (model == null)
                {
                    Native.lolacs.resolve_attention_for_layer(p);
                }
                else
                {
                    using (var m = model.Acquire())
                        m.Proxy.resolve_attention(p);
                }
                r.Read(p);
            }
            return r;
        }

        void Read(Native.lola_attention_params p)
        {
            Attention = (Attention)p.attention;
            ChunkSize = p.chunk_size;
            SparseCapacity = p.sparse_capacity;
            FeatureMap = (FeatureMap)p.feature_map;
            FeatureDim = p.feature_dim;
            Mixing = (Mixing)p.mixing;
            Scoring = (Scoring)p.scoring;
            PerformerOrthogonal = p.performer_orthogonal != 0;
            Seed = p.seed;
            Eps = p.eps;
        }

        /// <summary>A native struct holding these settings (the caller disposes it after the
        /// create call that reads it).</summary>
        internal Native.lola_attention_params ToNative()
        {
            var p = new Native.lola_attention_params();
            p.attention = (int)Attention;
            p.chunk_size = ChunkSize;
            p.sparse_capacity = SparseCapacity;
            p.feature_map = (int)FeatureMap;
            p.feature_dim = FeatureDim;
            p.mixing = (int)Mixing;
            p.scoring = (int)Scoring;
            p.performer_orthogonal = PerformerOrthogonal ? 1 : 0;
            p.seed = Seed;
            p.eps = Eps;
            return p;
        }
    }
}
