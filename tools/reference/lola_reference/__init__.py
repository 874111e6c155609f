"""An independent float64 numpy reference for liblola's model forward pass.

Three parts, written plainly so that they can be read against their sources:

* ``load_gguf``: a Llama GGUF file read with the ``gguf`` package (``GGUFReader`` and
  ``gguf.quants.dequantize`` for every tensor type), kept as the exact float32 dequantized
  values; every computation on them is float64.
* ``LolaHead``: the LoLA attention of one query head, token by token, straight from
  docs/lola-spec.md (window W_prev/W_cur, sparse cache G chosen by self-recall error, linear
  state (H, s), output mixing mode A in its stable form or mode B).
* ``Forward`` / ``logits``: the Llama forward pass (RMSNorm, RoPE on adjacent pairs, GQA,
  SwiGLU, tied output) with full causal softmax attention or LoLA attention.

Nothing here imports or mirrors liblola's C++; it is the truth the C++ is checked against.

A package of its own (tools/reference, ``pip install ./tools/reference``; tests/python puts it
on sys.path in conftest.py), not a part of tools/convert: the converter's tests compare its
output with this reference, which would prove little if both shipped, and changed, together;
and the training tool (train/) needs the LoLA maths without the converter's checkpoint readers
and GGUF writer. numpy only: ``gguf`` is imported by ``load_gguf`` and ``dequantize_tensor``
alone, when they are called.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

# ---------------------------------------------------------------------------------------------
# GGUF loading
# ---------------------------------------------------------------------------------------------


@dataclass
class LlamaModel:
    """Hyperparameters and float64 weights of a Llama GGUF.

    Matrices have numpy shape (rows, cols) = GGML ne [cols, rows]: y = W @ x. Weights are
    float32 arrays holding the exact dequantized values; all arithmetic is float64.
    """

    n_vocab: int
    n_embd: int
    n_layer: int
    n_head: int
    n_head_kv: int
    head_dim: int
    n_ff: int
    rms_eps: float
    rope_base: float
    rope_freq_scale: float
    rope_freq_factors: np.ndarray | None
    token_embd: np.ndarray          # (n_vocab, n_embd)
    output_norm: np.ndarray         # (n_embd,)
    output: np.ndarray              # (n_vocab, n_embd); token_embd when the file has no output
    layers: list = field(default_factory=list)  # dicts of per-layer weights
    has_lola: bool = False
    hedgehog_dim: int = 0           # F of the file's hedgehog maps (2 * ne[0])
    tensor_types: dict = field(default_factory=dict)  # name -> GGMLQuantizationType name
    # Hugging Face checkpoints (the converter's tests): "half" rotates (x[i], x[i + d/2]) as
    # transformers does, instead of GGUF's adjacent pairs; rope_inv_freq, when set, replaces
    # the frequencies computed from rope_base / rope_freq_scale / rope_freq_factors.
    rope_layout: str = "adjacent"
    rope_inv_freq: np.ndarray | None = None


def _field_value(reader, key):
    f = reader.fields.get(key)
    if f is None:
        return None
    return f.contents()


def dequantize_tensor(t) -> np.ndarray:
    """A ReaderTensor dequantized, in numpy order (reversed GGML ne).

    The values are kept as float32: every dequantized value is a float32 number, and numpy
    promotes float32 operands to float64 exactly when they meet the float64 activations, so the
    arithmetic is float64 at half the memory (this matters for real models).
    """
    import gguf

    arr = gguf.quants.dequantize(t.data, t.tensor_type)
    ne = [int(x) for x in t.shape]          # GGML order: ne[0] first
    return np.asarray(arr, dtype=np.float32).reshape(tuple(reversed(ne)))


def load_gguf(path) -> LlamaModel:
    import gguf

    reader = gguf.GGUFReader(str(path))
    arch = _field_value(reader, "general.architecture")
    if arch != "llama":
        raise ValueError(f"architecture {arch!r} is not llama")
    a = "llama."
    n_embd = int(_field_value(reader, a + "embedding_length"))
    n_layer = int(_field_value(reader, a + "block_count"))
    n_ff = int(_field_value(reader, a + "feed_forward_length"))
    n_head = int(_field_value(reader, a + "attention.head_count"))
    n_head_kv = _field_value(reader, a + "attention.head_count_kv")
    n_head_kv = n_head if n_head_kv is None else int(n_head_kv)
    head_dim = _field_value(reader, a + "attention.key_length")
    head_dim = n_embd // n_head if head_dim is None else int(head_dim)
    rms_eps = _field_value(reader, a + "attention.layer_norm_rms_epsilon")
    rms_eps = 1e-5 if rms_eps is None else float(rms_eps)
    base = _field_value(reader, a + "rope.freq_base")
    base = 10000.0 if base is None else float(base)
    scaling = _field_value(reader, a + "rope.scaling.type") or "none"
    factor = _field_value(reader, a + "rope.scaling.factor")
    freq_scale = 1.0
    if scaling == "linear":
        freq_scale = 1.0 / float(factor)

    tensors = {t.name: t for t in reader.tensors}

    def get(name):
        return dequantize_tensor(tensors[name])

    types = {t.name: t.tensor_type.name for t in reader.tensors}
    token_embd = get("token_embd.weight")
    output = get("output.weight") if "output.weight" in tensors else token_embd
    freq_factors = get("rope_freqs.weight") if "rope_freqs.weight" in tensors else None

    has_lola = "blk.0.lola.fmap_q.weight" in tensors
    layers = []
    hedgehog_dim = 0
    for i in range(n_layer):
        p = f"blk.{i}."
        w = {
            "attn_norm": get(p + "attn_norm.weight"),
            "wq": get(p + "attn_q.weight"),
            "wk": get(p + "attn_k.weight"),
            "wv": get(p + "attn_v.weight"),
            "wo": get(p + "attn_output.weight"),
            "ffn_norm": get(p + "ffn_norm.weight"),
            "w_gate": get(p + "ffn_gate.weight"),
            "w_up": get(p + "ffn_up.weight"),
            "w_down": get(p + "ffn_down.weight"),
        }
        if has_lola:
            # (n_head, head_dim, F/2): W_h of query head h is [h], shape (head_dim, F/2)
            w["hedgehog_q"] = get(p + "lola.fmap_q.weight")
            w["hedgehog_k"] = get(p + "lola.fmap_k.weight")
            w["window_factors"] = get(p + "lola.window_factors")  # (n_head,)
            hedgehog_dim = 2 * w["hedgehog_q"].shape[2]
        layers.append(w)

    return LlamaModel(
        n_vocab=token_embd.shape[0], n_embd=n_embd, n_layer=n_layer, n_head=n_head,
        n_head_kv=n_head_kv, head_dim=head_dim, n_ff=n_ff, rms_eps=rms_eps, rope_base=base,
        rope_freq_scale=freq_scale, rope_freq_factors=freq_factors, token_embd=token_embd,
        output_norm=get("output_norm.weight"), output=output, layers=layers, has_lola=has_lola,
        hedgehog_dim=hedgehog_dim, tensor_types=types)


# ---------------------------------------------------------------------------------------------
# Feature maps
# ---------------------------------------------------------------------------------------------


def _softmax(z):
    z = z - np.max(z)
    e = np.exp(z)
    return e / np.sum(e)


def elu1(x):
    """elu(x) + 1."""
    x = np.asarray(x, dtype=np.float64)
    return np.where(x > 0, x + 1.0, np.exp(np.minimum(x, 0.0)))


def relu(x):
    return np.maximum(np.asarray(x, dtype=np.float64), 0.0)


def hedgehog(w):
    """phi(x) = max(concat(softmax(x W), softmax(-x W)), 1e-12) with W: (d, F/2)."""
    w = np.asarray(w, dtype=np.float64)

    def phi(x):
        z = np.asarray(x, dtype=np.float64) @ w
        return np.maximum(np.concatenate([_softmax(z), _softmax(-z)]), 1e-12)

    return phi


# ---------------------------------------------------------------------------------------------
# LoLA attention of one head (token level, docs/lola-spec.md)
# ---------------------------------------------------------------------------------------------


class LolaHead:
    """One query head's LoLA memory: G, W_prev, W_cur, (H, s).

    Entries are tuples (pos, k, v, phi_k(k)); G is kept in position order.
    """

    def __init__(self, chunk, sparse_capacity, phi_q, phi_k, gate, scale, eps=1e-6,
                 mixing="lola", window_only=False):
        self.window_only = window_only   # the sliding-window baseline: W_prev is dropped
        self.evicted = []
        self.C = int(chunk)
        self.lam = int(sparse_capacity)
        self.phi_q = phi_q
        self.phi_k = phi_k
        self.g = float(gate)
        self.scale = float(scale)
        self.eps = float(eps)
        self.mixing = mixing
        self.G = []
        self.W_prev = []
        self.W_cur = []
        self.H = None
        self.s = None
        self.folded = []          # positions folded into (H, s)
        self.g_filled = False

    # -- the linear state
    def _fold(self, entries):
        for (pos, k, v, fk) in entries:
            self.H += np.outer(fk, v)
            self.s += fk
            self.folded.append(pos)

    def _sre(self, entry):
        _, _, v, fk = entry
        recall = (fk @ self.H) / (fk @ self.s + self.eps)
        return float(np.linalg.norm(v - recall))

    def _top(self, pool):
        """Top-lambda of pool (ordered G then W_prev) by descending SRE, stable; returns
        (kept in position order, rest)."""
        scores = [self._sre(e) for e in pool]
        order = sorted(range(len(pool)), key=lambda i: -scores[i])  # sorted() is stable
        keep = set(order[: self.lam])
        kept = [pool[i] for i in range(len(pool)) if i in keep]
        rest = [pool[i] for i in range(len(pool)) if i not in keep]
        kept.sort(key=lambda e: e[0])
        return kept, rest

    def _boundary(self):
        if self.window_only:
            self.evicted += [e[0] for e in self.W_prev]
            self.W_prev = self.W_cur
            self.W_cur = []
            return
        if self.H is None:
            d = len(self.W_cur[0][2])
            F = len(self.W_cur[0][3])
            self.H = np.zeros((F, d))
            self.s = np.zeros(F)
            self.W_prev = self.W_cur
            self.W_cur = []
            return
        if self.lam == 0:
            self._fold(self.W_prev)
        elif not self.g_filled:
            if self.lam >= self.C:
                self.G = list(self.W_prev)
            else:
                self.G, rest = self._top(list(self.W_prev))
                self._fold(rest)
            self.g_filled = True
        elif len(self.G) + self.C <= self.lam:
            self.G = sorted(self.G + self.W_prev, key=lambda e: e[0])
        else:
            self.G, rest = self._top(self.G + self.W_prev)
            self._fold(rest)
        self.W_prev = self.W_cur
        self.W_cur = []

    def step(self, pos, q, k, v):
        q = np.asarray(q, dtype=np.float64)
        k = np.asarray(k, dtype=np.float64)
        v = np.asarray(v, dtype=np.float64)
        self.W_cur.append((pos, k, v, self.phi_k(k)))
        S = self.G + self.W_prev + self.W_cur
        K = np.array([e[1] for e in S])
        V = np.array([e[2] for e in S])
        sc = self.scale * (K @ q)
        m = np.max(sc)
        w = np.exp(sc - m)
        if self.H is None:
            y = (w @ V) / np.sum(w)
        else:
            fq = self.phi_q(q)
            g = self.g
            if self.mixing == "lola":
                em = math.exp(-m)
                y = (g * (w @ V) + (1 - g) * em * (fq @ self.H)) / (
                    g * np.sum(w) + (1 - g) * em * (fq @ self.s) + self.eps * em)
            elif self.mixing == "lolcats":
                y = (g * (w @ V) + fq @ self.H) / (g * np.sum(w) + fq @ self.s)
            else:
                raise ValueError(self.mixing)
        if len(self.W_cur) == self.C:
            self._boundary()
        return y

    # -- inspection
    def window_positions(self):
        return sorted(e[0] for e in self.W_prev + self.W_cur)

    def sparse_positions(self):
        return sorted(e[0] for e in self.G)

    def folded_positions(self):
        return sorted(self.folded)

    def evicted_positions(self):
        return sorted(self.evicted)


def softmax_attention(q, k, v, scale):
    """Full causal softmax attention. q: (T, d); k, v: (T, d)."""
    T = q.shape[0]
    y = np.empty_like(q, dtype=np.float64)
    for t in range(T):
        sc = scale * (k[: t + 1] @ q[t])
        w = np.exp(sc - np.max(sc))
        y[t] = (w @ v[: t + 1]) / np.sum(w)
    return y


# ---------------------------------------------------------------------------------------------
# Llama forward pass
# ---------------------------------------------------------------------------------------------


@dataclass
class AttentionConfig:
    """Which attention the forward pass uses. kind: "full", "lola" or "window" (softmax over
    W_prev and W_cur only; older pairs dropped)."""

    kind: str = "full"
    chunk: int = 64
    sparse_capacity: int = 64
    feature_map: str = "elu1"       # "elu1", "relu" or "hedgehog"
    mixing: str = "lola"
    eps: float = 1e-6


def rms_norm(x, w, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def rope(x, pos0, model: LlamaModel):
    """Rotates the pairs of every head (adjacent, or i and i + d/2 for model.rope_layout
    "half"). x: (T, n_heads, head_dim)."""
    T, _, hd = x.shape
    half = hd // 2
    i = np.arange(half, dtype=np.float64)
    inv_freq = model.rope_base ** (-2.0 * i / hd) * model.rope_freq_scale
    if model.rope_freq_factors is not None:
        inv_freq = inv_freq / model.rope_freq_factors
    if model.rope_inv_freq is not None:
        inv_freq = np.asarray(model.rope_inv_freq, dtype=np.float64)
    # pair i is (x[2i], x[2i+1]) in GGUF's layout, (x[i], x[i + d/2]) in Hugging Face's
    first, second = (slice(0, half), slice(half, hd)) if model.rope_layout == "half" else \
        (slice(0, hd, 2), slice(1, hd, 2))
    out = np.empty_like(x)
    for t in range(T):
        ang = (pos0 + t) * inv_freq
        c, s = np.cos(ang), np.sin(ang)
        x0 = x[t, :, first]
        x1 = x[t, :, second]
        out[t, :, first] = x0 * c - x1 * s
        out[t, :, second] = x0 * s + x1 * c
    return out


def silu(x):
    return x / (1.0 + np.exp(-x))


class Forward:
    """A stateful float64 forward pass (so that tokens can be fed in several calls)."""

    def __init__(self, model: LlamaModel, attn: AttentionConfig | None = None):
        self.m = model
        self.attn = attn or AttentionConfig()
        self.n_past = 0
        m = model
        self.group = m.n_head // m.n_head_kv
        scale = 1.0 / math.sqrt(m.head_dim)
        self.scale = scale
        # full attention: every past rotated key and value per layer and KV head
        self.k_cache = [np.zeros((0, m.n_head_kv, m.head_dim)) for _ in range(m.n_layer)]
        self.v_cache = [np.zeros((0, m.n_head_kv, m.head_dim)) for _ in range(m.n_layer)]
        self.heads = None
        if self.attn.kind in ("lola", "window"):
            self.heads = []
            for l, w in enumerate(m.layers):
                row = []
                for h in range(m.n_head):
                    wf = w["window_factors"][h] if m.has_lola else 0.0
                    gate = 1.0 / (1.0 + math.exp(-wf))
                    fmap = self.attn.feature_map
                    if fmap == "elu1":
                        pq = pk = elu1
                    elif fmap == "relu":
                        pq = pk = relu
                    elif fmap == "hedgehog":
                        pq = hedgehog(w["hedgehog_q"][h])
                        pk = hedgehog(w["hedgehog_k"][h])
                    else:
                        raise ValueError(fmap)
                    row.append(LolaHead(self.attn.chunk, self.attn.sparse_capacity, pq, pk,
                                        gate, scale, self.attn.eps, self.attn.mixing,
                                        window_only=self.attn.kind == "window"))
                self.heads.append(row)

    def _attention(self, l, q, k, v):
        m = self.m
        T = q.shape[0]
        y = np.zeros((T, m.n_head, m.head_dim))
        if self.attn.kind == "full":
            self.k_cache[l] = np.concatenate([self.k_cache[l], k])
            self.v_cache[l] = np.concatenate([self.v_cache[l], v])
            K, V = self.k_cache[l], self.v_cache[l]
            P = self.n_past
            for h in range(m.n_head):
                kh = h // self.group
                for t in range(T):
                    n = P + t + 1
                    sc = self.scale * (K[:n, kh] @ q[t, h])
                    w = np.exp(sc - np.max(sc))
                    y[t, h] = (w @ V[:n, kh]) / np.sum(w)
        else:
            for h in range(m.n_head):
                kh = h // self.group   # GQA: expand K/V to the query heads
                head = self.heads[l][h]
                for t in range(T):
                    y[t, h] = head.step(self.n_past + t, q[t, h], k[t, kh], v[t, kh])
        return y

    def feed(self, tokens):
        """Feeds token ids; returns the logits of every token, (T, n_vocab) float64."""
        m = self.m
        tokens = np.asarray(tokens, dtype=np.int64)
        T = len(tokens)
        x = m.token_embd[tokens].astype(np.float64)
        for l, w in enumerate(m.layers):
            xn = rms_norm(x, w["attn_norm"], m.rms_eps)
            q = (xn @ w["wq"].T).reshape(T, m.n_head, m.head_dim)
            k = (xn @ w["wk"].T).reshape(T, m.n_head_kv, m.head_dim)
            v = (xn @ w["wv"].T).reshape(T, m.n_head_kv, m.head_dim)
            q = rope(q, self.n_past, m)
            k = rope(k, self.n_past, m)
            y = self._attention(l, q, k, v)
            x = x + y.reshape(T, m.n_head * m.head_dim) @ w["wo"].T
            xn = rms_norm(x, w["ffn_norm"], m.rms_eps)
            hid = silu(xn @ w["w_gate"].T) * (xn @ w["w_up"].T)
            x = x + hid @ w["w_down"].T
        self.n_past += T
        xn = rms_norm(x, m.output_norm, m.rms_eps)
        return xn @ m.output.T


def logits(model: LlamaModel, tokens, attn: AttentionConfig | None = None):
    """Logits (T, n_vocab) of feeding `tokens` from an empty state."""
    return Forward(model, attn).feed(tokens)


# ---------------------------------------------------------------------------------------------
# The JSON test vectors (tests/vectors/*.json): one attention layer, hedgehog maps
# ---------------------------------------------------------------------------------------------


def run_vector(case):
    """Runs one vector case through LolaHead; returns (y (L, H, d), list of final heads)."""
    cfg = case["config"]
    q = np.array(case["q"], dtype=np.float64)
    k = np.array(case["k"], dtype=np.float64)
    v = np.array(case["v"], dtype=np.float64)
    wq = np.array(case["feature_map"]["wq"], dtype=np.float64)
    wk = np.array(case["feature_map"]["wk"], dtype=np.float64)
    wf = np.array(case["window_factor"], dtype=np.float64)
    L, H, d = q.shape
    heads = []
    y = np.zeros((L, H, d))
    for h in range(H):
        head = LolaHead(cfg["chunk"], cfg["sparse_capacity"], hedgehog(wq[h]), hedgehog(wk[h]),
                        1.0 / (1.0 + math.exp(-wf[h])), cfg["softmax_scale"], cfg["eps"],
                        cfg["mixing"])
        for t in range(L):
            y[t, h] = head.step(t, q[t, h], k[t, h], v[t, h])
        heads.append(head)
    return y, heads
