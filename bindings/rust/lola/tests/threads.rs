//! Threading as lola.h allows it: one shared &Model under contexts on several threads, a
//! Context moved to another thread, a &Context read from several threads at once.
mod common;

use common::{load_model, small_lola};
use lola::{Context, Layer, Model, Sampler, Tokenize};

fn assert_send<T: Send>() {}
fn assert_sync<T: Sync>() {}

#[test]
fn marker_traits_follow_the_contract() {
    assert_send::<Model>();
    assert_sync::<Model>();
    assert_send::<Context<'static>>();
    assert_sync::<Context<'static>>();
    assert_send::<Layer>();
    assert_sync::<Layer>();
    assert_send::<Sampler>(); // Sampler is !Sync: every use mutates it.
}

/// The logits after each of a few prompts, in order.
fn run_prompts(model: &Model, prompts: &[&str]) -> Vec<Vec<f32>> {
    let mut ctx = model.new_context(&small_lola()).unwrap();
    prompts
        .iter()
        .map(|p| {
            ctx.feed(&model.tokenize_with(p, Tokenize::NONE).unwrap()).unwrap();
            ctx.logits_to_vec().unwrap()
        })
        .collect()
}

#[test]
fn contexts_on_a_shared_model_match_sequential_runs() {
    let model = load_model();
    let prompts = ["hello world", " and then", " some more text to fold into the state"];
    let sequential = run_prompts(&model, &prompts);
    let n_threads = 6;
    let results: Vec<Vec<Vec<f32>>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..n_threads).map(|_| s.spawn(|| run_prompts(&model, &prompts))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r, &sequential, "thread {i} differs from the sequential run");
    }
}

#[test]
fn a_context_moves_and_a_shared_context_is_read_concurrently() {
    let model = load_model();
    let mut ctx = model.new_context(&small_lola()).unwrap();
    ctx.feed(&model.tokenize_with("the quick brown fox", Tokenize::NONE).unwrap()).unwrap();
    let logits = ctx.logits_to_vec().unwrap();
    let cache = ctx.cache_state().unwrap();
    let state = ctx.save_state().unwrap();

    // &Context on four threads at once: only const C calls happen.
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..20 {
                    assert_eq!(ctx.logits().unwrap(), logits.as_slice());
                    assert_eq!(ctx.cache_state().unwrap(), cache);
                    assert_eq!(ctx.save_state().unwrap(), state);
                }
            });
        }
    });

    // Moved into another thread, fed there, handed back.
    let tokens = model.tokenize_with(" jumps", Tokenize::NONE).unwrap();
    let mut clone = ctx.try_clone().unwrap();
    let ctx = std::thread::scope(|s| {
        s.spawn(move || {
            ctx.feed(&tokens).unwrap();
            ctx
        })
        .join()
        .unwrap()
    });
    clone.feed(&model.tokenize_with(" jumps", Tokenize::NONE).unwrap()).unwrap();
    assert_eq!(ctx.logits().unwrap(), clone.logits().unwrap());
}
