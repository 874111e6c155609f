"""lola_convert (tools/convert) on synthetic LoLCATs checkpoints: convert, run with liblola,
compare with numpy.

The fixtures (lolcats_fixtures.py) write a tiny Hugging Face Llama folder (sharded safetensors,
llama3 RoPE scaling) and LoLCATs distill / finetune checkpoints in every key layout the real
ones use. The reference is lola_reference.Forward on the *Hugging Face* weights (rotate_half
RoPE, transformers' llama3 frequencies, LoRA merged as W + alpha/r * B @ A, hedgehog maps as saved),
so a wrong q/k row order, hedgehog permutation, rope factor, LoRA scale or gate moves the
logits by 1e-2 .. 1 relative.

Tolerances (max |diff| / max |logit|):
* f32 output: 2e-5. liblola is float32 against float64; the merged weights are rounded to
  float32 once (measured ~1e-7 between references, ~2e-6 for liblola).
* f16 / bf16 / q8_0 output: liblola must match the reference run on the GGUF's dequantized
  weights to 2e-5 (the runtime is exact for what the file holds), and with full attention the
  HF reference within the type's rounding: f16 (11-bit mantissa) 5e-3, bf16 (8-bit mantissa)
  3e-2, q8_0 (8-bit blocks, one scale per 32) 1e-1 -- about 5x the measured 9e-4, 7e-3, 2.2e-2.
  With LoLA attention the HF comparison is made for f32 and f16 only: bf16/q8_0 rounding flips
  near-tied sparse-cache selections (SRE top-lambda is discontinuous; measured 0.07 .. 0.14),
  so there the exact comparison with the GGUF's own weights is the test.

Needs numpy and gguf; the liblola part needs LOLA_LIBRARY (see conftest.py).
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import lola_reference as ref
import lolcats_fixtures as fx
import lola_ctypes as L
from lola_convert import (CheckpointError, ConversionError, LolaDefaults, UnsafePickleError,
                          collect, convert)
from lola_convert import __main__ as cli
from lola_convert import safe_pt

HERE = os.path.dirname(os.path.abspath(__file__))
# conftest.py puts tools/convert on sys.path; the command-line test gives it to a new python.
CONVERTER_ROOT = os.path.normpath(os.path.join(HERE, os.pardir, os.pardir, "tools", "convert"))

SPEC = fx.TinySpec()
SCALE = SPEC.lora_alpha / SPEC.lora_r
N_TOKENS = 40
CHUNK, SPARSE = 4, 3      # small so that 40 tokens fill the window, G and the linear state
TOL_EXACT = 2e-5
TOL_HF = {"f32": 2e-5, "f16": 5e-3, "bf16": 3e-2, "q8_0": 1e-1}


def rel_err(got, want):
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, (got.shape, want.shape)
    return float(np.max(np.abs(got - want)) / np.max(np.abs(want)))


def tokens():
    return np.random.default_rng(3).integers(0, SPEC.n_vocab, N_TOKENS)


def lola_cfg(mixing="lola"):
    return ref.AttentionConfig("lola", chunk=CHUNK, sparse_capacity=SPARSE,
                               feature_map="hedgehog", mixing=mixing)


@pytest.fixture(scope="module")
def weights():
    return fx.lolcats_weights(SPEC)


@pytest.fixture(scope="module")
def hf_folders(tmp_path_factory):
    """One HF folder per source dtype, with the weights each holds."""
    out = {}
    for dtype in ("BF16", "F16", "F32"):
        folder = str(tmp_path_factory.mktemp(f"hf-{dtype}"))
        out[dtype] = (folder, fx.write_hf_folder(folder, SPEC, dtype))
    return out


@pytest.fixture(scope="module")
def hf_reference(hf_folders, weights):
    layers, lora = weights
    cache = {}

    def get(dtype, attn):
        key = (dtype, attn.kind, attn.mixing)
        if key not in cache:
            model = fx.reference_model(SPEC, hf_folders[dtype][1], layers, lora, SCALE)
            cache[key] = ref.Forward(model, attn).feed(tokens())
        return cache[key]

    return get


def write_checkpoints(tmp, layers, lora, layout):
    """The distill and finetune checkpoints in one of the layouts LoLCATs produces; returns
    (distill path, lora path)."""
    distill = os.path.join(tmp, "distill.pt")
    ft = os.path.join(tmp, "ft.pt")
    if layout == "bare":
        fx.write_torch_pt(distill, fx.distill_state(layers, ""))
        fx.write_torch_pt(ft, fx.lora_state(lora, "", adapter=""))
    elif layout == "model_state_dict+model.":
        fx.write_torch_pt(distill, fx.distill_state(layers, "model."), wrap="model_state_dict")
        fx.write_torch_pt(ft, fx.lora_state(lora, "model.model."), wrap="model_state_dict")
    elif layout == "peft-prefix":
        fx.write_torch_pt(distill, fx.distill_state(layers, "base_model.model.model."),
                          wrap="model_state_dict")
        fx.write_torch_pt(ft, fx.lora_state(lora, "base_model.model.model."),
                          wrap="model_state_dict")
    elif layout == "peft-folder":
        fx.write_torch_pt(distill, fx.distill_state(layers, "model."))
        ft = os.path.join(tmp, "adapter")
        fx.write_peft_folder(ft, lora, SPEC.lora_r, SPEC.lora_alpha)
    else:
        raise ValueError(layout)
    return distill, ft


def run_liblola(lib, path, n_tokens=N_TOKENS, **params):
    model = lib.load_model(path)
    ctx = model.context(**params)
    ctx.feed(tokens()[:n_tokens], all_logits=True)
    return ctx.logits(), model, ctx


# ---------------------------------------------------------------------------------------------
# Conversion against the reference (numpy only)
# ---------------------------------------------------------------------------------------------

LAYOUTS = ["bare", "model_state_dict+model.", "peft-prefix", "peft-folder"]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_layouts_convert_to_the_same_model(tmp_path, hf_folders, hf_reference, weights, layout):
    layers, lora = weights
    distill, ft = write_checkpoints(str(tmp_path), layers, lora, layout)
    out = str(tmp_path / "m.gguf")
    summary = convert(hf_folders["BF16"][0], out, collect([distill, ft]), "f32",
                      LolaDefaults(CHUNK, SPARSE, "A"), lora_alpha=SPEC.lora_alpha)
    assert summary["lora_pairs"] == 4 * SPEC.n_layer and summary["lora_scale"] == SCALE
    model = ref.load_gguf(out)
    for attn in (ref.AttentionConfig("full"), lola_cfg()):
        got = ref.Forward(model, attn).feed(tokens())
        err = rel_err(got, hf_reference("BF16", attn))
        print(f"{layout} {attn.kind}: GGUF reference vs HF reference {err:.3g}")
        assert err <= 1e-6


def test_checkpoint_values_survive_every_storage_dtype(tmp_path, weights):
    """bf16 and f16 storages (real checkpoints are bf16) come back as the values saved."""
    layers, _ = weights
    for dtype in ("BF16", "F16", "F32"):
        path = str(tmp_path / f"d-{dtype}.pt")
        state = {k: fx.round_to(v, dtype) for k, v in fx.distill_state(layers, "model.").items()}
        fx.write_torch_pt(path, state, wrap="model_state_dict", dtype=dtype)
        back = safe_pt.load(path)
        assert back["step"] == 1 and back["eval/loss"] == 1.25
        for k, v in state.items():
            np.testing.assert_array_equal(back["model_state_dict"][k], v)


# ---------------------------------------------------------------------------------------------
# liblola on the converted files
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("outtype", ["f32", "f16", "bf16", "q8_0"])
@pytest.mark.parametrize("src", ["BF16", "F32"])
def test_liblola_runs_the_converted_model(lib, tmp_path, hf_folders, hf_reference, weights,
                                          outtype, src):
    layers, lora = weights
    distill, ft = write_checkpoints(str(tmp_path), layers, lora, "model_state_dict+model.")
    out = str(tmp_path / f"m-{outtype}.gguf")
    convert(hf_folders[src][0], out, collect([distill, ft]), outtype,
            LolaDefaults(CHUNK, SPARSE, "A"), lora_alpha=SPEC.lora_alpha)
    gguf_model = ref.load_gguf(out)
    for attn, params in ((ref.AttentionConfig("full"), dict(attention=L.ATTENTION_FULL)),
                         (lola_cfg(), dict(attention=L.ATTENTION_LOLA, chunk_size=CHUNK,
                                           sparse_capacity=SPARSE))):
        got, _, _ = run_liblola(lib, out, **params)
        exact = rel_err(got, ref.Forward(gguf_model, attn).feed(tokens()))
        vs_hf = rel_err(got, hf_reference(src, attn))
        print(f"{src}->{outtype} {attn.kind}: liblola vs GGUF reference {exact:.3g}, "
              f"vs HF reference {vs_hf:.3g}")
        assert exact <= TOL_EXACT
        if attn.kind == "full" or outtype in ("f32", "f16"):
            assert vs_hf <= TOL_HF[outtype]


def test_mixing_b_and_lora_from_peft_folder(lib, tmp_path, hf_folders, hf_reference, weights):
    layers, lora = weights
    distill, ft = write_checkpoints(str(tmp_path), layers, lora, "peft-folder")
    out = str(tmp_path / "m.gguf")
    convert(hf_folders["F32"][0], out, collect([distill, ft]), "f32",
            LolaDefaults(CHUNK, SPARSE, "B"))   # alpha from adapter_config.json
    got, _, _ = run_liblola(lib, out, chunk_size=CHUNK, sparse_capacity=SPARSE,
                            mixing=L.MIXING_LOLCATS)
    err = rel_err(got, hf_reference("F32", lola_cfg("lolcats")))
    assert err <= TOL_EXACT
    other = rel_err(got, hf_reference("F32", lola_cfg("lola")))
    assert other > 100 * TOL_EXACT, "mixing B should differ from A"


def test_command_line(lib, tmp_path, hf_folders, hf_reference, weights):
    """python -m lola_convert, as a user runs it, where the binding cannot be imported."""
    layers, lora = weights
    distill, ft = write_checkpoints(str(tmp_path), layers, lora, "peft-prefix")
    out = str(tmp_path / "cli.gguf")
    poison = fx.write_poisoned_binding(str(tmp_path / "poison"))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [poison, CONVERTER_ROOT] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    res = subprocess.run(
        [sys.executable, "-m", "lola_convert", "--base", hf_folders["BF16"][0], "--distill",
         distill, "--lora", ft, "--outtype", "f32", "--chunk", str(CHUNK), "--sparse",
         str(SPARSE), "-o", out], env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "LoRA r=4 alpha=16 merged into 8 matrices" in res.stdout
    got, _, _ = run_liblola(lib, out, chunk_size=CHUNK, sparse_capacity=SPARSE)
    assert rel_err(got, hf_reference("BF16", lola_cfg())) <= TOL_EXACT


# ---------------------------------------------------------------------------------------------
# Refusals
# ---------------------------------------------------------------------------------------------


def _call(module, name, arg):
    def inject(p):
        p.global_(module, name)
        p.mark()
        p.str_(arg)
        p.out += b"tR"
    return inject


@pytest.mark.parametrize("module,name,payload", [
    ("os", "system", "touch {marker}"),
    ("posix", "system", "touch {marker}"),
    ("builtins", "eval", "open({marker!r}, 'w').close()"),
    ("builtins", "exec", "open({marker!r}, 'w').close()"),
    ("subprocess", "getoutput", "touch {marker}"),
])
def test_malicious_pickle_is_refused_and_never_runs(tmp_path, hf_folders, weights, module, name,
                                                     payload):
    layers, _ = weights
    marker = str(tmp_path / "pwned")
    path = str(tmp_path / "evil.pt")
    fx.write_torch_pt(path, fx.distill_state(layers, "model."), wrap="model_state_dict",
                      inject=_call(module, name, payload.format(marker=marker)))
    with pytest.raises(UnsafePickleError) as e:
        safe_pt.load(path)
    assert f"{module}.{name}" in str(e.value) and "nothing was executed" in str(e.value)
    assert not os.path.exists(marker)
    # through the command line: an error message and exit status 1, still nothing run
    rc = cli.main(["--base", hf_folders["F32"][0], "--distill", path, "-o",
                   str(tmp_path / "x.gguf")])
    assert rc == 1 and not os.path.exists(marker) and not os.path.exists(tmp_path / "x.gguf")


def test_a_real_pickle_of_a_function_call_is_refused(tmp_path):
    """The same through Python's own pickler: a __reduce__ that would call print."""
    import pickle
    import zipfile

    class Evil:
        def __reduce__(self):
            return (print, ("pickle code ran",))

    path = str(tmp_path / "evil2.pt")
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps({"x": Evil()}, protocol=2))
    with pytest.raises(UnsafePickleError, match=r"calls '(__builtin__|builtins)\.print'"):
        safe_pt.load(path)


def _distill_without(layers, drop=None, reshape=None):
    state = fx.distill_state(layers, "model.")
    if drop:
        del state[drop]
    if reshape:
        key, shape = reshape
        state[key] = np.zeros(shape, dtype=np.float32)
    return state


@pytest.mark.parametrize("case,message", [
    ("missing gate", "layer 1: 'self_attn.window_factors' is missing"),
    ("missing map", "layer 0: 'self_attn.feature_map_k.mlp.layer' is missing"),
    ("map shape", "layer 1 feature_map_q has shape [4, 8, 8], expected [4, 16, 8]"),
    ("gate shape", "layer 0 window_factors has shape [1, 3, 1, 1], expected [1, 4, 1, 1]"),
    ("unknown key", "1 tensor(s) liblola does not know"),
    ("extra layer", "beyond the model [2]"),
])
def test_bad_distill_checkpoints(tmp_path, hf_folders, weights, case, message):
    layers, _ = weights
    p = "model.layers."
    state = {
        "missing gate": lambda: _distill_without(layers, drop=p + "1.self_attn.window_factors"),
        "missing map": lambda: _distill_without(layers, drop=p + "0.self_attn.feature_map_k.mlp.layer"),
        "map shape": lambda: _distill_without(
            layers, reshape=(p + "1.self_attn.feature_map_q.mlp.layer", (4, 8, 8))),
        "gate shape": lambda: _distill_without(
            layers, reshape=(p + "0.self_attn.window_factors", (1, 3, 1, 1))),
        "unknown key": lambda: {**_distill_without(layers), "model.embed_tokens.bias": np.zeros(3, np.float32)},
        "extra layer": lambda: {**_distill_without(layers),
                                **fx.distill_state({2: layers[0]}, "model.")},
    }[case]()
    path = str(tmp_path / "d.pt")
    fx.write_torch_pt(path, state, wrap="model_state_dict")
    with pytest.raises((ConversionError, CheckpointError)) as e:
        convert(hf_folders["F32"][0], str(tmp_path / "x.gguf"), collect([path]), "f32")
    assert message in str(e.value)
    assert not os.path.exists(tmp_path / "x.gguf"), "nothing is written before the checks pass"


def test_bad_lora_and_base(tmp_path, hf_folders, weights):
    layers, lora = weights
    d = str(tmp_path / "d.pt")
    fx.write_torch_pt(d, fx.distill_state(layers, "model."))
    # B without A
    state = fx.lora_state(lora)
    del state["base_model.model.model.layers.0.self_attn.v_proj.lora_A.default.weight"]
    f = str(tmp_path / "ft.pt")
    fx.write_torch_pt(f, state, wrap="model_state_dict")
    with pytest.raises(CheckpointError, match="layer 0 v_proj: lora_A is missing"):
        convert(hf_folders["F32"][0], str(tmp_path / "x.gguf"), collect([d, f]))
    # LoRA shaped for another model
    bad = dict(lora)
    a, b = bad[(1, "o")]
    bad[(1, "o")] = (a[:, :32], b)
    fx.write_torch_pt(f, fx.lora_state(bad), wrap="model_state_dict")
    with pytest.raises(CheckpointError, match=r"layer 1 o_proj: LoRA B @ A is \[64, 32\] but the weight is \[64, 64\]"):
        convert(hf_folders["F32"][0], str(tmp_path / "x.gguf"), collect([d, f]))
    # a rank given that the adapters do not have
    fx.write_torch_pt(f, fx.lora_state(lora), wrap="model_state_dict")
    with pytest.raises(CheckpointError, match="r = 8 was given but the adapters have rank 4"):
        convert(hf_folders["F32"][0], str(tmp_path / "x.gguf"), collect([d, f]), lora_r=8)
    # a base folder with a tensor missing
    import shutil
    base = str(tmp_path / "base")
    shutil.copytree(hf_folders["F32"][0], base)
    w = dict(hf_folders["F32"][1])
    del w["model.layers.1.mlp.up_proj.weight"]
    fx.write_hf_folder(base, SPEC, "F32", weights=w)
    with pytest.raises(ConversionError, match="'model.layers.1.mlp.up_proj.weight' is missing"):
        convert(base, str(tmp_path / "x.gguf"), collect([d]))


def test_not_a_checkpoint(tmp_path):
    path = tmp_path / "junk.pt"
    path.write_bytes(b"\x80\x02}q\x00.")   # a bare legacy pickle, not a zip archive
    with pytest.raises(CheckpointError, match="not a zip-format torch checkpoint"):
        safe_pt.load(str(path))


# ---------------------------------------------------------------------------------------------
# The model's LoLA defaults (lola.* metadata) in new contexts
# ---------------------------------------------------------------------------------------------


def test_contexts_take_the_models_lola_defaults(lib, tmp_path, hf_folders, hf_reference, weights):
    """lola_context_params_init leaves chunk, sparse capacity and mixing at LOLA_MODEL_DEFAULT:
    a context on the converted file then runs C = 4, lambda = 3, mode B as the file says;
    explicit values still win."""
    layers, lora = weights
    distill, ft = write_checkpoints(str(tmp_path), layers, lora, "peft-prefix")
    out = str(tmp_path / "m.gguf")
    convert(hf_folders["F32"][0], out, collect([distill, ft]), "f32",
            LolaDefaults(CHUNK, SPARSE, "B"), lora_alpha=SPEC.lora_alpha)
    got, model, ctx = run_liblola(lib, out)
    assert ctx.params["chunk_size"] == ctx.params["sparse_capacity"] == ctx.params["mixing"] == -1
    assert rel_err(got, hf_reference("F32", lola_cfg("lolcats"))) <= TOL_EXACT
    st = ctx.head_state(0, 0)
    assert st["n_sparse"] == SPARSE and st["n_window"] == N_TOKENS % CHUNK + CHUNK
    got_a, _, _ = run_liblola(lib, out, mixing=L.MIXING_LOLA)
    assert rel_err(got_a, hf_reference("F32", lola_cfg("lola"))) <= TOL_EXACT


def test_plain_llama_and_library_defaults(lib, tmp_path, hf_folders):
    import gguf
    import tiny_models

    # without --distill: a plain Llama; hidden size <= 2048 gets the 1B's C = lambda = 256
    out = str(tmp_path / "plain.gguf")
    convert(hf_folders["F32"][0], out, None, "f32")
    r = gguf.GGUFReader(out)
    assert r.fields["lola.chunk_size"].contents() == r.fields["lola.sparse_capacity"].contents() == 256
    assert "lola.feature_map" not in r.fields
    assert not [t.name for t in r.tensors if ".lola." in t.name]
    # a file without lola.* metadata: the library's C = lambda = 64 (nothing folded in 40 tokens,
    # whereas C = 4 would fold)
    path = tiny_models.write_model(str(tmp_path / "nometa.gguf"),
                                   tiny_models.ModelSpec(lola=True, n_vocab=SPEC.n_vocab))
    _, _, ctx = run_liblola(lib, path)
    st = ctx.head_state(0, 0)
    assert (st["n_window"], st["n_sparse"], st["n_folded"]) == (N_TOKENS, 0, 0)


@pytest.mark.parametrize("key,value,message", [
    ("lola.mixing", "C", "metadata 'lola.mixing' = 'C'"),
    ("lola.chunk_size", 0, "metadata 'lola.chunk_size' = 0 is out of range"),
    ("lola.feature_dim", 99, "metadata 'lola.feature_dim' = 99, the hedgehog tensors have F = 16"),
])
def test_bad_lola_metadata_is_refused(lib, tmp_path, key, value, message):
    import gguf
    import tiny_models

    path = str(tmp_path / "bad.gguf")
    spec = tiny_models.ModelSpec(lola=True)
    tiny_models.write_model(path, spec)
    # rewrite with the extra key: read everything back and add it
    r = gguf.GGUFReader(path)
    w = gguf.GGUFWriter(str(tmp_path / "bad2.gguf"), "llama")
    for name, f in r.fields.items():
        if name.startswith("GGUF.") or name == "general.architecture":
            continue
        v = f.contents()
        if isinstance(v, str):
            w.add_string(name, v)
        elif isinstance(v, float):
            w.add_float32(name, v)
        else:
            w.add_uint32(name, int(v))
    if isinstance(value, str):
        w.add_string(key, value)
    else:
        w.add_uint32(key, value)
    for t in r.tensors:
        w.add_tensor(t.name, np.array(t.data).reshape(tuple(reversed([int(x) for x in t.shape]))))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    with pytest.raises(L.LolaError) as e:
        lib.load_model(str(tmp_path / "bad2.gguf"))
    assert e.value.status == L.ERR_CORRUPT_DATA and message in str(e.value)
