"""lola.eval: the evaluation suite from Python, on the tiny test model (text tokenizes one
character per token): the report's structure, determinism, writing the report with its plots
and summary, progress and stopping, exceptions from the progress callable, and bad settings."""

import json
import os

import pytest

import lola
import lola.eval

PROSE = ("The river ran quietly past the old mill. Children played on its banks every summer! "
         "Who could forget the long evenings there? The miller kept a small boat tied to a post.\n") * 20


@pytest.fixture(scope="module")
def haystack(tmp_path_factory):
    path = tmp_path_factory.mktemp("eval") / "prose.txt"
    path.write_text(PROSE)
    return str(path)


def small(**kw):
    settings = dict(tasks=["passkey", "niah_prose", "mqar", "cost"], variants=["full", "window", "lola"],
                    lengths=[700, 900], depths=[0.0, 1.0], lambdas=[4, 8], cost_lengths=[700],
                    decode_tokens=2, chunk_size=8, sparse_capacity=8, progress=False)
    settings.update(kw)
    return settings


def test_the_report_holds_every_trial(tiny_model_path, haystack):
    report = lola.eval.run(tiny_model_path, haystack=haystack, **small())
    assert report["format"] == "lola-eval-report" and report["version"] == 1
    assert [v["name"] for v in report["variants"]] == ["full", "window", "lola"]
    assert report["settings"]["budget"] == 24
    main = [t for t in report["trials"] if t["grid"] == "main"]
    sweep = [t for t in report["trials"] if t["grid"] == "sweep"]
    assert len(main) == 3 * 2 * 2 * 3  # tasks x lengths x depths x variants
    assert len(sweep) == 2 * (1 + 2 * 2)
    assert {t["task"] for t in main} == {"passkey", "niah_prose", "mqar"}
    assert all(t["prompt_tokens"] <= t["length"] for t in main)
    assert all(t["correct"] == (t["score"] == 1.0) for t in report["trials"])
    assert len(report["cost"]) == 3
    assert len(report["residency"]["layers"]) == report["model"]["n_layers"]
    assert report["command"].startswith("lola.eval.run(") and "lambdas=[4, 8]" in report["command"]
    acc = lola.eval.accuracy(report, "passkey", "full")
    assert 0.0 <= acc <= 1.0
    assert lola.eval.accuracy(report, "passkey", "nothing") != lola.eval.accuracy(report, "passkey", "nothing")


def test_a_model_object_and_a_fixed_seed_give_the_same_trials(tiny_model_path, haystack):
    with lola.Model(tiny_model_path) as m:
        a = lola.eval.run(m, haystack=haystack, **small(tasks=["passkey", "mqar"], lambdas=None))
    b = lola.eval.run(tiny_model_path, haystack=haystack, **small(tasks=["passkey", "mqar"], lambdas=None))
    c = lola.eval.run(tiny_model_path, haystack=haystack, **small(tasks=["passkey", "mqar"], lambdas=None, seed=9))
    assert a["trials"] == b["trials"]
    assert a["trials"] != c["trials"]


def test_write_gives_report_summary_and_plots(tiny_model_path, haystack, tmp_path):
    pytest.importorskip("matplotlib", reason="lola.eval's plots need matplotlib")
    report = lola.eval.run(tiny_model_path, haystack=haystack, out_dir=tmp_path, **small())
    names = sorted(os.listdir(tmp_path))
    for name in ("report.json", "summary.md", "heatmap_passkey.png", "heatmap_niah_prose.png",
                 "heatmap_mqar.png", "accuracy_vs_budget.png", "cache_vs_length.png", "residency.png"):
        assert name in names, name
        assert os.path.getsize(tmp_path / name) > 0
    assert (tmp_path / "heatmap_passkey.png").read_bytes().startswith(b"\x89PNG")
    assert lola.eval.load(tmp_path / "report.json") == json.loads(json.dumps(report))
    summary = (tmp_path / "summary.md").read_text()
    assert "### niah_prose" in summary and "![heatmap_passkey.png](heatmap_passkey.png)" in summary
    assert lola.eval.summary(report).startswith("# lola eval: ")


def test_progress_counts_up_and_can_stop(tiny_model_path, haystack):
    seen = []
    lola.eval.run(tiny_model_path, haystack=haystack,
                  **small(tasks=["passkey"], lambdas=None, progress=lambda *p: seen.append(p)))
    assert seen and seen[-1][0] == seen[-1][1]
    assert all(a[0] < b[0] for a, b in zip(seen, seen[1:]))
    assert isinstance(seen[0][4], str) and "passkey" in seen[0][4]
    calls = []
    with pytest.raises(lola.AbortedError):
        lola.eval.run(tiny_model_path, haystack=haystack,
                      **small(tasks=["passkey"], lambdas=None, progress=lambda *p: calls.append(p) or len(calls) < 2))
    assert len(calls) == 2


def test_an_exception_in_the_progress_callable_propagates(tiny_model_path, haystack):
    def boom(*p):
        raise ZeroDivisionError("from the callback")
    with pytest.raises(ZeroDivisionError, match="from the callback"):
        lola.eval.run(tiny_model_path, haystack=haystack, **small(tasks=["passkey"], lambdas=None, progress=boom))


def test_bad_settings_are_refused(tiny_model_path, haystack, tmp_path):
    with pytest.raises(ValueError, match="unknown task 'needles'"):
        lola.eval.run(tiny_model_path, **small(tasks=["needles"]))
    with pytest.raises(ValueError, match="unknown variant 'flash'"):
        lola.eval.run(tiny_model_path, **small(variants=["flash"]))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        lola.eval.run(tiny_model_path, **small(depths=[2.0]))
    with pytest.raises(ValueError, match="cannot read the haystack"):
        lola.eval.run(tiny_model_path, haystack=tmp_path / "missing.txt", **small())
    with pytest.raises(TypeError, match="unknown parameter 'chunk'"):
        lola.eval.run(tiny_model_path, chunk=8)
    with pytest.raises(lola.LolaIOError):
        lola.eval.run(tmp_path / "missing.gguf", **small())
    (tmp_path / "not_a_report.json").write_text('{"format": "other"}')
    with pytest.raises(ValueError, match="not a lola eval report"):
        lola.eval.load(tmp_path / "not_a_report.json")
