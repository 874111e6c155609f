//! AttentionParams: one builder for layers and contexts; what reaches liblola through the
//! `attention` pointer, and lola_attention_params_resolve.
mod common;

use common::{load_model, small_attention};
use lola::{
    Attention, AttentionParams, ContextParams, FeatureMap, Layer, LayerParams, Memory, Mixing, ResolvedAttention,
    Status,
};

#[test]
fn resolve_for_a_standalone_layer() {
    let defaults = AttentionParams::new().resolve(None).unwrap();
    assert_eq!(defaults, ResolvedAttention { chunk_size: 64, sparse_capacity: 64, mixing: Mixing::Lola });
    let set = AttentionParams::new().chunk_size(8).sparse_capacity(0).mixing(Mixing::Lolcats).resolve(None).unwrap();
    assert_eq!(set, ResolvedAttention { chunk_size: 8, sparse_capacity: 0, mixing: Mixing::Lolcats });
}

#[test]
fn resolve_for_a_model_keeps_what_was_set() {
    let model = load_model();
    let defaults = AttentionParams::new().resolve(Some(&model)).unwrap();
    assert!(defaults.chunk_size >= 1 && defaults.sparse_capacity >= 0, "{defaults:?}");
    let set = small_attention().mixing(Mixing::Lolcats).resolve(Some(&model)).unwrap();
    assert_eq!(set, ResolvedAttention { chunk_size: 4, sparse_capacity: 2, mixing: Mixing::Lolcats });
}

#[test]
fn a_layer_is_created_with_the_builders_settings() {
    let attention = AttentionParams::new().chunk_size(8).sparse_capacity(3);
    let layer = Layer::new(&LayerParams::new().heads(4, 2, 8).attention(attention)).unwrap();
    let info = layer.info().unwrap();
    assert_eq!((info.attention, info.chunk_size, info.sparse_capacity), (Attention::Lola, 8, 3));
    // A window layer ignores (and reports 0 for) the sparse capacity.
    let window = attention.attention(Attention::Window);
    let info = Layer::new(&LayerParams::new().heads(4, 2, 8).attention(window)).unwrap().info().unwrap();
    assert_eq!((info.attention, info.chunk_size, info.sparse_capacity), (Attention::Window, 8, 0));

    let defaults = Layer::new(&LayerParams::new().heads(4, 2, 8)).unwrap().info().unwrap();
    assert_eq!((defaults.attention, defaults.chunk_size, defaults.sparse_capacity), (Attention::Lola, 64, 64));

    // Settings liblola refuses come back as its error, through the same pointer.
    let err = Layer::new(&LayerParams::new().attention(AttentionParams::new().chunk_size(0))).unwrap_err();
    assert_eq!(err.status, Status::InvalidArgument, "{err}");
    assert!(err.message.contains("chunk_size"), "{err}");
    let elu_wrong_dim = AttentionParams::new().feature_map(FeatureMap::Elu1).feature_dim(3);
    let err = Layer::new(&LayerParams::new().heads(2, 2, 8).attention(elu_wrong_dim)).unwrap_err();
    assert_eq!(err.status, Status::InvalidArgument, "{err}");
}

/// The number of sparse-cache entries of head 0 of layer 0 after 24 tokens.
fn sparse_after_feed(params: &ContextParams) -> usize {
    let model = load_model();
    let mut ctx = model.new_context(params).unwrap();
    ctx.feed(&(0..24).collect::<Vec<i32>>()).unwrap();
    ctx.positions(0, 0, Memory::Sparse).unwrap().len()
}

#[test]
fn a_context_is_created_with_the_builders_settings() {
    // The builder is moved into the params and dropped with them; nothing dangles.
    let params = ContextParams::new().attention(small_attention().sparse_capacity(0));
    assert_eq!(sparse_after_feed(&params), 0);
    assert_eq!(sparse_after_feed(&ContextParams::new().attention(small_attention())), 2);
    // A full-attention context keeps every token in its window.
    let model = load_model();
    let full = AttentionParams::new().attention(Attention::Full).chunk_size(4);
    let mut ctx = model.new_context(&ContextParams::new().attention(full)).unwrap();
    ctx.feed(&(0..24).collect::<Vec<i32>>()).unwrap();
    assert_eq!(ctx.positions(1, 3, Memory::Window).unwrap(), (0..24).collect::<Vec<i64>>());
}

#[test]
fn per_layer_kinds_make_a_hybrid() {
    let model = load_model();
    let n = model.info().n_layer as usize;
    let tokens: Vec<i32> = (0..24).collect();
    let mut kinds = vec![None; n];
    kinds[0] = Some(Attention::Full);
    let params = ContextParams::new().attention(small_attention()).layer_attention(&kinds);
    let mut ctx = model.new_context(&params).unwrap();
    ctx.feed(&tokens).unwrap();
    // layer 0 keeps every token in its window; layer 1 is LoLA and keeps its sparse cache
    assert_eq!(ctx.positions(0, 0, Memory::Window).unwrap(), (0..24).collect::<Vec<i64>>());
    assert_eq!(ctx.positions(1, 0, Memory::Sparse).unwrap().len(), 2);
    // every layer named full equals a full-attention context
    let logits = |p: &ContextParams| {
        let mut c = model.new_context(p).unwrap();
        c.feed(&tokens).unwrap();
        c.logits().unwrap().to_vec()
    };
    let all_full = ContextParams::new().attention(small_attention()).layer_attention(&vec![Some(Attention::Full); n]);
    let full = ContextParams::new().attention(small_attention().attention(Attention::Full));
    assert_eq!(logits(&all_full), logits(&full));
    // a count other than the model's layers is refused
    let err = model.new_context(&ContextParams::new().layer_attention(&[Some(Attention::Full)])).unwrap_err();
    assert_eq!(err.status, Status::InvalidArgument, "{err}");
    assert!(err.message.contains("n_layer_attention is 1"), "{err}");
}
