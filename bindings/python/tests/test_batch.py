"""lola.Batch: batched decode from Python, bitwise equal to feeding each context alone, and its
refusals (a token out of range, a repeated context, a size mismatch, a closed context), each
feeding no context."""

import numpy as np
import pytest

import lola


def contexts(model, n):
    out = []
    for i in range(n):
        c = lola.Context(model, chunk_size=4, sparse_capacity=3 if i % 2 else 0, feature_map="elu1",
                         attention="full" if i == 2 else "lola")
        c.feed([(i * 7 + j) % 90 + 1 for j in range(3 + 5 * i)])
        out.append(c)
    return out


def test_batched_decode_equals_one_by_one(model):
    batched, single = contexts(model, 4), contexts(model, 4)
    with lola.Batch(model, max_contexts=4, n_threads=2) as batch:
        for step in range(30):
            tokens = [int(np.argmax(c.logits_copy())) for c in single]
            batch.decode(batched, tokens)
            for c, t in zip(single, tokens):
                c.feed([t])
            for a, b in zip(batched, single):
                assert np.array_equal(a.logits_copy(), b.logits_copy()), step
    for a, b in zip(batched, single):
        assert a.save_state() == b.save_state()


def test_refusals_feed_nothing(model):
    ctxs = contexts(model, 3)
    before = [c.save_state() for c in ctxs]
    with lola.Batch(model, max_contexts=3) as batch:
        with pytest.raises(lola.InvalidArgumentError, match=r"contexts\[1\]: token 97 is out of range"):
            batch.decode(ctxs, [1, 97, 2])
        with pytest.raises(lola.InvalidArgumentError, match=r"contexts\[1\] appears twice"):
            batch.decode([ctxs[0], ctxs[0]], [1, 2])
        with pytest.raises(lola.SizeMismatchError, match="one per context"):
            batch.decode(ctxs, [1, 2])
        with pytest.raises(lola.InvalidArgumentError, match=r"n must be in \[1, 3\]"):
            batch.decode(ctxs + contexts(model, 1), [1, 2, 3, 4])
        closed = contexts(model, 1)[0]
        closed.close()
        with pytest.raises(lola.NullHandleError):
            batch.decode([ctxs[0], closed], [1, 2])
    assert [c.save_state() for c in ctxs] == before
    with pytest.raises(lola.InvalidArgumentError):
        lola.Batch(model, max_contexts=0)
    batch.close()
    with pytest.raises(lola.NullHandleError):
        batch.decode(ctxs[:1], [1])
