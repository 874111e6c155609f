//! The model/context round trip on the tiny model: tokenizer, feed and logits, generation,
//! cache state, save/restore and clone.
mod common;

use common::{argmax, load_model, small_lola};
use lola::{generate, Attention, AttentionParams, ContextParams, Memory, Sampler, SamplerParams, Status, Tokenize};

const PROMPT: &str = "hello world";

#[test]
fn model_info_and_tokenizer() {
    let model = load_model();
    let info = model.info();
    assert_eq!((info.architecture.as_str(), info.n_layer, info.n_head, info.n_head_kv), ("llama", 2, 4, 2));
    assert_eq!(model.n_vocab(), 97);

    let tokens = model.tokenize_with(PROMPT, Tokenize::NONE).unwrap();
    assert_eq!(tokens.len(), 11, "one token per ASCII character: {tokens:?}");
    assert_eq!(tokens[5], 94, "the space token");
    assert_eq!(tokens[0], (b'h' - b'!') as i32);
    assert_eq!(model.detokenize(&tokens, false).unwrap(), PROMPT);
    let pieces: Vec<u8> = tokens.iter().flat_map(|&t| model.token_to_piece(t, false).unwrap()).collect();
    assert_eq!(pieces, PROMPT.as_bytes());
    assert_eq!(model.tokenize_with("", Tokenize::NONE).unwrap(), Vec::<i32>::new());

    let special = model.special_tokens().unwrap();
    assert_eq!(special.eos, Some(96));
    assert!(model.is_eog(96) && !model.is_eog(0));
    assert_eq!(model.detokenize(&[96], true).unwrap(), "<|endoftext|>");
    assert_eq!(model.detokenize(&[96], false).unwrap(), "", "special tokens are skipped without the flag");
}

#[test]
fn logits_are_deterministic_across_contexts() {
    let model = load_model();
    let tokens = model.tokenize_with(PROMPT, Tokenize::NONE).unwrap();
    let mut a = model.new_context(&small_lola()).unwrap();
    let mut b = model.new_context(&small_lola()).unwrap();
    a.feed(&tokens).unwrap();
    // Split feeds give the same result as one prefill.
    b.feed(&tokens[..4]).unwrap();
    b.feed(&tokens[4..]).unwrap();
    let la = a.logits().unwrap();
    assert_eq!(la.len(), model.n_vocab());
    assert!(la.iter().all(|x| x.is_finite()));
    let lb = b.logits().unwrap();
    let max_diff = la.iter().zip(lb).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
    assert!(max_diff < 1e-4, "split feed differs by {max_diff}");
    assert_eq!(a.logits_to_vec().unwrap(), la);
    assert_eq!(a.n_past().unwrap(), 11);

    // Another attention gives other logits: the parameters reach the library.
    let mut full =
        model.new_context(&ContextParams::new().attention(AttentionParams::new().attention(Attention::Full))).unwrap();
    full.feed(&tokens).unwrap();
    assert_ne!(full.logits().unwrap(), la);

    // Every row on request; the last row is the usual logits.
    let mut rows_ctx = model.new_context(&small_lola()).unwrap();
    rows_ctx.feed_all_logits(&tokens).unwrap();
    let rows: Vec<&[f32]> = rows_ctx.all_logits().unwrap().collect();
    assert_eq!(rows.len(), tokens.len());
    assert_eq!(rows[10], la);

    a.reset().unwrap();
    assert_eq!(a.n_past().unwrap(), 0);
    assert_eq!(a.logits().unwrap_err().status, Status::Unsupported);
}

#[test]
fn greedy_generation_is_deterministic_and_stops_at_max() {
    let model = load_model();
    let prompt = model.tokenize_with(PROMPT, Tokenize::NONE).unwrap();
    let run = |max: usize| {
        let mut ctx = model.new_context(&small_lola()).unwrap();
        ctx.feed(&prompt).unwrap();
        let mut sampler = Sampler::new(&SamplerParams::greedy()).unwrap();
        let ids: Vec<i32> = generate(&mut ctx, &mut sampler, max).map(|t| t.unwrap().id).collect();
        let n_past = ctx.n_past().unwrap();
        (ids, n_past, ctx.logits_to_vec().unwrap())
    };
    let (ids, n_past, last_logits) = run(12);
    assert_eq!(run(12).0, ids, "greedy generation must repeat");
    assert!(!ids.is_empty() && ids.len() <= 12, "{ids:?}");
    eprintln!("greedy after {PROMPT:?}: {ids:?}");
    assert_eq!(n_past, (prompt.len() + ids.len()) as i64, "every yielded token is fed");
    if ids.len() < 12 {
        assert!(model.is_eog(argmax(&last_logits)), "stopped early without an end-of-generation token");
    }
    assert_eq!(run(3).0, ids[..ids.len().min(3)], "max_tokens cuts the same stream");
    assert!(run(0).0.is_empty());

    // The same stream by hand: argmax, feed, repeat.
    let mut ctx = model.new_context(&small_lola()).unwrap();
    ctx.feed(&prompt).unwrap();
    let mut manual = Vec::new();
    for _ in 0..ids.len() {
        let next = argmax(ctx.logits().unwrap());
        manual.push(next);
        ctx.feed(&[next]).unwrap();
    }
    assert_eq!(manual, ids);

    // The text adapter joins the same pieces.
    let mut ctx = model.new_context(&small_lola()).unwrap();
    ctx.feed(&prompt).unwrap();
    let mut sampler = Sampler::new(&SamplerParams::greedy()).unwrap();
    let text: String = generate(&mut ctx, &mut sampler, 12).text().map(|c| c.unwrap()).collect();
    assert_eq!(text, model.detokenize(&ids, false).unwrap());

    // Generating before any feed reports the missing logits as an item, then ends.
    let mut empty = model.new_context(&small_lola()).unwrap();
    let mut sampler = Sampler::new(&SamplerParams::greedy()).unwrap();
    let items: Vec<_> = generate(&mut empty, &mut sampler, 5).collect();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].as_ref().unwrap_err().status, Status::Unsupported);
}

#[test]
fn seeded_sampling_repeats() {
    let model = load_model();
    let prompt = model.tokenize_with(PROMPT, Tokenize::NONE).unwrap();
    let run = |seed: u64| {
        let mut ctx = model.new_context(&small_lola()).unwrap();
        ctx.feed(&prompt).unwrap();
        let mut sampler =
            Sampler::new(&SamplerParams::new().temperature(1.5).top_k(0).top_p(1.0).min_p(0.0).seed(seed)).unwrap();
        generate(&mut ctx, &mut sampler, 20).map(|t| t.unwrap().id).collect::<Vec<_>>()
    };
    assert_eq!(run(1), run(1));
}

#[test]
fn cache_positions_cover_what_was_fed() {
    let model = load_model();
    let mut ctx = model.new_context(&small_lola()).unwrap();
    let tokens = model.tokenize_with("the quick brown fox", Tokenize::NONE).unwrap();
    ctx.feed(&tokens).unwrap();
    let n_past = ctx.n_past().unwrap();
    assert_eq!(n_past, tokens.len() as i64);

    let cache = ctx.cache_state().unwrap();
    assert_eq!(cache.len(), 2);
    let (mut folded, mut sparse) = (0, 0);
    for (layer, heads) in cache.iter().enumerate() {
        assert_eq!(heads.len(), 4);
        for (head, h) in heads.iter().enumerate() {
            let s = h.state;
            assert_eq!(s.n_window + s.n_sparse + s.n_folded + s.n_evicted, n_past, "layer {layer} head {head}");
            assert_eq!(h.window.len() as i64, s.n_window);
            assert_eq!(h.sparse.len() as i64, s.n_sparse);
            assert_eq!(h.sparse_scores.len(), h.sparse.len());
            assert!(s.n_sparse <= 2);
            for list in [&h.window, &h.sparse] {
                assert!(list.iter().all(|&p| (0..n_past).contains(&p)), "{list:?} outside [0, {n_past})");
                assert!(list.windows(2).all(|w| w[0] < w[1]), "{list:?} not ascending");
            }
            assert!(h.window.iter().all(|p| !h.sparse.contains(p)), "a position in two memories");
            // The newest token is always in the window.
            assert_eq!(h.window.last(), Some(&(n_past - 1)));
            assert_eq!(ctx.positions(layer as i32, head as i32, Memory::Window).unwrap(), h.window);
            folded += s.n_folded;
            sparse += s.n_sparse;
        }
    }
    assert!(folded > 0 && sparse > 0, "19 tokens with chunk 4 should reach every memory");
    let info = ctx.info().unwrap();
    assert_eq!((info.n_folded, info.n_sparse), (folded, sparse));
}

#[test]
fn save_restore_and_clone_give_identical_logits() {
    let model = load_model();
    let prompt = model.tokenize_with(PROMPT, Tokenize::NONE).unwrap();
    let more = model.tokenize_with(" again and again", Tokenize::NONE).unwrap();
    let mut ctx = model.new_context(&small_lola()).unwrap();
    ctx.feed(&prompt).unwrap();
    let state = ctx.save_state().unwrap();
    let clone = ctx.try_clone().unwrap();
    assert_eq!(clone.logits().unwrap(), ctx.logits().unwrap(), "a clone keeps the logits");

    ctx.feed(&more).unwrap();
    let expected = ctx.logits_to_vec().unwrap();

    // Into a fresh context with the same parameters.
    let mut fresh = model.new_context(&small_lola()).unwrap();
    fresh.restore_state(&state).unwrap();
    assert_eq!(fresh.n_past().unwrap(), prompt.len() as i64);
    assert_eq!(fresh.logits().unwrap_err().status, Status::Unsupported, "no logits until the next feed");
    fresh.feed(&more).unwrap();
    assert_eq!(fresh.logits().unwrap(), expected.as_slice());

    // Back into the context that moved on.
    ctx.restore_state(&state).unwrap();
    ctx.feed(&more).unwrap();
    assert_eq!(ctx.logits().unwrap(), expected.as_slice());

    // The clone is independent of its source and continues identically.
    let mut clone = clone;
    assert_eq!(clone.n_past().unwrap(), prompt.len() as i64);
    clone.feed(&more).unwrap();
    assert_eq!(clone.logits().unwrap(), expected.as_slice());
    assert_eq!(clone.save_state().unwrap(), ctx.save_state().unwrap());
}

#[test]
fn abort_flag_stops_a_feed() {
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;
    let model = load_model();
    let mut ctx = model.new_context(&small_lola()).unwrap();
    let flag = Arc::new(AtomicBool::new(true));
    ctx.set_abort_flag(Some(flag.clone())).unwrap();
    let tokens = model.tokenize_with("abcdefghij", Tokenize::NONE).unwrap();
    let err = ctx.feed(&tokens).unwrap_err();
    assert_eq!(err.status, Status::Aborted, "{err}");
    assert!(ctx.n_past().unwrap() < tokens.len() as i64);
    flag.store(false, std::sync::atomic::Ordering::Relaxed);
    ctx.reset().unwrap();
    ctx.feed(&tokens).unwrap();
    ctx.set_abort_flag(None).unwrap();
    assert_eq!(ctx.n_past().unwrap(), tokens.len() as i64);
}

#[test]
fn chat_template_of_a_model_without_one() {
    let model = load_model();
    let err = model.apply_chat_template(&[lola::ChatMessage::user("hi")], true).unwrap_err();
    assert_eq!(err.status, Status::Unsupported);
    assert!(!err.message.is_empty());
}
