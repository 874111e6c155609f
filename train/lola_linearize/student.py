"""The student: liblola's attention function in torch (../shared/spec/lola.md).

Two forms of the same function:

- ``chunked_attention``: the trainable form for lambda = 0 (LoLCATs: terraced sliding window +
  linear state), whole chunks at once, differentiable in the hedgehog maps and the gates. A query
  in chunk n attends with softmax to chunk n-1 and to chunk n up to itself; chunks 0..n-2 are in
  the linear state; chunk 0 (no state yet) is plain causal softmax.
- ``reference_attention``: token by token, with the sparse cache (self-recall error, stable
  top-lambda, folds), float64: the spec's pseudo-code as written, for checking exported files
  against liblola with lambda > 0. Slow; for tests and small diagnostics.

Shapes: q, k, v are [B, H, T, d] with K/V already expanded to the query heads (hedgehog maps
are per query head, so the state is too); the maps are [H, d, F/2]; gates are logits [H].
"""

from __future__ import annotations

import math
from typing import Optional

import torch

MIXING = {"lola": 0, "lolcats": 1}   # mode A, mode B (the lola.mixing metadata strings)
EPS = 1e-6
LOLCATS_GATE_INIT = -2.197           # sigmoid = 0.1, LoLCATs' initial window factor


def hedgehog(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """phi(x) = max(concat(softmax(xW), softmax(-xW)), 1e-12) per head: [B, H, T, F]."""
    z = torch.einsum("bhtd,hdf->bhtf", x, w.to(x.dtype))
    return torch.cat([torch.softmax(z, -1), torch.softmax(-z, -1)], -1).clamp_min(1e-12)


class HedgehogLayer(torch.nn.Module):
    """One layer's trainable LoLA tensors: the query and key maps and the gate logits."""

    def __init__(self, n_head: int, head_dim: int, half: Optional[int] = None,
                 gate_init: float = LOLCATS_GATE_INIT):
        super().__init__()
        half = half or head_dim
        eye = torch.eye(head_dim, half).expand(n_head, head_dim, half).clone()  # identity init
        self.fmap_q = torch.nn.Parameter(eye.clone())
        self.fmap_k = torch.nn.Parameter(eye.clone())
        self.window_factors = torch.nn.Parameter(torch.full((n_head,), float(gate_init)))

    @property
    def feature_dim(self) -> int:
        return 2 * self.fmap_q.shape[-1]


def chunked_attention(q, k, v, layer: HedgehogLayer, chunk: int, mixing: str = "lolcats",
                      eps: float = EPS) -> torch.Tensor:
    """lambda = 0 LoLA attention, [B, H, T, d], differentiable in ``layer``'s tensors."""
    if mixing not in MIXING:
        raise ValueError(f"mixing must be one of {sorted(MIXING)}, got {mixing!r}")
    B, H, T, d = q.shape
    C = int(chunk)
    pad = (-T) % C
    if pad:  # trailing pads are never seen by the real tokens (causality), then cut off
        q, k, v = (torch.nn.functional.pad(t, (0, 0, 0, pad)) for t in (q, k, v))
    n = (T + pad) // C
    scale = 1.0 / math.sqrt(d)
    qc, kc, vc = (t.reshape(B, H, n, C, d) for t in (q, k, v))

    # window: chunk n-1 (absent for chunk 0) and chunk n up to the query itself
    zero = torch.zeros_like(kc[:, :, :1])
    k2 = torch.cat([torch.cat([zero, kc[:, :, :-1]], 2), kc], 3)           # [B,H,n,2C,d]
    v2 = torch.cat([torch.cat([torch.zeros_like(zero), vc[:, :, :-1]], 2), vc], 3)
    s = (qc @ k2.transpose(-1, -2)) * scale                                # [B,H,n,C,2C]
    i = torch.arange(C, device=q.device)
    causal = i[None, :] <= i[:, None]                                      # [C, C]
    prev = torch.ones(n, C, C, dtype=torch.bool, device=q.device)
    prev[0] = False
    mask = torch.cat([prev, causal.expand(n, C, C)], -1)                   # [n, C, 2C]
    s = s.masked_fill(~mask, float("-inf"))
    m = s.amax(-1, keepdim=True)
    e = torch.exp(s - m)
    num = e @ v2                                                           # N' [B,H,n,C,d]
    den = e.sum(-1, keepdim=True)                                          # Z'

    # linear state: chunks 0..n-2 folded, as prefix sums of per-chunk phi(k)^T v
    fq = hedgehog(q, layer.fmap_q).reshape(B, H, n, C, -1)
    fk = hedgehog(k, layer.fmap_k).reshape(B, H, n, C, -1)
    kv = fk.transpose(-1, -2) @ vc                                         # [B,H,n,F,d]
    ks = fk.sum(3)                                                         # [B,H,n,F]
    kv = torch.cumsum(kv, 2)
    ks = torch.cumsum(ks, 2)
    kv = torch.cat([torch.zeros_like(kv[:, :, :2]), kv[:, :, :-2]], 2)[:, :, :n]
    ks = torch.cat([torch.zeros_like(ks[:, :, :2]), ks[:, :, :-2]], 2)[:, :, :n]
    lin_num = fq @ kv                                                      # [B,H,n,C,d]
    lin_den = (fq * ks[:, :, :, None, :]).sum(-1, keepdim=True)

    g = torch.sigmoid(layer.window_factors).view(1, H, 1, 1, 1)
    if mixing == "lola":
        # (g N' + (1-g) e^-m phi(q)H) / (g Z' + (1-g) e^-m phi(q)s + eps e^-m), with both
        # sides scaled by a = e^min(m,0), b = e^-max(m,0) (a/b = e^m) so neither overflows
        a = torch.exp(torch.clamp(m, max=0.0))
        b = torch.exp(-torch.clamp(m, min=0.0))
        y = (g * num * a + (1 - g) * b * lin_num) / (g * den * a + (1 - g) * b * lin_den + eps * b)
    else:
        y = (g * num + lin_num) / (g * den + lin_den)
    first = num[:, :, :1] / den[:, :, :1]          # chunk 0: no state yet, plain softmax
    y = torch.cat([first, y[:, :, 1:]], 2)
    return y.reshape(B, H, n * C, d)[:, :, :T]


# ---- the token-by-token reference with the sparse cache -----------------------------------

def reference_attention(q, k, v, fmap_q, fmap_k, window_factors, chunk: int, sparse: int,
                        mixing: str = "lolcats", eps: float = EPS) -> torch.Tensor:
    """LoLA attention per the spec, token by token, per query head, in float64: [B, H, T, d]."""
    B, H, T, d = q.shape
    out = torch.empty(B, H, T, d, dtype=torch.float64)
    q, k, v = (t.detach().to(torch.float64).cpu() for t in (q, k, v))
    wq = fmap_q.detach().to(torch.float64).cpu()
    wk = fmap_k.detach().to(torch.float64).cpu()
    gates = torch.sigmoid(window_factors.detach().to(torch.float64).cpu())
    for b in range(B):
        for h in range(H):
            head = _Head(wq[h], wk[h], float(gates[h]), chunk, sparse, MIXING[mixing], eps, d)
            for t in range(T):
                out[b, h, t] = head.step(t, q[b, h, t], k[b, h, t], v[b, h, t])
    return out


def _phi(x, w):
    z = x @ w
    return torch.cat([torch.softmax(z, -1), torch.softmax(-z, -1)]).clamp_min(1e-12)


class _Head:
    """One query head's three memories: G (sparse), W_prev / W_cur (window), (H, s) (linear)."""

    def __init__(self, wq, wk, g, chunk, sparse, mode, eps, d):
        self.wq, self.wk, self.g, self.C, self.lam, self.mode, self.eps = wq, wk, g, chunk, sparse, mode, eps
        self.scale = 1.0 / math.sqrt(d)
        self.G, self.W_prev, self.W_cur = [], [], []   # entries (k, v, phi_k)
        self.H = None
        self.s = None
        self.G_filled = False

    def step(self, pos, q, k, v):
        self.W_cur.append((k, v, _phi(k, self.wk)))
        S = self.G + self.W_prev + self.W_cur
        K = torch.stack([e[0] for e in S])
        V = torch.stack([e[1] for e in S])
        sc = (K @ q) * self.scale
        m = sc.max()
        e = torch.exp(sc - m)
        num, den = e @ V, e.sum()
        if self.H is None:
            y = num / den
        else:
            fq = _phi(q, self.wq)
            ln, ld = fq @ self.H, fq @ self.s
            if self.mode == 0:
                em = torch.exp(-m)
                y = (self.g * num + (1 - self.g) * em * ln) / (self.g * den + (1 - self.g) * em * ld + self.eps * em)
            else:
                y = (self.g * num + ln) / (self.g * den + ld)
        if len(self.W_cur) == self.C:
            self.boundary()
        return y

    def sre(self, entry):
        _, v, fk = entry
        return torch.linalg.norm(v - (fk @ self.H) / (fk @ self.s + self.eps)).item()

    def fold(self, entries):
        for _, v, fk in entries:
            self.H = self.H + torch.outer(fk, v)
            self.s = self.s + fk

    def boundary(self):
        if self.H is None:
            F = self.W_cur[0][2].shape[0]
            self.H = torch.zeros(F, self.W_cur[0][1].shape[0], dtype=torch.float64)
            self.s = torch.zeros(F, dtype=torch.float64)
        elif self.lam == 0:
            self.fold(self.W_prev)
        elif not self.G_filled:
            self.G_filled = True
            if self.lam >= self.C:
                self.G = list(self.W_prev)
            else:
                self._select(list(self.W_prev))
        elif len(self.G) + self.C <= self.lam:
            self.G = self.G + self.W_prev
        else:
            self._select(self.G + self.W_prev)
        self.W_prev, self.W_cur = self.W_cur, []

    def _select(self, pool):
        scores = [self.sre(e) for e in pool]   # all against (H, s) before this boundary folds
        order = sorted(range(len(pool)), key=lambda i: -scores[i])
        keep = set(order[:self.lam])
        rest = [pool[i] for i in range(len(pool)) if i not in keep]
        # G keeps the selected pairs in rank order (the order does not change any output)
        self.G = [pool[i] for i in order[:self.lam]]
        self.fold(rest)
