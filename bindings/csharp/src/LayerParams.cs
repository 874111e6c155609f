// LayerParams.cs: every field of lola_layer_params as a property (defaults from
// lola_layer_params_init()), with the three weight arrays as float[] properties: they are passed
// to the native constructor as arguments and copied there, never stored in the native struct.
namespace Lola
{
    /// <summary>Parameters of a standalone attention <see cref="Layer"/>.</summary>
    public sealed class LayerParams
    {
        public int HeadCount { get; set; }
        /// <summary>Key/value heads; must divide <see cref="HeadCount"/>.</summary>
        public int KvHeadCount { get; set; }
        public int HeadDim { get; set; }
        public Attention Attention { get; set; }
        public int ChunkSize { get; set; }
        public int SparseCapacity { get; set; }
        public FeatureMap FeatureMap { get; set; }
        /// <summary>F; 0 picks the feature map's default.</summary>
        public int FeatureDim { get; set; }
        public Mixing Mixing { get; set; }
        public Scoring Scoring { get; set; }
        public ulong Seed { get; set; }
        /// <summary>0 means 1/sqrt(HeadDim).</summary>
        public float SoftmaxScale { get; set; }
        public float Eps { get; set; }
        public bool PerformerOrthogonal { get; set; }
        public int Threads { get; set; }
        /// <summary>[HeadCount] gate logits, g = sigmoid(w); null: all 0 (g = 0.5).</summary>
        public float[] WindowFactors { get; set; }
        /// <summary>Hedgehog only: [HeadCount][HeadDim][FeatureDim/2] query-map weights.</summary>
        public float[] HedgehogQ { get; set; }
        /// <summary>Hedgehog only: the key map, same shape.</summary>
        public float[] HedgehogK { get; set; }

        public LayerParams()
        {
            Library.EnsureCompatible();
            using (var p = new Native.lola_layer_params())
            {
                HeadCount = p.n_heads;
                KvHeadCount = p.n_kv_heads;
                HeadDim = p.head_dim;
                Attention = (Attention)p.attention;
                ChunkSize = p.chunk_size;
                SparseCapacity = p.sparse_capacity;
                FeatureMap = (FeatureMap)p.feature_map;
                FeatureDim = p.feature_dim;
                Mixing = (Mixing)p.mixing;
                Scoring = (Scoring)p.scoring;
                Seed = p.seed;
                SoftmaxScale = p.softmax_scale;
                Eps = p.eps;
                PerformerOrthogonal = p.performer_orthogonal != 0;
                Threads = p.n_threads;
            }
        }

        internal Native.lola_layer_params ToNative()
        {
            var p = new Native.lola_layer_params();
            p.n_heads = HeadCount;
            p.n_kv_heads = KvHeadCount;
            p.head_dim = HeadDim;
            p.attention = (int)Attention;
            p.chunk_size = ChunkSize;
            p.sparse_capacity = SparseCapacity;
            p.feature_map = (int)FeatureMap;
            p.feature_dim = FeatureDim;
            p.mixing = (int)Mixing;
            p.scoring = (int)Scoring;
            p.seed = Seed;
            p.softmax_scale = SoftmaxScale;
            p.eps = Eps;
            p.performer_orthogonal = PerformerOrthogonal ? 1 : 0;
            p.n_threads = Threads;
            return p;
        }
    }
}
