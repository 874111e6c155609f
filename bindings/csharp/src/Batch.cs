// Batch.cs: batched decode (lola_batch_*): one token for each of many contexts of a model in
// one step, every weight matrix read once for all of them.
using System;
using System.Collections.Generic;

namespace Lola
{
    /// <summary>The activations of one decode step for up to MaxContexts contexts of one model,
    /// made once and reused. Each context keeps its own cache, position and logits; after
    /// <see cref="Decode"/> every context's logits are bitwise those that
    /// <c>context.Feed(token)</c> alone would give. Use it from one thread at a time; a decode
    /// holds the lock of every context it is given.</summary>
    public sealed class Batch : IDisposable
    {
        readonly ProxyHandle<Native.lola_swig_batch> handle;
        readonly Model model;

        /// <summary>A batch for `model`: maxContexts in [1, 65536], nThreads (its matrix
        /// products) in [1, 1024], else InvalidArgument.</summary>
        public Batch(Model model, int maxContexts, int nThreads = 2)
        {
            if (model == null)
                throw new ArgumentNullException("model");
            var shared = model.Shared;
            if (!shared.TryAddRef())
                throw new ObjectDisposedException("Model");
            Native.lola_swig_batch proxy;
            try
            {
                using (var m = model.Acquire())
                    proxy = new Native.lola_swig_batch(m.Proxy, maxContexts, nThreads);
            }
            catch
            {
                shared.Release();
                throw;
            }
            handle = new ProxyHandle<Native.lola_swig_batch>(
                proxy, Native.lola_swig_batch.getCPtr(proxy).Handle, shared.Release);
            this.model = model;
            MaxContexts = maxContexts;
        }

        public Model Model
        {
            get { return model; }
        }

        public int MaxContexts { get; private set; }

        /// <summary>Feeds tokens[i] to contexts[i] in one step. Every check comes first and an
        /// error feeds no context; the message names contexts[i]: InvalidArgument for a token
        /// out of range, a context of another model, the same context twice or more contexts
        /// than MaxContexts; SizeMismatch when the lengths differ; ObjectDisposedException for
        /// a disposed context.</summary>
        public void Decode(IReadOnlyList<Context> contexts, ReadOnlySpan<int> tokens)
        {
            if (contexts == null)
                throw new ArgumentNullException("contexts");
            if (contexts.Count != tokens.Length)
                throw new LolaException(Status.SizeMismatch, contexts.Count + " contexts but " + tokens.Length +
                                                             " tokens: one token per context");
            if (contexts.Count > MaxContexts)
                throw new LolaException(Status.InvalidArgument, contexts.Count +
                                        " contexts, more than the batch's max_contexts " + MaxContexts);
            var leases = new List<ProxyHandle<Native.lola_context>.Lease>(contexts.Count);
            try
            {
                using (var b = handle.Acquire("Batch"))
                {
                    for (int i = 0; i < contexts.Count; i++)
                    {
                        if (contexts[i] == null)
                            throw new ArgumentNullException("contexts[" + i + "]");
                        // Held until the call returns (the lock is re-entrant: a context given
                        // twice is leased twice, and the C call refuses the repeat).
                        leases.Add(contexts[i].Acquire());
                        b.Proxy.set((uint)i, leases[i].Proxy);
                    }
                    b.Proxy.decode(tokens);
                }
            }
            finally
            {
                foreach (var l in leases)
                    l.Dispose();
            }
        }

        public void Decode(IReadOnlyList<Context> contexts, int[] tokens)
        {
            Decode(contexts, new ReadOnlySpan<int>(tokens));
        }

        public void Dispose()
        {
            handle.Dispose();
        }
    }
}
