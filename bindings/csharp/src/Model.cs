// Model.cs: a loaded GGUF model (lola_model): immutable, shareable by any number of threads and
// contexts; owns the tokenizer.
using System;
using System.Text;

namespace Lola
{
    /// <summary>A Llama-architecture GGUF model, memory-mapped and validated at load.
    /// Thread-safe: any number of threads and contexts may use one model at once.</summary>
    public sealed partial class Model : IDisposable
    {
        internal readonly SharedHandle<Native.lola_model> Shared;  // this object + its contexts
        readonly ProxyHandle<Native.lola_model> handle;
        readonly ModelInfo info;
        int disposed;

        /// <summary>Loads `path` (and <see cref="ModelParams.AdapterPath"/>, when set). Throws
        /// <see cref="LolaException"/> (IO, CorruptData, Unsupported, OutOfMemory; with an
        /// adapter also Incompatible, VersionMismatch) with the library's message naming the
        /// file and field.</summary>
        public Model(string path, ModelParams parameters = null)
        {
            if (path == null)
                throw new ArgumentNullException("path");
            // C reads the path up to its first NUL: it would silently open another file.
            if (path.IndexOf('\0') >= 0)
                throw new ArgumentException("the path contains a NUL character", "path");
            Library.EnsureCompatible();
            var managed = parameters ?? new ModelParams();
            if (managed.AdapterPath != null && managed.AdapterPath.IndexOf('\0') >= 0)
                throw new ArgumentException("the adapter path contains a NUL character", "parameters");
            var p = managed.ToNative();
            Native.lola_model proxy;
            try
            {
                proxy = new Native.lola_model(path, p, managed.AdapterPath);
            }
            finally
            {
                p.Dispose();
            }
            handle = new ProxyHandle<Native.lola_model>(
                proxy, Native.lola_model.getCPtr(proxy).Handle, null);
            Shared = new SharedHandle<Native.lola_model>(handle);
            info = ReadInfo();
        }

        /// <summary>Same as the constructor.</summary>
        public static Model Load(string path, ModelParams parameters = null)
        {
            return new Model(path, parameters);
        }

        /// <summary>Shapes and sizes (read once at load).</summary>
        public ModelInfo Info
        {
            get { ThrowIfDisposed(); return info; }
        }

        public int VocabSize
        {
            get { return Info.VocabSize; }
        }

        /// <summary>The perplexity of `tokens` at context length `contextLength`
        /// (lola_perplexity): consecutive windows of that many tokens, each fed to a fresh
        /// context made with `parameters` (any attention settings; null: the defaults), the
        /// second half of each scored; `maxWindows` &gt; 0 evaluates at most that many. Throws
        /// <see cref="LolaException"/> InvalidArgument (a context length below 2, fewer tokens
        /// than one window, an id out of range, a bad parameter).</summary>
        public PerplexityResult Perplexity(int[] tokens, long contextLength, ContextParams parameters = null,
                                     long maxWindows = 0)
        {
            if (tokens == null)
                throw new ArgumentNullException("tokens");
            var given = parameters ?? new ContextParams();
            var p = given.ToNative();
            var a = given.Attention == null ? null : given.Attention.ToNative();
            try
            {
                using (var l = Acquire())
                using (var r = l.Proxy.perplexity(tokens, contextLength, p, a, maxWindows, given.LayerAttentionCodes()))
                    return new PerplexityResult
                    {
                        WindowCount = r.n_windows, ScoredCount = r.n_scored, Nll = r.nll, Value = r.perplexity,
                    };
            }
            finally
            {
                p.Dispose();
                if (a != null)
                    a.Dispose();
            }
        }

        public SpecialTokens SpecialTokens
        {
            get
            {
                using (var l = Acquire())
                using (var t = l.Proxy.special_tokens())
                    return new SpecialTokens { Bos = t.bos, Eos = t.eos, Eot = t.eot, Unk = t.unk, Pad = t.pad };
            }
        }

        /// <summary>Token ids of `text` (UTF-8). addSpecial adds BOS/EOS where the vocabulary
        /// says; parseSpecial turns text like "&lt;|im_start|&gt;" into its special token.</summary>
        public int[] Tokenize(string text, bool addSpecial = false, bool parseSpecial = false)
        {
            if (text == null)
                throw new ArgumentNullException("text");
            byte[] bytes = Encoding.UTF8.GetBytes(text);
            uint flags = (addSpecial ? Native.lolacs.LOLA_TOKENIZE_ADD_SPECIAL : 0u) |
                         (parseSpecial ? Native.lolacs.LOLA_TOKENIZE_PARSE_SPECIAL : 0u);
            using (var l = Acquire())
            {
                // Byte-level BPE never makes more tokens than bytes, plus a few specials; the
                // call returns the true count, so a second call covers any other tokenizer.
                var tokens = new int[bytes.Length + 4];
                int n = checked((int)l.Proxy.tokenize(bytes, flags, tokens));
                if (n > tokens.Length)
                {
                    tokens = new int[n];
                    n = checked((int)l.Proxy.tokenize(bytes, flags, tokens));
                }
                Array.Resize(ref tokens, n);
                return tokens;
            }
        }

        /// <summary>The UTF-8 bytes of a token sequence (ids out of range throw
        /// InvalidArgument). renderSpecial writes special tokens as their text.</summary>
        public byte[] DetokenizeBytes(ReadOnlySpan<int> tokens, bool renderSpecial = false)
        {
            uint flags = renderSpecial ? Native.lolacs.LOLA_DETOKENIZE_SPECIAL : 0u;
            using (var l = Acquire())
            {
                int n = checked((int)l.Proxy.detokenize(tokens, flags, Span<byte>.Empty));
                var bytes = new byte[n];
                if (n > 0)
                    l.Proxy.detokenize(tokens, flags, bytes);
                return bytes;
            }
        }

        /// <summary>The text of a token sequence (invalid UTF-8 becomes U+FFFD).</summary>
        public string Detokenize(ReadOnlySpan<int> tokens, bool renderSpecial = false)
        {
            return Encoding.UTF8.GetString(DetokenizeBytes(tokens, renderSpecial));
        }

        /// <summary>The bytes of one token; a piece may end inside a UTF-8 character.</summary>
        public byte[] TokenPiece(int token, bool renderSpecial = false)
        {
            using (var l = Acquire())
                return TokenPiece(l.Proxy, token, renderSpecial);
        }

        /// <summary>True when generation should stop at `token` (EOS, EOT...).</summary>
        public bool IsEndOfGeneration(int token)
        {
            using (var l = Acquire())
                return l.Proxy.token_is_eog(token);
        }

        // Also used by Context.Generate through the reference its context holds.
        internal static byte[] TokenPiece(Native.lola_model proxy, int token, bool renderSpecial)
        {
            uint flags = renderSpecial ? Native.lolacs.LOLA_DETOKENIZE_SPECIAL : 0u;
            var piece = new byte[16];
            int n = checked((int)proxy.token_to_piece(token, flags, piece));
            if (n > piece.Length)
            {
                piece = new byte[n];
                n = checked((int)proxy.token_to_piece(token, flags, piece));
            }
            Array.Resize(ref piece, n);
            return piece;
        }

        /// <summary>A new inference context on this model.</summary>
        public Context CreateContext(ContextParams parameters = null)
        {
            return new Context(this, parameters);
        }

        /// <summary>Drops this object's reference: the native model is freed once no context
        /// uses it any more.</summary>
        public void Dispose()
        {
            if (System.Threading.Interlocked.Exchange(ref disposed, 1) == 0)
                Shared.Release();
        }

        internal void ThrowIfDisposed()
        {
            if (System.Threading.Volatile.Read(ref disposed) != 0)
                throw new ObjectDisposedException("Model");
        }

        /// <summary>Info read at load, available to contexts after Dispose.</summary>
        internal ModelInfo CachedInfo
        {
            get { return info; }
        }

        internal ProxyHandle<Native.lola_model>.Lease Acquire()
        {
            ThrowIfDisposed();
            return handle.Acquire("Model", false);  // thread-safe: no lock
        }

        ModelInfo ReadInfo()
        {
            using (var l = Acquire())
            using (var i = l.Proxy.info())
            {
                return new ModelInfo
                {
                    Architecture = i.architecture, Name = i.name, LayerCount = i.n_layer,
                    HeadCount = i.n_head, KvHeadCount = i.n_head_kv, HeadDim = i.head_dim,
                    EmbeddingSize = i.n_embd, FeedForwardSize = i.n_ff, VocabSize = i.n_vocab,
                    TrainContextLength = i.n_ctx_train, WeightBytes = i.weight_bytes,
                    HasLolaTensors = i.has_lola_tensors != 0,
                    HasAdapter = i.has_adapter != 0, Fingerprint = i.fingerprint,
                };
            }
        }
    }
}
