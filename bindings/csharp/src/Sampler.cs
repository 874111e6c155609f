// Sampler.cs: token sampling (lola_sampler): penalties, top-k/p, min-p, temperature and a
// seeded generator that gives the same tokens on every platform. One thread at a time.
using System;

namespace Lola
{
    /// <summary>Draws tokens from logits and keeps the history the repetition penalty reads.
    /// </summary>
    public sealed class Sampler : IDisposable
    {
        readonly ProxyHandle<Native.lola_sampler> handle;

        public Sampler(SamplerParams parameters = null)
        {
            Library.EnsureCompatible();
            var p = (parameters ?? new SamplerParams()).ToNative();
            Native.lola_sampler proxy;
            try
            {
                proxy = new Native.lola_sampler(p);
            }
            finally
            {
                p.Dispose();
            }
            handle = new ProxyHandle<Native.lola_sampler>(
                proxy, Native.lola_sampler.getCPtr(proxy).Handle, null);
        }

        /// <summary>A greedy sampler (the largest logit, lowest id on ties).</summary>
        public static Sampler Greedy()
        {
            return new Sampler(SamplerParams.Greedy());
        }

        /// <summary>Samples from `logits` (NaN throws NonFinite) and records the token.</summary>
        public int Sample(ReadOnlySpan<float> logits)
        {
            using (var l = handle.Acquire("Sampler"))
                return l.Proxy.sample(logits);
        }

        /// <summary>Samples from the last logits row of `context` without copying it.</summary>
        public int Sample(Context context)
        {
            if (context == null)
                throw new ArgumentNullException("context");
            using (var l = handle.Acquire("Sampler"))
            using (var c = context.Acquire())
                return l.Proxy.sample_context(c.Proxy);
        }

        /// <summary>Adds tokens (e.g. the prompt) to the history without sampling.</summary>
        public void Accept(ReadOnlySpan<int> tokens)
        {
            using (var l = handle.Acquire("Sampler"))
                l.Proxy.accept(tokens);
        }

        /// <summary>Clears the history and reseeds the generator.</summary>
        public void Reset(ulong seed)
        {
            using (var l = handle.Acquire("Sampler"))
                l.Proxy.reset(seed);
        }

        public void Dispose()
        {
            handle.Dispose();
        }
    }
}
