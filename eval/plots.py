"""plots.py: the PNG plots of a `lola eval` report (docs/EVAL.md), drawn with matplotlib
(headless). Standard library and matplotlib only, so that it runs as a script for the CLI
(`python3 plots.py REPORT_JSON OUT_DIR`, printing each file written) and imports as
lola.eval.plots in the Python package."""

import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402

DPI = 100
NEEDLE_TASKS = ("passkey", "niah_prose", "niah_multikey", "niah_multivalue", "niah_multiquery", "mqar")


def _labels(report):
    return {v["name"]: v["label"] for v in report.get("variants", [])}


def _order(report):
    return [v["name"] for v in report.get("variants", [])]


def _model(report):
    return report.get("model", {}).get("name") or os.path.basename(report.get("model", {}).get("path", ""))


def accuracy_grid(report, task, variant, grid="main"):
    """(lengths, depths, matrix): the mean score of `variant` on `task` at each depth (rows)
    and length (columns) of the report's trials; None where there is no trial."""
    cells = {}
    for t in report.get("trials", []):
        if t["task"] == task and t["variant"] == variant and t["grid"] == grid:
            cells.setdefault((t["depth"], t["length"]), []).append(t["score"])
    lengths = sorted({l for _, l in cells})
    depths = sorted({d for d, _ in cells})
    matrix = [[(sum(cells[(d, l)]) / len(cells[(d, l)])) if (d, l) in cells else None for l in lengths]
              for d in depths]
    return lengths, depths, matrix


def _heatmap(report, task, path):
    variants = [v for v in _order(report) if accuracy_grid(report, task, v)[0]]
    if not variants:
        return None
    labels = _labels(report)
    cols = min(4, len(variants))
    rows = (len(variants) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.1 * cols + 0.8, 2.7 * rows + 0.9), squeeze=False)
    image = None
    for i, ax in enumerate(axes.flat):
        if i >= len(variants):
            ax.axis("off")
            continue
        lengths, depths, matrix = accuracy_grid(report, task, variants[i])
        values = [[float("nan") if x is None else x for x in row] for row in matrix]
        image = ax.imshow(values, cmap="RdYlGn", vmin=0.0, vmax=1.0, aspect="auto", origin="upper")
        for r, row in enumerate(matrix):
            for c, x in enumerate(row):
                if x is not None:
                    ax.text(c, r, f"{x:.2f}".rstrip("0").rstrip(".") if x not in (0, 1) else str(int(x)),
                            ha="center", va="center", fontsize=8)
        ax.set_xticks(range(len(lengths)))
        ax.set_xticklabels([str(l) for l in lengths], fontsize=8)
        ax.set_yticks(range(len(depths)))
        ax.set_yticklabels([f"{100 * d:.0f}%" for d in depths], fontsize=8)
        ax.set_title(labels.get(variants[i], variants[i]), fontsize=9)
        if i % cols == 0:
            ax.set_ylabel("needle depth", fontsize=8)
        if i // cols == rows - 1 or i + cols >= len(variants):
            ax.set_xlabel("context length (tokens)", fontsize=8)
    budget = report.get("settings", {}).get("budget")
    fig.suptitle(f"{task}: accuracy by needle depth and context length\n{_model(report)}, "
                 f"cache budget {budget} pairs per head", fontsize=10)
    fig.tight_layout(rect=(0, 0, 0.92, 1))
    cax = fig.add_axes((0.935, 0.15, 0.015, 0.65))
    fig.colorbar(image, cax=cax).ax.tick_params(labelsize=8)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def _sweep(report, path):
    trials = [t for t in report.get("trials", []) if t["grid"] == "sweep"]
    if not trials:
        return None
    labels = _labels(report)
    chunk = report.get("settings", {}).get("chunk", 0)
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    lambdas = sorted({t["lambda"] for t in trials if t["variant"] != "full"})
    markers = iter("osD^vP*X" * 4)
    for v in _order(report):
        rows = [t for t in trials if t["variant"] == v]
        if not rows:
            continue
        if v == "full":
            mean = sum(t["score"] for t in rows) / len(rows)
            ax.axhline(mean, color="black", linestyle="--", linewidth=1, label=f"{labels.get(v, v)} (ceiling)")
            continue
        xs = [l for l in lambdas if any(t["lambda"] == l for t in rows)]
        ys = [sum(t["score"] for t in rows if t["lambda"] == l) / len([t for t in rows if t["lambda"] == l])
              for l in xs]
        ax.plot(xs, ys, marker=next(markers), markersize=6, alpha=0.85, label=labels.get(v, v))
    if lambdas and min(lambdas) > 0:
        ax.set_xscale("log", base=2)
    ax.set_xticks(lambdas)
    ax.set_xticklabels([f"{l}\n({l + 2 * chunk})" for l in lambdas], fontsize=8)
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel(f"sparse cache λ (budget = λ + 2C pairs per head, C = {chunk})", fontsize=9)
    ax.set_ylabel("accuracy", fontsize=9)
    s = report.get("settings", {})
    ax.set_title(f"Accuracy against the cache budget: {s.get('sweep_task')} at {s.get('sweep_length')} tokens\n"
                 f"{_model(report)}", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def _by_length(report, rows, key, scale=1.0):
    out = {}
    for v in _order(report):
        pts = sorted((r["length"], r[key] * scale) for r in rows if r["variant"] == v)
        if pts:
            out[v] = pts
    return out


def _cost(report, out_dir):
    rows = report.get("cost", [])
    if not rows:
        return []
    labels = _labels(report)
    written = []
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for v, pts in _by_length(report, rows, "cache_bytes", 1.0 / (1024 * 1024)).items():
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=labels.get(v, v))
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("context length (tokens)", fontsize=9)
    ax.set_ylabel("cache state (MiB, all layers)", fontsize=9)
    ax.set_title(f"Cache memory against context length\n{_model(report)}", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    fig.tight_layout()
    written.append(os.path.join(out_dir, "cache_vs_length.png"))
    fig.savefig(written[-1], dpi=DPI)
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.0))
    for ax, key, title in ((axes[0], "decode_tok_s", "decode"), (axes[1], "prefill_tok_s", "prefill")):
        for v, pts in _by_length(report, rows, key).items():
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=labels.get(v, v))
        ax.set_xscale("log", base=2)
        ax.set_xlabel("context length (tokens)", fontsize=9)
        ax.set_ylabel(f"{title} tokens/s", fontsize=9)
        ax.set_title(f"{title} speed", fontsize=10)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle(f"{_model(report)} (this machine; timings vary)", fontsize=10)
    fig.tight_layout()
    written.append(os.path.join(out_dir, "throughput.png"))
    fig.savefig(written[-1], dpi=DPI)
    plt.close(fig)
    return written


def _perplexity(report, path):
    rows = report.get("perplexity", [])
    if not rows:
        return None
    labels = _labels(report)
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for v, pts in _by_length(report, rows, "ppl").items():
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=labels.get(v, v))
    ax.set_xscale("log", base=2)
    ax.set_xlabel("context length (tokens)", fontsize=9)
    ax.set_ylabel("perplexity (second half of each window)", fontsize=9)
    ax.set_title(f"Perplexity of {os.path.basename(report.get('settings', {}).get('text', ''))}\n"
                 f"{_model(report)}", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def residency_image(residency, bins=512):
    """(sparse, window, width): per layer (rows) and position bin (columns), the fraction of
    the layer's heads whose sparse cache (window) holds a position in that bin."""
    n = max(1, residency["prompt_tokens"])
    width = min(bins, n)
    sparse, window = [], []
    for layer in residency["layers"]:
        heads = max(1, len(layer["heads"]))
        srow, wrow = [0.0] * width, [0.0] * width
        for h in layer["heads"]:
            for row, key in ((srow, "sparse"), (wrow, "window")):
                for b in {p * width // n for p in h[key] if 0 <= p < n}:
                    row[b] += 1.0 / heads
        sparse.append(srow)
        window.append(wrow)
    return sparse, window, width


def _residency(report, path):
    r = report.get("residency")
    if not r or not r.get("layers"):
        return None
    sparse, window, width = residency_image(r)
    n = max(1, r["prompt_tokens"])
    layers = len(sparse)
    fig, ax = plt.subplots(figsize=(9.5, max(2.8, 0.16 * layers + 1.6)))
    extent = (0, n, layers - 0.5, -0.5)
    grey = ListedColormap([(1, 1, 1, 0), (0.75, 0.75, 0.75, 1)])
    ax.imshow([[1 if x > 0 else 0 for x in row] for row in window], cmap=grey, vmin=0, vmax=1,
              aspect="auto", extent=extent, interpolation="nearest")
    masked = [[x if x > 0 else float("nan") for x in row] for row in sparse]
    image = ax.imshow(masked, cmap="viridis", vmin=0, vmax=1, aspect="auto", extent=extent,
                      interpolation="nearest")
    for i, (b, e) in enumerate(r.get("needles", [])):
        ax.axvspan(b, max(e, b + n / width), color="red", alpha=0.25, label="needle" if i == 0 else None)
    ax.plot([], [], color=(0.75, 0.75, 0.75), linewidth=6, label="window")
    ax.set_xlabel("token position in the prompt", fontsize=9)
    ax.set_ylabel("layer", fontsize=9)
    ax.set_yticks(range(0, layers, max(1, layers // 10)))
    labels = _labels(report)
    ax.set_title(f"What the sparse cache holds at the question: {r['task']}, {labels.get(r['variant'], r['variant'])}, "
                 f"{r['length']} tokens, needle depth {100 * r['depth']:.0f}%\n{_model(report)}", fontsize=10)
    bar = fig.colorbar(image, ax=ax, fraction=0.03, pad=0.01)
    bar.set_label("fraction of heads caching", fontsize=8)
    bar.ax.tick_params(labelsize=8)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def draw(report, out_dir):
    """Draws every plot the report has data for into out_dir; returns the paths, sorted."""
    os.makedirs(out_dir, exist_ok=True)
    written = []
    tasks = []
    for t in report.get("trials", []):
        if t["grid"] == "main" and t["task"] not in tasks:
            tasks.append(t["task"])
    for task in tasks:
        written.append(_heatmap(report, task, os.path.join(out_dir, f"heatmap_{task}.png")))
    written.append(_sweep(report, os.path.join(out_dir, "accuracy_vs_budget.png")))
    written.extend(_cost(report, out_dir))
    written.append(_perplexity(report, os.path.join(out_dir, "perplexity.png")))
    written.append(_residency(report, os.path.join(out_dir, "residency.png")))
    return sorted(p for p in written if p)


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: plots.py REPORT_JSON OUT_DIR\n")
        return 2
    try:
        with open(argv[1], encoding="utf-8") as f:
            report = json.load(f)
    except (OSError, ValueError) as e:
        sys.stderr.write(f"plots.py: cannot read the report {argv[1]}: {e}\n")
        return 1
    if not isinstance(report, dict) or report.get("format") != "lola-eval-report" or report.get("version") != 1:
        sys.stderr.write(f"plots.py: {argv[1]} is not a lola eval report (format lola-eval-report, version 1)\n")
        return 1
    try:
        for p in draw(report, argv[2]):
            print(p)
    except (KeyError, TypeError, ValueError) as e:
        sys.stderr.write(f"plots.py: the report {argv[1]} is malformed: {e!r}\n")
        return 1
    except OSError as e:
        sys.stderr.write(f"plots.py: cannot write into {argv[2]}: {e}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
