//! Creating and dropping models, contexts, samplers and layers many times leaves the resident
//! memory flat: every Drop releases its handle. One test per binary, so no other test's
//! allocations move the measurement.
mod common;

use common::{load_model, random_floats, small_attention, small_lola};
use lola::{generate, AttentionParams, Layer, LayerParams, Sampler, SamplerParams, Tokenize};

extern "C" {
    fn sysconf(name: i32) -> i64;
}
const SC_PAGESIZE: i32 = 30; // _SC_PAGESIZE on Linux

/// Resident set size in bytes, from /proc/self/statm (second field, in pages).
fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm (Linux only)");
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    // SAFETY: sysconf only reads a constant.
    pages * unsafe { sysconf(SC_PAGESIZE) } as u64
}

/// One round of every object kind; returns how many bytes of state its context held.
fn round() -> u64 {
    let model = load_model();
    let prompt = model.tokenize_with("hello world, hello again", Tokenize::NONE).unwrap();
    let mut ctx = model.new_context(&small_lola()).unwrap();
    ctx.feed(&prompt).unwrap();
    let clone = ctx.try_clone().unwrap();
    let state = clone.save_state().unwrap();
    let mut sampler = Sampler::new(&SamplerParams::new().seed(3)).unwrap();
    let n = generate(&mut ctx, &mut sampler, 4).count();
    assert!(n <= 4);
    let _ = ctx.cache_state().unwrap();
    let mut other = model.new_context(&small_lola()).unwrap();
    other.restore_state(&state).unwrap();
    let _ = model.new_context(&small_lola().attention(small_attention().chunk_size(0))).unwrap_err(); // failed creation
    let _ = lola::Model::load("/nonexistent.gguf").unwrap_err();

    let mut layer =
        Layer::new(&LayerParams::new().heads(4, 2, 16).attention(AttentionParams::new().chunk_size(8))).unwrap();
    let t = 32;
    layer.feed(t, &random_floats(t * 64, 1), &random_floats(t * 32, 2), &random_floats(t * 32, 3)).unwrap();
    let _ = layer.try_clone().unwrap().save_state().unwrap();
    ctx.info().unwrap().state_bytes + layer.info().unwrap().bytes + state.len() as u64
}

#[test]
fn create_and_drop_many_times_keeps_rss_flat() {
    // Warm-up: allocator arenas, lazily built tables and the page cache settle first.
    for _ in 0..50 {
        round();
    }
    let start = rss_bytes();
    let rounds = 400;
    let mut per_round = 0;
    for _ in 0..rounds {
        per_round = round();
    }
    let growth = rss_bytes().saturating_sub(start);
    // Leaking the context, its clone or the layer of every round would add at least
    // rounds * per_round bytes (the model's file mapping and tables come on top); allow a
    // quarter of that, and never less than 1 MiB of allocator noise.
    let model_bytes = std::fs::metadata(common::model_path()).unwrap().len();
    let bound = (rounds as u64 * per_round / 4).max(1 << 20);
    eprintln!("rss growth {growth} B over {rounds} rounds; bound {bound} B; state per round {per_round} B; model file {model_bytes} B");
    assert!(growth < bound, "RSS grew by {growth} bytes over {rounds} rounds (bound {bound})");
}
