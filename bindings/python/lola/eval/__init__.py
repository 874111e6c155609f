"""The evaluation suite of ``lola eval``, from Python: needle tasks (the pass key, RULER's
needles in prose, multi-key, multi-value, multi-query), associative recall, perplexity and the
cost of each attention variant at one cache budget, with a lambda sweep and a cache-residency
snapshot. The runner is liblola's own (eval/, the same code as the command); the plots are
drawn with matplotlib (``lola.eval.plots``, an optional dependency). docs/EVAL.md defines the
tasks and the report.

    import lola.eval
    report = lola.eval.run("model.gguf", tasks=["passkey", "niah_prose"],
                           lengths=[1024, 2048], out_dir="eval-report")
    print(lola.eval.accuracy(report, "passkey", "lola"))
"""

from __future__ import annotations

import inspect
import json
import os
import sys
import time
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Union

from .._native import _lola
from .._params import fill, fill_with_attention

__all__ = ["TASKS", "VARIANTS", "run", "summary", "plot", "write", "accuracy", "load"]

#: The tasks, in the report's order.
TASKS = ("passkey", "niah_prose", "niah_multikey", "niah_multivalue", "niah_multiquery",
         "mqar", "perplexity", "cost")
#: The attention variants, each at the same cache budget (lambda + 2C pairs per head).
VARIANTS = ("full", "window", "linear", "lola", "performer", "recency", "random", "value_norm")

Progress = Callable[[int, int, float, float, str], Optional[bool]]


class _Bar:
    """A progress bar with ETA on stderr (redrawn in place on a terminal)."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.next = 0

    def __call__(self, done: int, total: int, elapsed: float, eta: float, what: str) -> bool:
        f = done / total if total else 1.0
        clock = lambda s: time.strftime("%H:%M:%S" if s >= 3600 else "%M:%S", time.gmtime(s))
        if self.tty:
            bar = "#" * int(f * 30)
            sys.stderr.write(f"\r\x1b[K[{bar:<30}] {int(f * 100):3d}% {clock(elapsed)}, "
                             f"ETA {clock(eta)} · {what}")
            if done >= total:
                sys.stderr.write("\r\x1b[K")
        elif int(f * 100) >= self.next:
            sys.stderr.write(f"lola.eval: {int(f * 100):3d}% after {clock(elapsed)}, "
                             f"ETA {clock(eta)} · {what}\n")
            self.next = int(f * 100) // 5 * 5 + 5
        sys.stderr.flush()
        return True


def _list(value: Optional[Iterable[Any]]) -> Optional[List[Any]]:
    return None if value is None else list(value)


def run(model: Union[str, os.PathLike, Any], *,
        tasks: Optional[Sequence[str]] = None,
        variants: Optional[Sequence[str]] = None,
        lengths: Sequence[int] = (1024, 2048),
        depths: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0),
        trials: int = 1,
        seed: int = 1,
        lambdas: Optional[Sequence[int]] = (16, 64, 256),
        sweep_task: str = "passkey",
        sweep_length: int = 0,
        cost_lengths: Optional[Sequence[int]] = None,
        decode_tokens: int = 32,
        haystack: Optional[Union[str, os.PathLike]] = None,
        text: Optional[Union[str, os.PathLike]] = None,
        perplexity_windows: int = 4,
        residency: bool = True,
        out_dir: Optional[Union[str, os.PathLike]] = None,
        plots: bool = True,
        progress: Union[bool, Progress] = True,
        device: Any = "cpu",
        device_index: int = 0,
        **params: Any) -> Dict[str, Any]:
    """Runs the suite on ``model`` (a GGUF path, or a ``lola.Model`` whose file is used) and
    returns the report as a dict (docs/EVAL.md, "report.json").

    ``tasks`` / ``variants``: subsets of TASKS / VARIANTS (None: all). ``lengths``: prompt
    tokens; ``depths``: needle depths in [0, 1]; ``trials`` prompts per point, made from
    ``seed``. ``lambdas``: the sweep's sparse capacities (None or empty: no sweep), run on
    ``sweep_task`` at ``sweep_length`` (0: the largest length). ``cost_lengths`` (None:
    ``lengths``) and ``decode_tokens``: the cost task. ``haystack``: prose for the niah tasks,
    ``text``: the perplexity text (None: the GPL text every Debian system has). Other keywords
    are the context's and attention's (``chunk_size``, ``sparse_capacity``, ``feature_map``,
    ``n_threads``, ``gate_logit``, ...), as for ``lola.Context``.

    With ``out_dir`` the report is also written there (``write``). ``progress``: True for a
    bar on stderr, False for none, or a callable ``(done, total, elapsed, eta, what)``
    returning False to stop (raises ``lola.AbortedError``). Ctrl-C raises KeyboardInterrupt.
    Bad settings raise ValueError, what liblola refuses the usual ``lola.LolaError``s."""
    call = dict(locals())
    path = os.fspath(getattr(model, "path", model))
    model_params = _lola.ModelParams()
    fill(model_params, {"device": device, "device_index": device_index})
    context_params = _lola.ContextParams()
    attention = fill_with_attention(context_params, params)
    settings = {
        "tasks": _list(tasks) or [], "variants": _list(variants) or [],
        "lengths": [int(x) for x in lengths], "depths": [float(x) for x in depths],
        "trials": int(trials), "seed": int(seed), "lambdas": [int(x) for x in (lambdas or [])],
        "sweep_task": sweep_task, "sweep_length": int(sweep_length),
        "cost_lengths": [int(x) for x in (cost_lengths or [])],
        "decode_tokens": int(decode_tokens),
        "haystack": os.fspath(haystack) if haystack is not None else "",
        "text": os.fspath(text) if text is not None else "",
        "perplexity_windows": int(perplexity_windows), "residency": bool(residency),
        "command": _command(path, call),
    }
    hook = _Bar() if progress is True else (progress or None)
    report = json.loads(_lola.eval_run(path, model_params, context_params, attention,
                                       json.dumps(settings), hook))
    if out_dir is not None:
        write(report, out_dir, plots=plots)
    return report


def _command(path: str, args: Dict[str, Any]) -> str:
    """How the run can be repeated, for the report: the call with its non-default keywords."""
    defaults = {name: p.default for name, p in inspect.signature(run).parameters.items()}
    shown = {k: v for k, v in args.items()
             if k in defaults and k not in ("model", "params", "progress", "out_dir", "plots")
             and v != defaults[k]}
    shown.update(args.get("params") or {})
    inner = "".join(f", {k}={v!r}" for k, v in shown.items())
    return f"lola.eval.run({path!r}{inner})"


def summary(report: Dict[str, Any], plots: Sequence[str] = ()) -> str:
    """The Markdown summary of a report (the same as ``lola eval``'s summary.md), linking the
    given plot file names."""
    return _lola.eval_summary(json.dumps(report), list(plots))


def plot(report: Dict[str, Any], out_dir: Union[str, os.PathLike]) -> List[str]:
    """Draws the report's PNG plots into ``out_dir`` (needs matplotlib); returns their paths."""
    try:
        from . import plots
    except ImportError as e:  # matplotlib missing
        raise ImportError(f"lola.eval.plot needs matplotlib (pip install matplotlib): {e}") from e
    os.makedirs(os.fspath(out_dir), exist_ok=True)
    return plots.draw(report, os.fspath(out_dir))


def write(report: Dict[str, Any], out_dir: Union[str, os.PathLike], plots: bool = True) -> List[str]:
    """Writes report.json, the plots (unless ``plots`` is False) and summary.md into
    ``out_dir``; returns the paths written."""
    out = os.fspath(out_dir)
    os.makedirs(out, exist_ok=True)
    written = [os.path.join(out, "report.json")]
    with open(written[0], "w", encoding="utf-8") as f:
        json.dump(report, f, indent=1, ensure_ascii=False)
        f.write("\n")
    drawn = plot(report, out) if plots else []
    with open(os.path.join(out, "summary.md"), "w", encoding="utf-8") as f:
        f.write(summary(report, [os.path.basename(p) for p in drawn]))
    return written + drawn + [os.path.join(out, "summary.md")]


def load(path: Union[str, os.PathLike]) -> Dict[str, Any]:
    """A report.json read back (ValueError if it is not one)."""
    with open(os.fspath(path), encoding="utf-8") as f:
        report = json.load(f)
    if not isinstance(report, dict) or report.get("format") != "lola-eval-report":
        raise ValueError(f"{os.fspath(path)} is not a lola eval report")
    return report


def accuracy(report: Dict[str, Any], task: str, variant: str, *, grid: str = "main",
             length: Optional[int] = None) -> float:
    """Mean score of a variant on a task (optionally at one context length); NaN if the
    report has no such trial."""
    scores = [t["score"] for t in report["trials"]
              if t["task"] == task and t["variant"] == variant and t["grid"] == grid
              and (length is None or t["length"] == length)]
    return sum(scores) / len(scores) if scores else float("nan")
