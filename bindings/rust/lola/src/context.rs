//! `Context<'m>`: one inference stream over a borrowed `Model`, with its LoLA cache state.
use std::mem::{size_of, MaybeUninit};
use std::os::raw::c_void;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use lola_sys as sys;

use crate::attention::AttentionParams;
use crate::buffers::read_sized;
use crate::cache::{read_head_cache, read_positions, HeadCache, HeadState, PositionsFn};
use crate::error::{check, Error, Result, Status};
use crate::kinds::{Attention, Memory};
use crate::model::Model;

/// Parameters of a context: its threads, batch, gates and [`AttentionParams`], starting from
/// liblola's defaults.
///
/// ```no_run
/// use lola::{Attention, AttentionParams, ContextParams, Model};
/// let model = Model::load("model.gguf")?;
/// let lola = AttentionParams::new().chunk_size(32).sparse_capacity(16);
/// let mut ctx = model.new_context(&ContextParams::new().attention(lola).n_threads(2))?;
/// ctx.feed(&model.tokenize("hello")?)?;
/// let full = AttentionParams::new().attention(Attention::Full);
/// let baseline = model.new_context(&ContextParams::new().attention(full))?;
/// # Ok::<(), lola::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct ContextParams {
    /// Its `attention` pointer stays NULL here; `Context::new` points a copy at `attention`.
    raw: sys::lola_context_params,
    attention: Option<AttentionParams>,
    /// lola_context_params.layer_attention (empty: none); `raw`'s pointer to it stays NULL.
    layers: Vec<i32>,
}

// SAFETY: the pointers in `raw` (attention, layer_attention) are always NULL in a stored
// ContextParams; the rest are plain numbers, and `layers` is owned.
unsafe impl Send for ContextParams {}
// SAFETY: as for Send; no interior mutability.
unsafe impl Sync for ContextParams {}

impl Default for ContextParams {
    fn default() -> Self {
        Self::new()
    }
}

impl ContextParams {
    /// The C struct with its attention pointer set into `self`: valid while `self` is borrowed,
    /// for a call that reads the parameters during the call only.
    pub(crate) fn raw_with_attention(&self) -> sys::lola_context_params {
        let mut raw = self.raw;
        raw.attention = self.attention.as_ref().map_or(ptr::null(), AttentionParams::as_raw);
        raw.layer_attention = if self.layers.is_empty() { ptr::null() } else { self.layers.as_ptr() };
        raw.n_layer_attention = self.layers.len();
        raw
    }
    pub fn new() -> ContextParams {
        let mut raw = MaybeUninit::<sys::lola_context_params>::zeroed();
        // SAFETY: a valid pointer; init fills struct_size and every default.
        unsafe { sys::lola_context_params_init(raw.as_mut_ptr()) };
        // SAFETY: zeroed then initialised; numbers and a NULL attention pointer.
        ContextParams { raw: unsafe { raw.assume_init() }, attention: None, layers: Vec::new() }
    }
    /// Worker threads of this context (default 1).
    pub fn n_threads(mut self, n: i32) -> Self {
        self.raw.n_threads = n;
        self
    }
    /// Tokens per forward step of a prefill (default 64).
    pub fn batch_size(mut self, n: i32) -> Self {
        self.raw.batch_size = n;
        self
    }
    /// Every layer's attention settings (default: `AttentionParams::new()`). The feature map
    /// may not be `Precomputed`.
    pub fn attention(mut self, attention: AttentionParams) -> Self {
        self.attention = Some(attention);
        self
    }
    /// Per-layer attention kinds (`lola_context_params.layer_attention`): one entry per layer of
    /// the model, each an [`Attention`] or `None` for the `attention` settings' kind; a hybrid
    /// such as a few full-attention layers among LoLA ones (their cache grows with the
    /// context). Empty (default): every layer computes the `attention` settings' kind. A
    /// count other than the model's layers is refused when the context is created.
    pub fn layer_attention(mut self, kinds: &[Option<Attention>]) -> Self {
        self.layers = kinds.iter().map(|k| k.map_or(sys::LOLA_MODEL_DEFAULT as i32, Attention::raw)).collect();
        self
    }
    /// The gate logit w of every head (g = sigmoid(w)); `None` (default): the model's gates,
    /// or 0 when it has none.
    pub fn gate_logit(mut self, w: Option<f32>) -> Self {
        self.raw.gate_logit = w.unwrap_or(f32::NAN);
        self
    }
}

/// Totals of a context (`lola_context_info`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContextInfo {
    /// Tokens fed.
    pub n_past: i64,
    pub n_layer: i32,
    pub n_state_heads: i32,
    /// Cache state of all layers (constant in n_past for LoLA).
    pub state_bytes: u64,
    /// Totals over layers and query heads.
    pub n_window: i64,
    pub n_sparse: i64,
    pub n_folded: i64,
    pub n_evicted: i64,
}

/// One inference stream over a model. Borrowing the model (`'m`) makes the compiler keep the
/// model alive as long as any context.
#[derive(Debug)]
pub struct Context<'m> {
    raw: NonNull<sys::lola_context>,
    model: &'m Model,
    /// Keeps the abort flag alive while liblola holds a pointer to it.
    abort_flag: Option<Arc<AtomicBool>>,
}

// SAFETY: lola.h: "A context is used by one thread at a time" and may move between threads; the
// model it borrows is Sync. The abort flag is an Arc<AtomicBool>, which is Send.
unsafe impl Send for Context<'_> {}
// SAFETY: lola.h: "calls that take a const context may run concurrently with each other". Every
// &self method below calls only functions taking `const lola_context *` (logits, copy_logits,
// get_info, get_head_state, get_positions, state_size, state_save, clone); everything that
// mutates (feed, reset, restore, set_abort_callback, free) takes &mut self or self.
unsafe impl Sync for Context<'_> {}

impl<'m> Context<'m> {
    /// Creates a context on `model`. `InvalidArgument` names a parameter out of range.
    pub fn new(model: &'m Model, params: &ContextParams) -> Result<Context<'m>> {
        // Points into `params`, which the caller lends for this whole call, so the struct it
        // points at outlives lola_context_create, the only reader (lola.h: "read during the
        // create call only"); `raw_params` never leaves this function.
        let raw_params = params.raw_with_attention();
        let mut raw = ptr::null_mut();
        // SAFETY: live model, initialised params whose attention pointer is NULL or live (see
        // above), valid out pointer.
        check(unsafe { sys::lola_context_create(model.as_ptr(), &raw_params, &mut raw) })?;
        Context::wrap(raw, model)
    }

    fn wrap(raw: *mut sys::lola_context, model: &'m Model) -> Result<Context<'m>> {
        let raw = NonNull::new(raw)
            .ok_or_else(|| Error::new(Status::Internal, "liblola returned LOLA_OK and a NULL context"))?;
        Ok(Context { raw, model, abort_flag: None })
    }

    pub(crate) fn as_mut_ptr(&mut self) -> *mut sys::lola_context {
        self.raw.as_ptr()
    }

    /// The model this context runs.
    pub fn model(&self) -> &'m Model {
        self.model
    }

    /// Feeds tokens (a prefill, or one token for decode) and computes the logits of the last.
    /// An id outside [0, n_vocab) gives `InvalidArgument` and feeds nothing. After `Aborted`,
    /// the tokens before the abort point were fed (see `info().n_past`) and no logits are
    /// available until the next feed.
    pub fn feed(&mut self, tokens: &[i32]) -> Result<()> {
        self.feed_flags(tokens, 0)
    }

    /// As [`Context::feed`], keeping the logits of every fed token (see `all_logits`).
    pub fn feed_all_logits(&mut self, tokens: &[i32]) -> Result<()> {
        self.feed_flags(tokens, sys::LOLA_FEED_ALL_LOGITS)
    }

    fn feed_flags(&mut self, tokens: &[i32], flags: u32) -> Result<()> {
        // SAFETY: live context; tokens valid for their length; n_fed may be NULL.
        check(unsafe {
            sys::lola_context_feed(self.raw.as_ptr(), tokens.as_ptr(), tokens.len(), flags, ptr::null_mut())
        })
    }

    /// Every row of logits of the last feed, flat: `[rows][n_vocab]`.
    fn logits_raw(&self) -> Result<(&[f32], usize)> {
        let mut data = ptr::null();
        let (mut rows, mut n_vocab) = (0usize, 0usize);
        // SAFETY: live context, valid out pointers.
        check(unsafe { sys::lola_context_logits(self.raw.as_ptr(), &mut data, &mut rows, &mut n_vocab) })?;
        if data.is_null() || rows == 0 {
            return Err(Error::new(Status::Internal, "lola_context_logits returned no rows"));
        }
        // SAFETY: lola.h: the pointer holds rows*n_vocab floats "valid until the next call that
        // mutates this context"; every such call needs &mut self, which the borrow of self in
        // the returned slice forbids until the slice is dropped.
        Ok((unsafe { std::slice::from_raw_parts(data, rows * n_vocab) }, n_vocab))
    }

    /// The logits of the last fed token (n_vocab floats), borrowed from the context: any
    /// `&mut self` call (feed, reset, restore) ends the borrow. `Unsupported` when nothing has
    /// been fed since creation, reset, restore or an abort.
    pub fn logits(&self) -> Result<&[f32]> {
        let (all, n_vocab) = self.logits_raw()?;
        Ok(&all[all.len() - n_vocab..])
    }

    /// Rows of logits of the last feed: one per fed token after `feed_all_logits`, else one.
    pub fn all_logits(&self) -> Result<std::slice::ChunksExact<'_, f32>> {
        let (all, n_vocab) = self.logits_raw()?;
        Ok(all.chunks_exact(n_vocab))
    }

    /// A copy of the last token's logits.
    pub fn logits_to_vec(&self) -> Result<Vec<f32>> {
        let mut out = vec![0f32; self.model.n_vocab()];
        // SAFETY: live context; out has capacity n_vocab.
        check(unsafe { sys::lola_context_copy_logits(self.raw.as_ptr(), -1, out.as_mut_ptr(), out.len()) })?;
        Ok(out)
    }

    /// Forgets every token.
    pub fn reset(&mut self) -> Result<()> {
        // SAFETY: live context.
        check(unsafe { sys::lola_context_reset(self.raw.as_ptr()) })
    }

    pub fn info(&self) -> Result<ContextInfo> {
        let mut raw = sys::lola_context_info {
            struct_size: size_of::<sys::lola_context_info>(),
            n_past: 0,
            n_layer: 0,
            n_state_heads: 0,
            state_bytes: 0,
            n_window: 0,
            n_sparse: 0,
            n_folded: 0,
            n_evicted: 0,
        };
        // SAFETY: live context, valid struct with its size set.
        check(unsafe { sys::lola_context_get_info(self.raw.as_ptr(), &mut raw) })?;
        Ok(ContextInfo {
            n_past: raw.n_past,
            n_layer: raw.n_layer,
            n_state_heads: raw.n_state_heads,
            state_bytes: raw.state_bytes,
            n_window: raw.n_window,
            n_sparse: raw.n_sparse,
            n_folded: raw.n_folded,
            n_evicted: raw.n_evicted,
        })
    }

    /// Tokens fed so far.
    pub fn n_past(&self) -> Result<i64> {
        Ok(self.info()?.n_past)
    }

    /// Counts of query head `head` of layer `layer`.
    pub fn head_state(&self, layer: i32, head: i32) -> Result<HeadState> {
        // SAFETY: live context; the struct pointer comes from HeadState::read.
        HeadState::read(|out| unsafe { sys::lola_context_get_head_state(self.raw.as_ptr(), layer, head, out) })
    }

    fn positions_fn(
        &self,
        layer: i32,
        head: i32,
    ) -> impl Fn(i32, *mut i64, *mut f32, usize, *mut usize) -> sys::lola_status + '_ {
        // SAFETY (inside): live context; read_positions passes buffers valid for `capacity`.
        move |memory, positions, scores, capacity, n_out| unsafe {
            sys::lola_context_get_positions(self.raw.as_ptr(), layer, head, memory, positions, scores, capacity, n_out)
        }
    }

    /// The token positions (ascending) in one memory of query head `head` of layer `layer`.
    pub fn positions(&self, layer: i32, head: i32, memory: Memory) -> Result<Vec<i64>> {
        Ok(read_positions(&self.positions_fn(layer, head), memory, false)?.0)
    }

    /// The sparse cache of one head: its positions and their latest scores.
    pub fn sparse_entries(&self, layer: i32, head: i32) -> Result<(Vec<i64>, Vec<f32>)> {
        read_positions(&self.positions_fn(layer, head), Memory::Sparse, true)
    }

    /// The whole cache: `[layer][query head]`, each with its counts and positions.
    pub fn cache_state(&self) -> Result<Vec<Vec<HeadCache>>> {
        let info = self.model.info();
        (0..info.n_layer)
            .map(|layer| {
                (0..info.n_head)
                    .map(|head| {
                        let get: &PositionsFn<'_> = &self.positions_fn(layer, head);
                        read_head_cache(self.head_state(layer, head)?, get)
                    })
                    .collect()
            })
            .collect()
    }

    /// The context's state as a checksummed blob carrying the model's fingerprint.
    pub fn save_state(&self) -> Result<Vec<u8>> {
        let mut size = 0usize;
        // SAFETY: live context, valid out pointer.
        check(unsafe { sys::lola_context_state_size(self.raw.as_ptr(), &mut size) })?;
        read_sized(size, 0, |buf: *mut u8, cap, written| unsafe {
            // SAFETY: buf is valid for cap bytes.
            sys::lola_context_state_save(self.raw.as_ptr(), buf.cast(), cap, written)
        })
    }

    /// Restores a blob from `save_state`, validated completely first: on error the context is
    /// unchanged (`CorruptData`, `VersionMismatch`, `Incompatible`: another model or other LoLA
    /// parameters). Logits are unavailable until the next feed.
    pub fn restore_state(&mut self, state: &[u8]) -> Result<()> {
        // SAFETY: live context; state valid for its length.
        check(unsafe { sys::lola_context_state_restore(self.raw.as_ptr(), state.as_ptr().cast(), state.len()) })
    }

    /// A deep copy of this context (same model, parameters, cache state and logits). The abort
    /// flag is not copied.
    pub fn try_clone(&self) -> Result<Context<'m>> {
        let mut raw = ptr::null_mut();
        // SAFETY: live context, valid out pointer.
        check(unsafe { sys::lola_context_clone(self.raw.as_ptr(), &mut raw) })?;
        Context::wrap(raw, self.model)
    }

    /// A flag polled between forward steps of `feed`: once it is true, the feed stops with
    /// `Status::Aborted`. Set it from any thread. `None` removes it.
    pub fn set_abort_flag(&mut self, flag: Option<Arc<AtomicBool>>) -> Result<()> {
        extern "C" fn poll(user_data: *mut c_void) -> bool {
            // SAFETY: user_data is the AtomicBool of the Arc that the context keeps alive.
            unsafe { (*(user_data as *const AtomicBool)).load(Ordering::Relaxed) }
        }
        let (fn_, user): (sys::lola_abort_fn, *mut c_void) = match &flag {
            Some(f) => (Some(poll as unsafe extern "C" fn(*mut c_void) -> bool), Arc::as_ptr(f) as *mut c_void),
            None => (None, ptr::null_mut()),
        };
        // SAFETY: live context; `user` stays valid while self.abort_flag holds the Arc.
        check(unsafe { sys::lola_context_set_abort_callback(self.raw.as_ptr(), fn_, user) })?;
        self.abort_flag = flag;
        Ok(())
    }
}

impl Drop for Context<'_> {
    fn drop(&mut self) {
        // SAFETY: the handle is live and freed once.
        unsafe { sys::lola_context_free(self.raw.as_ptr()) }
    }
}

impl Model {
    /// Creates a context on this model (see [`Context::new`]).
    pub fn new_context(&self, params: &ContextParams) -> Result<Context<'_>> {
        Context::new(self, params)
    }
}
