//! Cache-state queries shared by `Context` and `Layer`: which token positions each memory of a
//! head holds, and its counts.
use std::mem::size_of;
use std::ptr;

use lola_sys as sys;

use crate::error::{check, Result};
use crate::kinds::Memory;

/// The cache state of one query head (`lola_head_state`). Every fed position is in exactly one
/// of window, sparse, folded, evicted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeadState {
    /// The state this query head reads (query heads of a KV group may share one).
    pub state_head: i32,
    pub n_window: i64,
    pub n_sparse: i64,
    pub n_folded: i64,
    pub n_evicted: i64,
    pub bytes: u64,
}

impl HeadState {
    pub(crate) fn read(call: impl FnOnce(*mut sys::lola_head_state) -> sys::lola_status) -> Result<HeadState> {
        let mut raw = sys::lola_head_state {
            struct_size: size_of::<sys::lola_head_state>(),
            state_head: 0,
            n_window: 0,
            n_sparse: 0,
            n_folded: 0,
            n_evicted: 0,
            bytes: 0,
        };
        check(call(&mut raw))?;
        Ok(HeadState {
            state_head: raw.state_head,
            n_window: raw.n_window,
            n_sparse: raw.n_sparse,
            n_folded: raw.n_folded,
            n_evicted: raw.n_evicted,
            bytes: raw.bytes,
        })
    }
}

/// What one query head holds: its counts, the positions in its window and in its sparse cache
/// (ascending), and the latest score of each sparse position.
#[derive(Clone, Debug, PartialEq)]
pub struct HeadCache {
    pub state: HeadState,
    pub window: Vec<i64>,
    pub sparse: Vec<i64>,
    pub sparse_scores: Vec<f32>,
}

/// The C signature of lola_layer_get_positions / lola_context_get_positions after the handle,
/// layer and head arguments: (memory, positions, scores, capacity, n_out).
pub(crate) type PositionsFn<'a> = dyn Fn(i32, *mut i64, *mut f32, usize, *mut usize) -> sys::lola_status + 'a;

/// The positions of one memory, and (for the sparse cache, when `with_scores`) their scores.
/// The object is borrowed immutably meanwhile, so the count cannot change between the calls.
pub(crate) fn read_positions(get: &PositionsFn<'_>, memory: Memory, with_scores: bool) -> Result<(Vec<i64>, Vec<f32>)> {
    let mut n = 0usize;
    check(get(memory.raw(), ptr::null_mut(), ptr::null_mut(), 0, &mut n))?;
    let mut positions = vec![0i64; n];
    let mut scores = if with_scores { vec![0f32; n] } else { Vec::new() };
    if n > 0 {
        let scores_ptr = if with_scores { scores.as_mut_ptr() } else { ptr::null_mut() };
        check(get(memory.raw(), positions.as_mut_ptr(), scores_ptr, n, &mut n))?;
        positions.truncate(n);
        scores.truncate(if with_scores { n } else { 0 });
    }
    Ok((positions, scores))
}

/// Reads everything about one head through its state and positions calls.
pub(crate) fn read_head_cache(state: HeadState, get: &PositionsFn<'_>) -> Result<HeadCache> {
    let (window, _) = read_positions(get, Memory::Window, false)?;
    let (sparse, sparse_scores) = read_positions(get, Memory::Sparse, true)?;
    Ok(HeadCache { state, window, sparse, sparse_scores })
}
