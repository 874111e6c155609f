"""``lola-linearize``: turn a Llama GGUF into a LoLA model by attention transfer.

    lola-linearize BASE.gguf -o ADAPTER.gguf [--work DIR] [--tokens 1M] [--full]

The steps: read the base (torch, GGUF layout) and check its full-attention logits against
liblola's; gather and tokenize the text (liblola's tokenizer); train the hedgehog maps and gates
layer by layer (resumable from ``--work``); write the adapter (or ``--full`` model) with the maps
of the best hold-out loss, the snapshots asked for, and ``run.json``: settings, data hash, loss
curves per layer, the learned gates, the logit check.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np
import torch

from . import data as data_mod
from .export import read_maps, write_adapter, write_full
from .gguf_llama import GGUFLlama, ModelError
from .lora import LoraStage
from .student import LOLCATS_GATE_INIT, MIXING
from .transfer import CHECKPOINT, ResumeError, TrainConfig, Transfer

GENERATE_PROMPTS = (
    "Write a long, detailed essay about the history of a small coastal town.",
    "Explain step by step how a bicycle works, as a teacher would.",
    "Tell a long story about two friends who travel across a mountain range.",
    "Describe, in detail, how bread is baked from flour to loaf.",
)


class LinearizeError(RuntimeError):
    """What stops the run, in one line for the user."""


def _count_text(n: int) -> str:
    return f"{n / 1e6:g}M" if n >= 1e6 else f"{n / 1e3:g}K" if n >= 1e3 else str(n)


def _count(text: str) -> int:
    t = text.strip().lower().replace("_", "")
    mult = {"k": 1_000, "m": 1_000_000, "g": 1_000_000_000}.get(t[-1:], 1)
    try:
        return int(float(t[:-1] if mult > 1 else t) * mult)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"not a count: {text!r} (e.g. 250K, 1M)") from e


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lola-linearize", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("base", help="the Llama GGUF to linearize (any tensor type liblola reads)")
    p.add_argument("-o", "--output", required=True, help="the adapter (or with --full the model) to write")
    p.add_argument("--full", action="store_true", help="write a full GGUF (the base's tensors + the maps)")
    p.add_argument("--work", help="checkpoint, logs and snapshots (default: OUTPUT.work); a run "
                   "there with the same settings and data is resumed")
    p.add_argument("--fresh", action="store_true", help="discard a checkpoint in --work and start over")
    d = p.add_argument_group("data (default: English prose from Debian packages)")
    d.add_argument("--text", action="append", default=[], metavar="PATH", help="a text file or folder (repeatable)")
    d.add_argument("--jsonl", action="append", default=[], metavar="FILE",
                   help="JSONL: {'messages': [...]} (chat template applied) or {'text': ...}")
    d.add_argument("--generate", type=int, default=0, metavar="N",
                   help="also N texts the model writes itself (liblola, sampled)")
    d.add_argument("--generate-tokens", type=int, default=512)
    d.add_argument("--exclude", action="append", default=[], metavar="FILE",
                   help="more evaluation text to keep out of training (8-word overlaps dropped)")
    d.add_argument("--holdout", type=float, default=0.02, help="fraction of documents held out")
    d.add_argument("--max-chars", type=_count, default=None, help="stop reading sources after this many characters")
    t = p.add_argument_group("training")
    t.add_argument("--tokens", type=_count, default=1_000_000, help="training tokens (default 1M)")
    t.add_argument("--seq-len", type=int, default=1024)
    t.add_argument("--batch", type=int, default=1, help="sequences per step")
    t.add_argument("--chunk", type=int, default=64, help="C: the window unit (default 64)")
    t.add_argument("--sparse", type=int, default=64, help="lambda written as the model's default (training uses 0)")
    t.add_argument("--mixing", choices=sorted(MIXING), default="lolcats")
    t.add_argument("--feature-dim", type=int, default=0, help="F (even; default 2 x head_dim)")
    t.add_argument("--gate-init", type=float, default=LOLCATS_GATE_INIT)
    t.add_argument("--lr", type=float, default=1e-2)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--eval-every", type=int, default=50, help="steps between hold-out evaluations")
    t.add_argument("--holdout-sequences", type=int, default=8)
    t.add_argument("--patience", type=int, default=0, help="stop after this many evaluations without improvement (0: never)")
    t.add_argument("--checkpoint-every", type=int, default=25)
    t.add_argument("--snapshot-tokens", default="", help="also write adapters of the maps at these token counts, e.g. 250K,500K")
    t.add_argument("--init", metavar="ADAPTER", default="",
                   help="start from this adapter's maps and gates (one this tool wrote for the base) "
                        "instead of the identity, with a fresh optimizer: to train a shipped adapter further")
    t.add_argument("--init-tokens", type=_count, default=0,
                   help="the tokens --init's adapter was trained on with this data and seed: the data "
                        "order continues there and --tokens counts them (default 0)")
    t.add_argument("--lora-tokens", type=_count, default=0,
                   help="then LoRA on q/k/v/o with a language-model loss for this many tokens (needs --full; meant for a GPU)")
    t.add_argument("--lora-rank", type=int, default=8)
    t.add_argument("--lora-alpha", type=float, default=16.0)
    t.add_argument("--lora-lr", type=float, default=1e-4)
    t.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    t.add_argument("--threads", type=int, default=0, help="torch threads (default: all cores)")
    t.add_argument("--matmul-dtype", choices=("float32", "bfloat16"), default="float32",
                   help="type of the frozen teacher's big products (attention and training stay float32)")
    t.add_argument("--skip-check", action="store_true", help="skip the logit check against liblola")
    t.add_argument("--stop-after", type=int, default=None, help=argparse.SUPPRESS)  # tests: a kill
    return p


def _liblola():
    try:
        import lola
    except ImportError as e:
        raise LinearizeError("lola-linearize needs liblola's Python package (`pip install .` at the "
                             f"repository root, or PYTHONPATH to a build's package): {e}") from e
    return lola


def _fingerprint(model) -> int:
    fp = getattr(model, "fingerprint", None)
    if fp is None:
        raise LinearizeError("this liblola Python package has no Model.fingerprint (adapters need "
                             "liblola 0.x with adapter support)")
    return int(fp)


def check_logits(teacher: GGUFLlama, model, prompts: Sequence[np.ndarray], tol: float = 1e-3):
    """Full-attention logits of the torch rebuild against liblola's on a few prompts."""
    worst = 0.0
    for toks in prompts:
        toks = [int(x) for x in toks]
        with model.create_context(attention="full") as ctx:
            ctx.feed(toks, all_logits=True)
            want = np.array(ctx.all_logits, copy=True)
        got = teacher.forward(torch.tensor([toks], device=teacher.device))[0].cpu().numpy()
        worst = max(worst, float(np.linalg.norm(got - want) / max(np.linalg.norm(want), 1e-30)))
    result = {"prompts": len(prompts), "tokens": int(sum(len(p) for p in prompts)),
              "max_relative_l2": worst, "tolerance": tol, "passed": worst <= tol}
    if not result["passed"]:
        raise LinearizeError(f"the torch rebuild's logits differ from liblola's by {worst:.2e} "
                             f"(relative L2, tolerance {tol:g}): this model is not read the same way")
    return result


def generated_texts(model, n: int, n_tokens: int, seed: int) -> List[data_mod.Document]:
    out = []
    for i in range(n):
        prompt = model.apply_chat_template([{"role": "user", "content": GENERATE_PROMPTS[i % len(GENERATE_PROMPTS)]}])
        r = model.complete(model.tokenize(prompt, parse_special=True), n_tokens, temperature=0.8,
                           top_p=0.95, seed=seed + i, attention="full")
        out.append(data_mod.Document(f"generated:{i}", r["choices"][0]["text"]))
    return out


def adapter_state(lola, base: str, path: str) -> dict:
    """An adapter's maps and gates by HedgehogLayer parameter name ("N.fmap_q", ...), after
    liblola has checked that it belongs to ``base`` (fingerprint, shapes, finite values)."""
    try:
        lola.Model(base, adapter=path)
    except lola.LolaError as e:
        raise LinearizeError(f"--init {path}: {e}") from e
    try:
        return {k: torch.from_numpy(v) for k, v in read_maps(path).items()}
    except ValueError as e:
        raise LinearizeError(f"--init {path}: {e}") from e


def gates(layers) -> List[List[float]]:
    return [torch.sigmoid(l.window_factors.detach()).cpu().tolist() for l in layers]


def _keep_heap():
    """glibc returns every buffer above 32 MB to the OS and trims the heap eagerly; the training
    step makes the same large buffers again and again, so each came back as fresh page faults
    (a third of a step's time). Keep them: mmap only above 32 MB, trim only above 1 GB."""
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 32 << 20)   # M_MMAP_THRESHOLD
        libc.mallopt(-1, 1 << 30)    # M_TRIM_THRESHOLD
    except (OSError, AttributeError):  # not glibc: nothing to tune
        pass


def run(argv: Optional[Sequence[str]] = None) -> dict:
    args = parser().parse_args(argv)
    t0 = time.time()
    _keep_heap()
    if args.threads:
        torch.set_num_threads(args.threads)
    elif torch.get_num_threads() < (os.cpu_count() or 1):
        torch.set_num_threads(os.cpu_count() or 1)
    if args.feature_dim % 2:
        raise LinearizeError(f"--feature-dim must be even, got {args.feature_dim}")
    if args.lora_tokens and not args.full:
        raise LinearizeError("--lora-tokens changes the q/k/v/o weights, which only a full model "
                             "can carry: add --full")
    out = Path(args.output)
    work = Path(args.work) if args.work else out.with_name(out.name + ".work")
    if args.fresh and (work / CHECKPOINT).exists():
        (work / CHECKPOINT).unlink()
    work.mkdir(parents=True, exist_ok=True)
    lola = _liblola()
    log = lambda s: print(s, file=sys.stderr, flush=True)

    try:
        model = lola.Model(args.base)
    except lola.LolaError as e:
        raise LinearizeError(f"liblola cannot load {args.base}: {e}") from e
    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[args.matmul_dtype]
    try:
        teacher = GGUFLlama(args.base, device=args.device, matmul_dtype=dtype)
    except ModelError as e:
        raise LinearizeError(str(e)) from e
    hp = teacher.hp
    init_state = None  # checked before the data is read: a wrong adapter fails at once
    if args.init:
        init_state = adapter_state(lola, args.base, args.init)
    elif args.init_tokens:
        raise LinearizeError("--init-tokens needs --init")
    log(f"{hp.name}: {hp.n_layer} layers, {hp.n_head} heads ({hp.n_head_kv} KV), head dim {hp.head_dim}")

    # -- data
    generated = generated_texts(model, args.generate, args.generate_tokens, args.seed) if args.generate else []
    try:
        corpus = data_mod.collect(args.text, args.jsonl, generated, exclude=args.exclude,
                                  holdout_fraction=args.holdout, max_chars=args.max_chars,
                                  chat_template=lambda m: model.apply_chat_template(m, add_assistant=False))
    except data_mod.DataError as e:
        raise LinearizeError(str(e)) from e
    sep = model.special_tokens.eos
    tokenize = lambda s: model.tokenize(s)
    train_stream = data_mod.token_stream(corpus.train, tokenize, sep)
    hold_stream = data_mod.token_stream(corpus.holdout, tokenize, sep)
    data_hash = data_mod.stream_hash(train_stream, hold_stream)
    train_seqs = data_mod.sequences(train_stream, args.seq_len)
    hold_seqs = data_mod.sequences(hold_stream, args.seq_len)
    if len(hold_seqs) == 0:  # a short hold-out split: one shorter sequence
        hold_seqs = hold_stream[None, :max(1, min(len(hold_stream), args.seq_len))]
    (work / "holdout.txt").write_text("\n\n".join(d.text for d in corpus.holdout), encoding="utf-8")
    log(f"data: {len(corpus.train)} documents, {len(train_stream):,} tokens for training "
        f"({len(train_seqs)} sequences of {args.seq_len}), {len(hold_stream):,} held out; "
        f"{corpus.dropped_paragraphs} paragraphs dropped for overlapping evaluation texts; "
        f"token hash {data_hash[:16]}")
    if args.tokens > len(train_seqs) * args.seq_len:
        log(f"note: {args.tokens:,} tokens asked, {len(train_seqs) * args.seq_len:,} available: "
            "the data is seen more than once")

    # -- the logit check
    check = None
    if not args.skip_check:
        prompts = [s[:min(128, len(s))] for s in list(hold_seqs[:2]) + list(train_seqs[:1])]
        check = check_logits(teacher, model, prompts, tol=1e-3 if dtype == torch.float32 else 5e-2)
        log(f"logit check against liblola: relative L2 {check['max_relative_l2']:.2e} on "
            f"{check['tokens']} tokens (tolerance {check['tolerance']:g})")

    # -- attention transfer
    cfg = TrainConfig(chunk=args.chunk, sparse=args.sparse, mixing=args.mixing,
                      init=str(args.init), init_tokens=args.init_tokens,
                      half=args.feature_dim // 2, gate_init=args.gate_init, seq_len=args.seq_len,
                      batch=args.batch, tokens=args.tokens, lr=args.lr, seed=args.seed,
                      eval_every=args.eval_every, holdout_sequences=args.holdout_sequences,
                      patience=args.patience, checkpoint_every=args.checkpoint_every,
                      snapshot_tokens=tuple(_count(x) for x in args.snapshot_tokens.split(",") if x.strip()))
    tr = Transfer(teacher, train_seqs, hold_seqs, cfg, work, data_hash, log)
    try:
        if not tr.try_resume() and init_state is not None:
            tr.start_from(init_state)
    except ResumeError as e:
        raise LinearizeError(str(e)) from e
    status = tr.run(stop_after=args.stop_after)
    lora = None
    if args.lora_tokens and not status["stopped"]:
        lora = LoraStage(teacher, tr.best_layers(), train_seqs, hold_seqs,
                         dataclasses.replace(cfg, tokens=args.lora_tokens, lr=args.lora_lr),
                         work, data_hash, rank=args.lora_rank, alpha=args.lora_alpha, log=log)
        try:
            lora.try_resume()
        except ResumeError as e:
            raise LinearizeError(str(e)) from e
        left = None if args.stop_after is None else max(0, args.stop_after - (tr.step - tr.resumed_from))
        log(f"LoRA stage: rank {args.lora_rank}, alpha {args.lora_alpha:g}, {_count_text(args.lora_tokens)} tokens")
        status = lora.run(stop_after=left)
    summary = {"tool": "lola-linearize", "command": ["lola-linearize"] + list(argv if argv is not None else sys.argv[1:]),
               "base": {"path": str(args.base), "name": hp.name, "fingerprint": getattr(model, "fingerprint", None)},
               "config": {**cfg.identity(), "tokens": cfg.tokens, "patience": cfg.patience},
               "threads": torch.get_num_threads(), "device": args.device, "matmul_dtype": args.matmul_dtype,
               "data": {"sources": corpus.sources, "train_documents": len(corpus.train),
                        "holdout_documents": len(corpus.holdout), "train_tokens": int(len(train_stream)),
                        "holdout_tokens": int(len(hold_stream)), "token_hash": data_hash,
                        "dropped_paragraphs": corpus.dropped_paragraphs,
                        "holdout_text": str(work / "holdout.txt")},
               "check": check, "step": tr.step, "tokens_trained": tr.tokens_done(),
               "resumed_from_step": tr.resumed_from, "stopped": status["stopped"],
               "history": tr.history, "evals": tr.evals,
               "best": {"step": tr.best["step"], "loss": tr.best["loss"]} if tr.best else None,
               "lora": None if lora is None else {
                   "rank": lora.rank, "alpha": lora.alpha, "tokens_trained": lora.tokens_done(),
                   "history": lora.history, "evals": lora.evals,
                   "best": {"step": lora.best["step"], "loss": lora.best["loss"]} if lora.best else None}}
    if status["stopped"]:
        (work / "run.json").write_text(json.dumps(summary, indent=1))
        return summary

    def write(path: Path, layers):
        if args.full:
            return write_full(path, args.base, layers, hp, cfg.chunk, cfg.sparse, cfg.mixing,
                              replace=lora.merged() if lora is not None and path == out else None)
        return write_adapter(path, layers, hp, _fingerprint(model), cfg.chunk, cfg.sparse, cfg.mixing)

    best = tr.best_layers()
    write(out, best)
    snaps = {}
    for mark, state in sorted(tr.snapshots.items()):
        p = work / f"snapshot_{mark}{out.suffix or '.gguf'}"
        write(p, tr.layers_from(state))
        snaps[str(mark)] = str(p)
    summary.update({"output": str(out), "kind": "full" if args.full else "adapter",
                    "output_bytes": out.stat().st_size, "snapshots": snaps, "gates": gates(best),
                    "seconds": time.time() - t0})
    (work / "run.json").write_text(json.dumps(summary, indent=1))
    shutil.copyfile(work / "run.json", out.with_name(out.name + ".json"))
    log(f"wrote {out} ({out.stat().st_size:,} bytes; best hold-out loss {summary['best']['loss']:.3e} "
        f"at step {summary['best']['step']}) and {out.with_name(out.name + '.json')}")
    return summary


def main(argv: Optional[Sequence[str]] = None) -> int:
    try:
        run(argv)
    except (LinearizeError, ValueError) as e:
        print(f"lola-linearize: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nlola-linearize: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
