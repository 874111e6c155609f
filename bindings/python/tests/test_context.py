"""lola.Context on the tiny model: feeding, logits views and copies, cache state queries,
save/restore, clone and streaming generation."""

import gc

import numpy as np
import pytest

import lola

PARAMS = dict(chunk_size=4, sparse_capacity=3, feature_map="performer", seed=7)


@pytest.fixture
def ctx(model):
    with model.create_context(**PARAMS) as c:
        yield c


def test_feed_and_logits(model, ctx):
    tokens = model.tokenize("hello world")
    assert ctx.feed(tokens) == len(tokens)
    assert ctx.n_past == len(tokens)
    view, copy = ctx.logits, ctx.logits_copy()
    assert view.shape == (model.n_vocab,) and view.dtype == np.float32
    assert not view.flags.writeable and not view.flags.owndata
    np.testing.assert_array_equal(view, copy)
    with model.create_context(**PARAMS) as other:  # a list and an int32 array feed alike
        other.feed(np.array(tokens, dtype=np.int32))
        np.testing.assert_array_equal(other.logits, copy)


def test_all_logits(model, ctx):
    tokens = model.tokenize("abcdef")
    ctx.feed(tokens, all_logits=True)
    rows = ctx.all_logits
    assert rows.shape == (len(tokens), model.n_vocab)
    np.testing.assert_array_equal(rows[-1], ctx.logits)
    np.testing.assert_array_equal(rows[2], ctx.logits_copy(2))
    with model.create_context(**PARAMS) as other:  # row i is the logits after token i
        other.feed(tokens[:3])
        np.testing.assert_allclose(other.logits, rows[2], rtol=1e-5, atol=1e-5)


def test_stale_view_is_detected(model, ctx):
    ctx.feed(model.tokenize("abc"))
    view = ctx.logits
    part = view[:10]
    assert lola.Context.is_current(view) and lola.Context.is_current(part)
    ctx.feed(model.tokenize("d"))
    assert not lola.Context.is_current(view) and not lola.Context.is_current(part)
    assert lola.Context.is_current(ctx.logits)
    assert not lola.Context.is_current(np.zeros(3))


def test_stale_view_reads_live_memory_and_growth_is_refused(model, ctx):
    # After plain feeds a stale view shows the newer logits in the same memory (never freed
    # memory); a feed that would move the buffer while a view exists raises BufferError and
    # changes nothing; without views it goes ahead.
    ctx.feed(model.tokenize("abc"))
    view = ctx.logits
    ctx.feed(model.tokenize("d"))
    ctx.feed(model.tokenize("ef"), all_logits=False)
    np.testing.assert_array_equal(view, ctx.logits_copy())
    n_past = ctx.n_past
    with pytest.raises(BufferError, match="1 zero-copy view"):
        ctx.feed(model.tokenize("ghi"), all_logits=True)
    assert ctx.n_past == n_past and not lola.Context.is_current(view)
    np.testing.assert_array_equal(view, ctx.logits_copy())
    del view
    gc.collect()
    ctx.feed(model.tokenize("ghi"), all_logits=True)
    rows = ctx.all_logits
    ctx.feed(model.tokenize("jk"), all_logits=True)  # fits in the grown buffer: allowed
    assert rows.shape == (3, model.n_vocab)
    np.testing.assert_array_equal(rows[:2], ctx.all_logits)
    with ctx.clone() as twin:  # a clone's buffer holds the rows it copied
        kept = twin.all_logits
        twin.feed(model.tokenize("l"), all_logits=True)
        with pytest.raises(BufferError):
            twin.feed(model.tokenize("mno"), all_logits=True)
        del kept


def test_view_keeps_context_memory_alive(model):
    c = model.create_context(**PARAMS)
    c.feed(model.tokenize("abc"))
    view, expected = c.logits, c.logits_copy()
    c.close()  # the view still owns a reference to the native context's memory
    assert not lola.Context.is_current(view)
    del c
    gc.collect()
    np.testing.assert_array_equal(view, expected)


def test_no_logits_before_feed(ctx):
    with pytest.raises(lola.UnsupportedError, match="no logits"):
        ctx.logits


def test_cache_state(model):
    chunk, capacity = 4, 3
    with model.create_context(chunk_size=chunk, sparse_capacity=capacity) as c:
        n = 23
        c.feed(np.arange(n, dtype=np.int32) % 90)
        counts = c.cache_counts()
        shape = (model.info.n_layer, model.info.n_head)
        for key in ("n_window", "n_sparse", "n_folded", "n_evicted"):
            assert counts[key].shape == shape
        total = counts["n_window"] + counts["n_sparse"] + counts["n_folded"] + counts["n_evicted"]
        assert (total == n).all()
        assert (counts["n_sparse"] == capacity).all()
        assert (counts["n_window"] <= 2 * chunk).all()
        for layer in range(shape[0]):
            for head in range(shape[1]):
                window = c.window_positions(layer, head)
                sparse, scores = c.sparse_positions(layer, head)
                assert window.dtype == np.int64 and scores.dtype == np.float32
                assert len(window) == counts["n_window"][layer, head]
                assert len(sparse) == len(scores) == capacity
                both = np.concatenate([window, sparse])
                assert ((0 <= both) & (both < n)).all()
                assert len(set(both.tolist())) == len(both)  # a position is in one memory
                assert window.max() == n - 1
        info = c.info
        assert info.n_past == n and info.n_sparse == counts["n_sparse"].sum()
        assert info.state_bytes > 0


def test_layer_attention(model):
    """Per-layer attention kinds: a hybrid keeps full attention in its full layer only; kinds
    that all name one attention equal it; a wrong count or name is refused."""
    n, tokens = model.info.n_layer, np.arange(30, dtype=np.int32) % 90
    assert n >= 2
    kinds = ["full"] + [None] * (n - 1)
    with model.create_context(chunk_size=4, sparse_capacity=3, layer_attention=kinds) as c:
        c.feed(tokens)
        counts = c.cache_counts()
        assert (counts["n_window"][0] == 30).all() and (counts["n_folded"][0] == 0).all()
        assert (counts["n_folded"][1:] > 0).all()
        hybrid = c.logits_copy()

    def logits(**p):
        with model.create_context(chunk_size=4, sparse_capacity=3, **p) as c:
            c.feed(tokens)
            return c.logits_copy()

    assert not np.array_equal(hybrid, logits())
    np.testing.assert_array_equal(logits(layer_attention=[lola.Attention.FULL] * n), logits(attention="full"))
    np.testing.assert_array_equal(logits(layer_attention=[None] * n), logits())
    ppl = model.perplexity(tokens, 16, chunk_size=4, sparse_capacity=3, layer_attention=kinds)
    assert ppl.n_windows == 1 and np.isfinite(ppl.perplexity)
    with pytest.raises(lola.InvalidArgumentError, match="n_layer_attention is 1"):
        model.create_context(layer_attention=["full"])
    with pytest.raises(ValueError, match="unknown Attention"):
        model.create_context(layer_attention=["fool"] * n)
    with pytest.raises(TypeError, match="a list"):
        model.create_context(layer_attention="full")


def test_save_restore(model, ctx):
    ctx.feed(model.tokenize("the quick brown fox"))
    blob = ctx.save_state()
    assert isinstance(blob, bytes) and len(blob) > 0
    with model.create_context(**PARAMS) as fresh:
        fresh.restore_state(blob)
        assert fresh.n_past == ctx.n_past
        nxt = model.tokenize("j")
        ctx.feed(nxt)
        fresh.feed(nxt)
        np.testing.assert_array_equal(fresh.logits, ctx.logits)
        fresh.restore_state(bytearray(blob))  # any bytes-like object
        assert fresh.n_past == ctx.n_past - 1


def test_restore_errors(model, ctx):
    ctx.feed(model.tokenize("abc"))
    blob = bytearray(ctx.save_state())
    with model.create_context(chunk_size=8, sparse_capacity=3) as other:
        with pytest.raises(lola.IncompatibleError):
            other.restore_state(bytes(blob))
    blob[len(blob) // 2] ^= 0xFF
    with pytest.raises(lola.CorruptDataError) as err:
        ctx.restore_state(bytes(blob))
    assert err.value.message
    assert ctx.n_past == 3  # a failed restore leaves the context as it was
    with pytest.raises(lola.CorruptDataError):
        ctx.restore_state(b"not a state")


def test_clone(model, ctx):
    ctx.feed(model.tokenize("abcdefgh"))
    twin = ctx.clone()
    with twin:
        assert twin.n_past == ctx.n_past and twin.model is ctx.model
        np.testing.assert_array_equal(twin.logits, ctx.logits)
        twin.feed([5])
        assert ctx.n_past == 8  # independent
        ctx.feed([5])
        np.testing.assert_array_equal(twin.logits, ctx.logits)


def test_generate_greedy(model, ctx):
    prompt = model.tokenize("hello")
    ctx.feed(prompt)
    start = ctx.clone()
    steps = list(ctx.generate(12))
    assert 0 < len(steps) <= 12
    tokens = [s.token for s in steps]
    if len(steps) < 12:  # stopped early: only at an end-of-generation token
        assert model.is_eog(int(np.argmax(ctx.logits)))
    assert "".join(s.text for s in steps) == model.detokenize(tokens)
    assert ctx.n_past == len(prompt) + len(tokens)
    # greedy is argmax, deterministic: a second run from the same state agrees
    again = [s.token for s in start.generate(12, lola.Sampler.greedy())]
    assert again == tokens
    start.close()
    with model.create_context(**PARAMS) as manual:  # and equals argmax + feed by hand
        manual.feed(prompt)
        for t in tokens:
            assert int(np.argmax(manual.logits)) == t
            manual.feed([t])


def test_generate_stops_at_max_tokens(model, ctx):
    ctx.feed(model.tokenize("x"))
    with lola.Sampler(temperature=0.8, seed=3) as s:
        steps = list(ctx.generate(5, s))
    assert len(steps) <= 5
    assert list(ctx.generate(0)) == []


def test_generate_joins_split_utf8():
    # The tiny vocabulary is ASCII, so a stand-in native context streams the bytes of "é€!"
    # split inside both characters, then an end-of-generation token: the generator must hold
    # partial characters back and never yield broken text.
    data = "é€!".encode()
    steps = [(i, data[a:b]) for i, (a, b) in enumerate([(0, 1), (1, 3), (3, 4), (4, 6)])]

    class FakeNative:
        def generate_step(self, sampler, flags):
            return steps.pop(0) if steps else (96, None)

    class FakeSampler:
        _native = None

    ctx = lola.Context._wrap(None, FakeNative())
    out = list(ctx.generate(10, FakeSampler()))
    assert [g.text for g in out] == ["", "é", "", "€!"]
    assert [g.token for g in out] == [0, 1, 2, 3]
    steps[:] = [(0, b"a\xe2\x82")]  # generation ends inside a character
    out = list(ctx.generate(1, FakeSampler()))
    assert out == [lola.Generated(0, "a"), lola.Generated(None, "\ufffd")]


def test_sampler(model, ctx):
    ctx.feed(model.tokenize("abc"))
    logits = ctx.logits_copy()
    with lola.Sampler.greedy() as g:
        assert g.sample(logits) == int(np.argmax(logits))
    draws = []
    for _ in range(2):
        with lola.Sampler(temperature=1.0, top_k=0, top_p=1.0, min_p=0.0, seed=42) as s:
            draws.append([s.sample(logits) for _ in range(20)])
    assert draws[0] == draws[1]
    with lola.Sampler() as s:
        s.accept([1, 2, 3])
        s.reset()
        with pytest.raises(lola.NonFiniteError):
            s.sample(np.full(97, np.nan, dtype=np.float32))


def test_abort(model, ctx):
    ctx.request_abort()
    with pytest.raises(lola.AbortedError):
        ctx.feed(np.arange(200, dtype=np.int32) % 90)
    ctx.feed([1])  # the flag is consumed by one abort
