"""eval/plots.py on hand-made reports: the heatmap cells are the mean scores, the residency
image counts the heads, every plot with data is written as a PNG, a report without data
writes nothing, and the script form refuses a file that is not a report with one line."""

import importlib.util
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "..", "eval", "plots.py")
spec = importlib.util.spec_from_file_location("lola_eval_plots", SCRIPT)
plots = importlib.util.module_from_spec(spec)
spec.loader.exec_module(plots)


def trial(task, variant, length, depth, score, grid="main", lam=8):
    return {"task": task, "grid": grid, "variant": variant, "length": length, "prompt_tokens": length - 3,
            "depth": depth, "trial": 0, "seed": 1, "lambda": lam, "budget": lam + 16, "needles": [[5, 9]],
            "expected": ["1"], "answer": "1", "score": score, "correct": score == 1.0}


def report():
    variants = [{"name": n, "label": l, "attention": "lola", "chunk": 8, "sparse": 8, "scoring": "sre",
                 "budget": 24} for n, l in (("full", "full attention"), ("window", "window only"), ("lola", "LoLA"))]
    trials = []
    for task in ("passkey", "niah_prose"):
        for v in ("full", "window", "lola"):
            for length in (64, 128):
                for depth in (0.0, 0.5, 1.0):
                    trials.append(trial(task, v, length, depth, 1.0 if v == "full" else 0.0))
    trials.append(trial("passkey", "lola", 64, 0.5, 0.5))  # a second trial at one point
    trials.append(trial("passkey", "full", 128, 0.5, 1.0, grid="sweep", lam=0))
    for lam in (4, 8):
        for v in ("window", "lola"):
            trials.append(trial("passkey", v, 128, 0.5, 0.25 * lam / 4, grid="sweep", lam=lam))
    cost = [{"variant": v, "length": l, "prompt_tokens": l, "cache_bytes": (l if v == "full" else 64) * 1024,
             "prefill_tok_s": 100.0, "decode_tok_s": 10.0} for v in ("full", "window", "lola") for l in (64, 128)]
    ppl = [{"variant": v, "length": l, "windows": 1, "tokens_scored": l // 2, "nll": 2.0, "ppl": 7.4}
           for v in ("full", "lola") for l in (64, 128)]
    residency = {"task": "passkey", "variant": "lola", "length": 128, "depth": 0.5, "prompt_tokens": 100,
                 "needles": [[40, 50]], "chunk": 8, "sparse": 8,
                 "layers": [{"layer": 0, "heads": [{"head": 0, "sparse": [1, 41], "window": [90, 91]},
                                                   {"head": 1, "sparse": [41], "window": [90]}]},
                            {"layer": 1, "heads": [{"head": 0, "sparse": [], "window": [99]},
                                                   {"head": 1, "sparse": [7], "window": [99]}]}]}
    return {"format": "lola-eval-report", "version": 1, "command": "lola eval -m t.gguf", "liblola": "0.1.0",
            "started": "2026-12-03T00:00:00Z", "seconds": 1.0,
            "model": {"path": "t.gguf", "name": "tiny", "n_layers": 2},
            "settings": {"lengths": [64, 128], "depths": [0.0, 0.5, 1.0], "chunk": 8, "sparse": 8, "budget": 24,
                         "sweep_task": "passkey", "sweep_length": 128, "text": "prose.txt"},
            "variants": variants, "trials": trials, "perplexity": ppl, "cost": cost, "residency": residency}


def test_the_heatmap_cells_are_the_mean_scores():
    lengths, depths, m = plots.accuracy_grid(report(), "passkey", "lola")
    assert lengths == [64, 128] and depths == [0.0, 0.5, 1.0]
    assert m[1][0] == pytest.approx(0.25)  # 0.0 and 0.5 at depth 0.5, length 64
    assert m[0][1] == 0.0
    assert plots.accuracy_grid(report(), "passkey", "full")[2] == [[1.0, 1.0]] * 3
    assert plots.accuracy_grid(report(), "passkey", "nothing") == ([], [], [])


def test_the_residency_image_counts_heads_per_layer():
    sparse, window, width = plots.residency_image(report()["residency"], bins=10)
    assert width == 10
    assert sparse[0][4] == pytest.approx(1.0)  # position 41: both heads of layer 0
    assert sparse[0][0] == pytest.approx(0.5)  # position 1: one head of two
    assert sparse[1][0] == pytest.approx(0.5) and sum(sparse[1]) == pytest.approx(0.5)
    assert window[1][9] == pytest.approx(1.0)


def test_every_plot_is_written(tmp_path):
    written = plots.draw(report(), str(tmp_path))
    names = [os.path.basename(p) for p in written]
    assert names == sorted(["heatmap_passkey.png", "heatmap_niah_prose.png", "accuracy_vs_budget.png",
                            "cache_vs_length.png", "throughput.png", "perplexity.png", "residency.png"])
    for p in written:
        with open(p, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n", p
        assert os.path.getsize(p) > 2000, p


def test_a_report_without_data_writes_nothing(tmp_path):
    r = report()
    r.update(trials=[], cost=[], perplexity=[], residency=None)
    assert plots.draw(r, str(tmp_path)) == []
    assert os.listdir(tmp_path) == []


def test_the_script_refuses_what_is_not_a_report(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "something else"}')
    out = subprocess.run([sys.executable, SCRIPT, str(bad), str(tmp_path / "out")], capture_output=True, text=True)
    assert out.returncode == 1
    assert "is not a lola eval report" in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    missing = subprocess.run([sys.executable, SCRIPT, str(tmp_path / "none.json"), str(tmp_path)],
                             capture_output=True, text=True)
    assert missing.returncode == 1 and "cannot read the report" in missing.stderr
    usage = subprocess.run([sys.executable, SCRIPT], capture_output=True, text=True)
    assert usage.returncode == 2 and "usage" in usage.stderr
