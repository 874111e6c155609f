// ModelChat.cs: chat templates (lola_chat_apply_template) and the one-call runs on a model:
// Chat / Complete (a fresh context and sampler, disposed before returning), their streaming
// forms ChatStream / ChatStreamAsync, and ChatAsync. The generation loop is TokenStepper's.
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace Lola
{
    public sealed partial class Model
    {
        /// <summary>Renders `messages` with the model's chat template (the ones liblola knows:
        /// ChatML as SmolLM2 uses it, Llama 3; never a template executed from the file).
        /// addAssistant appends the start of the assistant's turn, for generating a reply.
        /// Throws LolaException Unsupported when the model's template is not a known one (or
        /// it has none), InvalidArgument for a role the template does not take.</summary>
        public string ApplyChatTemplate(IEnumerable<ChatMessage> messages, bool addAssistant = true)
        {
            byte[] blob = Pack(messages);
            using (var l = Acquire())
            {
                int n = checked((int)l.Proxy.chat_apply_template(blob, addAssistant, Span<byte>.Empty));
                var text = new byte[n];
                if (n > 0)
                    l.Proxy.chat_apply_template(blob, addAssistant, text);
                return Encoding.UTF8.GetString(text);
            }
        }

        /// <summary>One call: renders the chat with its template, feeds it to a fresh context
        /// (options.Context), generates the assistant's reply (up to options.MaxTokens, with
        /// options.Sampling) and disposes the context. Throws LolaException Unsupported when the
        /// model has no known template (use <see cref="Complete"/> for plain text).</summary>
        public ChatResponse Chat(IEnumerable<ChatMessage> messages, ChatOptions options = null)
        {
            var o = Check(options);
            return Run(ApplyChatTemplate(messages), true, o, CancellationToken.None);
        }

        /// <summary><see cref="Chat"/> on the thread pool. `cancellationToken` stops the prompt's
        /// feed at its next forward step and the generation before its next token; the task
        /// is then canceled (OperationCanceledException) and the context disposed.</summary>
        public Task<ChatResponse> ChatAsync(IEnumerable<ChatMessage> messages, ChatOptions options = null,
                                            CancellationToken cancellationToken = default(CancellationToken))
        {
            var o = Check(options);
            var list = Snapshot(messages);
            return Task.Run(() => Run(ApplyChatTemplate(list), true, o, cancellationToken), cancellationToken);
        }

        /// <summary>The reply of <see cref="Chat"/> token by token. The template is applied at
        /// once (its errors are thrown here); the context is created and the prompt fed when
        /// the enumeration starts, and the context is disposed when it ends or is disposed
        /// (foreach does both).</summary>
        public IEnumerable<Token> ChatStream(IEnumerable<ChatMessage> messages, ChatOptions options = null)
        {
            var o = Check(options);
            return Stream(ApplyChatTemplate(messages), true, o, CancellationToken.None);
        }

        /// <summary><see cref="ChatStream"/> as an async stream: the prompt's feed and each
        /// token run on the thread pool. `cancellationToken` (or the one given to
        /// GetAsyncEnumerator) stops the feed at its next forward step and the generation
        /// before its next token, with OperationCanceledException; disposing the enumerator
        /// (await foreach does) disposes the context.</summary>
        public IAsyncEnumerable<Token> ChatStreamAsync(IEnumerable<ChatMessage> messages, ChatOptions options = null,
                                                       CancellationToken cancellationToken = default(CancellationToken))
        {
            var o = Check(options);
            string prompt = ApplyChatTemplate(messages);
            return new StepwiseAsyncEnumerable<Token>(ct => Stream(prompt, true, o, ct), cancellationToken);
        }

        /// <summary>One call for plain text: tokenizes `prompt` (with BOS/EOS where the
        /// vocabulary says; special-token text stays text), feeds it to a fresh context and
        /// generates its continuation, as <see cref="Chat"/> does for a chat.</summary>
        public ChatResponse Complete(string prompt, ChatOptions options = null)
        {
            if (prompt == null)
                throw new ArgumentNullException("prompt");
            var o = Check(options);
            return Run(prompt, false, o, CancellationToken.None);
        }

        ChatOptions Check(ChatOptions options)
        {
            var o = options ?? new ChatOptions();
            if (o.MaxTokens < 0)
                throw new ArgumentOutOfRangeException("options", "MaxTokens must be >= 0");
            ThrowIfDisposed();
            return o;
        }

        static List<ChatMessage> Snapshot(IEnumerable<ChatMessage> messages)
        {
            if (messages == null)
                throw new ArgumentNullException("messages");
            return new List<ChatMessage>(messages);
        }

        /// <summary>The chat as lola_handles.i's w_chat_apply_template takes it: role NUL
        /// content NUL per message, UTF-8 (ChatMessage refuses NUL characters).</summary>
        static byte[] Pack(IEnumerable<ChatMessage> messages)
        {
            if (messages == null)
                throw new ArgumentNullException("messages");
            var blob = new MemoryStream();
            int i = 0;
            foreach (ChatMessage m in messages)
            {
                if (m == null)
                    throw new ArgumentException("messages[" + i + "] is null", "messages");
                foreach (string s in new[] { m.Role, m.Content })
                {
                    byte[] bytes = Encoding.UTF8.GetBytes(s);
                    blob.Write(bytes, 0, bytes.Length);
                    blob.WriteByte(0);
                }
                i++;
            }
            return blob.ToArray();
        }

        ChatResponse Run(string prompt, bool isChat, ChatOptions o, CancellationToken ct)
        {
            using (var run = new ChatRun(this, prompt, isChat, o))
            {
                run.Prefill(ct);
                Token token;
                do
                {
                    ct.ThrowIfCancellationRequested();
                } while (run.Stepper.Next(out token));
                int[] ids = run.Stepper.Ids.ToArray();
                return new ChatResponse(Detokenize(ids), ids, run.Prompt.Length, run.Stepper.Finish.Value);
            }
        }

        IEnumerable<Token> Stream(string prompt, bool isChat, ChatOptions o, CancellationToken ct)
        {
            using (var run = new ChatRun(this, prompt, isChat, o))
            {
                run.Prefill(ct);
                Token token;
                while (true)
                {
                    ct.ThrowIfCancellationRequested();
                    if (!run.Stepper.Next(out token))
                        yield break;
                    yield return token;
                }
            }
        }

        /// <summary>The context and sampler of one run, disposed together.</summary>
        sealed class ChatRun : IDisposable
        {
            internal readonly int[] Prompt;
            internal readonly TokenStepper Stepper;
            readonly Context context;
            readonly Sampler sampler;

            internal ChatRun(Model model, string prompt, bool isChat, ChatOptions o)
            {
                // A rendered chat carries its own markers, BOS included where the template has
                // one (Llama 3's <|begin_of_text|>), so nothing is added to it; a plain prompt
                // gets BOS/EOS where the vocabulary says, and its text stays text.
                Prompt = model.Tokenize(prompt, addSpecial: !isChat, parseSpecial: isChat);
                context = model.CreateContext(o.Context);
                try
                {
                    sampler = new Sampler(o.Sampling);
                }
                catch
                {
                    context.Dispose();
                    throw;
                }
                Stepper = new TokenStepper(context, sampler, o.MaxTokens);
            }

            internal void Prefill(CancellationToken ct)
            {
                context.Feed(Prompt, ct);
                sampler.Accept(Prompt);
            }

            public void Dispose()
            {
                sampler.Dispose();
                context.Dispose();
            }
        }
    }
}
