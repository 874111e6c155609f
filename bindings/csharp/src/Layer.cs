// Layer.cs: the standalone LoLA attention layer (lola_layer): the caller supplies q, k, v per
// token and gets the attention outputs, for research and tests without a model.
using System;

namespace Lola
{
    /// <summary>One multi-head attention layer's memory: sliding window, sparse cache and linear
    /// state per head. Arrays are float32, token-major: q and y are [T][HeadCount][HeadDim],
    /// k and v [T][KvHeadCount][HeadDim]. One thread at a time.</summary>
    public sealed class Layer : IDisposable
    {
        readonly ProxyHandle<Native.lola_layer> handle;

        public Layer(LayerParams parameters)
        {
            if (parameters == null)
                throw new ArgumentNullException("parameters");
            Library.EnsureCompatible();
            var p = parameters.ToNative();
            // liblola reads the attention settings during lola_layer_create only; the native
            // struct is an argument of the call (the wrapper sets the pointer in a copy of p)
            // and is disposed after it returned.
            var a = parameters.Attention == null ? null : parameters.Attention.ToNative();
            Native.lola_layer proxy;
            try
            {
                proxy = new Native.lola_layer(p, a, parameters.WindowFactors, parameters.HedgehogQ,
                                              parameters.HedgehogK);
            }
            finally
            {
                p.Dispose();
                if (a != null)
                    a.Dispose();
            }
            handle = Own(proxy);
        }

        Layer(ProxyHandle<Native.lola_layer> handle)
        {
            this.handle = handle;
        }

        static ProxyHandle<Native.lola_layer> Own(Native.lola_layer proxy)
        {
            return new ProxyHandle<Native.lola_layer>(
                proxy, Native.lola_layer.getCPtr(proxy).Handle, null);
        }

        /// <summary>Feeds `tokenCount` tokens and writes their outputs into `y` (an empty span
        /// updates the cache without computing outputs). Lengths must match the shapes:
        /// SizeMismatch otherwise; NaN/Inf in the inputs throw NonFinite and feed nothing.
        /// </summary>
        public void Feed(long tokenCount, ReadOnlySpan<float> q, ReadOnlySpan<float> k,
                         ReadOnlySpan<float> v, Span<float> y)
        {
            using (var l = Acquire())
                l.Proxy.feed(tokenCount, q, k, v, y);
        }

        /// <summary>Feeds `tokenCount` tokens and returns their outputs.</summary>
        public float[] Feed(long tokenCount, float[] q, float[] k, float[] v)
        {
            if (q == null)
                throw new ArgumentNullException("q");
            var y = new float[q.Length];
            Feed(tokenCount, q, k, v, y);
            return y;
        }

        /// <summary>As Feed, for FeatureMap.Precomputed layers: fq and fk are phi(q) and phi(k)
        /// for every query head, [T][HeadCount][FeatureDim].</summary>
        public void FeedFeatures(long tokenCount, ReadOnlySpan<float> q, ReadOnlySpan<float> k,
                                 ReadOnlySpan<float> v, ReadOnlySpan<float> fq,
                                 ReadOnlySpan<float> fk, Span<float> y)
        {
            using (var l = Acquire())
                l.Proxy.feed_features(tokenCount, q, k, v, fq, fk, y);
        }

        public LayerInfo Info
        {
            get
            {
                using (var l = Acquire())
                using (var i = l.Proxy.info())
                {
                    return new LayerInfo
                    {
                        HeadCount = i.n_heads, KvHeadCount = i.n_kv_heads, HeadDim = i.head_dim,
                        FeatureDim = i.feature_dim, StateHeadCount = i.n_state_heads,
                        ChunkSize = i.chunk_size, SparseCapacity = i.sparse_capacity,
                        Attention = (Attention)i.attention, TokenCount = i.n_tokens, Bytes = i.bytes,
                    };
                }
            }
        }

        public HeadState GetHeadState(int head)
        {
            using (var l = Acquire())
                return HeadState.From(l.Proxy.head_state(head));
        }

        /// <summary>Token positions (ascending) held in one memory of query head `head`.</summary>
        public long[] GetPositions(int head, Memory memory)
        {
            using (var l = Acquire())
            {
                int n = checked((int)l.Proxy.positions(head, (int)memory, Span<long>.Empty));
                var positions = new long[n];
                if (n > 0)
                    l.Proxy.positions(head, (int)memory, positions);
                return positions;
            }
        }

        public byte[] SaveState()
        {
            using (var l = Acquire())
            {
                var blob = new byte[checked((int)l.Proxy.state_size())];
                int written = checked((int)l.Proxy.state_save(blob));
                if (written != blob.Length)
                    Array.Resize(ref blob, written);
                return blob;
            }
        }

        /// <summary>Restores a blob from a layer with the same parameters; validated first, so
        /// a bad blob leaves the layer unchanged.</summary>
        public void RestoreState(ReadOnlySpan<byte> blob)
        {
            using (var l = Acquire())
                l.Proxy.state_restore(blob);
        }

        public Layer Clone()
        {
            using (var l = Acquire())
                return new Layer(Own(l.Proxy.clone()));
        }

        public void Reset()
        {
            using (var l = Acquire())
                l.Proxy.reset();
        }

        public void Dispose()
        {
            handle.Dispose();
        }

        ProxyHandle<Native.lola_layer>.Lease Acquire()
        {
            return handle.Acquire("Layer");
        }
    }
}
