"""liblola's model forward pass (lola_model_* / lola_context_* via ctypes) against the float64
numpy reference, on tiny random Llama GGUF models of every supported tensor type.

Tolerances. liblola computes in float32 (activations, dot products with float32 accumulation,
attention); the reference computes in float64 from the same dequantized weights, so the only
differences are float32 roundings: ~6e-8 relative per operation, accumulated over dot products of
length <= 256, two layers, RMSNorms and softmaxes. We compare max |logit - logit_ref| with
max |logit_ref| (the logits' scale; single logits can be near 0, so an elementwise relative error
is meaningless). The measured ratios are 1e-7 .. 1.4e-6 (largest for the K-quant models, whose
dot products are 256 long; see the printed values, pytest -s); REL_TOL = 1e-5 leaves a margin
of about 7x for other CPUs' kernels (FMA, AVX-512 accumulation order) while still catching any
real error: a wrong RoPE pair, a gate, a missed fold, a wrong selection or one quantization
sub-block read wrongly all move the logits by 1e-3 .. 1 relative (LoLA with C = 4, lambda = 3
differs from full attention by 0.2 .. 1 relative on these models).
"""

from __future__ import annotations

import functools
import os

import pytest

np = pytest.importorskip("numpy")
pytest.importorskip("gguf")

import lola_ctypes as L  # noqa: E402
import lola_reference as ref  # noqa: E402
import tiny_models as tm  # noqa: E402

REL_TOL = 1e-5
N_TOKENS = 40


def rel_err(got, want):
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, (got.shape, want.shape)
    return float(np.max(np.abs(got - want)) / np.max(np.abs(want)))


# name -> ModelSpec. Every tensor type; tied output on a few; rope scaling; LoLA tensors.
MODEL_SPECS = {}
for _i, _t in enumerate(tm.ALL_TYPES):
    MODEL_SPECS[_t] = tm.spec_for_type(_t, seed=_i, tied=_t in ("BF16", "Q4_1", "Q6_K"))
MODEL_SPECS["F32-rope-linear"] = tm.spec_for_type("F32", seed=20, rope_linear_factor=4.0,
                                                  rope_base=500.0)
MODEL_SPECS["F32-rope-freqs"] = tm.spec_for_type("F32", seed=23, rope_freqs=True)
MODEL_SPECS["F32-lola-F16"] = tm.spec_for_type("F32", seed=21, lola=True, feature_dim=16)
MODEL_SPECS["Q8_0-lola-F8"] = tm.spec_for_type("Q8_0", seed=22, lola=True, feature_dim=8,
                                               tied=True)
TYPE_MODELS = list(tm.ALL_TYPES)
LOLA_MODELS = ["F32-lola-F16", "Q8_0-lola-F8"]


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("tiny_models")


@pytest.fixture(scope="session")
def model_path(model_dir):
    @functools.lru_cache(maxsize=None)
    def get(name):
        return tm.write_model(model_dir / f"{name}.gguf", MODEL_SPECS[name])
    return get


@pytest.fixture(scope="session")
def ref_model(model_path):
    @functools.lru_cache(maxsize=None)
    def get(name):
        return ref.load_gguf(model_path(name))
    return get


@pytest.fixture(scope="session")
def lola_model(lib, model_path):
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = lib.load_model(model_path(name))
        return cache[name]
    yield get
    cache.clear()


def tokens_for(spec, n=N_TOKENS, seed=7):
    return [int(t) for t in np.random.default_rng(seed).integers(0, spec.n_vocab, size=n)]


def lola_logits(model, tokens, **params):
    ctx = model.context(**params)
    ctx.feed(tokens, all_logits=True)
    out = ctx.logits()
    return out, ctx


# ---------------------------------------------------------------------------------------------
# model info
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["F32", "Q4_K", "F32-lola-F16"])
def test_model_info(lola_model, name):
    spec = MODEL_SPECS[name]
    info = lola_model(name).info()
    assert info["architecture"] == "llama"
    assert (info["n_layer"], info["n_head"], info["n_head_kv"], info["head_dim"], info["n_embd"],
            info["n_ff"], info["n_vocab"], info["n_ctx_train"]) == (
        spec.n_layer, spec.n_head, spec.n_head_kv, spec.head_dim, spec.n_embd, spec.n_ff,
        spec.n_vocab, spec.n_ctx)
    assert info["has_lola_tensors"] == int(spec.lola)


# ---------------------------------------------------------------------------------------------
# full attention, every tensor type
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", TYPE_MODELS + ["F32-rope-linear", "F32-rope-freqs", "F32-lola-F16"])
def test_full_attention_matches_reference(lola_model, ref_model, name):
    spec = MODEL_SPECS[name]
    toks = tokens_for(spec)
    got, _ = lola_logits(lola_model(name), toks, attention=L.ATTENTION_FULL)
    want = ref.logits(ref_model(name), toks)
    err = rel_err(got, want)
    print(f"{name}: full attention, {len(toks)} tokens: max|diff|/max|logit| = {err:.3g} "
          f"(max|logit| {np.max(np.abs(want)):.3g})")
    assert err <= REL_TOL


# ---------------------------------------------------------------------------------------------
# LoLA attention
# ---------------------------------------------------------------------------------------------

FMAP_NAMES = {L.FEATURE_MAP_ELU1: "elu1", L.FEATURE_MAP_RELU: "relu",
              L.FEATURE_MAP_HEDGEHOG: "hedgehog"}


def check_lola(lola_model, ref_model, name, chunk, lam, fmap, mixing=L.MIXING_LOLA,
               batch_size=64, n_threads=1, label=""):
    spec = MODEL_SPECS[name]
    toks = tokens_for(spec)
    got, ctx = lola_logits(lola_model(name), toks, attention=L.ATTENTION_LOLA, chunk_size=chunk,
                           sparse_capacity=lam, feature_map=fmap, mixing=mixing,
                           batch_size=batch_size, n_threads=n_threads)
    if fmap == L.FEATURE_MAP_AUTO:
        fmap = L.FEATURE_MAP_HEDGEHOG if spec.lola else None
    cfg = ref.AttentionConfig("lola", chunk=chunk, sparse_capacity=lam,
                              feature_map=FMAP_NAMES[fmap],
                              mixing="lola" if mixing == L.MIXING_LOLA else "lolcats")
    fwd = ref.Forward(ref_model(name), cfg)
    want = fwd.feed(toks)
    err = rel_err(got, want)
    full = ref.logits(ref_model(name), toks)
    print(f"{name} {label}: LoLA C={chunk} lambda={lam} {FMAP_NAMES[fmap]}: "
          f"max|diff|/max|logit| = {err:.3g}; (LoLA differs from full attention by "
          f"{rel_err(want, full):.3g})")
    assert err <= REL_TOL
    # the memories: same positions in G and the window, same number folded, every head
    for layer in range(spec.n_layer):
        for h in range(spec.n_head):
            head = fwd.heads[layer][h]
            sparse = list(ctx.get_positions(layer, h, L.MEMORY_SPARSE))
            window = list(ctx.get_positions(layer, h, L.MEMORY_WINDOW))
            assert sparse == head.sparse_positions(), f"layer {layer} head {h}: G"
            assert window == head.window_positions(), f"layer {layer} head {h}: window"
            st = ctx.head_state(layer, h)
            assert (st["n_window"], st["n_sparse"], st["n_folded"], st["n_evicted"]) == (
                len(window), len(sparse), len(head.folded_positions()), 0)
    return err


@pytest.mark.parametrize("name", TYPE_MODELS)
def test_lola_elu1_matches_reference(lola_model, ref_model, name):
    """C = 4, lambda = 3 over 40 tokens: 10 boundaries, selections by SRE and folds."""
    check_lola(lola_model, ref_model, name, chunk=4, lam=3, fmap=L.FEATURE_MAP_ELU1)


LOLA_VARIANTS = {
    # id: (chunk, lambda, feature map, mixing, batch_size, n_threads)
    "lolcats-lambda0": (4, 0, L.FEATURE_MAP_ELU1, L.MIXING_LOLA, 64, 1),
    "lambda-ge-chunk": (4, 9, L.FEATURE_MAP_ELU1, L.MIXING_LOLA, 64, 1),
    "chunk5-batch7": (5, 3, L.FEATURE_MAP_ELU1, L.MIXING_LOLA, 7, 1),
    "relu": (4, 3, L.FEATURE_MAP_RELU, L.MIXING_LOLA, 64, 1),
    "mixing-B": (4, 3, L.FEATURE_MAP_ELU1, L.MIXING_LOLCATS, 64, 1),
    "threads3": (4, 3, L.FEATURE_MAP_ELU1, L.MIXING_LOLA, 64, 3),
}


@pytest.mark.parametrize("variant", list(LOLA_VARIANTS))
@pytest.mark.parametrize("name", ["F32", "Q4_K"])
def test_lola_variants_match_reference(lola_model, ref_model, name, variant):
    chunk, lam, fmap, mixing, batch, threads = LOLA_VARIANTS[variant]
    check_lola(lola_model, ref_model, name, chunk, lam, fmap, mixing, batch, threads,
               label=variant)


@pytest.mark.parametrize("fmap", [L.FEATURE_MAP_AUTO, L.FEATURE_MAP_HEDGEHOG, L.FEATURE_MAP_ELU1],
                         ids=["auto", "hedgehog", "elu1"])
@pytest.mark.parametrize("name", LOLA_MODELS)
def test_lola_model_with_lola_tensors(lola_model, ref_model, name, fmap):
    """A model carrying hedgehog maps and gates (window_factors): AUTO picks hedgehog; the
    file's gates apply with every map."""
    check_lola(lola_model, ref_model, name, chunk=4, lam=3, fmap=fmap)


@pytest.mark.parametrize("name", ["F32", "Q5_K", "F32-lola-F16"])
def test_window_attention_matches_reference(lola_model, ref_model, name):
    """The sliding-window baseline: softmax over W_prev and W_cur, older pairs evicted."""
    spec = MODEL_SPECS[name]
    toks = tokens_for(spec)
    got, ctx = lola_logits(lola_model(name), toks, attention=L.ATTENTION_WINDOW, chunk_size=4)
    fwd = ref.Forward(ref_model(name), ref.AttentionConfig("window", chunk=4))
    err = rel_err(got, fwd.feed(toks))
    print(f"{name}: window attention C=4: max|diff|/max|logit| = {err:.3g}")
    assert err <= REL_TOL
    for layer in range(spec.n_layer):
        for h in range(spec.n_head):
            head = fwd.heads[layer][h]
            assert list(ctx.get_positions(layer, h, L.MEMORY_WINDOW)) == head.window_positions()
            st = ctx.head_state(layer, h)
            assert (st["n_window"], st["n_sparse"], st["n_folded"], st["n_evicted"]) == (
                len(head.window_positions()), 0, 0, len(head.evicted_positions()))


def test_hedgehog_needs_lola_tensors(lola_model):
    with pytest.raises(L.LolaError) as e:
        lola_model("F32").context(feature_map=L.FEATURE_MAP_HEDGEHOG)
    assert e.value.status == L.ERR_INVALID_ARGUMENT
    print(e.value.message)


@pytest.mark.parametrize("name,fmap", [("F32", L.FEATURE_MAP_ELU1), ("Q5_1", L.FEATURE_MAP_ELU1),
                                       ("Q4_K", L.FEATURE_MAP_RELU),
                                       ("F32-lola-F16", L.FEATURE_MAP_HEDGEHOG)])
def test_window_longer_than_sequence_equals_full(lola_model, ref_model, name, fmap):
    """chunk >= sequence length: no boundary is ever reached, so LoLA is causal softmax."""
    spec = MODEL_SPECS[name]
    toks = tokens_for(spec)
    model = lola_model(name)
    full, _ = lola_logits(model, toks, attention=L.ATTENTION_FULL)
    errs = []
    for chunk in (N_TOKENS + 1, 64, 1000):
        lola, ctx = lola_logits(model, toks, attention=L.ATTENTION_LOLA, chunk_size=chunk,
                                sparse_capacity=3, feature_map=fmap)
        errs.append(rel_err(lola, full))
        assert ctx.info()["n_folded"] == 0 and ctx.info()["n_sparse"] == 0
    err_ref = rel_err(full, ref.logits(ref_model(name), toks))
    print(f"{name}: LoLA with chunk > {N_TOKENS} vs liblola full: {max(errs):.3g}; "
          f"full vs reference {err_ref:.3g}")
    assert max(errs) <= 1e-6
    assert err_ref <= REL_TOL


# ---------------------------------------------------------------------------------------------
# splits, save/restore
# ---------------------------------------------------------------------------------------------

SPLIT_CONFIGS = {
    "full": dict(attention=L.ATTENTION_FULL),
    "lola-elu1": dict(attention=L.ATTENTION_LOLA, chunk_size=4, sparse_capacity=3,
                      feature_map=L.FEATURE_MAP_ELU1),
    "lola-hedgehog": dict(attention=L.ATTENTION_LOLA, chunk_size=4, sparse_capacity=3,
                          feature_map=L.FEATURE_MAP_AUTO),
    "window": dict(attention=L.ATTENTION_WINDOW, chunk_size=4),
}


def _model_for(config):
    return "F32-lola-F16" if config == "lola-hedgehog" else "Q8_0"


@pytest.mark.parametrize("config", list(SPLIT_CONFIGS))
def test_one_call_equals_token_by_token(lola_model, config):
    name = _model_for(config)
    toks = tokens_for(MODEL_SPECS[name])
    model = lola_model(name)
    whole, _ = lola_logits(model, toks, **SPLIT_CONFIGS[config])
    ctx = model.context(**SPLIT_CONFIGS[config])
    rows = []
    for t in toks:
        ctx.feed([t])
        rows.append(ctx.copy_logits(-1))
    by_token = np.array(rows)
    err_last = float(np.max(np.abs(by_token[-1] - whole[-1])))
    err_all = rel_err(by_token, whole)
    # pieces of irregular sizes, with a batch size that splits them again
    ctx2 = model.context(batch_size=3, **SPLIT_CONFIGS[config])
    pieces = []
    for a, b in [(0, 5), (5, 6), (6, 17), (17, 18), (18, 40)]:
        ctx2.feed(toks[a:b], all_logits=True)
        pieces.append(ctx2.logits())
    err_pieces = rel_err(np.concatenate(pieces), whole)
    print(f"{config}: token by token vs one call: last row max|diff| {err_last:.3g}, "
          f"all rows {err_all:.3g} rel; pieces with batch 3: {err_pieces:.3g} rel")
    assert err_last <= 1e-5 * np.max(np.abs(whole[-1]))
    assert err_all <= 1e-5 and err_pieces <= 1e-5
    # the last-token logits of a feed without all_logits are the last row of all logits
    ctx3 = model.context(**SPLIT_CONFIGS[config])
    ctx3.feed(toks)
    last = ctx3.logits()
    assert last.shape == (1, MODEL_SPECS[name].n_vocab)
    assert np.array_equal(last[0], whole[-1])


@pytest.mark.parametrize("config", list(SPLIT_CONFIGS))
def test_save_restore_continue(lola_model, config):
    name = _model_for(config)
    toks = tokens_for(MODEL_SPECS[name])
    model = lola_model(name)
    params = SPLIT_CONFIGS[config]
    ctx = model.context(**params)
    ctx.feed(toks[:23])
    blob = ctx.save()
    ctx.feed(toks[23:], all_logits=True)
    cont = ctx.logits()
    info_cont = ctx.info()

    # a fresh context, restored
    fresh = model.context(**params)
    fresh.restore(blob)
    assert fresh.info()["n_past"] == 23
    with pytest.raises(L.LolaError) as e:
        fresh.logits()     # no logits until the next feed
    assert e.value.status == L.ERR_UNSUPPORTED
    fresh.feed(toks[23:], all_logits=True)
    assert np.array_equal(fresh.logits(), cont)
    assert fresh.info() == info_cont

    # the same context, rolled back
    ctx.restore(blob)
    ctx.feed(toks[23:], all_logits=True)
    assert np.array_equal(ctx.logits(), cont)

    # and positions agree after restore + continue
    if params["attention"] == L.ATTENTION_LOLA:
        for layer in range(MODEL_SPECS[name].n_layer):
            for h in range(MODEL_SPECS[name].n_head):
                for mem in (L.MEMORY_WINDOW, L.MEMORY_SPARSE):
                    assert np.array_equal(ctx.get_positions(layer, h, mem),
                                          fresh.get_positions(layer, h, mem))

    # a clone continues like the original
    ctx.restore(blob)
    clone = ctx.clone()
    clone.feed(toks[23:], all_logits=True)
    assert np.array_equal(clone.logits(), cont)


def test_reset_starts_over(lola_model):
    model = lola_model("F32")
    toks = tokens_for(MODEL_SPECS["F32"])
    first, ctx = lola_logits(model, toks, chunk_size=4, sparse_capacity=3,
                             feature_map=L.FEATURE_MAP_ELU1)
    ctx.reset()
    assert ctx.info()["n_past"] == 0
    ctx.feed(toks, all_logits=True)
    assert np.array_equal(ctx.logits(), first)


# ---------------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [97, 1 << 30, -1])
def test_out_of_range_token(lola_model, bad):
    model = lola_model("F32")
    n_vocab = model.info()["n_vocab"]
    assert n_vocab == 97
    ctx = model.context(chunk_size=4, sparse_capacity=3, feature_map=L.FEATURE_MAP_ELU1)
    ctx.feed([1, 2, 3])
    before = ctx.logits()
    with pytest.raises(L.LolaError) as e:
        ctx.feed([5, 6, bad, 7])
    print(e.value.message)
    assert e.value.status == L.ERR_INVALID_ARGUMENT
    assert str(bad) in e.value.message and "out of range" in e.value.message
    assert ctx.info()["n_past"] == 3          # nothing was fed
    ctx.feed([5, 6])
    ref_ctx = model.context(chunk_size=4, sparse_capacity=3, feature_map=L.FEATURE_MAP_ELU1)
    ref_ctx.feed([1, 2, 3, 5, 6])
    assert np.array_equal(ctx.logits(), ref_ctx.logits())
    assert before.shape == (1, n_vocab)


def test_bad_files(lib, model_path, tmp_path):
    garbage = tmp_path / "garbage.gguf"
    garbage.write_bytes(b"this is not a GGUF file, just some bytes" * 10)
    with pytest.raises(L.LolaError) as e:
        lib.load_model(garbage)
    print(e.value.message)
    assert e.value.status == L.ERR_CORRUPT_DATA
    assert "garbage.gguf" in e.value.message

    good = open(model_path("F32"), "rb").read()
    for cut in (len(good) // 2, 200, 30):
        truncated = tmp_path / f"truncated_{cut}.gguf"
        truncated.write_bytes(good[:cut])
        with pytest.raises(L.LolaError) as e:
            lib.load_model(truncated)
        print(e.value.message)
        assert e.value.status == L.ERR_CORRUPT_DATA, e.value.message
        assert e.value.message

    with pytest.raises(L.LolaError) as e:
        lib.load_model(tmp_path / "does_not_exist.gguf")
    print(e.value.message)
    assert e.value.status == L.ERR_IO
    assert "does_not_exist.gguf" in e.value.message


def test_bad_state_blobs(lola_model):
    model = lola_model("F32")
    toks = tokens_for(MODEL_SPECS["F32"])
    params = dict(chunk_size=4, sparse_capacity=3, feature_map=L.FEATURE_MAP_ELU1)
    ctx = model.context(**params)
    ctx.feed(toks[:20])
    blob = bytearray(ctx.save())
    expected = ctx.clone()
    expected.feed(toks[20:])

    def rejected(data, status):
        with pytest.raises(L.LolaError) as e:
            ctx.restore(bytes(data))
        assert e.value.status == status, e.value.message
        return e.value.message

    flipped = bytearray(blob)
    flipped[len(blob) // 2] ^= 0x40
    print(rejected(flipped, L.ERR_CORRUPT_DATA))
    print(rejected(blob[: len(blob) - 9], L.ERR_CORRUPT_DATA))
    print(rejected(b"", L.ERR_CORRUPT_DATA))
    print(rejected(b"\0" * 64, L.ERR_CORRUPT_DATA))
    # a blob of another model
    other = lola_model("Q8_0").context(**params)
    other.feed(toks[:20])
    print(rejected(other.save(), L.ERR_INCOMPATIBLE))
    # the context is unchanged by every failed restore
    assert ctx.info()["n_past"] == 20
    ctx.feed(toks[20:])
    assert np.array_equal(ctx.logits(), expected.logits())
