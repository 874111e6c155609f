"""A Llama GGUF rebuilt in torch, in GGUF's own layout.

Every tensor type the ``gguf`` package dequantizes is read (F32, F16, BF16, the legacy and the K
quants); the weights become float32 torch tensors, frozen. The layout is the file's: the rows of
attn_q / attn_k are already permuted for GGML's "normal" RoPE, which rotates adjacent pairs
(x[2i], x[2i+1]), so RoPE here rotates adjacent pairs too. The maths follows liblola's CPU
reference (core/cpu/ops.cpp): inverse frequencies base^(-2i/d) in double, times the linear
scale, divided by rope_freqs.weight (llama3 scaling) when the file has it.

The forward pass is split per layer (``qkv``, ``attention_output``, ``mlp``) so the attention
transfer can replace one layer's attention while the teacher's output feeds the next layer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import torch


class ModelError(ValueError):
    """The GGUF file is not a Llama this tool can rebuild; the message says why."""


@dataclass
class HParams:
    architecture: str
    name: str
    n_vocab: int
    n_embd: int
    n_layer: int
    n_head: int
    n_head_kv: int
    head_dim: int
    n_ff: int
    rms_eps: float
    rope_base: float
    rope_scale: float = 1.0                      # linear scaling: positions times this
    rope_factors: Optional[np.ndarray] = None    # llama3: theta_i / factor_i
    lola_defaults: Dict[str, object] = field(default_factory=dict)

    @property
    def group(self) -> int:
        return self.n_head // self.n_head_kv


def _field(reader, key, default=None):
    """A scalar or string metadata value of a GGUFReader, or ``default`` when absent."""
    f = reader.fields.get(key)
    if f is None:
        return default
    part = f.parts[f.data[0]]
    if f.types and f.types[0].name == "STRING":
        return bytes(part).decode("utf-8", errors="replace")
    return part.tolist()[0] if hasattr(part, "tolist") else part


@dataclass
class LayerWeights:
    attn_norm: torch.Tensor
    wq: torch.Tensor   # [n_head*d, n_embd] (torch Linear layout: out x in)
    wk: torch.Tensor
    wv: torch.Tensor
    wo: torch.Tensor
    ffn_norm: torch.Tensor
    w_gate: torch.Tensor
    w_up: torch.Tensor
    w_down: torch.Tensor


class GGUFLlama:
    """The frozen teacher: a Llama read from a GGUF file (float32 weights on ``device``).

    ``matmul_dtype`` (float32 or bfloat16) is the type of the big frozen products (q/k/v/o and
    the MLP); norms, RoPE, attention and everything trained stay in float32."""

    def __init__(self, path, device="cpu", matmul_dtype=torch.float32, with_output=True):
        import gguf

        self.path = Path(path)
        try:
            reader = gguf.GGUFReader(str(path))
        except Exception as e:  # the gguf package raises ValueError, struct.error, ...
            raise ModelError(f"{path}: not a readable GGUF file ({e})") from e
        arch = _field(reader, "general.architecture")
        if arch != "llama":
            raise ModelError(f"{path}: architecture {arch!r}; lola-linearize reads Llama models")
        a = arch + "."
        tensors = {t.name: t for t in reader.tensors}

        def need(key):
            v = _field(reader, key)
            if v is None:
                raise ModelError(f"{path}: metadata {key!r} is missing")
            return v

        E = int(need(a + "embedding_length"))
        H = int(need(a + "attention.head_count"))
        Hkv = int(_field(reader, a + "attention.head_count_kv", H))
        d = int(_field(reader, a + "attention.key_length", E // H))
        if "token_embd.weight" not in tensors:
            raise ModelError(f"{path}: tensor 'token_embd.weight' is missing")
        n_vocab = int(tensors["token_embd.weight"].shape[1])
        scaling = _field(reader, a + "rope.scaling.type", "none")
        factor = float(_field(reader, a + "rope.scaling.factor", 1.0))
        self.hp = HParams(
            architecture=arch, name=str(_field(reader, "general.name", self.path.stem)),
            n_vocab=n_vocab, n_embd=E, n_layer=int(need(a + "block_count")), n_head=H,
            n_head_kv=Hkv, head_dim=d, n_ff=int(need(a + "feed_forward_length")),
            rms_eps=float(_field(reader, a + "attention.layer_norm_rms_epsilon", 1e-5)),
            rope_base=float(_field(reader, a + "rope.freq_base", 10000.0)),
            rope_scale=(1.0 / factor) if scaling == "linear" else 1.0)
        for key in ("chunk_size", "sparse_capacity", "mixing"):
            v = _field(reader, "lola." + key)
            if v is not None:
                self.hp.lola_defaults[key] = v
        if H % Hkv or d % 2:
            raise ModelError(f"{path}: {H} heads over {Hkv} KV heads, head dim {d}: not a Llama "
                             "this tool supports")

        self.device = torch.device(device)
        self.matmul_dtype = matmul_dtype

        def tensor(name, shape):
            t = tensors.get(name)
            if t is None:
                raise ModelError(f"{path}: tensor {name!r} is missing")
            arr = gguf.quants.dequantize(t.data, t.tensor_type)
            arr = np.asarray(arr, dtype=np.float32).reshape(shape)
            if not np.isfinite(arr).all():
                raise ModelError(f"{path}: tensor {name!r} holds a non-finite value")
            return torch.from_numpy(arr.copy()).to(self.device)

        def mat(name, rows, cols):
            return tensor(name, (rows, cols)).to(matmul_dtype)

        if "rope_freqs.weight" in tensors:
            self.hp.rope_factors = tensor("rope_freqs.weight", (d // 2,)).cpu().numpy()
        self.token_embd = tensor("token_embd.weight", (n_vocab, E))
        self.output_norm = tensor("output_norm.weight", (E,))
        self.output = None
        if with_output:
            self.output = (mat("output.weight", n_vocab, E) if "output.weight" in tensors
                           else self.token_embd.to(matmul_dtype))
        FF = self.hp.n_ff
        self.layers: List[LayerWeights] = []
        for l in range(self.hp.n_layer):
            p = f"blk.{l}."
            self.layers.append(LayerWeights(
                attn_norm=tensor(p + "attn_norm.weight", (E,)),
                wq=mat(p + "attn_q.weight", H * d, E), wk=mat(p + "attn_k.weight", Hkv * d, E),
                wv=mat(p + "attn_v.weight", Hkv * d, E), wo=mat(p + "attn_output.weight", E, H * d),
                ffn_norm=tensor(p + "ffn_norm.weight", (E,)),
                w_gate=mat(p + "ffn_gate.weight", FF, E), w_up=mat(p + "ffn_up.weight", FF, E),
                w_down=mat(p + "ffn_down.weight", E, FF)))
        self.lola_tensors = {n: tensors[n] for n in tensors if ".lola." in n}
        self._rope_cache: Dict[int, torch.Tensor] = {}

    # -- pieces of the forward pass -----------------------------------------------------------

    def _linear(self, x, w):
        return (x.to(self.matmul_dtype) @ w.t()).to(torch.float32)

    def rms_norm(self, x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.hp.rms_eps) * w

    def inv_freq(self) -> np.ndarray:
        d = self.hp.head_dim
        i = np.arange(d // 2, dtype=np.float64)
        f = np.power(float(self.hp.rope_base), -2.0 * i / d) * float(np.float32(self.hp.rope_scale))
        if self.hp.rope_factors is not None:
            f = f / self.hp.rope_factors.astype(np.float64)
        return f.astype(np.float32)

    def rope_table(self, n: int) -> torch.Tensor:
        """cos/sin of positions 0..n-1: [n, d/2, 2], angles computed in double like liblola."""
        have = self._rope_cache.get(0)
        if have is None or have.shape[0] < n:
            pos = np.arange(max(n, 64), dtype=np.float64)[:, None]
            ang = pos * self.inv_freq().astype(np.float64)[None, :]
            table = np.stack([np.cos(ang), np.sin(ang)], -1).astype(np.float32)
            self._rope_cache[0] = have = torch.from_numpy(table).to(self.device)
        return have[:n]

    def rope(self, x, table):
        """x [B, heads, T, d] rotated by adjacent pairs at positions 0..T-1."""
        c, s = table[..., 0], table[..., 1]
        x0, x1 = x[..., 0::2], x[..., 1::2]
        out = torch.stack([x0 * c - x1 * s, x0 * s + x1 * c], -1)
        return out.flatten(-2)

    def embed(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.token_embd[tokens]

    def qkv(self, l: int, x: torch.Tensor):
        """The layer's q [B, H, T, d] and k, v [B, Hkv, T, d], RoPE applied to q and k."""
        w, hp = self.layers[l], self.hp
        B, T, _ = x.shape
        h = self.rms_norm(x, w.attn_norm)
        q = self._linear(h, w.wq).view(B, T, hp.n_head, hp.head_dim).transpose(1, 2)
        k = self._linear(h, w.wk).view(B, T, hp.n_head_kv, hp.head_dim).transpose(1, 2)
        v = self._linear(h, w.wv).view(B, T, hp.n_head_kv, hp.head_dim).transpose(1, 2)
        table = self.rope_table(T)
        return self.rope(q, table), self.rope(k, table), v

    def expand_kv(self, t: torch.Tensor) -> torch.Tensor:
        """[B, Hkv, T, d] -> [B, H, T, d]: each KV head repeated for the query heads it serves."""
        return t.repeat_interleave(self.hp.group, dim=1)

    def softmax_attention(self, q, k, v, block: int = 256):
        """Exact causal softmax attention per query head: [B, H, T, d]. Queries go in blocks of
        ``block`` rows, each against the keys up to its end only (half the work of a full T x T
        product, and buffers small enough for the allocator to reuse)."""
        k, v = self.expand_kv(k), self.expand_kv(v)
        T = q.shape[2]
        scale = 1.0 / math.sqrt(self.hp.head_dim)
        out = torch.empty_like(q)
        for a in range(0, T, block):
            b = min(T, a + block)
            s = torch.matmul(q[:, :, a:b], k[:, :, :b].transpose(-1, -2)).mul_(scale)
            i = torch.arange(a, b, device=q.device)[:, None]
            j = torch.arange(b, device=q.device)[None, :]
            s.masked_fill_(j > i, float("-inf"))
            out[:, :, a:b] = torch.matmul(torch.softmax(s, -1), v[:, :, :b])
        return out

    def attention_output(self, l: int, x: torch.Tensor, heads: torch.Tensor) -> torch.Tensor:
        """The residual stream after the attention block, from the head outputs [B, H, T, d]."""
        B, H, T, d = heads.shape
        return x + self._linear(heads.transpose(1, 2).reshape(B, T, H * d), self.layers[l].wo)

    def mlp(self, l: int, x: torch.Tensor) -> torch.Tensor:
        w = self.layers[l]
        h = self.rms_norm(x, w.ffn_norm)
        g = self._linear(h, w.w_gate)
        return x + self._linear(torch.nn.functional.silu(g) * self._linear(h, w.w_up), w.w_down)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        if self.output is None:
            raise ModelError("the model was loaded without its output head")
        return self._linear(self.rms_norm(x, self.output_norm), self.output)

    @torch.no_grad()
    def forward(self, tokens: torch.Tensor, attention=None) -> torch.Tensor:
        """Logits [B, T, n_vocab]; ``attention(l, q, k, v) -> heads`` replaces softmax attention
        (default: exact causal softmax)."""
        x = self.embed(tokens)
        for l in range(self.hp.n_layer):
            q, k, v = self.qkv(l, x)
            heads = attention(l, q, k, v) if attention else self.softmax_attention(q, k, v)
            x = self.mlp(l, self.attention_output(l, x, heads))
        return self.logits(x)
