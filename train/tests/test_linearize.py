"""lola-linearize end to end on the tiny test Llama (seconds).

Needs torch (skipped, saying so, where it is missing), gguf, numpy and liblola's Python package
(PYTHONPATH to a build's package; ctest sets it), and the tiny model (LOLA_TEST_MODEL).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is not installed (Debian: python3-torch)")
lola = pytest.importorskip("lola", reason="liblola's Python package is not on PYTHONPATH")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent.parent / "tests" / "python"))

from lola_linearize import cli, data, export  # noqa: E402
from lola_linearize.gguf_llama import GGUFLlama  # noqa: E402
from lola_linearize.student import chunked_attention, reference_attention  # noqa: E402
from lola_linearize.transfer import CHECKPOINT  # noqa: E402

DEFAULT_MODEL = HERE.parent.parent / "build" / "tests" / "tiny_vocab_llama.gguf"
CHUNK = 8
WORDS = ("the river runs past a quiet mill where old stones turn slowly and the miller counts "
         "sacks of grain each morning before the market opens in town while children watch "
         "boats drift under the bridge and gulls call above the water").split()


@pytest.fixture(scope="session")
def base():
    path = Path(os.environ.get("LOLA_TEST_MODEL", DEFAULT_MODEL))
    if not path.is_file():
        pytest.fail(f"the tiny test model {path} is missing (build the project, or set LOLA_TEST_MODEL)")
    return path


@pytest.fixture(scope="session")
def text_dir(tmp_path_factory):
    """Six 'documents' of seeded word salad: deterministic, and no evaluation text."""
    d = tmp_path_factory.mktemp("text")
    rng = np.random.default_rng(1)
    for i in range(6):
        paras = []
        for _ in range(12):
            paras.append(" ".join(WORDS[j] for j in rng.integers(0, len(WORDS), 40)).capitalize() + ".")
        (d / f"doc{i}.txt").write_text("\n\n".join(paras))
    return d


def args(base, text_dir, out, work, *extra):
    return [str(base), "-o", str(out), "--work", str(work), "--text", str(text_dir),
            "--tokens", "6K", "--seq-len", "64", "--chunk", str(CHUNK), "--sparse", "3",
            "--eval-every", "10", "--holdout", "0.3", "--holdout-sequences", "2",
            "--threads", "1", "--lr", "0.05", *extra]


@pytest.fixture(scope="session")
def trained(base, text_dir, tmp_path_factory):
    """One uninterrupted run, written as a full model and (a second export) as an adapter."""
    d = tmp_path_factory.mktemp("run")
    summary = cli.run(args(base, text_dir, d / "full.gguf", d / "work", "--full",
                           "--snapshot-tokens", "2K"))
    return d, summary


def torch_logits(teacher, tokens, layers, sparse=None, mixing="lolcats"):
    def attention(l, q, k, v):
        ke, ve = teacher.expand_kv(k), teacher.expand_kv(v)
        if sparse is None:
            return chunked_attention(q, ke, ve, layers[l], CHUNK, mixing)
        L = layers[l]
        return reference_attention(q, ke, ve, L.fmap_q, L.fmap_k, L.window_factors, CHUNK,
                                   sparse, mixing).float()
    return teacher.forward(torch.tensor([tokens]), attention)[0].numpy()


def liblola_logits(model, tokens, **params):
    with model.create_context(**params) as ctx:
        ctx.feed(tokens, all_logits=True)
        return np.array(ctx.all_logits, copy=True)


def maps_of(path):
    r = __import__("gguf").GGUFReader(str(path))
    return {t.name: np.array(t.data) for t in r.tensors if ".lola." in t.name}


def rel(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def test_loss_falls(trained):
    _, s = trained
    first, last = s["evals"][0]["loss"], s["best"]["loss"]
    assert last < 0.7 * first, f"hold-out loss {first:.3e} -> {last:.3e}"
    assert s["check"]["passed"] and s["check"]["max_relative_l2"] < 1e-4
    assert len(s["history"]) == s["step"] and s["tokens_trained"] >= 6000
    assert all(len(h["layers"]) == 2 for h in s["history"])


def test_exported_model_equals_the_torch_student(trained, base):
    d, s = trained
    teacher = GGUFLlama(base)
    model = lola.Model(d / "full.gguf")
    assert model.info.has_lola_tensors
    # the maps liblola reads back are the best ones the trainer kept
    blob = torch.load(d / "work" / CHECKPOINT)
    from lola_linearize.transfer import Transfer  # noqa: F401  (layers_from needs a trainer)
    from lola_linearize.student import HedgehogLayer
    layers = []
    for l in range(teacher.hp.n_layer):
        h = HedgehogLayer(teacher.hp.n_head, teacher.hp.head_dim)
        h.load_state_dict({k.split(".", 1)[1]: v for k, v in blob["best"]["layers"].items()
                           if k.startswith(f"{l}.")})
        layers.append(h)
    maps = maps_of(d / "full.gguf")
    np.testing.assert_array_equal(maps["blk.1.lola.fmap_k.weight"], layers[1].fmap_k.detach().numpy())
    tokens = model.tokenize(" ".join(WORDS[:30]))[:70]
    # lambda = 0: the trained form
    got = liblola_logits(model, tokens, sparse_capacity=0)
    want = torch_logits(teacher, tokens, layers)
    assert rel(got, want) < 1e-5
    # LoLA (lambda = 3, the file's default): the token-by-token reference with the sparse cache
    got = liblola_logits(model, tokens)
    want = torch_logits(teacher, tokens, layers, sparse=3)
    assert rel(got, want) < 1e-5
    # and the maps matter: the identity maps give other logits
    ident = [HedgehogLayer(teacher.hp.n_head, teacher.hp.head_dim) for _ in layers]
    assert rel(torch_logits(teacher, tokens, ident), want) > 1e-3


def test_full_export_keeps_every_base_tensor(trained, base):
    d, _ = trained
    g = __import__("gguf")
    src = {t.name: t for t in g.GGUFReader(str(base)).tensors}
    out = {t.name: t for t in g.GGUFReader(str(d / "full.gguf")).tensors}
    assert set(out) - set(src) == {f"blk.{l}.lola.{n}" for l in range(2)
                                   for n in ("fmap_q.weight", "fmap_k.weight", "window_factors")}
    for name, t in src.items():
        assert out[name].tensor_type == t.tensor_type
        np.testing.assert_array_equal(np.array(out[name].data), np.array(t.data))


def test_snapshot_written(trained):
    d, s = trained
    assert list(s["snapshots"]) == ["2000"] and Path(s["snapshots"]["2000"]).is_file()
    assert not np.array_equal(maps_of(s["snapshots"]["2000"])["blk.0.lola.fmap_q.weight"],
                              maps_of(d / "full.gguf")["blk.0.lola.fmap_q.weight"])


def test_resume_after_a_stop_gives_the_same_maps(base, text_dir, tmp_path, trained):
    d, s = trained
    a = args(base, text_dir, tmp_path / "full.gguf", tmp_path / "work", "--full", "--snapshot-tokens", "2K")
    part = cli.run(a + ["--stop-after", "7"])
    assert part["stopped"] and part["step"] == 7
    rest = cli.run(a)
    assert rest["resumed_from_step"] == 7 and rest["step"] == s["step"]
    for name, arr in maps_of(d / "full.gguf").items():
        np.testing.assert_array_equal(maps_of(tmp_path / "full.gguf")[name], arr, err_msg=name)
    assert [e["loss"] for e in rest["evals"]] == [e["loss"] for e in s["evals"]]


def test_resume_after_a_kill_gives_the_same_maps(base, text_dir, tmp_path, trained):
    d, s = trained
    work = tmp_path / "work"
    a = args(base, text_dir, tmp_path / "full.gguf", work, "--full", "--snapshot-tokens", "2K",
             "--checkpoint-every", "1")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE.parent)] + sys.path))
    p = subprocess.Popen([sys.executable, "-m", "lola_linearize"] + a, env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not (work / CHECKPOINT).exists() and time.time() < deadline and p.poll() is None:
        time.sleep(0.05)
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert (work / CHECKPOINT).exists(), "the run never wrote a checkpoint"
    killed_at = torch.load(work / CHECKPOINT)["step"]
    assert 0 < killed_at < s["step"], f"the kill came at step {killed_at} of {s['step']}"
    cli.run(a)
    for name, arr in maps_of(d / "full.gguf").items():
        np.testing.assert_array_equal(maps_of(tmp_path / "full.gguf")[name], arr, err_msg=name)


def test_other_settings_are_not_resumed(base, text_dir, trained):
    d, _ = trained
    with pytest.raises(cli.LinearizeError, match="other settings: chunk 8 \\(now 4\\)"):
        cli.run(args(base, text_dir, d / "x.gguf", d / "work", "--full", "--chunk", "4"))


def test_adapter_equals_full_model_and_is_refused_elsewhere(trained, base, text_dir, tmp_path):
    d, _ = trained
    adapter = tmp_path / "tiny.lola.gguf"
    shutil.copytree(d / "work", tmp_path / "work")
    s = cli.run(args(base, text_dir, adapter, tmp_path / "work"))   # resumed at its end: export only
    assert s["kind"] == "adapter" and adapter.stat().st_size < 20_000
    full = lola.Model(d / "full.gguf")
    with lola.Model(base, adapter=str(adapter)) as m:
        tokens = m.tokenize(" ".join(WORDS[5:40]))
        np.testing.assert_array_equal(liblola_logits(m, tokens), liblola_logits(full, tokens))
    import tiny_models as tm
    other = tmp_path / "other.gguf"
    tm.write_model(other, tm.ModelSpec(n_vocab=97, n_embd=32, n_layer=2, n_head=4, n_head_kv=2,
                                       n_ff=64, seed=5))
    with pytest.raises(lola.LolaError, match="fingerprint"):
        lola.Model(other, adapter=str(adapter))


def test_init_continues_an_adapter_where_it_stopped(base, text_dir, tmp_path):
    # stage 1: 48 steps of 64 tokens, as an adapter; stage 2 starts from it at step 48
    first = tmp_path / "first.lola.gguf"
    s1 = cli.run(args(base, text_dir, first, tmp_path / "w1", "--tokens", "3072"))
    assert s1["step"] == 48
    s2 = cli.run(args(base, text_dir, tmp_path / "second.lola.gguf", tmp_path / "w2", "--init", str(first),
                      "--init-tokens", "3072"))
    assert s2["resumed_from_step"] == 48 and s2["step"] == 94
    assert s2["history"][0]["step"] == 49 and len(s2["history"]) == 94 - 48
    # the continued run starts from exactly the first stage's best maps
    assert s2["evals"][0]["step"] == 48
    assert s2["evals"][0]["loss"] == pytest.approx(s1["best"]["loss"], rel=1e-6)
    assert s2["best"]["loss"] <= s1["best"]["loss"]
    assert s2["config"]["init"] == str(first) and s2["config"]["init_tokens"] == 3072
    # refused: a count off the step grid, --init-tokens alone, another model's adapter
    with pytest.raises(cli.LinearizeError, match="whole number of steps"):
        cli.run(args(base, text_dir, tmp_path / "x.gguf", tmp_path / "w3", "--init", str(first),
                     "--init-tokens", "3000"))
    with pytest.raises(cli.LinearizeError, match="--init-tokens needs --init"):
        cli.run(args(base, text_dir, tmp_path / "x.gguf", tmp_path / "w4", "--init-tokens", "3072"))
    import tiny_models as tm
    other = tmp_path / "other.gguf"
    tm.write_model(other, tm.ModelSpec(n_vocab=97, n_embd=32, n_layer=2, n_head=4, n_head_kv=2,
                                       n_ff=64, seed=5))
    with pytest.raises(cli.LinearizeError, match="fingerprint"):
        cli.run(args(other, text_dir, tmp_path / "x.gguf", tmp_path / "w5", "--init", str(first)))


def test_evaluation_text_is_kept_out(tmp_path):
    (tmp_path / "a.txt").write_text(
        "A paragraph of its own that is long enough to be kept by the reader.\n\n"
        "Everyone is permitted to copy and distribute verbatim copies of this license document, "
        "but changing it is not allowed.\n\n"
        "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.")
    (tmp_path / "b.txt").write_text("Another document, long enough, about rivers and mills and grain.")
    c = data.collect([str(tmp_path)], holdout_fraction=0.0)
    text = " ".join(doc.text for doc in c.train + c.holdout)
    assert c.dropped_paragraphs == 2 and "grass" not in text and "verbatim" not in text
    assert "rivers" in text and "paragraph of its own" in text


def test_bad_inputs_are_clear_errors(base, text_dir, tmp_path):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 20)
    with pytest.raises(cli.LinearizeError, match="cannot load"):
        cli.run(args(bad, text_dir, tmp_path / "o.gguf", tmp_path / "w"))
    with pytest.raises(cli.LinearizeError, match="no such file"):
        cli.run(args(base, tmp_path / "missing", tmp_path / "o.gguf", tmp_path / "w"))
    assert cli.main(args(base, text_dir, tmp_path / "o.gguf", tmp_path / "w", "--feature-dim", "7")) == 1


def test_lora_stage(base, text_dir, tmp_path):
    out = tmp_path / "lora.gguf"
    s = cli.run(args(base, text_dir, out, tmp_path / "work", "--full", "--tokens", "2K",
                     "--lora-tokens", "3K", "--lora-rank", "4", "--lora-lr", "3e-3"))
    ev = s["lora"]["evals"]
    assert s["lora"]["tokens_trained"] >= 3000 and ev[-1]["loss"] < ev[0]["loss"], ev
    g = __import__("gguf")
    tensors = {t.name: t for t in g.GGUFReader(str(out)).tensors}
    assert tensors["blk.0.attn_q.weight"].tensor_type == g.GGMLQuantizationType.F16
    # liblola runs the merged model exactly as the torch student with those weights
    teacher = GGUFLlama(out)
    from lola_linearize.student import HedgehogLayer
    layers = []
    for l in range(teacher.hp.n_layer):
        h = HedgehogLayer(teacher.hp.n_head, teacher.hp.head_dim)
        m = maps_of(out)
        h.fmap_q.data = torch.from_numpy(m[f"blk.{l}.lola.fmap_q.weight"].copy())
        h.fmap_k.data = torch.from_numpy(m[f"blk.{l}.lola.fmap_k.weight"].copy())
        h.window_factors.data = torch.from_numpy(m[f"blk.{l}.lola.window_factors"].copy())
        layers.append(h)
    model = lola.Model(out)
    tokens = model.tokenize(" ".join(WORDS[3:33]))
    assert rel(liblola_logits(model, tokens, sparse_capacity=0), torch_logits(teacher, tokens, layers)) < 1e-5
    with pytest.raises(cli.LinearizeError, match="add --full"):
        cli.run(args(base, text_dir, out, tmp_path / "w2", "--lora-tokens", "1K"))
