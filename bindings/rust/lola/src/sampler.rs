//! `Sampler`: picks the next token from a row of logits (penalty, top-k, top-p, min-p,
//! temperature, then a seeded draw that is the same on every platform).
use std::mem::MaybeUninit;
use std::ptr::{self, NonNull};

use lola_sys as sys;

use crate::error::{check, Error, Result, Status};

/// Sampling parameters, starting from liblola's defaults (temperature 0.8, top-k 40,
/// top-p 0.95, min-p 0.05, no repetition penalty).
#[derive(Clone, Debug)]
pub struct SamplerParams {
    raw: sys::lola_sampler_params,
}

impl Default for SamplerParams {
    fn default() -> Self {
        Self::new()
    }
}

impl SamplerParams {
    pub fn new() -> SamplerParams {
        let mut raw = MaybeUninit::<sys::lola_sampler_params>::zeroed();
        // SAFETY: a valid pointer; init fills struct_size and every default.
        unsafe { sys::lola_sampler_params_init(raw.as_mut_ptr()) };
        // SAFETY: zeroed then initialised; all fields are plain numbers.
        SamplerParams { raw: unsafe { raw.assume_init() } }
    }
    /// Always the largest logit (lowest id on ties).
    pub fn greedy() -> SamplerParams {
        SamplerParams::new().temperature(0.0)
    }
    /// <= 0: greedy.
    pub fn temperature(mut self, t: f32) -> Self {
        self.raw.temperature = t;
        self
    }
    /// <= 0: off.
    pub fn top_k(mut self, k: i32) -> Self {
        self.raw.top_k = k;
        self
    }
    /// >= 1: off.
    pub fn top_p(mut self, p: f32) -> Self {
        self.raw.top_p = p;
        self
    }
    /// <= 0: off.
    pub fn min_p(mut self, p: f32) -> Self {
        self.raw.min_p = p;
        self
    }
    /// 1: off; > 1 discourages repeats of the last `penalty_last_n` tokens.
    pub fn repeat_penalty(mut self, penalty: f32) -> Self {
        self.raw.repeat_penalty = penalty;
        self
    }
    pub fn penalty_last_n(mut self, n: i32) -> Self {
        self.raw.penalty_last_n = n;
        self
    }
    /// The same seed gives the same tokens.
    pub fn seed(mut self, seed: u64) -> Self {
        self.raw.seed = seed;
        self
    }
}

/// A sampler: its parameters, random generator and token history.
#[derive(Debug)]
pub struct Sampler {
    raw: NonNull<sys::lola_sampler>,
}

// SAFETY: lola.h: a sampler is "used by one thread at a time"; it holds no thread-bound state,
// so it may move between threads. Not Sync: every operation on it mutates it (&mut self).
unsafe impl Send for Sampler {}

impl Sampler {
    /// `InvalidArgument` names a parameter out of its range.
    pub fn new(params: &SamplerParams) -> Result<Sampler> {
        let mut raw = ptr::null_mut();
        // SAFETY: initialised params, valid out pointer.
        check(unsafe { sys::lola_sampler_create(&params.raw, &mut raw) })?;
        let raw = NonNull::new(raw)
            .ok_or_else(|| Error::new(Status::Internal, "liblola returned LOLA_OK and a NULL sampler"))?;
        Ok(Sampler { raw })
    }

    pub(crate) fn as_mut_ptr(&mut self) -> *mut sys::lola_sampler {
        self.raw.as_ptr()
    }

    /// Samples a token from one row of logits and records it in the history. `NonFinite` if a
    /// logit is NaN.
    pub fn sample(&mut self, logits: &[f32]) -> Result<i32> {
        let mut token = -1;
        // SAFETY: live sampler; logits valid for their length.
        check(unsafe { sys::lola_sampler_sample(self.raw.as_ptr(), logits.as_ptr(), logits.len(), &mut token) })?;
        Ok(token)
    }

    /// Adds tokens to the history without sampling (e.g. the prompt, for the penalty).
    pub fn accept(&mut self, tokens: &[i32]) -> Result<()> {
        // SAFETY: live sampler; tokens valid for their length.
        check(unsafe { sys::lola_sampler_accept(self.raw.as_ptr(), tokens.as_ptr(), tokens.len()) })
    }

    /// Clears the history and reseeds the generator.
    pub fn reset(&mut self, seed: u64) -> Result<()> {
        // SAFETY: live sampler.
        check(unsafe { sys::lola_sampler_reset(self.raw.as_ptr(), seed) })
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        // SAFETY: the handle is live and freed once.
        unsafe { sys::lola_sampler_free(self.raw.as_ptr()) }
    }
}
