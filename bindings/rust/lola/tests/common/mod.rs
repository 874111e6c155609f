//! Shared by the integration tests: the tiny test model (tests/tools/make_test_model.cpp: a
//! random 2-layer Llama, 4 query / 2 KV heads, 97 tokens: '!'..'~', space, newline, EOS = 96)
//! and small helpers.
#![allow(dead_code)]

use lola::{AttentionParams, ContextParams, Model};

/// The test model named by LOLA_TEST_MODEL (ctest sets it; by hand: the file that the CMake
/// target lola_test_model writes, <build>/tests/tiny_vocab_llama.gguf).
pub fn model_path() -> String {
    match std::env::var("LOLA_TEST_MODEL") {
        Ok(path) if !path.is_empty() => path,
        _ => panic!(
            "LOLA_TEST_MODEL is not set: point it at the tiny test model written by the CMake \
             target lola_test_model (<build>/tests/tiny_vocab_llama.gguf)"
        ),
    }
}

pub fn load_model() -> Model {
    let path = model_path();
    Model::load(&path).unwrap_or_else(|e| panic!("cannot load the test model {path}: {e}"))
}

/// LoLA settings small enough that a dozen tokens fill the window, the sparse cache and the
/// linear state of the tiny model.
pub fn small_attention() -> AttentionParams {
    AttentionParams::new().chunk_size(4).sparse_capacity(2).seed(7)
}

/// A context with `small_attention`, fed in batches of 3.
pub fn small_lola() -> ContextParams {
    ContextParams::new().batch_size(3).attention(small_attention())
}

/// Deterministic pseudo-random floats in [-1, 1) (a 64-bit LCG; no crates needed).
pub fn random_floats(n: usize, seed: u64) -> Vec<f32> {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// Index of the largest value, lowest index on ties (the greedy sampler's rule).
pub fn argmax(values: &[f32]) -> i32 {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] {
            best = i;
        }
    }
    best as i32
}
