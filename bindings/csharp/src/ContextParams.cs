// ContextParams.cs: the fields of lola_context_params as properties, the attention settings as
// one AttentionParams (shared with LayerParams). The defaults are read from
// lola_context_params_init() (run by the native struct's constructor) when the object is made,
// so they never drift from the library's.
namespace Lola
{
    /// <summary>Parameters of a <see cref="Context"/>: threads, batch size, gate logit, the
    /// attention settings of every layer and optional per-layer attention kinds.</summary>
    public sealed class ContextParams
    {
        /// <summary>Worker threads of the context (n_threads, >= 1).</summary>
        public int Threads { get; set; }
        /// <summary>Tokens per forward step in a prefill (batch_size).</summary>
        public int BatchSize { get; set; }
        /// <summary>Every layer's memory (null: every default; the feature map may not be
        /// Precomputed). Starts as a new AttentionParams, so
        /// `new ContextParams { Attention = { ChunkSize = 4 } }` works.</summary>
        public AttentionParams Attention { get; set; }
        /// <summary>NaN (default): the model's gates when it has LoLA tensors, else 0. A number:
        /// the gate logit w of every head, g = sigmoid(w).</summary>
        public float GateLogit { get; set; }
        /// <summary>Per-layer attention kinds (lola_context_params.layer_attention): null
        /// (default), every layer computes Attention.Attention; else one entry per layer of the
        /// model, each an <see cref="Lola.Attention"/> or null for Attention.Attention's kind: a
        /// hybrid such as a few Full layers among LoLA ones (their cache grows with the
        /// context). A count other than the model's layers is refused (InvalidArgument) when
        /// the context is created.</summary>
        public Attention?[] LayerAttention { get; set; }

        public ContextParams()
        {
            Library.EnsureCompatible();
            using (var p = new Native.lola_context_params())
            {
                Threads = p.n_threads;
                BatchSize = p.batch_size;
                GateLogit = p.gate_logit;
            }
            Attention = new AttentionParams();
        }

        /// <summary>LayerAttention as C values (null when unset), passed beside the struct.
        /// </summary>
        internal int[] LayerAttentionCodes()
        {
            if (LayerAttention == null)
                return null;
            var codes = new int[LayerAttention.Length];
            for (int i = 0; i < codes.Length; i++)
                codes[i] = LayerAttention[i].HasValue ? (int)LayerAttention[i].Value : AttentionParams.ModelDefault;
            return codes;
        }

        /// <summary>A native struct filled from these properties (the caller disposes it).
        /// </summary>
        internal Native.lola_context_params ToNative()
        {
            var p = new Native.lola_context_params();
            p.n_threads = Threads;
            p.batch_size = BatchSize;
            p.gate_logit = GateLogit;
            return p;
        }
    }
}
