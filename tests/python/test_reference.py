"""Self-checks of the numpy reference (no liblola needed).

* The token-level LoLA of lola_reference (tools/reference) reproduces the JSON vectors
  (outputs of the LoLA authors' released code, tests/vectors/*.json and
  $LOLA_VECTORS_DIR/*.json) to 1e-9, and their final memories (positions in G, window,
  folded) and linear state.
* The reference's Llama forward pass: LoLA with a window longer than the sequence equals full
  attention; LoLA with lambda >= length equals full attention up to eps; feeding in pieces
  equals feeding at once; the GGUF round trip through tiny_models/gguf gives the weights written.
"""

from __future__ import annotations

import glob
import json
import os

import pytest

np = pytest.importorskip("numpy")
pytest.importorskip("gguf")

import lola_reference as ref  # noqa: E402
import tiny_models as tm  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def _vector_files():
    dirs = [os.path.join(HERE, os.pardir, "vectors")]
    if os.environ.get("LOLA_VECTORS_DIR"):
        dirs.append(os.environ["LOLA_VECTORS_DIR"])
    files = []
    for d in dirs:
        files += sorted(glob.glob(os.path.join(d, "*.json")))
    return files


VECTOR_FILES = _vector_files()


def test_vectors_exist():
    assert VECTOR_FILES, "no tests/vectors/*.json found"


@pytest.mark.parametrize("path", VECTOR_FILES, ids=[os.path.basename(p) for p in VECTOR_FILES])
def test_reference_lola_reproduces_vector(path):
    with open(path) as f:
        case = json.load(f)
    y, heads = ref.run_vector(case)
    err = float(np.max(np.abs(y - np.array(case["y"]))))
    print(f"{case['name']}: max |y - y_expected| = {err:.3g}")
    assert err <= 1e-9
    for h, (head, fs) in enumerate(zip(heads, case["final_state"])):
        assert head.sparse_positions() == fs["sparse_positions"], f"head {h}"
        assert head.window_positions() == fs["window_positions"], f"head {h}"
        assert head.folded_positions() == fs["folded_positions"], f"head {h}"
        if fs["H"] is None:
            assert head.H is None
        else:
            assert np.max(np.abs(head.H - np.array(fs["H"]))) <= 1e-9
            assert np.max(np.abs(head.s - np.array(fs["s"]))) <= 1e-9


def test_reference_feature_maps_match_vector_features():
    """phi_q / phi_k of the hedgehog maps equal the vectors' fq / fk."""
    with open(VECTOR_FILES[0]) as f:
        case = json.load(f)
    wq = np.array(case["feature_map"]["wq"])
    wk = np.array(case["feature_map"]["wk"])
    q, k = np.array(case["q"]), np.array(case["k"])
    fq, fk = np.array(case["fq"]), np.array(case["fk"])
    for h in range(q.shape[1]):
        pq, pk = ref.hedgehog(wq[h]), ref.hedgehog(wk[h])
        for t in range(q.shape[0]):
            assert np.max(np.abs(pq(q[t, h]) - fq[t, h])) <= 1e-12
            assert np.max(np.abs(pk(k[t, h]) - fk[t, h])) <= 1e-12


TOKENS = [int(t) for t in np.random.default_rng(7).integers(0, 97, size=40)]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    path = tm.write_model(tmp_path_factory.mktemp("ref") / "tiny.gguf",
                          tm.spec_for_type("F32", lola=True))
    return ref.load_gguf(path)


def test_gguf_round_trip(tmp_path):
    """What load_gguf reads is what tiny_models wrote (F32, exact; shapes in numpy order)."""
    spec = tm.spec_for_type("F32", lola=True)
    weights = tm._random_weights(spec)
    m = ref.load_gguf(tm.write_model(tmp_path / "m.gguf", spec))
    assert (m.n_vocab, m.n_embd, m.n_layer, m.n_head, m.n_head_kv, m.head_dim, m.n_ff) == (
        spec.n_vocab, spec.n_embd, spec.n_layer, spec.n_head, spec.n_head_kv, spec.head_dim,
        spec.n_ff)
    assert np.array_equal(m.token_embd, weights["token_embd.weight"])
    assert np.array_equal(m.output, weights["output.weight"])
    assert np.array_equal(m.layers[1]["wk"], weights["blk.1.attn_k.weight"])
    assert np.array_equal(m.layers[1]["hedgehog_k"], weights["blk.1.lola.fmap_k.weight"])
    assert m.layers[0]["hedgehog_q"].shape == (spec.n_head, spec.head_dim, spec.feature_dim // 2)
    assert m.has_lola and m.hedgehog_dim == spec.feature_dim


@pytest.mark.parametrize("fmap", ["elu1", "hedgehog"])
def test_reference_long_window_equals_full(tiny, fmap):
    full = ref.logits(tiny, TOKENS)
    lola = ref.logits(tiny, TOKENS, ref.AttentionConfig("lola", chunk=64, sparse_capacity=3,
                                                        feature_map=fmap))
    err = np.max(np.abs(full - lola))
    print(f"{fmap}: chunk 64 > 40 tokens: max diff {err:.3g}")
    assert err <= 1e-12


def test_reference_chunk_equal_length_equals_full(tiny):
    """C = L: the only boundary comes after the last output."""
    full = ref.logits(tiny, TOKENS)
    lola = ref.logits(tiny, TOKENS, ref.AttentionConfig("lola", chunk=40, sparse_capacity=0))
    assert np.max(np.abs(full - lola)) <= 1e-12


def test_reference_large_lambda_equals_full_up_to_eps(tiny):
    """lambda >= L: nothing is folded; outputs equal softmax up to eps (relative ~1e-6)."""
    full = ref.logits(tiny, TOKENS)
    lola = ref.logits(tiny, TOKENS, ref.AttentionConfig("lola", chunk=4, sparse_capacity=64,
                                                        feature_map="hedgehog"))
    err = np.max(np.abs(full - lola))
    assert err <= 1e-3
    # and LoLA with a small lambda really is different (the test would be vacuous otherwise)
    small = ref.logits(tiny, TOKENS, ref.AttentionConfig("lola", chunk=4, sparse_capacity=3,
                                                         feature_map="hedgehog"))
    assert np.max(np.abs(full - small)) > 1e-2


@pytest.mark.parametrize("kind", ["full", "lola"])
def test_reference_split_feeding(tiny, kind):
    cfg = ref.AttentionConfig(kind, chunk=4, sparse_capacity=3, feature_map="elu1")
    whole = ref.Forward(tiny, cfg).feed(TOKENS)
    fwd = ref.Forward(tiny, cfg)
    parts = []
    for a, b in [(0, 1), (1, 7), (7, 8), (8, 21), (21, 40)]:
        parts.append(fwd.feed(TOKENS[a:b]))
    assert np.max(np.abs(np.concatenate(parts) - whole)) <= 1e-12


def test_reference_lola_selections_happen(tiny):
    """chunk 4, lambda 3 over 40 tokens: boundaries, selections and folds all happen."""
    fwd = ref.Forward(tiny, ref.AttentionConfig("lola", chunk=4, sparse_capacity=3,
                                                feature_map="elu1"))
    fwd.feed(TOKENS)
    head = fwd.heads[1][0]
    assert len(head.sparse_positions()) == 3
    assert len(head.folded_positions()) == 40 - 3 - 4
    assert head.window_positions() == [36, 37, 38, 39]
