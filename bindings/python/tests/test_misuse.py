"""Misuse that once misbehaved in the native layer: non-contiguous buffers for restore_state
(C read `len` bytes from the view's first element: other bytes than the view's, or past its
memory for a reversed view) and NUL characters in strings that C would cut short."""

import numpy as np
import pytest

import lola


def test_context_restore_accepts_strided_and_reversed_views(model):
    with lola.Context(model, chunk_size=4, sparse_capacity=2) as ctx:
        ctx.feed(list(range(11)))
        blob = ctx.save_state()
        ctx.feed([20])
        expected = ctx.logits_copy()
        # Every second byte of a doubled blob is the blob; so is the reverse of its reverse.
        doubled = np.repeat(np.frombuffer(blob, np.uint8), 2)
        reversed_twice = np.frombuffer(blob[::-1], np.uint8)[::-1]
        for view in (doubled[::2], memoryview(doubled.tobytes())[1::2], reversed_twice):
            ctx.reset()
            ctx.restore_state(view)
            assert ctx.n_past == 11
            ctx.feed([20])
            np.testing.assert_array_equal(ctx.logits_copy(), expected)


def test_context_restore_of_a_strided_view_of_other_bytes_is_refused(model):
    with lola.Context(model) as ctx:
        ctx.feed([1, 2, 3])
        blob = ctx.save_state()
        # Bytes interleaved with garbage: only the contiguous reading could have passed.
        mixed = np.empty(2 * len(blob), np.uint8)
        mixed[0::2] = np.frombuffer(blob, np.uint8)
        mixed[1::2] = 0xAB
        with pytest.raises(lola.CorruptDataError):
            ctx.restore_state(mixed[1::2])
        assert ctx.n_past == 3


def test_layer_restore_accepts_a_reversed_view():
    q = np.random.default_rng(0).standard_normal((5, 4, 8), dtype=np.float32)
    kv = np.random.default_rng(1).standard_normal((5, 2, 8), dtype=np.float32)
    with lola.Layer(n_heads=4, n_kv_heads=2, head_dim=8, chunk_size=2, sparse_capacity=1) as a:
        a.feed(q, kv, kv)
        blob = a.save_state()
        with lola.Layer(n_heads=4, n_kv_heads=2, head_dim=8, chunk_size=2, sparse_capacity=1) as b:
            b.restore_state(np.frombuffer(blob[::-1], np.uint8)[::-1])
            assert b.info.n_tokens == 5
            np.testing.assert_array_equal(a.feed(q[:1], kv[:1], kv[:1]), b.feed(q[:1], kv[:1], kv[:1]))


def test_huge_reversed_garbage_is_an_error_not_a_crash(model):
    with lola.Context(model) as ctx:
        with pytest.raises(lola.CorruptDataError):
            ctx.restore_state(np.zeros(1 << 24, np.uint8)[::-1])


def test_model_path_with_nul_is_refused(tiny_model_path):
    with pytest.raises(ValueError, match="null"):
        lola.Model(tiny_model_path + "\0ignored")


def test_chat_message_with_nul_is_refused(model):
    with pytest.raises(ValueError, match="null"):
        model.apply_chat_template([("user", "hi\0there")])
