"""plots.py: draws the PNG plots of a `lola eval` report (eval/REPORT_SCHEMA.md) with matplotlib,
headless. Standard library, numpy and matplotlib only: the CLI runs it as a script
(`python3 plots.py REPORT_JSON OUT_DIR` prints each file written) and Python imports it as
lola.eval.plots."""

import json
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.cm import ScalarMappable  # noqa: E402
from matplotlib.colors import ListedColormap, Normalize  # noqa: E402
from matplotlib.patches import Patch, Rectangle  # noqa: E402

DPI = 100
NOT_NEEDLE_TASKS = ("perplexity", "cost")
RESIDENCY_BINS = 512
HEATMAP_COLUMNS = 4

USAGE = "usage: plots.py REPORT_JSON OUT_DIR"

plt.rcParams.update({"font.size": 9, "axes.titlesize": 9, "axes.labelsize": 9, "xtick.labelsize": 8,
                     "ytick.labelsize": 8, "legend.fontsize": 8, "figure.titlesize": 10})


# --- the report's variants ---------------------------------------------------------------------

def variant_order(report, rows=()):
    """The variant names: those of report["variants"] in order, then any other name that `rows`
    (dicts with a "variant") use, in order of appearance."""
    names = [v["name"] for v in report.get("variants") or []]
    for r in rows:
        if r["variant"] not in names:
            names.append(r["variant"])
    return names


def _labels(report):
    return {v["name"]: v.get("label") or v["name"] for v in report.get("variants") or []}


def _is_full(report, name):
    for v in report.get("variants") or []:
        if v["name"] == name:
            return v.get("attention") == "full" or name == "full"
    return name == "full"


def _colours(report, rows=()):
    """One colour per variant, the same in every plot; full attention black."""
    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    out, i = {}, 0
    for name in variant_order(report, rows):
        if _is_full(report, name):
            out[name] = "black"
        else:
            out[name] = cycle[i % len(cycle)]
            i += 1
    return out


def _model(report):
    m = report.get("model") or {}
    return m.get("name") or os.path.basename(m.get("path") or "") or "model"


def _mean(xs):
    return sum(xs) / len(xs) if xs else None


def _key(x):
    """A depth or length as a dictionary key (depths are floats written by JSON)."""
    return round(float(x), 9)


# --- aggregation (pure functions) --------------------------------------------------------------

def needle_tasks(report, grid="main"):
    """The tasks of the trials of `grid` (perplexity and cost excluded), in the settings' order
    and then in order of appearance."""
    seen = [t["task"] for t in report.get("trials") or [] if t["grid"] == grid]
    order = [t for t in (report.get("settings") or {}).get("tasks") or [] if t in seen]
    for t in seen:
        if t not in order:
            order.append(t)
    return [t for t in order if t not in NOT_NEEDLE_TASKS]


def accuracy_grid(report, task, variant, grid="main"):
    """(lengths, depths, matrix): the mean score of `variant` on `task` over the trials of
    `grid` at each needle depth (rows, ascending) and context length (columns, ascending).
    The axes are the settings' lengths and depths together with any the trials use; a cell
    without a trial is None. All three are empty when the variant has no such trial."""
    cells = {}
    for t in report.get("trials") or []:
        if t["task"] == task and t["variant"] == variant and t["grid"] == grid:
            cells.setdefault((_key(t["depth"]), _key(t["length"])), []).append(float(t["score"]))
    if not cells:
        return [], [], []
    settings = report.get("settings") or {}
    lengths = sorted({_key(x) for x in settings.get("lengths") or []} | {l for _, l in cells})
    depths = sorted({_key(x) for x in settings.get("depths") or []} | {d for d, _ in cells})
    matrix = [[_mean(cells.get((d, l), [])) for l in lengths] for d in depths]
    lengths = [int(l) if float(l).is_integer() else l for l in lengths]
    return lengths, depths, matrix


def sweep_curves(report):
    """(lambdas, curves, flat): for the trials of the sweep, the λ values (ascending, > 0), the
    mean score per λ of each variant that varies with λ ({name: [(λ, mean), ...]}), and the mean
    score of each variant whose sweep trials all have λ = 0 (full attention: the ceiling),
    {name: mean}. Variants in the report's order."""
    trials = [t for t in report.get("trials") or [] if t["grid"] == "sweep"]
    curves, flat = {}, {}
    for name in variant_order(report, trials):
        rows = [t for t in trials if t["variant"] == name]
        if not rows:
            continue
        if _is_full(report, name) or all(t["lambda"] <= 0 for t in rows):
            flat[name] = _mean([float(t["score"]) for t in rows])
            continue
        by = {}
        for t in rows:
            if t["lambda"] > 0:
                by.setdefault(t["lambda"], []).append(float(t["score"]))
        curves[name] = [(lam, _mean(by[lam])) for lam in sorted(by)]
    lambdas = sorted({lam for pts in curves.values() for lam, _ in pts})
    return lambdas, curves, flat


def by_length(report, rows, key, scale=1.0):
    """{variant: [(length, row[key] * scale), ...]} by ascending length, variants in the report's
    order; rows whose value is missing or not finite are left out."""
    out = {}
    for name in variant_order(report, rows):
        pts = []
        for r in rows:
            if r["variant"] != name:
                continue
            x = r.get(key)
            if x is None or not math.isfinite(float(x)):
                continue
            pts.append((r["length"], float(x) * scale))
        if pts:
            out[name] = sorted(pts)
    return out


def residency_image(residency, bins=RESIDENCY_BINS):
    """(layers, sparse, window): the layer numbers (the image's rows, ascending) and two arrays
    of shape (len(layers), n_bins), n_bins = min(bins, prompt_tokens), where column b covers the
    positions p with p * n_bins // prompt_tokens == b: the fraction of the layer's heads whose
    sparse cache (sparse) or window (window) holds a position in that bin."""
    n = max(1, int(residency.get("prompt_tokens") or 0))
    width = max(1, min(int(bins), n))
    layers = sorted(residency.get("layers") or [], key=lambda l: l["layer"])
    sparse = np.zeros((len(layers), width))
    window = np.zeros((len(layers), width))
    for i, layer in enumerate(layers):
        heads = layer.get("heads") or []
        for h in heads:
            for image, kind in ((sparse, "sparse"), (window, "window")):
                pos = np.asarray([p for p in h.get(kind) or [] if 0 <= p < n], dtype=np.int64)
                if pos.size:
                    image[i, np.unique(pos * width // n)] += 1.0
        if heads:
            sparse[i] /= len(heads)
            window[i] /= len(heads)
    return [l["layer"] for l in layers], sparse, window


# --- drawing -----------------------------------------------------------------------------------

def _save(fig, out_dir, name):
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, name)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def _cell_text(x):
    if x == 1.0:
        return "1"
    if x == 0.0:
        return "0"
    return f"{x:.2f}"


def _heatmap(report, task, out_dir):
    labels = _labels(report)
    trials = [t for t in report.get("trials") or [] if t["grid"] == "main" and t["task"] == task]
    panels = [(v, accuracy_grid(report, task, v)) for v in variant_order(report, trials)]
    panels = [(v, g) for v, g in panels if g[0]]
    if not panels:
        return None
    cols = min(HEATMAP_COLUMNS, len(panels))
    rows = (len(panels) + cols - 1) // cols
    most_lengths = max(len(g[0]) for _, g in panels)
    most_depths = max(len(g[1]) for _, g in panels)
    pw = max(2.6, 0.55 * most_lengths + 1.0)
    ph = max(2.0, 0.32 * most_depths + 1.1)
    fig, axes = plt.subplots(rows, cols, figsize=(pw * cols + 0.9, ph * rows + 0.8), squeeze=False,
                             layout="constrained")
    cmap = plt.get_cmap("RdYlGn").with_extremes(bad="#d9d9d9")
    norm = Normalize(vmin=0.0, vmax=1.0)
    for i, ax in enumerate(axes.flat):
        if i >= len(panels):
            ax.set_axis_off()
            continue
        name, (lengths, depths, matrix) = panels[i]
        values = np.array([[np.nan if x is None else x for x in row] for row in matrix], dtype=float)
        ax.imshow(values, cmap=cmap, norm=norm, aspect="auto", interpolation="nearest")
        for r, row in enumerate(matrix):
            for c, x in enumerate(row):
                if x is None:
                    ax.text(c, r, "–", ha="center", va="center", fontsize=8, color="#555555")
                    continue
                red, green, blue, _ = cmap(norm(x))
                dark = 0.299 * red + 0.587 * green + 0.114 * blue < 0.5
                ax.text(c, r, _cell_text(x), ha="center", va="center", fontsize=8,
                        color="white" if dark else "black")
        ax.set_xticks(range(len(lengths)), [str(l) for l in lengths])
        ax.set_yticks(range(len(depths)), [f"{100 * d:.0f}%" for d in depths])
        ax.tick_params(length=0)
        ax.set_title(labels.get(name, name))
        if i % cols == 0:
            ax.set_ylabel("needle depth")
        if i + cols >= len(panels):
            ax.set_xlabel("context length (tokens)")
    bar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=axes, shrink=min(1.0, 0.9 if rows > 1 else 0.95),
                       aspect=25 * rows, pad=0.02)
    bar.set_label("mean score")
    budget = (report.get("settings") or {}).get("budget")
    fig.suptitle(f"{task}: accuracy by needle depth and context length — {_model(report)}, "
                 f"cache budget {budget} pairs per head")
    return _save(fig, out_dir, f"heatmap_{task}.png")


def _sweep(report, out_dir):
    lambdas, curves, flat = sweep_curves(report)
    if not curves and not flat:
        return None
    labels, colours = _labels(report), _colours(report)
    settings = report.get("settings") or {}
    fig, ax = plt.subplots(figsize=(6.4, 4.0), layout="constrained")
    for name, pts in curves.items():
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", color=colours.get(name),
                label=labels.get(name, name))
    for name, mean in flat.items():
        full = _is_full(report, name)
        ax.axhline(mean, color=colours.get(name, "black"), linestyle="--" if full else ":", linewidth=1.3,
                   label=f"{labels.get(name, name)} (ceiling)" if full or "λ" in labels.get(name, name)
                   else f"{labels.get(name, name)} (λ = 0)")
    if lambdas:
        ax.set_xscale("log", base=2)
        ax.set_xticks(lambdas, [str(l) for l in lambdas])
        ax.minorticks_off()
        if len(lambdas) == 1:
            ax.set_xlim(lambdas[0] / 2, lambdas[0] * 2)
    else:
        ax.set_xticks([])
    ax.set_ylim(-0.05, 1.05)
    chunk = settings.get("chunk")
    ax.set_xlabel("sparse cache λ (budget = λ + 2C pairs per head" + (f", C = {chunk})" if chunk else ")"))
    ax.set_ylabel("accuracy (mean score)")
    task = settings.get("sweep_task") or next(
        (t["task"] for t in report.get("trials") or [] if t["grid"] == "sweep"), "?")
    ax.set_title(f"Accuracy against the cache budget: {task} at {settings.get('sweep_length')} tokens\n"
                 f"{_model(report)}")
    ax.grid(alpha=0.3)
    _legend(fig, ax)
    return _save(fig, out_dir, "accuracy_vs_budget.png")


def _legend(fig, ax, handles=None, names=None):
    """The legend: inside the axes for a few entries, to the right of the figure for more."""
    if handles is None:
        handles, names = ax.get_legend_handles_labels()
    if not handles:
        return
    if len(handles) <= 4:
        ax.legend(handles, names, loc="best")
    else:
        fig.legend(handles, names, loc="outside lower center", ncol=3 if len(handles) > 4 else len(handles))


def _lines(ax, report, series, colours, labels):
    for name, pts in series.items():
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", color=colours.get(name),
                linestyle="--" if _is_full(report, name) else "-", label=labels.get(name, name))


def _length_axis(ax, series):
    lengths = sorted({p[0] for pts in series.values() for p in pts})
    ax.set_xscale("log", base=2)
    ax.set_xticks(lengths, [str(l) for l in lengths])
    ax.minorticks_off()
    if len(lengths) == 1:
        ax.set_xlim(lengths[0] / 2, lengths[0] * 2)
    ax.set_xlabel("context length (tokens)")


def _cost(report, out_dir):
    rows = report.get("cost") or []
    if not rows:
        return []
    labels, colours = _labels(report), _colours(report, rows)
    written = []
    cache = by_length(report, rows, "cache_bytes", 1.0 / (1024 * 1024))
    if cache:
        fig, ax = plt.subplots(figsize=(6.4, 4.0), layout="constrained")
        _lines(ax, report, cache, colours, labels)
        _length_axis(ax, cache)
        if all(p[1] > 0 for pts in cache.values() for p in pts):
            ax.set_yscale("log")
        ax.set_ylabel("cache (MiB, all layers)")
        ax.set_title(f"Cache memory against context length\n{_model(report)}")
        ax.grid(alpha=0.3, which="both")
        _legend(fig, ax)
        written.append(_save(fig, out_dir, "cache_vs_length.png"))
    speeds = [(by_length(report, rows, "decode_tok_s"), "decode"), (by_length(report, rows, "prefill_tok_s"), "prefill")]
    if any(s for s, _ in speeds):
        fig, axes = plt.subplots(1, 2, figsize=(10.0, 4.0), layout="constrained")
        for ax, (series, what) in zip(axes, speeds):
            if not series:
                ax.set_axis_off()
                continue
            _lines(ax, report, series, colours, labels)
            _length_axis(ax, series)
            ax.set_ylabel(f"{what} (tokens/s)")
            ax.set_title(f"{what} speed")
            ax.set_ylim(bottom=0)
            ax.grid(alpha=0.3)
        handles, names = [], []
        for ax in axes:
            for h, n in zip(*ax.get_legend_handles_labels()):
                if n not in names:
                    handles.append(h)
                    names.append(n)
        _legend(fig, axes[0], handles, names)
        fig.suptitle(f"Throughput against context length — {_model(report)} (timings of this machine)")
        written.append(_save(fig, out_dir, "throughput.png"))
    return written


def _perplexity(report, out_dir):
    rows = report.get("perplexity") or []
    series = by_length(report, rows, "ppl")
    if not series:
        return None
    labels, colours = _labels(report), _colours(report, rows)
    fig, ax = plt.subplots(figsize=(6.4, 4.0), layout="constrained")
    _lines(ax, report, series, colours, labels)
    _length_axis(ax, series)
    ax.set_ylabel("perplexity")
    text = os.path.basename((report.get("settings") or {}).get("text") or "")
    ax.set_title(f"Perplexity against context length{' on ' + text if text else ''}\n{_model(report)}")
    ax.grid(alpha=0.3)
    _legend(fig, ax)
    return _save(fig, out_dir, "perplexity.png")


def _residency(report, out_dir):
    r = report.get("residency")
    if not isinstance(r, dict) or not r.get("layers"):
        return None
    layers, sparse, window = residency_image(r)
    n = max(1, int(r.get("prompt_tokens") or 0))
    count, width = sparse.shape
    # The picture: white where nothing is cached, grey where the window holds the bin (lighter
    # where fewer heads do), and the sparse fraction on a colour map on top.
    cmap = ListedColormap(plt.get_cmap("viridis_r")(np.linspace(0.12, 1.0, 256)))
    norm = Normalize(vmin=0.0, vmax=1.0)
    grey = np.array([0.66, 0.66, 0.66])
    w = window[..., None]
    rgb = np.ones((count, width, 3)) * (1 - w) + grey * w
    rgb = np.where((sparse > 0)[..., None], cmap(norm(sparse))[..., :3], rgb)
    fig, ax = plt.subplots(figsize=(10.0, min(9.0, max(3.0, 0.17 * count + 1.9))), layout="constrained")
    ax.imshow(rgb, aspect="auto", interpolation="nearest", extent=(0, n, count - 0.5, -0.5))
    bin_width = n / width
    top = ax.get_xaxis_transform()  # x in tokens, y in axes fractions
    for span in r.get("needles") or []:
        b, e = span[0], max(span[1], span[0] + bin_width)
        ax.axvspan(b, e, color="red", alpha=0.15, linewidth=0, zorder=2)
        for x in (b, e):
            ax.axvline(x, color="red", linewidth=0.9, zorder=3)
        # a red strip above the image, so that the needle shows where the cache hides the band
        ax.add_patch(Rectangle((b, 1.0), e - b, 0.025, transform=top, color="red", clip_on=False, zorder=3))
    ax.set_xlim(0, n)
    step = max(1, int(math.ceil(count / 12)))
    ax.set_yticks(range(0, count, step), [str(layers[i]) for i in range(0, count, step)])
    ax.set_ylabel("layer")
    ax.set_xlabel(f"token position in the prompt ({n} tokens" + (f", {width} bins)" if width < n else ")"))
    handles = [Patch(facecolor="red", alpha=0.4, edgecolor="red", label="needle"),
               Patch(facecolor=grey, label="window (recent tokens)")]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.0, -0.18 if count < 8 else -0.08),
              ncol=2, frameon=False)
    bar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, pad=0.01, aspect=20)
    bar.set_label("fraction of heads\n(sparse cache)")
    label = _labels(report).get(r.get("variant"), r.get("variant"))
    depth = r.get("depth")
    depth = f"{100 * float(depth):.0f}%" if depth is not None else "?"
    ax.set_title(f"Sparse cache at the question: {r.get('task')}, {label}, {r.get('length')} tokens, "
                 f"needle depth {depth}\n{_model(report)}", pad=9)
    return _save(fig, out_dir, "residency.png")


def draw(report, out_dir):
    """Draws every plot that `report` has data for into `out_dir` (made when something is
    drawn); returns the paths written, sorted."""
    written = [_heatmap(report, task, out_dir) for task in needle_tasks(report)]
    written.append(_sweep(report, out_dir))
    written.extend(_cost(report, out_dir))
    written.append(_perplexity(report, out_dir))
    written.append(_residency(report, out_dir))
    return sorted(p for p in written if p)


def load(path):
    """The report in the JSON file `path`; ValueError when it is not a lola eval report."""
    with open(path, encoding="utf-8") as f:
        report = json.load(f)
    if not isinstance(report, dict) or report.get("format") != "lola-eval-report":
        raise ValueError(f"{path} is not a lola eval report (its format is not \"lola-eval-report\")")
    if report.get("version") != 1:
        raise ValueError(f"{path} is a lola eval report of version {report.get('version')!r}; "
                         "this plots.py reads version 1")
    return report


def main(argv=None):
    """The script: plots.py REPORT_JSON OUT_DIR (argv without the program name). Prints each
    file written; 1 on a bad report or a failure to draw, 2 on a usage error."""
    args = sys.argv[1:] if argv is None else list(argv)
    if args and args[0] in ("-h", "--help"):
        print(USAGE + "\nDraws the PNG plots of a `lola eval` report.json into OUT_DIR.")
        return 0
    if len(args) != 2:
        sys.stderr.write(USAGE + "\n")
        return 2
    path, out_dir = args
    try:
        report = load(path)
    except OSError as e:
        sys.stderr.write(f"plots.py: cannot read {path}: {e.strerror or e}\n")
        return 1
    except ValueError as e:  # json.JSONDecodeError is a ValueError
        msg = str(e).splitlines()[0] if str(e) else "not valid JSON"
        if isinstance(e, json.JSONDecodeError):
            msg = f"{path} is not valid JSON: {msg}"
        sys.stderr.write(f"plots.py: {msg}\n")
        return 1
    try:
        paths = draw(report, out_dir)
    except OSError as e:
        sys.stderr.write(f"plots.py: cannot write the plots into {out_dir}: {e.strerror or e}\n")
        return 1
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as e:
        sys.stderr.write(f"plots.py: {path} is malformed ({type(e).__name__}: {e})\n")
        return 1
    for p in paths:
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
