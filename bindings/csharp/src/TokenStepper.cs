// TokenStepper.cs: one generation loop, one token per Next(): the sample -> end check -> feed
// steps of lola_generate written with the C calls it makes (lola_generate itself takes a C
// callback, and the binding has none). Context.Generate, Context.GenerateAsync and the one-call
// chat all run it, so they stop, feed and decode the same way.
using System.Collections.Generic;

namespace Lola
{
    internal sealed class TokenStepper
    {
        readonly Context context;
        readonly Sampler sampler;
        readonly int maxTokens;
        readonly Native.lola_model modelProxy;
        readonly TokenTextDecoder text = new TokenTextDecoder();
        readonly List<int> ids = new List<int>();

        internal TokenStepper(Context context, Sampler sampler, int maxTokens)
        {
            this.context = context;
            this.sampler = sampler;
            this.maxTokens = maxTokens;
            // Valid through the context's reference on its model, even after Model.Dispose.
            modelProxy = context.Model.Shared.Handle.ProxyForDependent;
        }

        /// <summary>Null while the loop runs; then why it ended.</summary>
        internal FinishReason? Finish { get; private set; }

        /// <summary>The ids generated so far (each one fed).</summary>
        internal List<int> Ids
        {
            get { return ids; }
        }

        /// <summary>Generates one token: false (and Finish set) when the loop is over. Throws
        /// LolaException Aborted after Context.RequestAbort, before sampling: every token
        /// returned before stays fed and the logits valid.</summary>
        internal bool Next(out Token token)
        {
            token = default(Token);
            if (Finish.HasValue)
                return false;
            if (ids.Count >= maxTokens)
            {
                Finish = FinishReason.Length;
                return false;
            }
            context.TakeAbort();  // polled before each token, as lola_generate does
            int id = sampler.Sample(context);
            if (modelProxy.token_is_eog(id))
            {
                Finish = FinishReason.Stop;
                return false;
            }
            context.Feed(id);
            ids.Add(id);
            byte[] piece = Model.TokenPiece(modelProxy, id, false);
            token = new Token(id, piece, text.Push(piece));
            return true;
        }
    }
}
