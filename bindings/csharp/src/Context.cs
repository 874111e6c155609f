// Context.cs: one inference stream over a model (lola_context): feed tokens, read logits,
// inspect and save the cache state, generate. Used by one thread at a time.
using System;
using System.Collections.Generic;
using System.Threading;

namespace Lola
{
    /// <summary>One inference stream: every attention layer of the model is a LoLA layer (or a
    /// baseline) with its own cache state. Not thread-safe: use it from one thread at a time
    /// (different contexts may run concurrently on one model), except <see cref="RequestAbort"/>,
    /// which any thread may call.</summary>
    public sealed class Context : IDisposable
    {
        readonly ProxyHandle<Native.lola_context> handle;
        // The C flag liblola polls between forward steps (bindings/swig/lola_handles.i); freed
        // by the handle's release, right after the context.
        readonly Native.lola_abort_flag abort;
        readonly Model model;
        readonly int vocabSize;

        /// <summary>A context on `model`, which stays alive (natively) until this context is
        /// disposed or finalized, even if the model object is disposed first.</summary>
        public Context(Model model, ContextParams parameters = null)
        {
            if (model == null)
                throw new ArgumentNullException("model");
            var given = parameters ?? new ContextParams();
            var p = given.ToNative();
            // Read during lola_context_create only; disposed after it returned.
            var a = given.Attention == null ? null : given.Attention.ToNative();
            var kinds = given.LayerAttentionCodes();
            try
            {
                using (var m = model.Acquire())
                {
                    var modelProxy = m.Proxy;
                    handle = Adopt(model, () => new Native.lola_context(modelProxy, p, a, kinds), out abort);
                }
            }
            finally
            {
                p.Dispose();
                if (a != null)
                    a.Dispose();
            }
            this.model = model;
            vocabSize = model.CachedInfo.VocabSize;
        }

        Context(Model model, ProxyHandle<Native.lola_context> handle, Native.lola_abort_flag abort)
        {
            this.model = model;
            this.handle = handle;
            this.abort = abort;
            vocabSize = model.CachedInfo.VocabSize;
        }

        /// <summary>Runs `create` and wraps its proxy in a handle holding a reference on the
        /// model (taken before, given back if `create` throws) and owning the context's abort
        /// flag, attached to it here and freed after it.</summary>
        static ProxyHandle<Native.lola_context> Adopt(Model model, Func<Native.lola_context> create,
                                                      out Native.lola_abort_flag abort)
        {
            var shared = model.Shared;
            if (!shared.TryAddRef())
                throw new ObjectDisposedException("Model");
            Native.lola_abort_flag flag = null;
            Native.lola_context proxy = null;
            try
            {
                flag = new Native.lola_abort_flag();
                GC.SuppressFinalize(flag);  // released by the handle only, after the context
                proxy = create();
                flag.attach(proxy);
                var owned = flag;
                abort = flag;
                return new ProxyHandle<Native.lola_context>(
                    proxy, Native.lola_context.getCPtr(proxy).Handle,
                    () => { owned.Dispose(); shared.Release(); });
            }
            catch
            {
                if (proxy != null)
                    proxy.Dispose();
                if (flag != null)
                    flag.Dispose();
                shared.Release();
                throw;
            }
        }

        /// <summary>The model this context runs.</summary>
        public Model Model
        {
            get { return model; }
        }

        /// <summary>Feeds tokens (a prefill, or one token to decode) and computes the logits of
        /// the last one (of every one with allLogits). An id outside [0, VocabSize) throws
        /// InvalidArgument and feeds nothing. After <see cref="RequestAbort"/> it throws
        /// Aborted: the tokens of the forward steps already run stay fed (PastCount tells how
        /// many in all) and the logits are unavailable until the next feed.</summary>
        public void Feed(ReadOnlySpan<int> tokens, bool allLogits = false)
        {
            using (var l = Acquire())
                l.Proxy.feed(tokens, allLogits ? Native.lolacs.LOLA_FEED_ALL_LOGITS : 0u);
        }

        public void Feed(int[] tokens, bool allLogits = false)
        {
            if (tokens == null)
                throw new ArgumentNullException("tokens");
            Feed(new ReadOnlySpan<int>(tokens), allLogits);
        }

        public void Feed(int token)
        {
            Feed(new[] { token });
        }

        /// <summary>Rows of logits the last feed kept (1, or one per token with allLogits).
        /// </summary>
        public int LogitRows
        {
            get { using (var l = Acquire()) return checked((int)l.Proxy.logits_rows()); }
        }

        /// <summary>A copy of row `row` of the logits (-1: the last), VocabSize floats.
        /// Throws Unsupported before the first feed and after a restore.</summary>
        public float[] GetLogits(long row = -1)
        {
            var logits = new float[vocabSize];
            CopyLogits(logits, row);
            return logits;
        }

        /// <summary>Copies row `row` (-1: the last) into `destination`, which needs at least
        /// VocabSize elements (BufferTooSmall otherwise). Arrays convert to Span.</summary>
        public void CopyLogits(Span<float> destination, long row = -1)
        {
            using (var l = Acquire())
                l.Proxy.copy_logits(row, destination);
        }

        /// <summary>Totals of the cache state over every layer.</summary>
        public ContextInfo Info
        {
            get
            {
                using (var l = Acquire())
                using (var i = l.Proxy.info())
                {
                    return new ContextInfo
                    {
                        PastCount = i.n_past, LayerCount = i.n_layer, StateHeadCount = i.n_state_heads,
                        StateBytes = i.state_bytes, WindowCount = i.n_window, SparseCount = i.n_sparse,
                        FoldedCount = i.n_folded, EvictedCount = i.n_evicted,
                    };
                }
            }
        }

        /// <summary>Tokens fed since creation or the last reset (n_past).</summary>
        public long PastCount
        {
            get { return Info.PastCount; }
        }

        /// <summary>Cache state of query head `head` of layer `layer`.</summary>
        public HeadState GetHeadState(int layer, int head)
        {
            using (var l = Acquire())
                return HeadState.From(l.Proxy.head_state(layer, head));
        }

        /// <summary>The token positions (ascending, in [0, PastCount)) held in one memory of one
        /// head of one layer.</summary>
        public long[] GetPositions(int layer, int head, Memory memory)
        {
            using (var l = Acquire())
            {
                int n = checked((int)l.Proxy.positions(layer, head, (int)memory, Span<long>.Empty));
                var positions = new long[n];
                if (n > 0)
                    l.Proxy.positions(layer, head, (int)memory, positions);
                return positions;
            }
        }

        /// <summary>The whole state (model fingerprint, every layer's checksummed cache) as a
        /// blob for <see cref="RestoreState"/>.</summary>
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

        /// <summary>Restores a blob from <see cref="SaveState"/>, validated completely first:
        /// CorruptData, VersionMismatch or Incompatible leave the context unchanged. The logits
        /// are unavailable until the next feed.</summary>
        public void RestoreState(ReadOnlySpan<byte> blob)
        {
            using (var l = Acquire())
                l.Proxy.state_restore(blob);
        }

        public void RestoreState(byte[] blob)
        {
            if (blob == null)
                throw new ArgumentNullException("blob");
            RestoreState(new ReadOnlySpan<byte>(blob));
        }

        /// <summary>An independent deep copy of this context (same model, same state).</summary>
        public Context Clone()
        {
            using (var l = Acquire())
            {
                var proxy = l.Proxy;
                Native.lola_abort_flag flag;
                var copy = Adopt(model, () => proxy.clone(), out flag);
                return new Context(model, copy, flag);
            }
        }

        /// <summary>Asks the feed or generation running on this context (or, if none is, the
        /// next one) to stop with LolaException Aborted. Any thread may call it; it returns at
        /// once, without waiting for the running call. One request is consumed by the one abort
        /// it causes. A feed checks between its forward steps (every BatchSize tokens), so a
        /// feed of one step (a decode) runs to the end and leaves the request to the next call;
        /// Generate checks before each token. To cancel with a CancellationToken:
        /// <c>using (token.Register(ctx.RequestAbort)) ctx.Feed(tokens);</c>
        /// Throws ObjectDisposedException after Dispose.</summary>
        public void RequestAbort()
        {
            // The lease keeps the flag allocated; it does not wait for a call in progress.
            using (handle.Acquire("Context", false))
                abort.request();
        }

        /// <summary>Withdraws a <see cref="RequestAbort"/> that no call has consumed yet.
        /// </summary>
        public void ClearAbort()
        {
            using (handle.Acquire("Context", false))
                abort.clear();
        }

        /// <summary>Forgets every token.</summary>
        public void Reset()
        {
            using (var l = Acquire())
                l.Proxy.reset();
        }

        /// <summary>Streams up to maxTokens tokens after what has been fed: samples from the
        /// current logits, stops at an end-of-generation token (not fed, not returned), feeds
        /// each token and yields it with the text it completes. Lazy: nothing happens until the
        /// enumeration runs, and stopping the enumeration stops the generation. After
        /// <see cref="RequestAbort"/> the next step throws LolaException Aborted; every token
        /// yielded before stays fed and the logits valid.</summary>
        public IEnumerable<Token> Generate(Sampler sampler, int maxTokens)
        {
            CheckGenerate(sampler, maxTokens);
            return GenerateTokens(sampler, maxTokens, CancellationToken.None);
        }

        /// <summary>The same tokens as <see cref="Generate"/>, as an async stream: each
        /// MoveNextAsync computes one token on the thread pool, so the caller's thread is free
        /// meanwhile. `cancellationToken` (or the one given to GetAsyncEnumerator, e.g. by
        /// WithCancellation) is checked before each token: once it is canceled, the next
        /// MoveNextAsync ends the stream with OperationCanceledException (a token being
        /// computed when it fires is still returned). Every token returned stays fed, so the
        /// context can go on. One MoveNextAsync at a time; dispose the enumerator (await
        /// foreach does) before using the context for something else.</summary>
        public IAsyncEnumerable<Token> GenerateAsync(Sampler sampler, int maxTokens,
                                                     CancellationToken cancellationToken = default(CancellationToken))
        {
            CheckGenerate(sampler, maxTokens);
            return new StepwiseAsyncEnumerable<Token>(ct => GenerateTokens(sampler, maxTokens, ct),
                                                      cancellationToken);
        }

        void CheckGenerate(Sampler sampler, int maxTokens)
        {
            if (sampler == null)
                throw new ArgumentNullException("sampler");
            if (maxTokens < 0)
                throw new ArgumentOutOfRangeException("maxTokens", "must be >= 0");
            Acquire().Dispose();  // an ObjectDisposedException now, not at the first MoveNext
        }

        IEnumerable<Token> GenerateTokens(Sampler sampler, int maxTokens, CancellationToken ct)
        {
            var stepper = new TokenStepper(this, sampler, maxTokens);
            Token token;
            while (true)
            {
                ct.ThrowIfCancellationRequested();
                if (!stepper.Next(out token))
                    yield break;
                yield return token;
            }
        }

        /// <summary>Feeds `tokens` with `ct` as its cancellation: a cancellation during the
        /// feed aborts it at its next forward step (OperationCanceledException, the steps run
        /// stay fed); a request that arrived too late to abort anything is withdrawn.</summary>
        internal void Feed(int[] tokens, CancellationToken ct)
        {
            ct.ThrowIfCancellationRequested();
            if (!ct.CanBeCanceled)
            {
                Feed(tokens);
                return;
            }
            try
            {
                // Disposing the registration waits for a callback that is running.
                using (ct.Register(RequestAbort))
                    Feed(tokens);
            }
            catch (LolaException e) when (e.Status == Status.Aborted && ct.IsCancellationRequested)
            {
                ClearAbort();
                throw new OperationCanceledException("the feed was canceled", e, ct);
            }
            ClearAbort();
        }

        /// <summary>The poll of the binding's own generation loops: throws LolaException
        /// Aborted when a <see cref="RequestAbort"/> is pending (and consumes it).</summary>
        internal void TakeAbort()
        {
            using (Acquire())
                abort.take();
        }

        public void Dispose()
        {
            handle.Dispose();
        }

        internal ProxyHandle<Native.lola_context>.Lease Acquire()
        {
            return handle.Acquire("Context");
        }
    }
}
