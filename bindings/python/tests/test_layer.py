"""lola.Layer with numpy arrays against a naive numpy softmax attention, where LoLA must equal
it: the full-attention baseline, and LoLA while the window and the sparse cache hold every
past token (lambda >= length, nothing folded into the linear state)."""

import numpy as np
import pytest

import lola

H, HKV, D = 4, 2, 8


def naive_attention(q, k, v):
    """Causal softmax attention, q [T,H,D], k/v [T,HKV,D], grouped query heads."""
    T, n_heads, d = q.shape
    group = n_heads // k.shape[1]
    y = np.zeros_like(q, dtype=np.float64)
    for h in range(n_heads):
        kh, vh = k[:, h // group].astype(np.float64), v[:, h // group].astype(np.float64)
        for t in range(T):
            s = kh[: t + 1] @ q[t, h].astype(np.float64) / np.sqrt(d)
            w = np.exp(s - s.max())
            y[t, h] = (w / w.sum()) @ vh[: t + 1]
    return y


def qkv(T, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((T, H, D), dtype=np.float32),
            rng.standard_normal((T, HKV, D), dtype=np.float32),
            rng.standard_normal((T, HKV, D), dtype=np.float32))


@pytest.mark.parametrize("params", [
    dict(attention="full"),
    dict(attention=lola.Attention.LOLA, chunk_size=4, sparse_capacity=64),
])
def test_matches_softmax_attention(params):
    T = 37
    q, k, v = qkv(T)
    with lola.Layer(n_heads=H, n_kv_heads=HKV, head_dim=D, **params) as layer:
        y = layer.feed(q, k, v)
        assert y.shape == (T, H, D) and y.dtype == np.float32
        np.testing.assert_allclose(y, naive_attention(q, k, v), rtol=1e-4, atol=1e-4)
        assert layer.info.n_tokens == T


def test_split_feeds_equal_one_feed():
    q, k, v = qkv(20, seed=1)
    kw = dict(n_heads=H, n_kv_heads=HKV, head_dim=D, chunk_size=4, sparse_capacity=2)
    with lola.Layer(**kw) as a, lola.Layer(**kw) as b:
        whole = a.feed(q, k, v)
        parts = np.concatenate([b.feed(q[:7], k[:7], v[:7]), b.feed(q[7:], k[7:], v[7:])])
        np.testing.assert_allclose(parts, whole, rtol=1e-5, atol=1e-6)


def test_head_state_save_restore_clone():
    kw = dict(n_heads=H, n_kv_heads=HKV, head_dim=D, chunk_size=4, sparse_capacity=3)
    q, k, v = qkv(30, seed=2)
    with lola.Layer(**kw) as layer:
        layer.feed(q[:25], k[:25], v[:25])
        st = layer.head_state(0)
        assert st.n_window + st.n_sparse + st.n_folded + st.n_evicted == 25
        assert st.n_sparse == 3 and len(layer.sparse_positions(0)[0]) == 3
        assert len(layer.window_positions(0)) == st.n_window
        blob = layer.save_state()
        twin = layer.clone()
        with lola.Layer(**kw) as fresh, twin:
            fresh.restore_state(blob)
            rest = (q[25:], k[25:], v[25:])
            y = layer.feed(*rest)
            np.testing.assert_array_equal(fresh.feed(*rest), y)
            np.testing.assert_array_equal(twin.feed(*rest), y)
        with lola.Layer(**dict(kw, chunk_size=8)) as other:
            with pytest.raises(lola.IncompatibleError):
                other.restore_state(blob)


def test_no_output_and_dtype_conversion():
    q, k, v = qkv(5)
    with lola.Layer(n_heads=H, n_kv_heads=HKV, head_dim=D, attention="full") as a, \
            lola.Layer(n_heads=H, n_kv_heads=HKV, head_dim=D, attention="full") as b:
        assert a.feed(q, k, v, compute_output=False) is None
        assert a.info.n_tokens == 5
        b.feed(q.astype(np.float64), k.astype(np.float64), v.astype(np.float64))
        np.testing.assert_array_equal(a.feed(q, k, v), b.feed(q, k, v))


def test_shape_errors():
    q, k, v = qkv(6)
    with lola.Layer(n_heads=H, n_kv_heads=HKV, head_dim=D) as layer:
        with pytest.raises(lola.SizeMismatchError, match=r"q has shape \(6, 8, 4\)"):
            layer.feed(q.reshape(6, D, H), k, v)  # right length, wrong shape
        with pytest.raises(lola.SizeMismatchError, match="k has shape"):
            layer.feed(q, k[:5], v)
        with pytest.raises(lola.SizeMismatchError):
            layer.feed(q[0], k[0], v[0])
        bad = q.copy()
        bad[2, 1, 3] = np.nan
        with pytest.raises(lola.NonFiniteError) as err:
            layer.feed(bad, k, v)
        assert err.value.status == lola.NonFiniteError.status and err.value.message
        assert layer.info.n_tokens == 0  # nothing fed


def test_bad_params():
    with pytest.raises(lola.InvalidArgumentError, match="n_kv_heads|n_heads"):
        lola.Layer(n_heads=3, n_kv_heads=2)
    with pytest.raises(lola.SizeMismatchError, match="window_factors"):
        lola.Layer(n_heads=4, n_kv_heads=2, window_factors=np.zeros(3))
    with pytest.raises(TypeError, match="unknown parameter"):
        lola.Layer(heads=4)
    with pytest.raises(ValueError, match="unknown Attention"):
        lola.Layer(attention="sparse")


def test_hedgehog_weights_and_precomputed_features():
    rng = np.random.default_rng(3)
    wq = rng.standard_normal((H, D, 4), dtype=np.float32) * 0.1
    wk = rng.standard_normal((H, D, 4), dtype=np.float32) * 0.1
    q, k, v = qkv(9, seed=4)
    with lola.Layer(n_heads=H, n_kv_heads=HKV, head_dim=D, feature_map="hedgehog",
                    hedgehog_q=wq, hedgehog_k=wk, chunk_size=2, sparse_capacity=1) as layer:
        assert layer.info.feature_dim == 8  # twice the weights' last dimension
        assert np.isfinite(layer.feed(q, k, v)).all()
        np.testing.assert_array_equal(layer.params.hedgehog_q, wq)
    with pytest.raises(lola.SizeMismatchError, match="hedgehog weights have shape"):
        lola.Layer(n_heads=H, n_kv_heads=HKV, head_dim=D, feature_map="hedgehog",
                   hedgehog_q=wq[:, :4], hedgehog_k=wk[:, :4])
    F = 6
    fq = np.abs(rng.standard_normal((9, H, F), dtype=np.float32))
    fk = np.abs(rng.standard_normal((9, H, F), dtype=np.float32))
    with lola.Layer(n_heads=H, n_kv_heads=HKV, head_dim=D, feature_map="precomputed",
                    feature_dim=F, chunk_size=2, sparse_capacity=1) as layer:
        with pytest.raises(lola.UnsupportedError):
            layer.feed(q, k, v)
        y = layer.feed(q, k, v, fq=fq, fk=fk)
        assert y.shape == (9, H, D) and np.isfinite(y).all()
        with pytest.raises(lola.SizeMismatchError, match="fq has shape"):
            layer.feed(q, k, v, fq=fq[:, :, :4], fk=fk)
