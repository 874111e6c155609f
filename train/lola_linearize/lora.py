"""The optional second stage (LoLCATs stage 2): LoRA on q, k, v and o with a language-model loss.

The model is the linearized one: every layer's attention is the student (lambda = 0, the maps
and gates of the attention transfer, frozen), and low-rank updates W + (alpha / r) B A of the
four attention projections learn to make up what the linear state loses, by next-token cross
entropy over whole sequences (backpropagation through every layer: meant for a GPU; on a CPU
it runs, slowly). Resumable like the transfer (its own checkpoint in the same work folder).
The updates are merged into the weights at export, so only a full GGUF can carry them: the
merged q/k/v/o are written as F16.
"""

from __future__ import annotations

from typing import Dict, List

import numpy as np
import torch

from .student import chunked_attention
from .transfer import Transfer

CHECKPOINT_LORA = "checkpoint_lora.pt"
PROJECTIONS = ("wq", "wk", "wv", "wo")


class LoraLayer(torch.nn.Module):
    """A and B of the four projections of one layer (B zero: the model starts unchanged)."""

    def __init__(self, shapes: Dict[str, tuple], rank: int):
        super().__init__()
        for name, (rows, cols) in shapes.items():
            a = torch.empty(rank, cols)
            torch.nn.init.kaiming_uniform_(a, a=5 ** 0.5)
            self.register_parameter(name + "_a", torch.nn.Parameter(a))
            self.register_parameter(name + "_b", torch.nn.Parameter(torch.zeros(rows, rank)))

    def delta(self, name: str, scale: float) -> torch.Tensor:
        return scale * (getattr(self, name + "_b") @ getattr(self, name + "_a"))


class LoraStage(Transfer):
    checkpoint_name = CHECKPOINT_LORA

    def __init__(self, teacher, maps: List, train_seqs, holdout_seqs, cfg, work, data_hash,
                 rank: int = 8, alpha: float = 16.0, log=None):
        if rank < 1:
            raise ValueError(f"--lora-rank must be >= 1, got {rank}")
        self.rank, self.alpha, self.fmaps = int(rank), float(alpha), maps
        for m in maps:
            m.requires_grad_(False)
        super().__init__(teacher, train_seqs, holdout_seqs, cfg, work, data_hash, log)

    def make_parameters(self) -> torch.nn.ModuleList:
        out = []
        for w in self.t.layers:
            out.append(LoraLayer({p: tuple(getattr(w, p).shape) for p in PROJECTIONS}, self.rank))
        return torch.nn.ModuleList(out)

    def identity(self) -> Dict[str, object]:
        maps = torch.cat([torch.cat([m.fmap_q.flatten(), m.fmap_k.flatten(), m.window_factors])
                          for m in self.fmaps])
        return {**self.cfg.identity(), "stage": "lora", "rank": self.rank, "alpha": self.alpha,
                "maps_sum": float(maps.double().sum())}

    @property
    def scale(self) -> float:
        return self.alpha / self.rank

    def layer_losses(self, tokens: np.ndarray, train: bool) -> List[float]:
        """One value: the mean next-token cross entropy of the linearized model with LoRA."""
        t, cfg = self.t, self.cfg
        tok = torch.as_tensor(tokens, dtype=torch.long, device=t.device)
        with torch.set_grad_enabled(train):
            x = t.embed(tok)
            for l, w in enumerate(t.layers):
                lo = self.layers[l]
                hp = t.hp
                B, T, _ = x.shape
                h = t.rms_norm(x, w.attn_norm)
                proj = {p: getattr(w, p).float() + lo.delta(p, self.scale) for p in PROJECTIONS}
                q = (h @ proj["wq"].t()).view(B, T, hp.n_head, hp.head_dim).transpose(1, 2)
                k = (h @ proj["wk"].t()).view(B, T, hp.n_head_kv, hp.head_dim).transpose(1, 2)
                v = (h @ proj["wv"].t()).view(B, T, hp.n_head_kv, hp.head_dim).transpose(1, 2)
                table = t.rope_table(T)
                q, k = t.rope(q, table), t.rope(k, table)
                y = chunked_attention(q, t.expand_kv(k), t.expand_kv(v), self.fmaps[l], cfg.chunk, cfg.mixing)
                x = x + y.transpose(1, 2).reshape(B, T, -1) @ proj["wo"].t()
                x = t.mlp(l, x)
            logits = t.logits(x)
            loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]),
                                                     tok[:, 1:].reshape(-1))
            if train:
                loss.backward()
        return [float(loss.detach())]

    def merged(self) -> Dict[str, np.ndarray]:
        """The best q/k/v/o with the updates merged, by GGUF tensor name, float32 (rows, cols)."""
        state = self.best["layers"] if self.best else self.maps()
        names = {"wq": "attn_q", "wk": "attn_k", "wv": "attn_v", "wo": "attn_output"}
        out = {}
        for l, w in enumerate(self.t.layers):
            for p in PROJECTIONS:
                a, b = state[f"{l}.{p}_a"], state[f"{l}.{p}_b"]
                out[f"blk.{l}.{names[p]}.weight"] = (getattr(w, p).float() + self.scale * (b @ a)).cpu().numpy()
        return out
