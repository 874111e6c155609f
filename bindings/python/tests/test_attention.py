"""The attention settings (lola_attention_params): the same keywords, built in one place, reach
a standalone layer and a model context alike; resolve_attention shows what the defaults become."""

import numpy as np
import pytest

import lola
from lola._params import ATTENTION_FIELDS

SHAPES = dict(n_heads=4, n_kv_heads=2, head_dim=8)


def logits_of(model, tokens, **params):
    with model.create_context(**params) as ctx:
        ctx.feed(tokens)
        return ctx.logits_copy()


def test_layer_and_context_take_every_attention_keyword(model):
    defaults = lola.Layer.resolve_attention()
    assert list(defaults) == list(ATTENTION_FIELDS)
    for name in ATTENTION_FIELDS:
        value = defaults[name]
        with lola.Layer(**SHAPES, **{name: value}):
            pass
        with model.create_context(**{name: value}):
            pass


def test_layer_applies_the_settings():
    kw = dict(attention="lola", chunk_size=4, sparse_capacity=2, feature_map="elu1")
    with lola.Layer(**SHAPES, **kw) as layer:
        info = layer.info
        assert (info.attention, info.chunk_size, info.sparse_capacity) == (lola.Attention.LOLA, 4, 2)
        assert info.feature_dim == SHAPES["head_dim"]  # elu1's
        assert info.n_state_heads == SHAPES["n_kv_heads"]  # state per KV head
    with lola.Layer(**SHAPES, **dict(kw, attention=lola.Attention.WINDOW)) as layer:
        assert layer.info.attention == lola.Attention.WINDOW
        assert layer.info.sparse_capacity == 0  # the window baseline keeps no sparse cache
    with lola.Layer(**SHAPES, feature_map=lola.FeatureMap.PERFORMER, feature_dim=12) as layer:
        assert layer.info.feature_dim == 12


def test_layer_defaults_are_the_resolved_ones():
    resolved = lola.Layer.resolve_attention()
    assert (resolved["chunk_size"], resolved["sparse_capacity"]) == (64, 64)
    assert resolved["mixing"] is lola.Mixing.LOLA and resolved["feature_map"] is lola.FeatureMap.AUTO
    assert resolved["scoring"] is lola.Scoring.SRE and resolved["performer_orthogonal"] is False
    with lola.Layer(**SHAPES) as layer:
        assert (layer.info.chunk_size, layer.info.sparse_capacity) == (64, 64)
    assert lola.Layer.resolve_attention(chunk_size=5, mixing="lolcats")["chunk_size"] == 5
    assert lola.Layer.resolve_attention(mixing="lolcats")["mixing"] is lola.Mixing.LOLCATS
    assert resolved["eps"] == 1e-6 and lola.Layer.resolve_attention(eps=1e-5)["eps"] == 1e-5


def test_auto_feature_map_of_a_layer():
    # AUTO (the default): hedgehog with hedgehog weights (state per query head), else
    # performer (state per KV head).
    rng = np.random.default_rng(5)
    w = rng.standard_normal((4, 8, 3), dtype=np.float32)
    with lola.Layer(**SHAPES, hedgehog_q=w, hedgehog_k=w) as layer:
        assert (layer.info.feature_dim, layer.info.n_state_heads) == (6, 4)
    with lola.Layer(**SHAPES) as layer:
        assert layer.info.n_state_heads == 2


def test_context_applies_the_settings(model):
    tokens = model.tokenize("the settings reach every layer")
    base = dict(chunk_size=4, sparse_capacity=2, feature_map="performer", seed=7)
    reference = logits_of(model, tokens, **base)
    np.testing.assert_array_equal(logits_of(model, tokens, **base), reference)
    for change in (dict(seed=8), dict(mixing="lolcats"), dict(chunk_size=8),
                   dict(attention="full"), dict(performer_orthogonal=True)):
        assert not np.array_equal(logits_of(model, tokens, **dict(base, **change)), reference), change


def test_context_refuses_precomputed_features(model):
    with pytest.raises(lola.InvalidArgumentError):
        model.create_context(feature_map="precomputed")


def test_model_resolve_attention(model):
    resolved = model.resolve_attention(chunk_size=4, feature_map="performer", seed=7)
    assert resolved["chunk_size"] == 4 and resolved["feature_map"] is lola.FeatureMap.PERFORMER
    assert resolved["seed"] == 7
    # the tiny model has no lola.* metadata: the library's values
    assert not model.info.has_lola_tensors
    assert (resolved["sparse_capacity"], resolved["mixing"]) == (64, lola.Mixing.LOLA)
    # passed back as keywords it makes the same context
    tokens = model.tokenize("round trip")
    np.testing.assert_array_equal(logits_of(model, tokens, **resolved),
                                  logits_of(model, tokens, chunk_size=4, feature_map="performer", seed=7))


def test_resolve_attention_takes_attention_keywords_only(model, tiny_model_path):
    with pytest.raises(TypeError, match="unknown parameter 'n_threads'"):
        model.resolve_attention(n_threads=2)
    with pytest.raises(TypeError, match="unknown parameter 'head_dim'"):
        lola.Layer.resolve_attention(head_dim=8)
    with pytest.raises(ValueError, match="unknown Mixing"):
        lola.Layer.resolve_attention(mixing="best")
    closed = lola.Model(tiny_model_path)
    closed.close()
    with pytest.raises(lola.NullHandleError):
        closed.resolve_attention()
