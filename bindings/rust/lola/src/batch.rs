//! Batched decode (`lola_batch_*`): one token for each of many contexts of a model in one step,
//! every weight matrix read once for all of them. Each context keeps its own cache, position and
//! logits; the results are bitwise equal to `Context::feed` of each token alone.
use std::ptr::{self, NonNull};

use lola_sys as sys;

use crate::context::Context;
use crate::error::{check, Error, Result, Status};
use crate::model::Model;

/// The activations of one decode step for up to `max_contexts` contexts of one model, made once
/// and reused (a step allocates nothing). Borrows the model like a context does.
#[derive(Debug)]
pub struct Batch<'m> {
    raw: NonNull<sys::lola_batch>,
    model: &'m Model,
    pointers: Vec<*mut sys::lola_context>,
}

// SAFETY: lola.h: a batch "belongs to the calling thread for the call" and may move between
// threads; every call takes &mut self. The pointer Vec is scratch space refilled by each call.
unsafe impl Send for Batch<'_> {}

impl<'m> Batch<'m> {
    /// A batch for `model`: `max_contexts` in [1, 65536], `n_threads` (its matrix products) in
    /// [1, 1024], else `InvalidArgument`.
    pub fn new(model: &'m Model, max_contexts: usize, n_threads: usize) -> Result<Batch<'m>> {
        let max = i32::try_from(max_contexts)
            .map_err(|_| Error::new(Status::InvalidArgument, "max_contexts does not fit an i32"))?;
        let threads = i32::try_from(n_threads)
            .map_err(|_| Error::new(Status::InvalidArgument, "n_threads does not fit an i32"))?;
        let mut raw = ptr::null_mut();
        // SAFETY: live model, valid out pointer.
        check(unsafe { sys::lola_batch_create(model.as_ptr(), max, threads, &mut raw) })?;
        let raw = NonNull::new(raw)
            .ok_or_else(|| Error::new(Status::Internal, "liblola returned LOLA_OK and a NULL batch"))?;
        Ok(Batch { raw, model, pointers: Vec::with_capacity(max_contexts) })
    }

    /// The model of this batch.
    pub fn model(&self) -> &'m Model {
        self.model
    }

    /// Feeds `tokens[i]` to `contexts[i]` in one step; afterwards each context's logits are its
    /// token's. Every check comes first, and an error feeds no context; the message names
    /// `contexts[i]`: `InvalidArgument` for a token out of range, a context of another model or
    /// more contexts than `max_contexts`, `SizeMismatch` when the slices differ in length. The
    /// borrow checker already rules out the same context twice.
    pub fn decode(&mut self, contexts: &mut [&mut Context<'_>], tokens: &[i32]) -> Result<()> {
        if contexts.len() != tokens.len() {
            return Err(Error::new(
                Status::SizeMismatch,
                format!("{} contexts but {} tokens: one token per context", contexts.len(), tokens.len()),
            ));
        }
        self.pointers.clear();
        self.pointers.extend(contexts.iter_mut().map(|c| c.as_mut_ptr()));
        // SAFETY: live batch; the pointers are live contexts borrowed mutably for this call;
        // tokens valid for their length.
        check(unsafe {
            sys::lola_batch_decode(self.raw.as_ptr(), self.pointers.as_ptr(), tokens.as_ptr(), tokens.len())
        })
    }
}

impl Drop for Batch<'_> {
    fn drop(&mut self) {
        // SAFETY: the batch is live and freed once.
        unsafe { sys::lola_batch_free(self.raw.as_ptr()) }
    }
}
