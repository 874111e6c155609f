"""Attention transfer (LoLCATs stage 1), resumable.

Teacher-forced per layer: one forward pass of the frozen softmax model gives every layer its
input; at layer l the student (the runtime's attention, lambda = 0, in chunked form) sees the
teacher's q, k, v and is pulled towards the teacher's head outputs by MSE; the teacher's own
output then feeds layer l+1. Only the hedgehog maps (identity init) and the gates train. All
layers learn in the same pass; a step is one batch of sequences, Adam on the summed losses.

Resumable: the checkpoint (``<work>/checkpoint.pt``, written atomically every
``checkpoint_every`` steps, at every hold-out evaluation and at the end) holds the maps, Adam's
state, the step, the history and the best maps so far. The data order is a function of the seed
and the step only, so a run killed at any point and resumed ends with the same maps as one that
never stopped (same machine, same thread count: the checkpoint records it and warns otherwise).
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional

import numpy as np
import torch

from .student import HedgehogLayer, LOLCATS_GATE_INIT, MIXING, chunked_attention

CHECKPOINT = "checkpoint.pt"
FORMAT = 1


@dataclass
class TrainConfig:
    chunk: int = 64                 # C of the student (the window unit), and the adapter default
    sparse: int = 64                # lambda written as the adapter's default (training uses 0)
    mixing: str = "lolcats"         # "lolcats" (mode B) or "lola" (mode A)
    half: int = 0                   # F/2 of the maps; 0: head_dim (identity init is exact)
    gate_init: float = LOLCATS_GATE_INIT
    seq_len: int = 1024
    batch: int = 1
    tokens: int = 1_000_000         # training tokens (steps = ceil(tokens / (batch * seq_len)))
    lr: float = 1e-2
    seed: int = 0
    eval_every: int = 50            # steps between hold-out evaluations
    holdout_sequences: int = 8
    patience: int = 0               # evaluations without improvement before stopping; 0: never
    checkpoint_every: int = 25
    snapshot_tokens: tuple = ()     # also keep the maps as they were at these token counts
    init: str = ""                  # an adapter whose maps and gates the run starts from
    init_tokens: int = 0            # the tokens it was trained on, in this data order

    @property
    def steps(self) -> int:
        return max(1, math.ceil(self.tokens / (self.batch * self.seq_len)))

    def identity(self) -> Dict[str, object]:
        """What must match for a checkpoint to be resumed (everything but the stop rules)."""
        d = dataclasses.asdict(self)
        for k in ("tokens", "patience", "snapshot_tokens", "checkpoint_every"):
            d.pop(k)
        return d


class ResumeError(RuntimeError):
    """The checkpoint in the work folder belongs to another run; the message says what differs."""


def _fmt_count(n: float) -> str:
    return f"{n / 1e6:.2f}M" if n >= 1e6 else f"{n / 1e3:.1f}K" if n >= 1e3 else f"{n:.0f}"


def _fmt_time(s: float) -> str:
    s = int(max(0, s))
    return f"{s // 3600}h{s // 60 % 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


class Transfer:
    checkpoint_name = CHECKPOINT

    def __init__(self, teacher, train_seqs: np.ndarray, holdout_seqs: np.ndarray, cfg: TrainConfig,
                 work: Path, data_hash: str, log: Callable[[str], None] = None):
        if cfg.mixing not in MIXING:
            raise ValueError(f"mixing must be one of {sorted(MIXING)}, got {cfg.mixing!r}")
        if len(train_seqs) == 0:
            raise ValueError(f"no training sequence of {cfg.seq_len} tokens: the text is too short")
        self.t, self.cfg, self.work, self.data_hash = teacher, cfg, Path(work), data_hash
        self.train_seqs, self.holdout_seqs = train_seqs, holdout_seqs[:cfg.holdout_sequences]
        self.log = log or (lambda s: print(s, file=sys.stderr, flush=True))
        torch.manual_seed(cfg.seed)
        self.layers = self.make_parameters().to(teacher.device)
        self.opt = torch.optim.Adam(self.layers.parameters(), lr=cfg.lr)
        self.step = 0
        self.history: List[Dict[str, object]] = []
        self.evals: List[Dict[str, object]] = []
        self.best: Optional[Dict[str, object]] = None
        self.snapshots: Dict[int, Dict[str, torch.Tensor]] = {}
        self.resumed_from = 0

    def make_parameters(self) -> torch.nn.ModuleList:
        """What this stage trains: one HedgehogLayer per layer."""
        hp = self.t.hp
        return torch.nn.ModuleList(
            HedgehogLayer(hp.n_head, hp.head_dim, self.cfg.half or hp.head_dim, self.cfg.gate_init)
            for _ in range(hp.n_layer))

    def identity(self) -> Dict[str, object]:
        return self.cfg.identity()

    # -- data order: a function of (seed, step) ------------------------------------------------

    def batch_at(self, step: int) -> np.ndarray:
        n, B = len(self.train_seqs), self.cfg.batch
        rows = []
        for i in range(step * B, step * B + B):
            epoch, j = divmod(i, n)
            perm = np.random.default_rng([self.cfg.seed, epoch]).permutation(n)
            rows.append(self.train_seqs[perm[j]])
        return np.stack(rows)

    # -- one pass over a batch -----------------------------------------------------------------

    def layer_losses(self, tokens: np.ndarray, train: bool) -> List[float]:
        t, cfg = self.t, self.cfg
        x = t.embed(torch.as_tensor(tokens, dtype=torch.long, device=t.device))
        losses = []
        for l in range(t.hp.n_layer):
            with torch.no_grad():
                q, k, v = t.qkv(l, x)
                target = t.softmax_attention(q, k, v)
                ke, ve = t.expand_kv(k), t.expand_kv(v)
            with torch.set_grad_enabled(train):
                y = chunked_attention(q, ke, ve, self.layers[l], cfg.chunk, cfg.mixing)
                loss = torch.nn.functional.mse_loss(y, target)
            if train:
                loss.backward()
            losses.append(float(loss.detach()))
            with torch.no_grad():
                x = t.mlp(l, t.attention_output(l, x, target))
        return losses

    def holdout_losses(self) -> List[float]:
        per = np.zeros(self.t.hp.n_layer)
        for s in self.holdout_seqs:
            per += np.asarray(self.layer_losses(s[None], train=False))
        return (per / max(1, len(self.holdout_seqs))).tolist()

    # -- checkpoints ---------------------------------------------------------------------------

    def maps(self) -> Dict[str, torch.Tensor]:
        return {k: v.detach().clone() for k, v in self.layers.state_dict().items()}

    def save(self):
        self.work.mkdir(parents=True, exist_ok=True)
        blob = {"format": FORMAT, "config": self.identity(), "data_hash": self.data_hash,
                "base": str(self.t.path), "threads": torch.get_num_threads(), "step": self.step,
                "layers": self.layers.state_dict(), "optimizer": self.opt.state_dict(),
                "history": self.history, "evals": self.evals, "best": self.best,
                "snapshots": self.snapshots}
        tmp = self.work / (self.checkpoint_name + ".tmp")
        torch.save(blob, tmp)
        os.replace(tmp, self.work / self.checkpoint_name)

    def try_resume(self) -> bool:
        path = self.work / self.checkpoint_name
        if not path.exists():
            return False
        blob = torch.load(path, map_location=self.t.device)
        if blob.get("format") != FORMAT:
            raise ResumeError(f"{path}: checkpoint format {blob.get('format')}, this tool writes {FORMAT}")
        if blob["data_hash"] != self.data_hash:
            raise ResumeError(f"{path} was trained on other data (token hash {blob['data_hash'][:12]}, "
                              f"now {self.data_hash[:12]}); use another --work folder or --fresh")
        want = self.identity()
        diff = {k: (blob["config"].get(k), v) for k, v in want.items() if blob["config"].get(k) != v}
        if diff:
            raise ResumeError(f"{path} has other settings: " +
                              ", ".join(f"{k} {a} (now {b})" for k, (a, b) in diff.items()) +
                              "; use another --work folder or --fresh")
        if blob["threads"] != torch.get_num_threads():
            self.log(f"warning: the checkpoint ran with {blob['threads']} threads, now "
                     f"{torch.get_num_threads()}: the result may differ in the last bits")
        self.layers.load_state_dict(blob["layers"])
        self.opt.load_state_dict(blob["optimizer"])
        self.step, self.history, self.evals = blob["step"], blob["history"], blob["evals"]
        self.best, self.snapshots = blob["best"], blob.get("snapshots", {})
        self.resumed_from = self.step
        self.log(f"resumed from {path} at step {self.step} ({_fmt_count(self.tokens_done())} tokens)")
        return True

    def start_from(self, state: Dict[str, torch.Tensor]):
        """Continues a finished run: its maps and gates (an adapter's, by name as in
        ``maps()``), a fresh optimizer, and the data order at ``cfg.init_tokens`` (a whole
        number of steps), as an uninterrupted run would have reached that point but for the
        optimizer's moments."""
        per_step = self.cfg.batch * self.cfg.seq_len
        if self.cfg.init_tokens % per_step:
            raise ResumeError(f"--init-tokens {self.cfg.init_tokens} is not a whole number of steps "
                              f"of {per_step} tokens (batch x seq-len)")
        mine = self.layers.state_dict()
        missing = sorted(set(mine) - set(state)), sorted(set(state) - set(mine))
        if missing[0] or missing[1]:
            raise ResumeError(f"{self.cfg.init}: tensors missing {missing[0][:3]}, unexpected {missing[1][:3]}")
        for k, v in state.items():
            if tuple(v.shape) != tuple(mine[k].shape):
                raise ResumeError(f"{self.cfg.init}: {k} is {tuple(v.shape)}, this run trains "
                                  f"{tuple(mine[k].shape)} (another --feature-dim?)")
        self.layers.load_state_dict({k: v.to(mine[k].dtype) for k, v in state.items()})
        self.step = self.resumed_from = self.cfg.init_tokens // per_step
        self.log(f"starting from {self.cfg.init} at step {self.step} "
                 f"({_fmt_count(self.tokens_done())} tokens), with a fresh optimizer")

    def tokens_done(self, step: Optional[int] = None) -> int:
        return (self.step if step is None else step) * self.cfg.batch * self.cfg.seq_len

    # -- the loop ------------------------------------------------------------------------------

    def evaluate(self):
        losses = self.holdout_losses()
        mean = float(np.mean(losses))
        self.evals.append({"step": self.step, "tokens": self.tokens_done(), "loss": mean,
                           "layers": losses})
        improved = self.best is None or mean < self.best["loss"]
        if improved:
            self.best = {"step": self.step, "loss": mean, "layers": self.maps()}
        worst = int(np.argmax(losses))
        self.log(f"hold-out loss {mean:.3e} at {_fmt_count(self.tokens_done())} tokens"
                 f"{' (best)' if improved else ''}; per layer: " +
                 " ".join(f"{l}:{x:.2e}" for l, x in enumerate(losses)) + f"; worst layer {worst}")
        return improved

    def should_stop_early(self) -> bool:
        p = self.cfg.patience
        if p <= 0 or self.best is None:
            return False
        since = [e for e in self.evals if e["step"] > self.best["step"]]
        return len(since) >= p

    def run(self, stop_after: Optional[int] = None) -> Dict[str, object]:
        """Trains to cfg.steps (or, for tests, stops after ``stop_after`` steps of this call,
        checkpointed, as a kill would leave it). Returns the summary."""
        cfg = self.cfg
        total = cfg.steps
        if not self.evals:
            self.evaluate()      # the starting maps' loss: the curve's first point
        start, done_here = time.time(), 0
        tty = sys.stderr.isatty()
        last_line = 0.0
        while self.step < total:
            if stop_after is not None and done_here >= stop_after:
                self.save()
                return {"stopped": True, "step": self.step}
            losses = self.layer_losses(self.batch_at(self.step), train=True)
            self.opt.step()
            self.opt.zero_grad(set_to_none=True)
            self.step += 1
            done_here += 1
            self.history.append({"step": self.step, "tokens": self.tokens_done(),
                                 "loss": float(np.mean(losses)), "layers": losses})
            for mark in cfg.snapshot_tokens:
                if self.tokens_done(self.step - 1) < mark <= self.tokens_done():
                    self.snapshots[int(mark)] = self.maps()
            elapsed = time.time() - start
            rate = done_here * cfg.batch * cfg.seq_len / max(elapsed, 1e-9)
            eta = (total - self.step) * cfg.batch * cfg.seq_len / max(rate, 1e-9)
            line = (f"step {self.step}/{total}  tokens {_fmt_count(self.tokens_done())}/"
                    f"{_fmt_count(total * cfg.batch * cfg.seq_len)}  {rate:,.0f} tok/s  "
                    f"loss {np.mean(losses):.3e} (layers {min(losses):.1e}..{max(losses):.1e})  "
                    f"ETA {_fmt_time(eta)}")
            if tty:
                print("\r" + line, end="", file=sys.stderr, flush=True)
            elif time.time() - last_line > 30 or self.step == total:
                self.log(line)
                last_line = time.time()
            at_eval = self.step % cfg.eval_every == 0 or self.step == total
            if at_eval:
                if tty:
                    print(file=sys.stderr)
                self.evaluate()
            if at_eval or self.step % cfg.checkpoint_every == 0:
                self.save()
            if at_eval and self.should_stop_early():
                self.log(f"early stop: no hold-out improvement in {cfg.patience} evaluations")
                break
        self.save()
        return {"stopped": False, "step": self.step}

    def best_layers(self) -> List[HedgehogLayer]:
        """The maps with the lowest hold-out loss (the last ones if never evaluated)."""
        return self.layers_from(self.best["layers"] if self.best else self.maps())

    def layers_from(self, state: Dict[str, torch.Tensor]) -> List[HedgehogLayer]:
        hp = self.t.hp
        out = torch.nn.ModuleList(HedgehogLayer(hp.n_head, hp.head_dim, self.cfg.half or hp.head_dim)
                                  for _ in range(hp.n_layer))
        out.load_state_dict(state)
        return list(out)
