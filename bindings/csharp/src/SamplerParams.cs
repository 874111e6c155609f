// SamplerParams.cs: lola_sampler_params as properties, defaults from lola_sampler_params_init().
namespace Lola
{
    /// <summary>Parameters of a <see cref="Sampler"/>, applied in lola.h's order: repetition
    /// penalty, top-k, top-p, min-p, temperature, then one seeded draw.</summary>
    public sealed class SamplerParams
    {
        /// <summary>&lt;= 0: greedy.</summary>
        public float Temperature { get; set; }
        /// <summary>&lt;= 0: off.</summary>
        public int TopK { get; set; }
        /// <summary>&gt;= 1: off.</summary>
        public float TopP { get; set; }
        /// <summary>&lt;= 0: off.</summary>
        public float MinP { get; set; }
        /// <summary>1: off; &gt; 1 discourages repeats.</summary>
        public float RepeatPenalty { get; set; }
        public int PenaltyLastN { get; set; }
        public ulong Seed { get; set; }

        public SamplerParams()
        {
            Library.EnsureCompatible();
            using (var p = new Native.lola_sampler_params())
            {
                Temperature = p.temperature;
                TopK = p.top_k;
                TopP = p.top_p;
                MinP = p.min_p;
                RepeatPenalty = p.repeat_penalty;
                PenaltyLastN = p.penalty_last_n;
                Seed = p.seed;
            }
        }

        /// <summary>Parameters of greedy decoding (temperature 0).</summary>
        public static SamplerParams Greedy()
        {
            return new SamplerParams { Temperature = 0 };
        }

        internal Native.lola_sampler_params ToNative()
        {
            var p = new Native.lola_sampler_params();
            p.temperature = Temperature;
            p.top_k = TopK;
            p.top_p = TopP;
            p.min_p = MinP;
            p.repeat_penalty = RepeatPenalty;
            p.penalty_last_n = PenaltyLastN;
            p.seed = Seed;
            return p;
        }
    }
}
