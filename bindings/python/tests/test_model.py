"""lola.Model on the tiny model: load, info, tokenizer round trip, special tokens."""

import numpy as np
import pytest

import lola


def test_info(model):
    info = model.info
    assert info.architecture == "llama"
    assert (info.n_layer, info.n_head, info.n_head_kv, info.n_embd) == (2, 4, 2, 32)
    assert info.n_vocab == model.n_vocab == 97
    assert info.head_dim == 8
    assert "n_vocab=97" in repr(model)


def test_tokenize_round_trip(model):
    tokens = model.tokenize("hello world")
    assert len(tokens) == len("hello world")  # one token per character
    assert tokens[0] == ord("h") - ord("!") and tokens[5] == 94  # 94 is the space
    assert model.detokenize(tokens) == "hello world"
    assert model.detokenize(np.array(tokens, dtype=np.int64)) == "hello world"
    assert b"".join(model.token_to_piece(t) for t in tokens) == b"hello world"
    assert model.tokenize(b"hi") == model.tokenize("hi")
    assert model.tokenize("") == []


def test_special_tokens(model):
    sp = model.special_tokens
    assert sp.eos == 96
    assert model.is_eog(96) and not model.is_eog(0)
    assert model.detokenize([0, 96]) == "!"                   # specials skipped
    assert model.detokenize([0, 96], special=True) == "!<|endoftext|>"
    assert model.tokenize("<|endoftext|>", parse_special=True) == [96]


def test_chat_template_unknown_is_unsupported(model):
    # The tiny model carries no chat template liblola knows.
    with pytest.raises(lola.UnsupportedError) as err:
        model.apply_chat_template([{"role": "user", "content": "hi"}])
    assert err.value.status == lola._lola.LOLA_ERR_UNSUPPORTED and err.value.message


def test_describe(tiny_model_path):
    text = lola.describe(tiny_model_path)
    assert "llama" in text


def test_context_keeps_model_alive(tiny_model_path):
    model = lola.Model(tiny_model_path)
    ctx = model.create_context()
    model.close()  # only this object's use ends: the context still has its model
    with pytest.raises(lola.NullHandleError):
        model.tokenize("a")
    ctx.feed([1, 2, 3])
    assert ctx.logits.shape == (97,)
    assert ctx.generate_text(3)  # needs the model's tokenizer
    ctx.close()


def test_device_count():
    # The CPU is always there; CUDA counts what the driver reports (0 here in CI).
    assert lola.device_count("cpu") == 1
    assert lola.device_count(lola.Device.CPU) == 1
    assert lola.device_count() >= 0
    with pytest.raises((ValueError, lola.LolaError)):
        lola.device_count(7)


def adapter_beside(tiny_model_path):
    """The LoLA adapter that tests/ writes beside the tiny model (make_test_model.cpp): F = 8,
    C = 4, lambda = 3, mixing lolcats, for the tiny model's fingerprint."""
    return tiny_model_path[:-len(".gguf")] + ".adapter.gguf"


def with_base_fingerprint(adapter_bytes, fingerprint):
    """The adapter's bytes with lola.adapter.base_fingerprint (a u64 after its key and type)
    set to `fingerprint`."""
    key = b"lola.adapter.base_fingerprint"
    at = adapter_bytes.index(key) + len(key) + 4
    return adapter_bytes[:at] + fingerprint.to_bytes(8, "little") + adapter_bytes[at + 8:]


def test_adapter(tiny_model_path, model, tmp_path):
    adapter = adapter_beside(tiny_model_path)
    assert not model.has_adapter and not model.info.has_lola_tensors
    with lola.Model(tiny_model_path, adapter=adapter) as m:
        assert m.has_adapter and m.info.has_lola_tensors and m.adapter == adapter
        assert m.fingerprint != model.fingerprint
        a = m.resolve_attention()
        assert (a["chunk_size"], a["sparse_capacity"], a["mixing"]) == (4, 3, lola.Mixing.LOLCATS)
        tokens = m.tokenize("adapters replace the feature maps")
        with m.create_context() as ctx:
            ctx.feed(tokens)
            with_adapter = ctx.logits_copy()
        with model.create_context(chunk_size=4, sparse_capacity=3, mixing="lolcats") as ctx:
            ctx.feed(tokens)
            assert not np.array_equal(ctx.logits_copy(), with_adapter)  # performer features
    # An adapter records the fingerprint of its base: on any other, IncompatibleError.
    other = tmp_path / "other.adapter.gguf"
    other.write_bytes(with_base_fingerprint(open(adapter, "rb").read(), model.fingerprint ^ 1))
    with pytest.raises(lola.IncompatibleError, match="fingerprint"):
        lola.Model(tiny_model_path, adapter=other)
    with pytest.raises(lola.LolaIOError, match="adapter"):
        lola.Model(tiny_model_path, adapter=tmp_path / "missing.gguf")
    with pytest.raises(ValueError):
        lola.Model(tiny_model_path, adapter="")


def test_perplexity(model):
    text = "the quick brown fox jumps over the lazy dog " * 12
    tokens = model.tokenize(text)
    full = model.perplexity(text, 64, attention="full")
    assert full.n_windows == len(tokens) // 64 and full.n_scored == full.n_windows * 32
    assert full.perplexity == pytest.approx(np.exp(full.nll)) and full.perplexity > 1
    # The same windows by hand: each window on a fresh context, its second half scored.
    nll, n = 0.0, 0
    for w in range(full.n_windows):
        window = tokens[w * 64:(w + 1) * 64]
        with model.create_context(attention="full") as ctx:
            ctx.feed(window, all_logits=True)
            logits = ctx.all_logits.astype(np.float64)
        for pos in range(31, 63):
            row = logits[pos]
            nll += np.log(np.exp(row - row.max()).sum()) + row.max() - row[window[pos + 1]]
            n += 1
    assert full.nll == pytest.approx(nll / n, rel=1e-9)
    # Any variant, and max_windows.
    lola_one = model.perplexity(tokens, 64, max_windows=1, chunk_size=4, sparse_capacity=2)
    assert lola_one.n_windows == 1 and lola_one.nll != full.nll
    with pytest.raises(lola.InvalidArgumentError, match="n_ctx"):
        model.perplexity(tokens, 1)
    with pytest.raises(lola.InvalidArgumentError, match="fewer than one window"):
        model.perplexity(tokens[:10], 64)
    with pytest.raises(lola.InvalidArgumentError, match="out of range"):
        model.perplexity([5000] * 64, 64)
