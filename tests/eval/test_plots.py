"""eval/plots.py on a synthetic report: every plot with data is written as a PNG, the heatmap
cells are the mean scores, a report without data writes nothing, and the script form answers a
file that is not a report with one line on stderr and status 1."""

import importlib.util
import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.normpath(os.path.join(HERE, "..", "..", "eval", "plots.py"))
_spec = importlib.util.spec_from_file_location("lola_eval_plots_under_test", SCRIPT)
plots = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(plots)

LENGTHS = [64, 128]
DEPTHS = [0.0, 0.5, 1.0]
VARIANTS = [("full", "full attention", "full", 0), ("window", "window only", "window", 0),
            ("lola", "LoLA", "lola", 8)]


def trial(task, variant, length, depth, score, grid="main", lam=8, index=0):
    return {"task": task, "grid": grid, "variant": variant, "length": length, "prompt_tokens": length - 3,
            "depth": depth, "trial": index, "seed": 7 + index, "lambda": lam, "budget": lam + 16 if lam else 0,
            "needles": [[int(depth * (length - 12)), int(depth * (length - 12)) + 6]], "expected": ["4821"],
            "answer": " 4821", "score": score, "correct": score == 1.0}


def empty_report():
    return {"format": "lola-eval-report", "version": 1, "command": "lola eval -m tiny.gguf", "liblola": "0.4.0",
            "started": "2026-12-03T19:20:00Z", "seconds": 1.0,
            "model": {"path": "/x/tiny.gguf", "name": "tiny test model", "n_layers": 2, "n_heads": 4,
                      "n_kv_heads": 2, "head_dim": 16, "n_vocab": 256},
            "settings": {"tasks": ["passkey", "niah_prose", "perplexity", "cost"], "lengths": LENGTHS,
                         "depths": DEPTHS, "trials": 2, "seed": 1, "chunk": 8, "sparse": 8, "budget": 24,
                         "lambdas": [4, 8, 16], "sweep_task": "passkey", "sweep_length": 128,
                         "cost_lengths": [64, 128, 256], "answer_tokens": 8, "haystack": "", "text": ""},
            "variants": [{"name": n, "label": l, "attention": a, "chunk": 8, "sparse": s, "scoring": "sre",
                          "budget": 0 if a == "full" else 24} for n, l, a, s in VARIANTS],
            "trials": [], "perplexity": [], "cost": [], "residency": None}


def full_report():
    r = empty_report()
    trials = r["trials"]
    for ti, task in enumerate(("passkey", "niah_prose")):
        for vi, (v, _, _, _) in enumerate(VARIANTS):
            for li, length in enumerate(LENGTHS):
                for di, depth in enumerate(DEPTHS):
                    for k in range(2):
                        score = 1.0 if v == "full" else float((li + di + k + ti + vi) % 3 == 0)
                        trials.append(trial(task, v, length, depth, score, index=k))
    for lam in (4, 8, 16):
        for depth in DEPTHS:
            trials.append(trial("passkey", "lola", 128, depth, min(1.0, lam / 16), grid="sweep", lam=lam))
            trials.append(trial("passkey", "window", 128, depth, 0.0 if depth else 1.0, grid="sweep", lam=lam))
    for depth in DEPTHS:
        trials.append(trial("passkey", "full", 128, depth, 1.0, grid="sweep", lam=0))
    for v, _, a, _ in VARIANTS:
        for length in (64, 128, 256):
            r["cost"].append({"variant": v, "length": length, "prompt_tokens": length,
                              "cache_bytes": (length if a == "full" else 24) * 2 * 2 * 16 * 2 * 4 + 1024,
                              "prefill_tok_s": 5000.0 / (1 + length / 256), "decode_tok_s": 300.0 - length / 4})
        for length in LENGTHS:
            r["perplexity"].append({"variant": v, "length": length, "windows": 2, "tokens_scored": length,
                                    "nll": 2.0, "ppl": 8.0 + (0 if a == "full" else length / 32)})
    r["residency"] = {"task": "passkey", "variant": "lola", "length": 128, "depth": 0.5, "prompt_tokens": 125,
                      "needles": [[58, 64]], "chunk": 8, "sparse": 8,
                      "layers": [{"layer": 0, "heads": [{"head": 0, "sparse": [0, 3, 59, 60, 61], "window": list(range(109, 125))},
                                                        {"head": 1, "sparse": [60, 61, 62, 90], "window": list(range(109, 125))}]},
                                 {"layer": 1, "heads": [{"head": 0, "sparse": [1, 2, 100], "window": list(range(109, 125))},
                                                        {"head": 1, "sparse": [58, 59], "window": list(range(109, 125))}]}]}
    return r


EXPECTED = ["accuracy_vs_budget.png", "cache_vs_length.png", "heatmap_niah_prose.png", "heatmap_passkey.png",
            "perplexity.png", "residency.png", "throughput.png"]


def test_draw_writes_every_plot_as_png(tmp_path):
    out = tmp_path / "plots"
    paths = plots.draw(full_report(), str(out))
    assert paths == sorted(paths)
    assert [os.path.basename(p) for p in paths] == EXPECTED
    assert sorted(os.listdir(out)) == EXPECTED  # nothing else is written
    for p in paths:
        data = open(p, "rb").read()
        assert data.startswith(b"\x89PNG\r\n\x1a\n"), p
        assert 1000 < len(data) < 1_000_000, (p, len(data))


def test_accuracy_grid_is_the_mean_score():
    r = empty_report()
    r["trials"] = [trial("passkey", "lola", 64, 0.0, 1.0), trial("passkey", "lola", 64, 0.0, 0.5, index=1),
                   trial("passkey", "lola", 128, 0.0, 0.0), trial("passkey", "lola", 128, 1.0, 1.0),
                   trial("passkey", "lola", 64, 0.5, 0.5),
                   # not counted: another variant, task or grid
                   trial("passkey", "full", 64, 0.0, 0.0), trial("mqar", "lola", 64, 0.0, 0.0),
                   trial("passkey", "lola", 64, 0.0, 0.0, grid="sweep")]
    lengths, depths, matrix = plots.accuracy_grid(r, "passkey", "lola")
    assert lengths == [64, 128]
    assert depths == [0.0, 0.5, 1.0]
    assert matrix == [[0.75, 0.0], [0.5, None], [None, 1.0]]
    assert plots.accuracy_grid(r, "passkey", "window") == ([], [], [])
    assert plots.accuracy_grid(r, "niah_prose", "lola") == ([], [], [])


def test_sweep_curves_and_residency_image():
    lambdas, curves, flat = plots.sweep_curves(full_report())
    assert lambdas == [4, 8, 16]
    assert curves["lola"] == [(4, 0.25), (8, 0.5), (16, 1.0)]
    assert curves["window"] == [(4, pytest.approx(1 / 3)), (8, pytest.approx(1 / 3)), (16, pytest.approx(1 / 3))]
    assert flat == {"full": 1.0}
    layers, sparse, window = plots.residency_image(full_report()["residency"])
    assert layers == [0, 1]
    assert sparse.shape == window.shape == (2, 125)
    assert sparse[0, 60] == 1.0 and sparse[0, 0] == 0.5 and sparse[0, 1] == 0.0
    assert window[1, 124] == 1.0 and window[1, 0] == 0.0
    _, sparse, _ = plots.residency_image(full_report()["residency"], bins=5)  # 25 positions a bin
    assert sparse.shape == (2, 5)
    assert list(sparse[0]) == [0.5, 0.0, 1.0, 0.5, 0.0]


def test_a_report_without_data_writes_nothing(tmp_path):
    out = tmp_path / "empty"
    assert plots.draw(empty_report(), str(out)) == []
    assert not out.exists() or os.listdir(out) == []
    r = empty_report()
    r["variants"] = []
    r["residency"] = {"task": "passkey", "variant": "lola", "length": 64, "depth": 0.0, "prompt_tokens": 61,
                      "needles": [], "chunk": 8, "sparse": 8, "layers": []}
    assert plots.draw(r, str(out)) == []


def run_script(*args):
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True, timeout=120)


def test_script_prints_the_files(tmp_path):
    report = tmp_path / "report.json"
    report.write_text(json.dumps(full_report()), encoding="utf-8")
    done = run_script(str(report), str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert [os.path.basename(l) for l in done.stdout.splitlines()] == EXPECTED


@pytest.mark.parametrize("content", ['{"format": "something-else", "version": 1}',
                                     '{"format": "lola-eval-report", "version": 2}', "[1, 2", None])
def test_script_refuses_a_bad_report_in_one_line(tmp_path, content):
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_text(content, encoding="utf-8")
    done = run_script(str(bad), str(tmp_path / "out"))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and done.stderr.startswith("plots.py: ")
    assert done.stdout == ""
    assert not (tmp_path / "out").exists()


def test_script_usage_error():
    done = run_script("only-one-argument")
    assert done.returncode == 2
    assert "usage" in done.stderr and "Traceback" not in done.stderr
