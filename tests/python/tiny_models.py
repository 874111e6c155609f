"""Tiny random Llama GGUF models for the tests, written with gguf.GGUFWriter.

Every 2-D weight (token_embd, attention, feed-forward, output) is stored in one tensor type;
norm weights and LoLA tensors are F32. Types the gguf package can quantize (F32, F16, BF16, Q8_0,
Q4_0, Q4_1, Q5_0, Q5_1) are quantized from random float weights; the K-quants (Q4_K, Q5_K,
Q6_K), which the package only dequantizes, are written as random valid blocks (random quants and
scales, small finite fp16 super-block scales). The reference reads whatever was written back
through gguf's dequantization, so the exact values do not matter, only that they are sensible.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Types whose rows must be a multiple of 256 elements (the K-quant super-block).
K_QUANTS = ("Q4_K", "Q5_K", "Q6_K")
ALL_TYPES = ("F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1") + K_QUANTS


@dataclass
class ModelSpec:
    wtype: str = "F32"
    n_vocab: int = 97
    n_embd: int = 64
    n_layer: int = 2
    n_head: int = 4
    n_head_kv: int = 2
    n_ff: int = 128
    n_ctx: int = 256
    rms_eps: float = 1e-5
    rope_base: float = 10000.0
    rope_linear_factor: float | None = None   # writes rope.scaling.type "linear" + factor
    rope_freqs: bool = False                  # llama3-style frequency factors (rope_freqs.weight)
    tied: bool = False                        # no output.weight: output = token_embd
    lola: bool = False                        # hedgehog maps and gates in every layer
    feature_dim: int = 16                     # F of the hedgehog maps (ne[0] = F/2)
    seed: int = 0

    @property
    def head_dim(self):
        return self.n_embd // self.n_head


def spec_for_type(wtype: str, **kw) -> ModelSpec:
    """A spec whose every matrix width fits the type's block size."""
    if wtype in K_QUANTS:
        base = dict(n_embd=256, n_head=4, n_head_kv=2, n_ff=256)
    else:
        base = dict(n_embd=64, n_head=4, n_head_kv=2, n_ff=128)
    base.update(kw)
    return ModelSpec(wtype=wtype, **base)


def _random_weights(spec: ModelSpec):
    """Float32 weights in numpy order (rows, cols), scaled so that activations stay O(1)."""
    rng = np.random.default_rng(spec.seed)
    E, hd, H, Hkv, FF, V = (spec.n_embd, spec.head_dim, spec.n_head, spec.n_head_kv, spec.n_ff,
                            spec.n_vocab)

    def mat(rows, cols, gain=1.0):
        return (rng.standard_normal((rows, cols)) * gain / np.sqrt(cols)).astype(np.float32)

    def norm(n):
        return (1.0 + 0.1 * rng.standard_normal(n)).astype(np.float32)

    w = {"token_embd.weight": rng.standard_normal((V, E)).astype(np.float32)}
    for l in range(spec.n_layer):
        p = f"blk.{l}."
        w[p + "attn_norm.weight"] = norm(E)
        w[p + "attn_q.weight"] = mat(H * hd, E, 1.5)
        w[p + "attn_k.weight"] = mat(Hkv * hd, E, 1.5)
        w[p + "attn_v.weight"] = mat(Hkv * hd, E)
        w[p + "attn_output.weight"] = mat(E, H * hd)
        w[p + "ffn_norm.weight"] = norm(E)
        w[p + "ffn_gate.weight"] = mat(FF, E)
        w[p + "ffn_up.weight"] = mat(FF, E)
        w[p + "ffn_down.weight"] = mat(E, FF)
        if spec.lola:
            half = spec.feature_dim // 2
            w[p + "lola.fmap_q.weight"] = (0.4 * rng.standard_normal((H, hd, half))).astype(np.float32)
            w[p + "lola.fmap_k.weight"] = (0.4 * rng.standard_normal((H, hd, half))).astype(np.float32)
            w[p + "lola.window_factors"] = (1.5 * rng.standard_normal(H)).astype(np.float32)
    w["output_norm.weight"] = norm(E)
    if not spec.tied:
        w["output.weight"] = mat(V, E, 3.0)
    return w


def _f16_bytes(x):
    return np.asarray(x, dtype=np.float16).view(np.uint8).reshape(*np.shape(x), 2)


def random_kquant_blocks(wtype: str, rows: int, cols: int, rng, target_std: float) -> np.ndarray:
    """Random valid K-quant data, uint8 (rows, cols / 256 * block_bytes), whose dequantized
    values have roughly standard deviation target_std."""
    import gguf

    qt = getattr(gguf.GGMLQuantizationType, wtype)
    block, nbytes = gguf.GGML_QUANT_SIZES[qt]
    assert cols % block == 0, f"{wtype} rows need a multiple of {block} elements, got {cols}"
    nb = rows * (cols // block)
    raw = rng.integers(0, 256, size=(nb, nbytes), dtype=np.uint8)
    d = rng.uniform(0.5, 1.0, size=nb)
    if wtype == "Q6_K":
        # ql[128], qh[64], scales[16] int8, d fp16; keep the int8 scales moderate
        raw[:, 192:208] = rng.integers(-40, 41, size=(nb, 16)).astype(np.int8).view(np.uint8)
        fields = [(208, d)]
    else:
        # d fp16, dmin fp16, scales[12], ... ; dmin ~ d * mean(q) (q uniform in 0..15 or
        # 0..31) keeps the values centred on 0 overall
        mean_q = 7.5 if wtype == "Q4_K" else 15.5
        dmin = d * mean_q * rng.uniform(0.8, 1.2, size=nb)
        fields = [(0, d), (2, dmin)]

    def encode(factor):
        out = raw.copy()
        for off, val in fields:
            out[:, off:off + 2] = _f16_bytes(val * factor)
        return out.reshape(rows, -1)

    probe = gguf.quants.dequantize(encode(1e-3), qt)
    std = float(np.std(probe))
    data = encode(1e-3 * target_std / std)
    assert np.all(np.isfinite(gguf.quants.dequantize(data, qt)))
    return data


def write_model(path, spec: ModelSpec):
    """Writes the model and returns its path (a str)."""
    import gguf

    path = str(path)
    w = _random_weights(spec)
    rng = np.random.default_rng(spec.seed + 1000)
    writer = gguf.GGUFWriter(path, "llama")
    writer.add_name(f"tiny-{spec.wtype}")
    writer.add_context_length(spec.n_ctx)
    writer.add_embedding_length(spec.n_embd)
    writer.add_block_count(spec.n_layer)
    writer.add_feed_forward_length(spec.n_ff)
    writer.add_head_count(spec.n_head)
    writer.add_head_count_kv(spec.n_head_kv)
    writer.add_layer_norm_rms_eps(spec.rms_eps)
    writer.add_rope_freq_base(spec.rope_base)
    if spec.rope_linear_factor is not None:
        writer.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        writer.add_rope_scaling_factor(spec.rope_linear_factor)

    if spec.rope_freqs:  # llama3 scaling as llama.cpp stores it: theta_i divided by factor_i
        factors = np.linspace(1.0, 8.0, spec.head_dim // 2).astype(np.float32)
        writer.add_tensor("rope_freqs.weight", factors)

    qt = getattr(gguf.GGMLQuantizationType, spec.wtype)
    for name, arr in w.items():
        if arr.ndim != 2 or spec.wtype == "F32":
            writer.add_tensor(name, arr)        # norms, LoLA tensors, or all-F32 model
        elif spec.wtype == "F16":
            writer.add_tensor(name, arr.astype(np.float16))
        elif spec.wtype in K_QUANTS:
            rows, cols = arr.shape
            data = random_kquant_blocks(spec.wtype, rows, cols, rng, float(np.std(arr)))
            writer.add_tensor(name, data, raw_dtype=qt)
        else:
            writer.add_tensor(name, gguf.quants.quantize(arr, qt), raw_dtype=qt)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
