//! Streams a greedy continuation of a prompt, with the model's LoLA settings and the chunk
//! size and sparse capacity they resolve to.
//!
//!     cargo run --example generate -- MODEL.gguf "Once upon a time" [MAX_TOKENS]
use std::io::Write;
use std::process::ExitCode;

use lola::{generate, AttentionParams, ContextParams, Model, Sampler, SamplerParams};

fn run(path: &str, prompt: &str, max_tokens: usize) -> Result<(), lola::Error> {
    let model = Model::load(path)?;
    // The model's own settings (its lola.* metadata, else liblola's); e.g.
    // `.chunk_size(64).sparse_capacity(64)` would override them.
    let attention = AttentionParams::new().seed(7);
    let resolved = attention.resolve(Some(&model))?;
    eprintln!(
        "[chunk size {}, sparse capacity {}, {:?} mixing]",
        resolved.chunk_size, resolved.sparse_capacity, resolved.mixing
    );
    let mut ctx = model.new_context(&ContextParams::new().attention(attention))?;
    let tokens = model.tokenize(prompt)?;
    ctx.feed(&tokens)?;
    let mut sampler = Sampler::new(&SamplerParams::greedy())?;
    let mut out = std::io::stdout().lock();
    write!(out, "{prompt}").ok();
    for text in generate(&mut ctx, &mut sampler, max_tokens).text() {
        write!(out, "{}", text?).ok();
        out.flush().ok();
    }
    writeln!(out).ok();
    let info = ctx.info()?;
    eprintln!("[{} tokens in the context, {} bytes of cache state]", info.n_past, info.state_bytes);
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 || args.len() > 4 {
        eprintln!("usage: {} MODEL.gguf PROMPT [MAX_TOKENS (default 64)]", args[0]);
        return ExitCode::from(2);
    }
    let max_tokens = match args.get(3).map(|s| s.parse::<usize>()) {
        None => 64,
        Some(Ok(n)) => n,
        Some(Err(e)) => {
            eprintln!("MAX_TOKENS {:?}: {e}", args[3]);
            return ExitCode::from(2);
        }
    };
    match run(&args[1], &args[2], max_tokens) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
