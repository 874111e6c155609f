//! `Layer`: the standalone LoLA attention layer (lola_layer_*): feed q, k, v per token as flat
//! token-major slices (`[T][heads][head_dim]`), read the outputs and the cache state.
use std::mem::{size_of, MaybeUninit};
use std::ptr::{self, NonNull};

use lola_sys as sys;

use crate::attention::AttentionParams;
use crate::buffers::read_sized;
use crate::cache::{read_head_cache, read_positions, HeadCache, HeadState, PositionsFn};
use crate::error::{check, ensure_abi, Error, Result, Status};
use crate::kinds::{Attention, Memory};

/// Parameters of a layer: its shapes and weights and its [`AttentionParams`], starting from
/// liblola's defaults (1 head of dimension 64; LoLA attention with chunk 64, sparse capacity
/// 64, performer features unless hedgehog weights are given). The weight arrays are owned
/// here and copied by liblola at creation.
#[derive(Clone, Debug)]
pub struct LayerParams {
    /// Its pointers stay NULL here; `Layer::new` points a copy at the fields below.
    raw: sys::lola_layer_params,
    attention: Option<AttentionParams>,
    window_factors: Option<Vec<f32>>,
    hedgehog: Option<(Vec<f32>, Vec<f32>)>,
}

// SAFETY: the pointers in `raw` are always NULL in a stored LayerParams; the rest are numbers
// and owned Vecs.
unsafe impl Send for LayerParams {}
// SAFETY: as for Send; no interior mutability.
unsafe impl Sync for LayerParams {}

impl Default for LayerParams {
    fn default() -> Self {
        Self::new()
    }
}

impl LayerParams {
    pub fn new() -> LayerParams {
        let mut raw = MaybeUninit::<sys::lola_layer_params>::zeroed();
        // SAFETY: a valid pointer; init fills struct_size and every default.
        unsafe { sys::lola_layer_params_init(raw.as_mut_ptr()) };
        // SAFETY: zeroed then initialised; the pointers are NULL.
        LayerParams { raw: unsafe { raw.assume_init() }, attention: None, window_factors: None, hedgehog: None }
    }
    /// Query heads, key/value heads (dividing n_heads) and d.
    pub fn heads(mut self, n_heads: i32, n_kv_heads: i32, head_dim: i32) -> Self {
        self.raw.n_heads = n_heads;
        self.raw.n_kv_heads = n_kv_heads;
        self.raw.head_dim = head_dim;
        self
    }
    /// The memory's attention settings (default: `AttentionParams::new()`).
    pub fn attention(mut self, attention: AttentionParams) -> Self {
        self.attention = Some(attention);
        self
    }
    /// 0 means 1/sqrt(head_dim).
    pub fn softmax_scale(mut self, scale: f32) -> Self {
        self.raw.softmax_scale = scale;
        self
    }
    /// `[n_heads]` gate logits, g = sigmoid(w) (default all 0: g = 0.5).
    pub fn window_factors(mut self, w: Vec<f32>) -> Self {
        self.window_factors = Some(w);
        self
    }
    /// Hedgehog query and key maps, each `[n_heads][head_dim][feature_dim / 2]`.
    pub fn hedgehog_weights(mut self, q: Vec<f32>, k: Vec<f32>) -> Self {
        self.hedgehog = Some((q, k));
        self
    }
    pub fn n_threads(mut self, n: i32) -> Self {
        self.raw.n_threads = n;
        self
    }

    /// The raw params with the pointers set, all into `self`: the caller keeps `self`
    /// borrowed while liblola reads them. lola.h gives the weight arrays no length, so their
    /// lengths are checked here against the shapes (a short Vec would be over-read). With
    /// shapes that are not positive the arrays are left out: liblola then rejects the shapes
    /// with its own message.
    fn to_raw(&self) -> Result<sys::lola_layer_params> {
        let mut raw = self.raw;
        raw.attention = self.attention.as_ref().map_or(ptr::null(), AttentionParams::as_raw);
        let p = &self.raw;
        if p.n_heads < 1 || p.head_dim < 1 {
            return Ok(raw);
        }
        if let Some(w) = &self.window_factors {
            expect_len("window_factors", w.len(), p.n_heads as usize)?;
            raw.window_factors = w.as_ptr();
        }
        if let Some((q, k)) = &self.hedgehog {
            let feature_dim = self.attention.as_ref().map_or(0, AttentionParams::raw_feature_dim);
            let f = if feature_dim > 0 { feature_dim as usize } else { 128 };
            let want = p.n_heads as usize * p.head_dim as usize * (f / 2);
            expect_len("hedgehog_q", q.len(), want)?;
            expect_len("hedgehog_k", k.len(), want)?;
            raw.hedgehog_q = q.as_ptr();
            raw.hedgehog_k = k.as_ptr();
        }
        Ok(raw)
    }
}

fn expect_len(name: &str, got: usize, want: usize) -> Result<()> {
    if got == want {
        Ok(())
    } else {
        Err(Error::new(Status::SizeMismatch, format!("{name} has {got} floats, the shapes need {want}")))
    }
}

/// Shapes and totals of a layer (`lola_layer_info`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayerInfo {
    pub n_heads: i32,
    pub n_kv_heads: i32,
    pub head_dim: i32,
    pub feature_dim: i32,
    pub n_state_heads: i32,
    pub chunk_size: i32,
    pub sparse_capacity: i32,
    pub attention: Attention,
    /// Tokens fed since creation or reset.
    pub n_tokens: i64,
    pub bytes: u64,
}

/// One attention layer and its cache state.
#[derive(Debug)]
pub struct Layer {
    raw: NonNull<sys::lola_layer>,
    /// Floats of q (and of an output) per token: n_heads * head_dim.
    q_per_token: usize,
    n_heads: i32,
}

// SAFETY: lola.h: layers are independent, "A layer may move between threads", and its worker
// threads never outlive the call that started them.
unsafe impl Send for Layer {}
// SAFETY: lola.h: "calls that take a `const lola_layer *` may run concurrently with each
// other". The &self methods below call only those (get_info, get_head_state, get_positions,
// state_size, state_save, clone); feed, reset, restore and free take &mut self or self.
unsafe impl Sync for Layer {}

impl Layer {
    /// Creates a layer. `InvalidArgument` names the parameter out of range; `SizeMismatch`
    /// when a weight array's length does not match the shapes.
    pub fn new(params: &LayerParams) -> Result<Layer> {
        ensure_abi()?;
        // Its pointers (attention settings, weights) point into `params`, which the caller
        // lends for this whole call, so they outlive lola_layer_create, their only reader
        // (lola.h: read or copied at creation); `raw_params` never leaves this function.
        let raw_params = params.to_raw()?;
        let mut raw = ptr::null_mut();
        // SAFETY: valid params whose pointers are NULL or alive (see above) and whose arrays
        // hold the lengths the shapes imply; a valid out pointer.
        check(unsafe { sys::lola_layer_create(&raw_params, &mut raw) })?;
        Layer::wrap(raw)
    }

    fn wrap(raw: *mut sys::lola_layer) -> Result<Layer> {
        let raw = NonNull::new(raw)
            .ok_or_else(|| Error::new(Status::Internal, "liblola returned LOLA_OK and a NULL layer"))?;
        let mut layer = Layer { raw, q_per_token: 0, n_heads: 0 };
        let info = layer.info()?; // on error `layer` drops and frees the handle
        layer.q_per_token = info.n_heads as usize * info.head_dim as usize;
        layer.n_heads = info.n_heads;
        Ok(layer)
    }

    pub fn info(&self) -> Result<LayerInfo> {
        // SAFETY: all-zero is a valid lola_layer_info (plain numbers).
        let mut raw: sys::lola_layer_info = unsafe { MaybeUninit::zeroed().assume_init() };
        raw.struct_size = size_of::<sys::lola_layer_info>();
        // SAFETY: live layer, valid struct with its size set.
        check(unsafe { sys::lola_layer_get_info(self.raw.as_ptr(), &mut raw) })?;
        Ok(LayerInfo {
            n_heads: raw.n_heads,
            n_kv_heads: raw.n_kv_heads,
            head_dim: raw.head_dim,
            feature_dim: raw.feature_dim,
            n_state_heads: raw.n_state_heads,
            chunk_size: raw.chunk_size,
            sparse_capacity: raw.sparse_capacity,
            attention: Attention::from_raw(raw.attention).ok_or_else(|| {
                Error::new(Status::Internal, format!("lola_layer_get_info: unknown attention {}", raw.attention))
            })?,
            n_tokens: raw.n_tokens,
            bytes: raw.bytes,
        })
    }

    /// Feeds `n_tokens` tokens and returns their outputs `[n_tokens][n_heads][head_dim]`.
    /// Slice lengths must match the shapes (`SizeMismatch` otherwise); NaN/Inf gives
    /// `NonFinite` and feeds nothing.
    pub fn feed(&mut self, n_tokens: usize, q: &[f32], k: &[f32], v: &[f32]) -> Result<Vec<f32>> {
        // Sized like q (same shape as y): a wrong q is reported by liblola, and a huge
        // n_tokens cannot make this allocate more than the caller passed.
        let mut y = vec![0f32; q.len()];
        self.feed_into(n_tokens, q, k, v, &mut y)?;
        Ok(y)
    }

    /// As [`Layer::feed`], writing the outputs into `y`.
    pub fn feed_into(&mut self, n_tokens: usize, q: &[f32], k: &[f32], v: &[f32], y: &mut [f32]) -> Result<()> {
        self.raw_feed(n_tokens, q, k, v, y.as_mut_ptr(), y.len())
    }

    /// lola_layer_feed; `y` is NULL with length 0 (no outputs) or valid for `y_len` floats.
    fn raw_feed(&mut self, n_tokens: usize, q: &[f32], k: &[f32], v: &[f32], y: *mut f32, y_len: usize) -> Result<()> {
        let (layer, n) = (self.raw.as_ptr(), tokens_i64(n_tokens)?);
        // SAFETY: live layer; every pointer is valid for the length passed with it (y: the
        // callers' guarantee above).
        check(unsafe {
            sys::lola_layer_feed(layer, n, q.as_ptr(), q.len(), k.as_ptr(), k.len(), v.as_ptr(), v.len(), y, y_len)
        })
    }

    /// Updates the cache without computing outputs.
    pub fn update(&mut self, n_tokens: usize, q: &[f32], k: &[f32], v: &[f32]) -> Result<()> {
        // y NULL with length 0: lola.h allows it.
        self.raw_feed(n_tokens, q, k, v, ptr::null_mut(), 0)
    }

    /// For `FeatureMap::Precomputed` layers: also pass phi(q) and phi(k) for every query head,
    /// `[n_tokens][n_heads][feature_dim]` each.
    pub fn feed_features(
        &mut self,
        n_tokens: usize,
        q: &[f32],
        k: &[f32],
        v: &[f32],
        fq: &[f32],
        fk: &[f32],
    ) -> Result<Vec<f32>> {
        let n = tokens_i64(n_tokens)?;
        let mut y = vec![0f32; q.len()];
        // SAFETY: live layer; every pointer is valid for the length passed with it.
        check(unsafe {
            sys::lola_layer_feed_features(
                self.raw.as_ptr(),
                n,
                q.as_ptr(),
                q.len(),
                k.as_ptr(),
                k.len(),
                v.as_ptr(),
                v.len(),
                fq.as_ptr(),
                fq.len(),
                fk.as_ptr(),
                fk.len(),
                y.as_mut_ptr(),
                y.len(),
            )
        })?;
        Ok(y)
    }

    /// Floats of q per token (n_heads * head_dim).
    pub fn q_per_token(&self) -> usize {
        self.q_per_token
    }

    /// Forgets every token (weights and parameters kept).
    pub fn reset(&mut self) -> Result<()> {
        // SAFETY: live layer.
        check(unsafe { sys::lola_layer_reset(self.raw.as_ptr()) })
    }

    /// An independent deep copy (parameters and cache state).
    pub fn try_clone(&self) -> Result<Layer> {
        let mut raw = ptr::null_mut();
        // SAFETY: live layer, valid out pointer.
        check(unsafe { sys::lola_layer_clone(self.raw.as_ptr(), &mut raw) })?;
        Layer::wrap(raw)
    }

    pub fn head_state(&self, head: i32) -> Result<HeadState> {
        // SAFETY: live layer; the struct pointer comes from HeadState::read.
        HeadState::read(|out| unsafe { sys::lola_layer_get_head_state(self.raw.as_ptr(), head, out) })
    }

    fn positions_fn(&self, head: i32) -> impl Fn(i32, *mut i64, *mut f32, usize, *mut usize) -> sys::lola_status + '_ {
        // SAFETY (inside): live layer; read_positions passes buffers valid for `capacity`.
        move |memory, positions, scores, capacity, n_out| unsafe {
            sys::lola_layer_get_positions(self.raw.as_ptr(), head, memory, positions, scores, capacity, n_out)
        }
    }

    /// The token positions (ascending) in one memory of query head `head`.
    pub fn positions(&self, head: i32, memory: Memory) -> Result<Vec<i64>> {
        Ok(read_positions(&self.positions_fn(head), memory, false)?.0)
    }

    /// The sparse cache of one head: positions and their latest scores.
    pub fn sparse_entries(&self, head: i32) -> Result<(Vec<i64>, Vec<f32>)> {
        read_positions(&self.positions_fn(head), Memory::Sparse, true)
    }

    /// Counts and positions of every query head.
    pub fn cache_state(&self) -> Result<Vec<HeadCache>> {
        (0..self.n_heads)
            .map(|head| {
                let get: &PositionsFn<'_> = &self.positions_fn(head);
                read_head_cache(self.head_state(head)?, get)
            })
            .collect()
    }

    /// The layer's state as a versioned, checksummed blob.
    pub fn save_state(&self) -> Result<Vec<u8>> {
        let mut size = 0usize;
        // SAFETY: live layer, valid out pointer.
        check(unsafe { sys::lola_layer_state_size(self.raw.as_ptr(), &mut size) })?;
        read_sized(size, 0, |buf: *mut u8, cap, written| unsafe {
            // SAFETY: buf is valid for cap bytes.
            sys::lola_layer_state_save(self.raw.as_ptr(), buf.cast(), cap, written)
        })
    }

    /// Restores a blob from a layer with the same parameters; on error the layer is unchanged.
    pub fn restore_state(&mut self, state: &[u8]) -> Result<()> {
        // SAFETY: live layer; state valid for its length.
        check(unsafe { sys::lola_layer_state_restore(self.raw.as_ptr(), state.as_ptr().cast(), state.len()) })
    }
}

impl Drop for Layer {
    fn drop(&mut self) {
        // SAFETY: the handle is live and freed once.
        unsafe { sys::lola_layer_free(self.raw.as_ptr()) }
    }
}

fn tokens_i64(n_tokens: usize) -> Result<i64> {
    i64::try_from(n_tokens)
        .map_err(|_| Error::new(Status::InvalidArgument, format!("n_tokens {n_tokens} is too large")))
}
