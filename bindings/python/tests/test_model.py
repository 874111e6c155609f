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
