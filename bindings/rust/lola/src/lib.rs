//! Safe Rust API of liblola, a runtime for LoLA attention (Low-Rank Linear Attention with
//! Sparse Caching): constant-memory inference over Llama-architecture GGUF models.
//!
//! * [`Model`]: a loaded model and its tokenizer; immutable, `Send + Sync`.
//! * [`Context`]: one inference stream, borrowing its model (`Context<'m>`); feed tokens, read
//!   logits borrowed from the context, inspect, save and restore the LoLA cache.
//! * [`Model::chat`] / [`Model::complete`]: one call from a conversation (in the model's chat
//!   template) or a prompt to a [`Completion`], with [`GenerateOptions`]; `chat_stream` and
//!   `complete_stream` give the text as it is generated.
//! * [`Sampler`] and [`generate`]: streaming generation over a context you feed yourself.
//! * [`Layer`]: one standalone LoLA attention layer over caller-supplied q, k, v.
//! * [`AttentionParams`]: the attention settings (chunk size, sparse capacity, feature map,
//!   ...), one builder for both [`LayerParams`] and [`ContextParams`].
//!
//! Every fallible call returns [`Result<T, Error>`](Error): the C status and liblola's message.
//! The library's ABI version is checked against the header these bindings were generated from
//! on the first model or layer creation.
//!
//! ```no_run
//! use lola::{ChatMessage, GenerateOptions, Model};
//!
//! let model = Model::load("SmolLM2-135M-Instruct.Q4_1.gguf")?;
//! let reply = model.chat(&[ChatMessage::user("What is the capital of France?")], &GenerateOptions::new().greedy())?;
//! println!("{}", reply.text);
//! # Ok::<(), lola::Error>(())
//! ```
//!
//! Or step by step:
//!
//! ```no_run
//! use lola::{generate, AttentionParams, ContextParams, Model, Sampler, SamplerParams};
//!
//! let model = Model::load("SmolLM2-135M-Instruct.Q4_1.gguf")?;
//! let lola = AttentionParams::new().chunk_size(64).sparse_capacity(64);
//! let mut ctx = model.new_context(&ContextParams::new().attention(lola))?;
//! ctx.feed(&model.tokenize("The capital of France is")?)?;
//! let mut sampler = Sampler::new(&SamplerParams::greedy())?;
//! for text in generate(&mut ctx, &mut sampler, 32).text() {
//!     print!("{}", text?);
//! }
//! # Ok::<(), lola::Error>(())
//! ```
mod attention;
mod batch;
mod buffers;
mod cache;
mod chat;
mod context;
mod error;
mod generate;
mod kinds;
mod layer;
mod model;
mod perplexity;
mod sampler;

pub use attention::{AttentionParams, ResolvedAttention};
pub use batch::Batch;
pub use cache::{HeadCache, HeadState};
pub use chat::{ChatMessage, Completion, FinishReason, GenerateOptions, Stream};
pub use context::{Context, ContextInfo, ContextParams};
pub use perplexity::Perplexity;
pub use error::{check_abi_version, Error, Result, Status};
pub use generate::{generate, Generate, Text, Token, Utf8Buffer};
pub use kinds::{Attention, Device, FeatureMap, Memory, Mixing, Scoring};
pub use layer::{Layer, LayerInfo, LayerParams};
pub use model::{Model, ModelInfo, ModelParams, SpecialTokens, Tokenize};
pub use sampler::{Sampler, SamplerParams};

/// The library's version string, e.g. "0.1.0".
pub fn version() -> &'static str {
    // SAFETY: static storage, never NULL.
    let v = unsafe { std::ffi::CStr::from_ptr(lola_sys::lola_version()) };
    v.to_str().unwrap_or("")
}

/// How many devices of a kind this process can use: 1 for the CPU; for CUDA the GPUs the
/// driver reports (0 without a driver or a GPU). `lola_device_count`.
pub fn device_count(device: Device) -> Result<usize> {
    let mut n = 0i32;
    // SAFETY: n is a valid out-pointer for the call.
    error::check(unsafe { lola_sys::lola_device_count(device.raw(), &mut n) })?;
    Ok(usize::try_from(n).unwrap_or(0))
}

/// The ABI version of the loaded library and the one these bindings were generated for.
pub fn abi_versions() -> (i32, i32) {
    // SAFETY: no arguments.
    (unsafe { lola_sys::lola_abi_version() }, lola_sys::LOLA_ABI_VERSION as i32)
}
