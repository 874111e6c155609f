//! lola::Batch: batched decode bitwise equal to feeding each context alone, and its refusals
//! feeding no context.
mod common;

use common::{argmax, load_model, small_lola};
use lola::{Batch, Context, Status};

fn contexts<'m>(model: &'m lola::Model, n: usize) -> Vec<Context<'m>> {
    (0..n)
        .map(|i| {
            let mut c = Context::new(model, &small_lola()).unwrap();
            let prompt: Vec<i32> = (0..3 + 5 * i as i32).map(|j| (j * 7 + i as i32) % 90 + 1).collect();
            c.feed(&prompt).unwrap();
            c
        })
        .collect()
}

#[test]
fn batched_decode_equals_one_by_one() {
    let model = load_model();
    let mut batched = contexts(&model, 3);
    let mut single = contexts(&model, 3);
    let mut batch = Batch::new(&model, 3, 2).unwrap();
    for step in 0..25 {
        let tokens: Vec<i32> = single.iter().map(|c| argmax(c.logits().unwrap())).collect();
        let mut refs: Vec<&mut Context> = batched.iter_mut().collect();
        batch.decode(&mut refs, &tokens).unwrap();
        for (c, t) in single.iter_mut().zip(&tokens) {
            c.feed(&[*t]).unwrap();
        }
        for (a, b) in batched.iter().zip(&single) {
            let (x, y) = (a.logits_to_vec().unwrap(), b.logits_to_vec().unwrap());
            assert!(x.iter().zip(&y).all(|(p, q)| p.to_bits() == q.to_bits()), "step {step}");
        }
    }
    for (a, b) in batched.iter().zip(&single) {
        assert_eq!(a.save_state().unwrap(), b.save_state().unwrap());
    }
}

#[test]
fn refusals_feed_nothing() {
    let model = load_model();
    let mut ctxs = contexts(&model, 2);
    let before: Vec<Vec<u8>> = ctxs.iter().map(|c| c.save_state().unwrap()).collect();
    let mut batch = Batch::new(&model, 2, 1).unwrap();
    let mut refs: Vec<&mut Context> = ctxs.iter_mut().collect();
    let e = batch.decode(&mut refs, &[1, 97]).unwrap_err();
    assert_eq!(e.status, Status::InvalidArgument);
    assert!(e.message.contains("contexts[1]: token 97 is out of range"), "{e}");
    assert_eq!(batch.decode(&mut refs, &[1]).unwrap_err().status, Status::SizeMismatch);
    drop(refs);
    let after: Vec<Vec<u8>> = ctxs.iter().map(|c| c.save_state().unwrap()).collect();
    assert_eq!(before, after);
    assert_eq!(Batch::new(&model, 0, 1).unwrap_err().status, Status::InvalidArgument);
}
