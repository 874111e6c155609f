// LayerParams.cs: the shapes and weights of lola_layer_params as properties (defaults from
// lola_layer_params_init()), and the attention settings as one AttentionParams (shared with
// ContextParams). The weight arrays are passed to the native constructor as arguments and
// copied there, never stored in the native struct.
namespace Lola
{
    /// <summary>Parameters of a standalone attention <see cref="Layer"/>.</summary>
    public sealed class LayerParams
    {
        public int HeadCount { get; set; }
        /// <summary>Key/value heads; must divide <see cref="HeadCount"/>.</summary>
        public int KvHeadCount { get; set; }
        public int HeadDim { get; set; }
        public int Threads { get; set; }
        /// <summary>The memory's settings (null: every default). Starts as a new
        /// AttentionParams, so `new LayerParams { Attention = { ChunkSize = 4 } }` works.</summary>
        public AttentionParams Attention { get; set; }
        /// <summary>0 means 1/sqrt(HeadDim).</summary>
        public float SoftmaxScale { get; set; }
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
                SoftmaxScale = p.softmax_scale;
                Threads = p.n_threads;
            }
            Attention = new AttentionParams();
        }

        internal Native.lola_layer_params ToNative()
        {
            var p = new Native.lola_layer_params();
            p.n_heads = HeadCount;
            p.n_kv_heads = KvHeadCount;
            p.head_dim = HeadDim;
            p.softmax_scale = SoftmaxScale;
            p.n_threads = Threads;
            return p;
        }
    }
}
