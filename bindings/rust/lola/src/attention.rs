//! `AttentionParams`: what every head's memory does (`lola_attention_params`), the one builder
//! shared by [`LayerParams`](crate::LayerParams) and [`ContextParams`](crate::ContextParams).
use std::mem::MaybeUninit;
use std::ptr;

use lola_sys as sys;

use crate::error::{check, ensure_abi, Error, Result, Status};
use crate::kinds::{Attention, FeatureMap, Mixing, Scoring};
use crate::model::Model;

/// The attention settings of a layer or of every layer of a context, starting from liblola's
/// defaults (`lola_attention_params_init`): LoLA attention; chunk size, sparse capacity and
/// mixing left to the model (for a standalone layer: 64, 64, mode A); the feature map picked
/// automatically ([`FeatureMap::Auto`]); SRE scoring.
///
/// ```no_run
/// use lola::{Attention, AttentionParams, ContextParams, LayerParams, Model};
/// let lola = AttentionParams::new().chunk_size(32).sparse_capacity(16).seed(7);
/// let layer = lola::Layer::new(&LayerParams::new().heads(4, 2, 16).attention(lola.clone()))?;
/// let model = Model::load("model.gguf")?;
/// let ctx = model.new_context(&ContextParams::new().attention(lola))?;
/// let full = AttentionParams::new().attention(Attention::Full);
/// let baseline = model.new_context(&ContextParams::new().attention(full))?;
/// # Ok::<(), lola::Error>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct AttentionParams {
    raw: sys::lola_attention_params,
}

impl Default for AttentionParams {
    fn default() -> Self {
        Self::new()
    }
}

impl AttentionParams {
    pub fn new() -> AttentionParams {
        let mut raw = MaybeUninit::<sys::lola_attention_params>::zeroed();
        // SAFETY: a valid pointer; init fills struct_size and every default.
        unsafe { sys::lola_attention_params_init(raw.as_mut_ptr()) };
        // SAFETY: zeroed then initialised; all fields are plain numbers.
        AttentionParams { raw: unsafe { raw.assume_init() } }
    }
    /// Which attention the memory computes (default [`Attention::Lola`]).
    pub fn attention(mut self, attention: Attention) -> Self {
        self.raw.attention = attention.raw();
        self
    }
    /// C, the chunk and window unit (>= 1; default: the model's, else 64).
    pub fn chunk_size(mut self, n: i32) -> Self {
        self.raw.chunk_size = n;
        self
    }
    /// lambda, sparse-cache entries per head (>= 0; default: the model's, else 64).
    pub fn sparse_capacity(mut self, n: i32) -> Self {
        self.raw.sparse_capacity = n;
        self
    }
    /// The feature map phi; [`FeatureMap::Auto`] (default): hedgehog when learned weights are
    /// present (a model's LoLA tensors, a layer's hedgehog weights), performer otherwise.
    pub fn feature_map(mut self, map: FeatureMap) -> Self {
        self.raw.feature_map = map.raw();
        self
    }
    /// F; 0 (default) picks the map's (head_dim, or 128 for a layer's hedgehog).
    pub fn feature_dim(mut self, n: i32) -> Self {
        self.raw.feature_dim = n;
        self
    }
    /// Default: the model's, else [`Mixing::Lola`].
    pub fn mixing(mut self, mixing: Mixing) -> Self {
        self.raw.mixing = mixing.raw();
        self
    }
    pub fn scoring(mut self, scoring: Scoring) -> Self {
        self.raw.scoring = scoring.raw();
        self
    }
    /// Performer only: orthogonal blocks of random rows (default false).
    pub fn performer_orthogonal(mut self, orthogonal: bool) -> Self {
        self.raw.performer_orthogonal = orthogonal as i32;
        self
    }
    /// Seeds the performer projections (layer l of a model uses seed + l) and random scoring.
    pub fn seed(mut self, seed: u64) -> Self {
        self.raw.seed = seed;
        self
    }
    /// Epsilon of the mixing and SRE denominators (default 1e-6).
    pub fn eps(mut self, eps: f32) -> Self {
        self.raw.eps = eps;
        self
    }

    /// F as set (0: the map's default).
    pub(crate) fn raw_feature_dim(&self) -> i32 {
        self.raw.feature_dim
    }

    /// The C struct that a params struct's `attention` pointer may point at. The caller must
    /// keep `self` alive (and unmoved) for as long as that pointer is read.
    pub(crate) fn as_raw(&self) -> *const sys::lola_attention_params {
        &self.raw
    }

    /// What the model-dependent defaults become (`lola_attention_params_resolve`): on a context
    /// of `model`, or with `None` on a standalone layer. Fields set explicitly come back as set.
    pub fn resolve(&self, model: Option<&Model>) -> Result<ResolvedAttention> {
        ensure_abi()?;
        let mut raw = self.raw;
        let model_ptr = model.map_or(ptr::null(), |m| m.as_ptr() as *const sys::lola_model);
        // SAFETY: a live model or NULL (lola.h allows it); an initialised struct of our own.
        check(unsafe { sys::lola_attention_params_resolve(model_ptr, &mut raw) })?;
        let mixing = Mixing::from_raw(raw.mixing).ok_or_else(|| {
            Error::new(Status::Internal, format!("lola_attention_params_resolve left mixing {}", raw.mixing))
        })?;
        Ok(ResolvedAttention { chunk_size: raw.chunk_size, sparse_capacity: raw.sparse_capacity, mixing })
    }
}

/// The values that [`AttentionParams::resolve`] fills in for the model-dependent defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResolvedAttention {
    pub chunk_size: i32,
    pub sparse_capacity: i32,
    pub mixing: Mixing,
}
