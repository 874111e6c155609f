// Chat.cs: the types of the one-call chat and completion (Model.Chat, Model.Complete and their
// streaming and async forms, ModelChat.cs): a message, the options of a run and its result.
using System;

namespace Lola
{
    /// <summary>One message of a chat: a role ("system", "user" or "assistant") and its text.
    /// Immutable; neither may contain a NUL character (C strings carry them).</summary>
    public sealed class ChatMessage
    {
        public string Role { get; private set; }
        public string Content { get; private set; }

        public ChatMessage(string role, string content)
        {
            if (role == null)
                throw new ArgumentNullException("role");
            if (content == null)
                throw new ArgumentNullException("content");
            if (role.IndexOf('\0') >= 0)
                throw new ArgumentException("the role contains a NUL character", "role");
            if (content.IndexOf('\0') >= 0)
                throw new ArgumentException("the content contains a NUL character", "content");
            Role = role;
            Content = content;
        }

        public static ChatMessage System(string content)
        {
            return new ChatMessage("system", content);
        }

        public static ChatMessage User(string content)
        {
            return new ChatMessage("user", content);
        }

        public static ChatMessage Assistant(string content)
        {
            return new ChatMessage("assistant", content);
        }

        public override string ToString()
        {
            return Role + ": " + Content;
        }
    }

    /// <summary>Settings of one <see cref="Model.Chat"/> or <see cref="Model.Complete"/> run.
    /// </summary>
    public sealed class ChatOptions
    {
        /// <summary>The most tokens to generate (default 256); generation also stops at an
        /// end-of-generation token.</summary>
        public int MaxTokens { get; set; }

        /// <summary>How tokens are drawn; null: the library's defaults (temperature 0.8, a
        /// fixed seed). <see cref="SamplerParams.Greedy"/> for greedy decoding.</summary>
        public SamplerParams Sampling { get; set; }

        /// <summary>The context the run creates (and disposes before it returns); null: the
        /// defaults.</summary>
        public ContextParams Context { get; set; }

        public ChatOptions()
        {
            MaxTokens = 256;
        }
    }

    /// <summary>Why a generation ended.</summary>
    public enum FinishReason
    {
        /// <summary>The model produced an end-of-generation token (not part of the text).</summary>
        Stop,
        /// <summary><see cref="ChatOptions.MaxTokens"/> tokens were generated.</summary>
        Length,
    }

    /// <summary>The result of a one-call chat or completion.</summary>
    public sealed class ChatResponse
    {
        /// <summary>The generated text (the assistant's reply for a chat).</summary>
        public string Text { get; private set; }
        /// <summary>The generated token ids, in order (without the end-of-generation token).
        /// </summary>
        public int[] Tokens { get; private set; }
        /// <summary>How many tokens the prompt (the rendered chat) has.</summary>
        public int PromptTokens { get; private set; }
        /// <summary>How many tokens were generated (Tokens.Length).</summary>
        public int CompletionTokens
        {
            get { return Tokens.Length; }
        }
        public FinishReason FinishReason { get; private set; }

        internal ChatResponse(string text, int[] tokens, int promptTokens, FinishReason finishReason)
        {
            Text = text;
            Tokens = tokens;
            PromptTokens = promptTokens;
            FinishReason = finishReason;
        }

        public override string ToString()
        {
            return Text;
        }
    }
}
