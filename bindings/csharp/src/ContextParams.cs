// ContextParams.cs: the fields of lola_context_params as properties, the attention settings as
// one AttentionParams (shared with LayerParams). The defaults are read from
// lola_context_params_init() (run by the native struct's constructor) when the object is made,
// so they never drift from the library's.
namespace Lola
{
    /// <summary>Parameters of a <see cref="Context"/>: threads, batch size, gate logit and the
    /// attention settings of every layer.</summary>
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
