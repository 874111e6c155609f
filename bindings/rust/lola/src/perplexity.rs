//! `Model::perplexity`: the perplexity of a token sequence at a context length, for any
//! attention settings (`lola_perplexity`).
use std::mem::{size_of, MaybeUninit};

use lola_sys as sys;

use crate::context::ContextParams;
use crate::error::{check, Result};
use crate::model::Model;

/// What [`Model::perplexity`] measured (`lola_perplexity_result`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Perplexity {
    /// Windows of `n_ctx` tokens evaluated.
    pub n_windows: i64,
    /// Tokens whose probability was scored (the second half of each window).
    pub n_scored: i64,
    /// Mean negative log-likelihood of a scored token, in nats.
    pub nll: f64,
    /// `exp(nll)`.
    pub perplexity: f64,
}

impl Model {
    /// The perplexity of `tokens` at context length `n_ctx`, as llama.cpp's perplexity tool
    /// measures it: consecutive windows of `n_ctx` tokens (a window's first token replaced by
    /// BOS where the vocabulary adds one), each fed to a fresh context made with `params`, the
    /// second half of each scored; `max_windows` > 0 evaluates at most that many. Errors:
    /// `InvalidArgument` (`n_ctx` < 2, fewer than `n_ctx` tokens, an id out of range, a bad
    /// parameter).
    ///
    /// ```no_run
    /// # let model = lola::Model::load("model.gguf")?;
    /// let tokens = model.tokenize(&std::fs::read_to_string("text.txt").unwrap())?;
    /// let full = model.perplexity(&tokens, 2048, &lola::ContextParams::new().attention(
    ///     lola::AttentionParams::new().attention(lola::Attention::Full)), 0)?;
    /// println!("perplexity {:.2} over {} tokens", full.perplexity, full.n_scored);
    /// # Ok::<(), lola::Error>(())
    /// ```
    pub fn perplexity(&self, tokens: &[i32], n_ctx: i64, params: &ContextParams, max_windows: i64) -> Result<Perplexity> {
        let raw_params = params.raw_with_attention();
        // SAFETY: all-zero is a valid lola_perplexity_result (integers and doubles).
        let mut out: sys::lola_perplexity_result = unsafe { MaybeUninit::zeroed().assume_init() };
        out.struct_size = size_of::<sys::lola_perplexity_result>();
        // SAFETY: live model; params whose attention pointer is NULL or points into `params`,
        // borrowed for the whole call; tokens valid for tokens.len(); a valid result struct.
        check(unsafe {
            sys::lola_perplexity(self.as_ptr(), &raw_params, tokens.as_ptr(), tokens.len(), n_ctx, max_windows, &mut out)
        })?;
        Ok(Perplexity { n_windows: out.n_windows, n_scored: out.n_scored, nll: out.nll, perplexity: out.perplexity })
    }
}
