//! One call from text to answer: [`Model::chat`] (a conversation in the model's chat template)
//! and [`Model::complete`] (a plain prompt), each on a fresh context with the sampler and
//! length of [`GenerateOptions`], and their streaming forms [`Model::chat_stream`] and
//! [`Model::complete_stream`]. The template is `lola_chat_apply_template`'s, the one-call loop
//! is `lola_generate`, and the streams step with the same sample-and-feed calls as [`generate`].
//!
//! [`generate`]: crate::generate
use std::os::raw::{c_char, c_void};

use lola_sys as sys;

use crate::context::{Context, ContextParams};
use crate::error::{check, Result};
use crate::generate::{step, Utf8Buffer};
use crate::model::{Model, Tokenize};
use crate::sampler::{Sampler, SamplerParams};

/// One message of a chat: its role ("system", "user", "assistant") and its text.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ChatMessage {
    pub role: String,
    pub content: String,
}

impl ChatMessage {
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> ChatMessage {
        ChatMessage { role: role.into(), content: content.into() }
    }
    pub fn system(content: impl Into<String>) -> ChatMessage {
        ChatMessage::new("system", content)
    }
    pub fn user(content: impl Into<String>) -> ChatMessage {
        ChatMessage::new("user", content)
    }
    pub fn assistant(content: impl Into<String>) -> ChatMessage {
        ChatMessage::new("assistant", content)
    }
}

/// How [`Model::chat`] and [`Model::complete`] generate: at most `max_tokens` tokens (default
/// 256), sampled with `sampler` (default: liblola's, temperature 0.8 with a fixed seed, so the
/// same call gives the same answer), on a fresh context made with `context` (default
/// `ContextParams::new()`: the model's LoLA settings).
///
/// ```no_run
/// use lola::{AttentionParams, ContextParams, GenerateOptions, SamplerParams};
/// let greedy = GenerateOptions::new().greedy().max_tokens(32);
/// let seeded = GenerateOptions::new().sampler(SamplerParams::new().temperature(0.7).seed(42));
/// let lola = ContextParams::new().attention(AttentionParams::new().chunk_size(16));
/// let small_chunks = GenerateOptions::new().context(lola);
/// ```
#[derive(Clone, Debug)]
pub struct GenerateOptions {
    max_tokens: usize,
    sampler: SamplerParams,
    context: ContextParams,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl GenerateOptions {
    pub fn new() -> GenerateOptions {
        GenerateOptions { max_tokens: 256, sampler: SamplerParams::new(), context: ContextParams::new() }
    }
    /// The most tokens to generate; an end-of-generation token stops earlier.
    pub fn max_tokens(mut self, n: usize) -> Self {
        self.max_tokens = n;
        self
    }
    /// The sampling parameters.
    pub fn sampler(mut self, params: SamplerParams) -> Self {
        self.sampler = params;
        self
    }
    /// Greedy sampling: always the most likely token.
    pub fn greedy(self) -> Self {
        self.sampler(SamplerParams::greedy())
    }
    /// The sampler's seed (the rest of its parameters unchanged).
    pub fn seed(mut self, seed: u64) -> Self {
        self.sampler = self.sampler.seed(seed);
        self
    }
    /// The parameters of the context the call creates.
    pub fn context(mut self, params: ContextParams) -> Self {
        self.context = params;
        self
    }
}

/// Why a generation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FinishReason {
    /// The model produced an end-of-generation token (EOS, end of turn).
    Stop,
    /// `max_tokens` tokens were generated.
    Length,
}

/// The result of [`Model::chat`] and [`Model::complete`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completion {
    /// The generated text (bytes that are not valid UTF-8 become U+FFFD).
    pub text: String,
    /// The generated token ids (the end-of-generation token is not among them).
    pub tokens: Vec<i32>,
    /// Tokens of the prompt (the rendered chat, or the prompt with BOS where the model has one).
    pub prompt_tokens: usize,
    /// Tokens generated: `tokens.len()`.
    pub completion_tokens: usize,
    pub finish_reason: FinishReason,
}

/// What lola_generate's callback collects.
#[derive(Default)]
struct Collected {
    tokens: Vec<i32>,
    bytes: Vec<u8>,
}

extern "C" fn collect(token: i32, piece: *const c_char, piece_len: usize, user_data: *mut c_void) -> bool {
    // SAFETY: user_data is the &mut Collected that `run_generate` lends for the call, used by
    // nothing else meanwhile; piece is valid for piece_len bytes during this call (or NULL).
    let out = unsafe { &mut *(user_data as *mut Collected) };
    out.tokens.push(token);
    if !piece.is_null() && piece_len > 0 {
        // SAFETY: see above.
        out.bytes.extend_from_slice(unsafe { std::slice::from_raw_parts(piece.cast::<u8>(), piece_len) });
    }
    true
}

impl Model {
    /// The chat rendered with the model's template and the assistant prompt, as tokens
    /// (special-token text parsed; the template writes BOS itself where the model has one).
    fn chat_prompt(&self, messages: &[ChatMessage]) -> Result<Vec<i32>> {
        self.tokenize_with(self.apply_chat_template(messages, true)?, Tokenize::PARSE_SPECIAL)
    }

    /// A fresh context fed with `prompt`, and a sampler, as `options` say.
    fn start(&self, prompt: &[i32], options: &GenerateOptions) -> Result<(Context<'_>, Sampler)> {
        let mut ctx = self.new_context(&options.context)?;
        ctx.feed(prompt)?;
        Ok((ctx, Sampler::new(&options.sampler)?))
    }

    fn run_generate(&self, prompt: Vec<i32>, options: &GenerateOptions) -> Result<Completion> {
        let (mut ctx, mut sampler) = self.start(&prompt, options)?;
        let mut out = Collected::default();
        let mut n = 0usize;
        // SAFETY: live context and sampler (exclusively borrowed); `collect` matches
        // lola_token_fn and its user data is `out`, alive and untouched for the whole call.
        check(unsafe {
            sys::lola_generate(
                ctx.as_mut_ptr(),
                sampler.as_mut_ptr(),
                options.max_tokens,
                Some(collect),
                (&mut out as *mut Collected).cast(),
                &mut n,
            )
        })?;
        let finish_reason =
            if out.tokens.len() >= options.max_tokens { FinishReason::Length } else { FinishReason::Stop };
        Ok(Completion {
            text: String::from_utf8_lossy(&out.bytes).into_owned(),
            completion_tokens: out.tokens.len(),
            tokens: out.tokens,
            prompt_tokens: prompt.len(),
            finish_reason,
        })
    }

    /// Answers a chat: renders `messages` with the model's template (see
    /// [`Model::apply_chat_template`]), feeds them to a fresh context and generates the
    /// assistant's reply. `Unsupported` when liblola does not know the model's template.
    ///
    /// ```no_run
    /// use lola::{ChatMessage, GenerateOptions, Model};
    /// let model = Model::load("SmolLM2-135M-Instruct.Q4_1.gguf")?;
    /// let reply = model.chat(&[ChatMessage::user("What is the capital of France?")], &GenerateOptions::new().greedy())?;
    /// println!("{} ({} + {} tokens, {:?})", reply.text, reply.prompt_tokens, reply.completion_tokens, reply.finish_reason);
    /// # Ok::<(), lola::Error>(())
    /// ```
    pub fn chat(&self, messages: &[ChatMessage], options: &GenerateOptions) -> Result<Completion> {
        self.run_generate(self.chat_prompt(messages)?, options)
    }

    /// Continues a plain prompt (tokenized with [`Model::tokenize`]: BOS where the model has
    /// one) on a fresh context. `InvalidArgument` for a prompt of no tokens.
    pub fn complete(&self, prompt: &str, options: &GenerateOptions) -> Result<Completion> {
        self.run_generate(self.tokenize(prompt)?, options)
    }

    /// As [`Model::chat`], streaming: the reply as chunks of text while it is generated.
    ///
    /// ```no_run
    /// use lola::{ChatMessage, GenerateOptions, Model};
    /// let model = Model::load("SmolLM2-135M-Instruct.Q4_1.gguf")?;
    /// let mut stream = model.chat_stream(&[ChatMessage::user("Hi!")], &GenerateOptions::new())?;
    /// for chunk in &mut stream {
    ///     print!("{}", chunk?);
    /// }
    /// println!("\n{:?} after {} tokens", stream.finish_reason(), stream.completion_tokens());
    /// # Ok::<(), lola::Error>(())
    /// ```
    pub fn chat_stream(&self, messages: &[ChatMessage], options: &GenerateOptions) -> Result<Stream<'_>> {
        self.stream(self.chat_prompt(messages)?, options)
    }

    /// As [`Model::complete`], streaming.
    pub fn complete_stream(&self, prompt: &str, options: &GenerateOptions) -> Result<Stream<'_>> {
        self.stream(self.tokenize(prompt)?, options)
    }

    fn stream(&self, prompt: Vec<i32>, options: &GenerateOptions) -> Result<Stream<'_>> {
        let (ctx, sampler) = self.start(&prompt, options)?;
        Ok(Stream {
            ctx,
            sampler,
            remaining: options.max_tokens,
            buffer: Utf8Buffer::default(),
            prompt_tokens: prompt.len(),
            tokens: Vec::new(),
            finish_reason: None,
            done: false,
        })
    }
}

/// The streaming answer of [`Model::chat_stream`] and [`Model::complete_stream`]: an iterator
/// of text chunks (valid UTF-8; a character split across tokens comes out whole), which owns
/// its context and sampler. After the last chunk, [`Stream::finish_reason`] says why it ended;
/// [`Stream::context`] shows the context (its cache state, `save_state`, ...) at any time.
/// The first error is yielded and ends the stream; dropping the stream stops the generation.
pub struct Stream<'m> {
    ctx: Context<'m>,
    sampler: Sampler,
    remaining: usize,
    buffer: Utf8Buffer,
    prompt_tokens: usize,
    tokens: Vec<i32>,
    finish_reason: Option<FinishReason>,
    done: bool,
}

impl<'m> Stream<'m> {
    /// Why the generation ended; `None` while it runs or after an error.
    pub fn finish_reason(&self) -> Option<FinishReason> {
        self.finish_reason
    }
    pub fn prompt_tokens(&self) -> usize {
        self.prompt_tokens
    }
    /// Tokens generated so far.
    pub fn completion_tokens(&self) -> usize {
        self.tokens.len()
    }
    /// The generated token ids so far.
    pub fn tokens(&self) -> &[i32] {
        &self.tokens
    }
    /// The context the stream generates in (prompt and every generated token fed).
    pub fn context(&self) -> &Context<'m> {
        &self.ctx
    }
    /// Ends the stream and hands over its context, e.g. to continue the conversation.
    pub fn into_context(self) -> Context<'m> {
        self.ctx
    }

    fn finish(&mut self, reason: FinishReason) -> Option<Result<String>> {
        self.done = true;
        self.finish_reason = Some(reason);
        let rest = self.buffer.finish();
        (!rest.is_empty()).then(|| Ok(rest))
    }
}

impl Iterator for Stream<'_> {
    type Item = Result<String>;

    fn next(&mut self) -> Option<Result<String>> {
        while !self.done {
            if self.remaining == 0 {
                return self.finish(FinishReason::Length);
            }
            match step(&mut self.ctx, &mut self.sampler) {
                Ok(Some(token)) => {
                    self.remaining -= 1;
                    self.tokens.push(token.id);
                    let text = self.buffer.push(&token.piece);
                    if !text.is_empty() {
                        return Some(Ok(text));
                    }
                }
                Ok(None) => return self.finish(FinishReason::Stop),
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        None
    }
}

impl std::iter::FusedIterator for Stream<'_> {}
