//! The standalone layer against a naive softmax attention written here, plus its cache state,
//! save/restore and clone.
mod common;

use common::random_floats;
use lola::{Attention, AttentionParams, Layer, LayerParams, Memory, Status};

const H: usize = 4; // query heads
const KV: usize = 2; // key/value heads
const D: usize = 8; // head dimension

/// Exact causal softmax attention with grouped KV heads: y[t][h] = sum_{j<=t} p_j v[j][g(h)],
/// p = softmax_j(q[t][h] . k[j][g(h)] / sqrt(D)).
fn naive_attention(t_len: usize, q: &[f32], k: &[f32], v: &[f32]) -> Vec<f32> {
    let scale = 1.0 / (D as f64).sqrt();
    let mut y = vec![0f32; t_len * H * D];
    for t in 0..t_len {
        for h in 0..H {
            let g = h / (H / KV);
            let qv = &q[(t * H + h) * D..][..D];
            let scores: Vec<f64> = (0..=t)
                .map(|j| {
                    let kv = &k[(j * KV + g) * D..][..D];
                    qv.iter().zip(kv).map(|(a, b)| *a as f64 * *b as f64).sum::<f64>() * scale
                })
                .collect();
            let max = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let weights: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
            let z: f64 = weights.iter().sum();
            for d in 0..D {
                let acc: f64 = (0..=t).map(|j| weights[j] * v[(j * KV + g) * D + d] as f64).sum();
                y[(t * H + h) * D + d] = (acc / z) as f32;
            }
        }
    }
    y
}

fn inputs(t_len: usize) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    (random_floats(t_len * H * D, 1), random_floats(t_len * KV * D, 2), random_floats(t_len * KV * D, 3))
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max)
}

/// Feeds [0, split) and [split, t_len) in two calls; returns every output.
fn feed_in_two(layer: &mut Layer, t_len: usize, split: usize, q: &[f32], k: &[f32], v: &[f32]) -> Vec<f32> {
    let (qs, ks) = (H * D, KV * D);
    let mut y = layer.feed(split, &q[..split * qs], &k[..split * ks], &v[..split * ks]).unwrap();
    y.extend(layer.feed(t_len - split, &q[split * qs..], &k[split * ks..], &v[split * ks..]).unwrap());
    y
}

#[test]
fn full_attention_matches_naive_softmax() {
    let t_len = 37;
    let (q, k, v) = inputs(t_len);
    let expected = naive_attention(t_len, &q, &k, &v);
    let params = LayerParams::new()
        .heads(H as i32, KV as i32, D as i32)
        .attention(AttentionParams::new().attention(Attention::Full).chunk_size(8));
    let mut layer = Layer::new(&params).unwrap();
    let y = feed_in_two(&mut layer, t_len, 11, &q, &k, &v);
    let diff = max_abs_diff(&y, &expected);
    assert!(diff < 1e-5, "full attention differs from the naive softmax by {diff}");

    // Full attention keeps every position in its window.
    let info = layer.info().unwrap();
    assert_eq!(info.n_tokens, t_len as i64);
    assert_eq!(layer.positions(3, Memory::Window).unwrap(), (0..t_len as i64).collect::<Vec<_>>());
}

#[test]
fn lola_before_its_first_fold_is_softmax_too() {
    // With nothing folded or cached yet (all tokens inside the window) LoLA's mixing reduces
    // to the softmax over the window, up to its epsilon.
    let t_len = 13;
    let (q, k, v) = inputs(t_len);
    let expected = naive_attention(t_len, &q, &k, &v);
    let params = LayerParams::new()
        .heads(H as i32, KV as i32, D as i32)
        .attention(AttentionParams::new().chunk_size(16).sparse_capacity(4));
    let mut layer = Layer::new(&params).unwrap();
    let y = layer.feed(t_len, &q, &k, &v).unwrap();
    let diff = max_abs_diff(&y, &expected);
    assert!(diff < 1e-4, "LoLA inside its window differs from softmax by {diff}");
}

#[test]
fn lola_cache_state_save_restore_and_clone() {
    let t_len = 40;
    let (q, k, v) = inputs(t_len);
    let params = LayerParams::new()
        .heads(H as i32, KV as i32, D as i32)
        .attention(AttentionParams::new().chunk_size(4).sparse_capacity(3).seed(11));
    let mut layer = Layer::new(&params).unwrap();
    let y_one_call = layer.feed(t_len, &q, &k, &v).unwrap();
    assert!(y_one_call.iter().all(|x| x.is_finite()));

    let cache = layer.cache_state().unwrap();
    assert_eq!(cache.len(), H);
    for head in &cache {
        let s = head.state;
        assert_eq!(s.n_window + s.n_sparse + s.n_folded + s.n_evicted, t_len as i64);
        assert!(s.n_sparse <= 3 && s.n_folded > 0, "{s:?}");
        assert_eq!(head.sparse.len(), head.sparse_scores.len());
        assert!(head.window.iter().chain(&head.sparse).all(|&p| (0..t_len as i64).contains(&p)));
    }
    let (sparse, scores) = layer.sparse_entries(0).unwrap();
    assert_eq!((sparse, scores), (cache[0].sparse.clone(), cache[0].sparse_scores.clone()));

    // Splitting the sequence over calls changes nothing (lola.h's promise).
    let mut split = Layer::new(&params).unwrap();
    let y_split = feed_in_two(&mut split, t_len, 17, &q, &k, &v);
    assert!(max_abs_diff(&y_split, &y_one_call) < 1e-5);

    // Save, continue, restore, continue again: the same outputs. A clone continues the same.
    let state = layer.save_state().unwrap();
    let mut clone = layer.try_clone().unwrap();
    let (q2, k2, v2) = (random_floats(5 * H * D, 4), random_floats(5 * KV * D, 5), random_floats(5 * KV * D, 6));
    let after = layer.feed(5, &q2, &k2, &v2).unwrap();
    layer.restore_state(&state).unwrap();
    assert_eq!(layer.info().unwrap().n_tokens, t_len as i64);
    assert_eq!(layer.feed(5, &q2, &k2, &v2).unwrap(), after);
    assert_eq!(clone.feed(5, &q2, &k2, &v2).unwrap(), after);

    // update() moves the cache without outputs; reset() forgets everything.
    layer.update(5, &q2, &k2, &v2).unwrap();
    assert_eq!(layer.info().unwrap().n_tokens, t_len as i64 + 10);
    layer.reset().unwrap();
    assert_eq!(layer.info().unwrap().n_tokens, 0);
}

#[test]
fn layer_errors_carry_the_library_message() {
    let params = LayerParams::new().heads(H as i32, KV as i32, D as i32);
    let mut layer = Layer::new(&params).unwrap();
    let (q, k, v) = inputs(2);

    let err = layer.feed(2, &q[..q.len() - 1], &k, &v).unwrap_err();
    assert_eq!(err.status, Status::SizeMismatch, "{err}");
    assert!(!err.message.is_empty());
    let err = layer.feed(3, &q, &k, &v).unwrap_err();
    assert_eq!(err.status, Status::SizeMismatch, "{err}");
    let mut y = vec![0f32; 3];
    assert_eq!(layer.feed_into(2, &q, &k, &v, &mut y).unwrap_err().status, Status::SizeMismatch);
    assert_eq!(layer.feed(0, &[], &[], &[]).unwrap_err().status, Status::InvalidArgument);
    let mut bad_q = q.clone();
    bad_q[5] = f32::NAN;
    assert_eq!(layer.feed(2, &bad_q, &k, &v).unwrap_err().status, Status::NonFinite);
    assert_eq!(layer.info().unwrap().n_tokens, 0, "failed feeds feed nothing");
    assert_eq!(layer.feed_features(2, &q, &k, &v, &[], &[]).unwrap_err().status, Status::Unsupported);

    let err = Layer::new(&LayerParams::new().heads(3, 2, 8)).unwrap_err();
    assert_eq!(err.status, Status::InvalidArgument);
    assert!(!err.message.is_empty());
    // Arrays whose length lola.h cannot check are checked on the Rust side.
    let err = Layer::new(&params.clone().window_factors(vec![0.0; H - 1])).unwrap_err();
    assert_eq!(err.status, Status::SizeMismatch, "{err}");
    assert!(err.message.contains("window_factors"));
    assert!(Layer::new(&params.clone().window_factors(vec![0.5; H])).is_ok());

    let mut state = layer.save_state().unwrap();
    let last = state.len() - 1;
    state[last] ^= 0x55;
    let err = layer.restore_state(&state).unwrap_err();
    assert_eq!(err.status, Status::CorruptData, "{err}");
    let other = Layer::new(&LayerParams::new().heads(2, 2, 8)).unwrap();
    assert_eq!(layer.restore_state(&other.save_state().unwrap()).unwrap_err().status, Status::Incompatible);
}
