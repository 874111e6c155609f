//! Streaming generation as iterators: [`generate`] yields tokens with their bytes, and
//! [`Generate::text`] joins those bytes into valid UTF-8 text (a token may end in the middle
//! of a character).
use crate::context::Context;
use crate::error::{Result, Status};
use crate::sampler::Sampler;

/// One generated token: its id and its bytes (which may be part of a UTF-8 character).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub id: i32,
    pub piece: Vec<u8>,
}

/// Generates up to `max_tokens` tokens after what `ctx` has been fed (feed the prompt first):
/// each step samples from the current logits, stops at an end-of-generation token (recorded in
/// the sampler's history, neither fed nor yielded), else feeds the token and yields it. The
/// first error is yielded and ends the stream.
///
/// ```no_run
/// use lola::{generate, ContextParams, Model, Sampler, SamplerParams};
/// let model = Model::load("model.gguf")?;
/// let mut ctx = model.new_context(&ContextParams::new())?;
/// ctx.feed(&model.tokenize("Once upon a time")?)?;
/// let mut sampler = Sampler::new(&SamplerParams::new().seed(42))?;
/// for chunk in generate(&mut ctx, &mut sampler, 64).text() {
///     print!("{}", chunk?);
/// }
/// # Ok::<(), lola::Error>(())
/// ```
pub fn generate<'a, 'm>(ctx: &'a mut Context<'m>, sampler: &'a mut Sampler, max_tokens: usize) -> Generate<'a, 'm> {
    Generate { ctx, sampler, remaining: max_tokens, done: false }
}

/// The iterator of [`generate`].
pub struct Generate<'a, 'm> {
    ctx: &'a mut Context<'m>,
    sampler: &'a mut Sampler,
    remaining: usize,
    done: bool,
}

/// One generation step: samples from the current logits; an end-of-generation token gives
/// `None` (recorded in the sampler's history, not fed), any other is fed and returned with its
/// bytes (the loop of `lola_generate`, one token at a time).
pub(crate) fn step(ctx: &mut Context<'_>, sampler: &mut Sampler) -> Result<Option<Token>> {
    let model = ctx.model();
    let id = sampler.sample(ctx.logits()?)?;
    if model.is_eog(id) {
        return Ok(None);
    }
    ctx.feed(&[id])?;
    let piece = match model.token_to_piece(id, false) {
        Ok(piece) => piece,
        // A model without a tokenizer still generates ids (as lola_generate does).
        Err(e) if e.status == Status::Unsupported => Vec::new(),
        Err(e) => return Err(e),
    };
    Ok(Some(Token { id, piece }))
}

impl Generate<'_, '_> {
    fn step(&mut self) -> Result<Option<Token>> {
        step(self.ctx, self.sampler)
    }

    /// The generated text as chunks of valid UTF-8 (see [`Utf8Buffer`]), one per token that
    /// completes at least one character, plus the remainder at the end.
    pub fn text(self) -> Text<Self> {
        Text { tokens: self, buffer: Utf8Buffer::default(), done: false }
    }
}

impl Iterator for Generate<'_, '_> {
    type Item = Result<Token>;

    fn next(&mut self) -> Option<Result<Token>> {
        if self.done || self.remaining == 0 {
            return None;
        }
        let step = self.step();
        match &step {
            Ok(Some(_)) => self.remaining -= 1,
            _ => self.done = true,
        }
        step.transpose()
    }
}

impl std::iter::FusedIterator for Generate<'_, '_> {}

/// Joins byte pieces into valid UTF-8: complete characters come out at once, a character split
/// across pieces waits for its last byte, and bytes that can never be valid become U+FFFD.
#[derive(Clone, Debug, Default)]
pub struct Utf8Buffer {
    pending: Vec<u8>,
}

impl Utf8Buffer {
    /// Adds bytes and returns the text they complete (possibly empty).
    pub fn push(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let mut out = String::new();
        loop {
            match std::str::from_utf8(&self.pending) {
                Ok(s) => {
                    out.push_str(s);
                    self.pending.clear();
                    return out;
                }
                Err(e) => {
                    let valid = e.valid_up_to();
                    out.push_str(std::str::from_utf8(&self.pending[..valid]).expect("checked valid prefix"));
                    match e.error_len() {
                        // An incomplete character at the end: keep it for the next piece.
                        None => {
                            self.pending.drain(..valid);
                            return out;
                        }
                        Some(bad) => {
                            out.push(char::REPLACEMENT_CHARACTER);
                            self.pending.drain(..valid + bad);
                        }
                    }
                }
            }
        }
    }

    /// The bytes still waiting (an incomplete character), as U+FFFD; empties the buffer.
    pub fn finish(&mut self) -> String {
        let rest = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        rest
    }
}

/// Text chunks of a token stream (see [`Generate::text`]).
pub struct Text<I> {
    tokens: I,
    buffer: Utf8Buffer,
    done: bool,
}

impl<I: Iterator<Item = Result<Token>>> Iterator for Text<I> {
    type Item = Result<String>;

    fn next(&mut self) -> Option<Result<String>> {
        while !self.done {
            match self.tokens.next() {
                Some(Ok(token)) => {
                    let text = self.buffer.push(&token.piece);
                    if !text.is_empty() {
                        return Some(Ok(text));
                    }
                }
                Some(Err(e)) => {
                    self.done = true;
                    return Some(Err(e));
                }
                None => {
                    self.done = true;
                    let rest = self.buffer.finish();
                    if !rest.is_empty() {
                        return Some(Ok(rest));
                    }
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_a_character_split_across_pieces() {
        let mut b = Utf8Buffer::default();
        let euro = "€".as_bytes(); // 3 bytes
        assert_eq!(b.push(b"a"), "a");
        assert_eq!(b.push(&euro[..1]), "");
        assert_eq!(b.push(&euro[1..2]), "");
        assert_eq!(b.push(&[euro[2], b'b']), "€b");
        assert_eq!(b.finish(), "");
    }

    #[test]
    fn replaces_invalid_bytes_and_flushes_a_cut_character() {
        let mut b = Utf8Buffer::default();
        assert_eq!(b.push(&[b'x', 0xff, b'y']), "x\u{fffd}y");
        assert_eq!(b.push(&"é".as_bytes()[..1]), "");
        assert_eq!(b.finish(), "\u{fffd}");
    }

    #[test]
    fn text_stream_yields_split_characters_whole() {
        let bytes = "ü€".as_bytes().to_vec(); // 2 + 3 bytes, one byte per token
        let tokens = bytes.iter().enumerate().map(|(i, &b)| Ok(Token { id: i as i32, piece: vec![b] }));
        let text = Text { tokens, buffer: Utf8Buffer::default(), done: false };
        let chunks: Vec<String> = text.map(|c| c.unwrap()).collect();
        assert_eq!(chunks, vec!["ü".to_string(), "€".to_string()]);
    }
}
