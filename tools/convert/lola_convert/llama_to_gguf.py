"""A Hugging Face Llama folder (+ LoLCATs checkpoints) -> one liblola GGUF.

What it does to the weights, in order, per attention projection:
  1. W = the base weight (float32), plus scale * B @ A when a LoRA pair targets it (lora.py);
  2. q and k rows are permuted from Hugging Face's RoPE layout (rotate_half: dimension i pairs
     with i + d/2) to GGUF's (adjacent pairs 2i, 2i+1), per head: GGUF row 2i + s of a head is
     HF row s * d/2 + i;
  3. the matrix is stored as f32, f16, bf16 or q8_0.
The hedgehog maps act on the rotated q/k of each head, so their input axis d gets the same
permutation (else phi would see the dimensions shuffled); they, the gates, norms and
rope_freqs stay F32. Tensors are converted and written one at a time (the 8B fits in memory).

GGUF names: token_embd, blk.N.{attn_norm, attn_q, attn_k, attn_v, attn_output, ffn_norm,
ffn_gate, ffn_up, ffn_down}.weight, output_norm, output (absent when tied), rope_freqs (llama3
scaling), blk.N.lola.fmap_q.weight / fmap_k.weight ([H, d, F/2]; GGML ne [F/2, d, H]) and
blk.N.lola.window_factors ([H] gate logits).
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import dataclass

import numpy as np

from . import lora as lora_mod
from .lolcats import LolcatsWeights
from .safe_pt import CheckpointError
from .safetensors_reader import SafetensorsFolder

log = logging.getLogger("lola_convert")

OUT_TYPES = ("f32", "f16", "bf16", "q8_0")
MIXING = {"A": "lola", "B": "lolcats"}


class ConversionError(ValueError):
    """The inputs do not form a model liblola can run (message says which file and what)."""


@dataclass
class LolaDefaults:
    chunk: int
    sparse: int
    mixing: str  # "A" or "B"


@dataclass
class LlamaConfig:
    n_vocab: int
    n_embd: int
    n_layer: int
    n_head: int
    n_head_kv: int
    head_dim: int
    n_ff: int
    n_ctx: int
    rms_eps: float
    rope_theta: float
    rope_scaling: dict | None
    tied: bool


def read_config(folder) -> LlamaConfig:
    path = os.path.join(str(folder), "config.json")
    try:
        with open(path, encoding="utf-8") as f:
            c = json.load(f)
    except FileNotFoundError:
        raise ConversionError(f"{path}: missing (--base must be a Hugging Face model folder)") from None
    arch = c.get("architectures") or []
    if c.get("model_type") != "llama" and "LlamaForCausalLM" not in arch:
        raise ConversionError(f"{path}: model_type {c.get('model_type')!r} is not llama")
    if c.get("attention_bias") or c.get("mlp_bias"):
        raise ConversionError(f"{path}: attention/MLP biases are not supported")
    try:
        E, H = int(c["hidden_size"]), int(c["num_attention_heads"])
        cfg = LlamaConfig(
            n_vocab=int(c["vocab_size"]), n_embd=E, n_layer=int(c["num_hidden_layers"]), n_head=H,
            n_head_kv=int(c.get("num_key_value_heads") or H),
            head_dim=int(c.get("head_dim") or E // H), n_ff=int(c["intermediate_size"]),
            n_ctx=int(c.get("max_position_embeddings") or 0),
            rms_eps=float(c.get("rms_norm_eps", 1e-5)), rope_theta=float(c.get("rope_theta", 10000.0)),
            rope_scaling=c.get("rope_scaling"), tied=bool(c.get("tie_word_embeddings", False)))
    except KeyError as e:
        raise ConversionError(f"{path}: missing {e}") from None
    if cfg.n_head % cfg.n_head_kv or cfg.head_dim % 2:
        raise ConversionError(f"{path}: {cfg.n_head} heads, {cfg.n_head_kv} KV heads, head_dim "
                              f"{cfg.head_dim}: heads must be a multiple of KV heads, head_dim even")
    return cfg


def default_lola(cfg: LlamaConfig) -> LolaDefaults:
    """The released LoLA settings: C = lambda = 64 for Llama-3.1-8B, 256 for Llama-3.2-1B
    (spec, "Models and heads"); other sizes get the 8B's."""
    small = cfg.n_embd <= 2048
    return LolaDefaults(chunk=256 if small else 64, sparse=256 if small else 64, mixing="A")


def llama3_rope_factors(cfg: LlamaConfig) -> np.ndarray:
    """Per-frequency divisors of Llama 3.1's RoPE scaling (theta_i / factor_i), as llama.cpp
    stores them in rope_freqs.weight: 1 for short wavelengths, `factor` for long ones, and a
    smooth blend between original_context / high_freq_factor and / low_freq_factor."""
    rs = cfg.rope_scaling
    factor = float(rs["factor"])
    low = float(rs.get("low_freq_factor", 1.0))
    high = float(rs.get("high_freq_factor", 4.0))
    old_ctx = float(rs.get("original_max_position_embeddings", 8192))
    i = np.arange(0, cfg.head_dim, 2, dtype=np.float64)
    wavelen = 2 * math.pi / (cfg.rope_theta ** (-i / cfg.head_dim))
    out = np.empty_like(wavelen)
    for j, wl in enumerate(wavelen):
        if wl < old_ctx / high:
            out[j] = 1.0
        elif wl > old_ctx / low:
            out[j] = factor
        else:
            smooth = (old_ctx / wl - low) / (high - low)
            out[j] = 1.0 / ((1 - smooth) / factor + smooth)
    return out.astype(np.float32)


def rope_rows(w: np.ndarray, n_heads: int) -> np.ndarray:
    """Rows of a q/k projection [n_heads * d, ...] from HF's rotate_half order to GGUF's
    adjacent pairs (also used on the input axis of the hedgehog maps, [H, d, F/2])."""
    shape = w.shape
    d = shape[0] // n_heads
    return (w.reshape(n_heads, 2, d // 2, *shape[1:]).swapaxes(1, 2).reshape(shape))


def hedgehog_to_gguf(w: np.ndarray) -> np.ndarray:
    """[H, d, F/2] in HF dimension order -> the same with d in GGUF's RoPE order."""
    H, d, half = w.shape
    return w.reshape(H, 2, d // 2, half).swapaxes(1, 2).reshape(H, d, half)


# ------------------------------------------------------------------------------------------
# Output types
# ------------------------------------------------------------------------------------------


def _gguf():
    import gguf

    return gguf


def _matrix_type(outtype: str, cols: int):
    """The GGML type of a 2-D weight for --outtype (q8_0 needs rows of 32-multiples)."""
    q = _gguf().GGMLQuantizationType
    if outtype == "q8_0" and cols % 32 != 0:
        log.warning("rows of %d values cannot be q8_0 (blocks of 32); stored as f16", cols)
        return q.F16
    return {"f32": q.F32, "f16": q.F16, "bf16": q.BF16, "q8_0": q.Q8_0}[outtype]


def _encode(arr: np.ndarray, qtype) -> np.ndarray:
    """float32 [rows, cols] -> the bytes/elements of qtype, in blocks of rows (bounded memory)."""
    g = _gguf()
    if qtype == g.GGMLQuantizationType.F32:
        return np.ascontiguousarray(arr, dtype=np.float32)
    if qtype == g.GGMLQuantizationType.F16:
        return np.ascontiguousarray(arr, dtype=np.float16)
    rows = arr.shape[0]
    block, nbytes = g.GGML_QUANT_SIZES[qtype]
    out = np.empty((rows, arr.shape[1] // block * nbytes), dtype=np.uint8)
    step = 4096
    for r in range(0, rows, step):
        out[r:r + step] = g.quants.quantize(np.ascontiguousarray(arr[r:r + step], dtype=np.float32), qtype)
    return out


def _nbytes(shape, qtype) -> int:
    block, nbytes = _gguf().GGML_QUANT_SIZES[qtype]
    n = int(np.prod(shape))
    return n // block * nbytes


# ------------------------------------------------------------------------------------------
# Conversion
# ------------------------------------------------------------------------------------------


class _Plan:
    """The output tensors in file order: (name, numpy shape, GGML type, producer)."""

    def __init__(self):
        self.items = []

    def add(self, name, shape, qtype, produce):
        self.items.append((name, tuple(int(s) for s in shape), qtype, produce))


def _check_shape(what, arr_shape, want):
    if tuple(arr_shape) != tuple(want):
        raise ConversionError(f"{what} has shape {list(arr_shape)}, expected {list(want)}")


def convert(base, out_path, lolcats: LolcatsWeights | None = None, outtype="f16",
            lola: LolaDefaults | None = None, lora_r=None, lora_alpha=None, name=None):
    """Writes the GGUF; returns a dict summary (tensor count, bytes, LoRA r/alpha/scale)."""
    if outtype not in OUT_TYPES:
        raise ConversionError(f"--outtype must be one of {', '.join(OUT_TYPES)}, got {outtype!r}")
    g = _gguf()
    cfg = read_config(base)
    st = SafetensorsFolder(base)
    lola = lola or default_lola(cfg)
    if lola.mixing not in MIXING:
        raise ConversionError(f"mixing must be A or B, got {lola.mixing!r}")
    if lola.chunk < 1 or lola.sparse < 0:
        raise ConversionError(f"chunk {lola.chunk} must be >= 1 and sparse {lola.sparse} >= 0")
    E, L, H, Hkv, d, FF = cfg.n_embd, cfg.n_layer, cfg.n_head, cfg.n_head_kv, cfg.head_dim, cfg.n_ff
    F32 = g.GGMLQuantizationType.F32
    lc = lolcats or LolcatsWeights()

    # -- check the LoLCATs tensors against the base model before writing anything
    r, alpha, scale = lora_mod.scale_for(lc, lora_r, lora_alpha)
    for (layer, proj) in lc.lora:
        if layer >= L:
            raise ConversionError(f"LoRA on layer {layer}, but the model has {L} layers")
    half = None
    if lc.layers:
        missing = [l for l in range(L) if l not in lc.layers]
        extra = [l for l in lc.layers if l >= L]
        if missing or extra:
            raise ConversionError(
                f"the distill checkpoint covers layers {sorted(lc.layers)[:4]}...; the model has "
                f"{L}: missing {missing[:8]}, beyond the model {extra[:8]}")
        for l in range(L):
            t = lc.layers[l]
            for key in ("fmap_q", "fmap_k", "window_factors"):
                if key not in t:
                    src = {"fmap_q": "self_attn.feature_map_q.mlp.layer",
                           "fmap_k": "self_attn.feature_map_k.mlp.layer",
                           "window_factors": "self_attn.window_factors"}[key]
                    raise ConversionError(f"layer {l}: '{src}' is missing from the checkpoints")
            if half is None:
                half = t["fmap_q"].shape[-1]
            for key in ("fmap_q", "fmap_k"):
                _check_shape(f"layer {l} {key.replace('fmap', 'feature_map')}", t[key].shape, (H, d, half))
            if t["window_factors"].size != H:
                raise ConversionError(f"layer {l} window_factors has shape "
                                      f"{list(t['window_factors'].shape)}, expected [1, {H}, 1, 1]")

    def hf(name):
        if name not in st:
            raise ConversionError(f"{base}: tensor '{name}' is missing")
        return name

    plan = _Plan()

    def matrix(gguf_name, hf_name, rows, cols, layer=None, proj=None, permute_heads=None):
        hf(hf_name)
        _check_shape(f"{base}: '{hf_name}'", st.shape(hf_name), (rows, cols))
        qtype = _matrix_type(outtype, cols)

        def produce():
            w = np.asarray(st.get(hf_name), dtype=np.float32)
            pair = lc.lora.get((layer, proj)) if proj else None
            if pair is not None:
                w = lora_mod.merge(w, pair, scale, f"layer {layer} {proj}_proj")
            if permute_heads:
                w = rope_rows(w, permute_heads)
            return _encode(w, qtype)

        plan.add(gguf_name, (rows, cols), qtype, produce)

    def vector(gguf_name, hf_name, n):
        hf(hf_name)
        _check_shape(f"{base}: '{hf_name}'", st.shape(hf_name), (n,))
        plan.add(gguf_name, (n,), F32, lambda: np.asarray(st.get(hf_name), dtype=np.float32))

    def const(gguf_name, arr):
        arr = np.ascontiguousarray(arr, dtype=np.float32)
        plan.add(gguf_name, arr.shape, F32, lambda: arr)

    matrix("token_embd.weight", "model.embed_tokens.weight", cfg.n_vocab, E)
    for l in range(L):
        p, b = f"blk.{l}.", f"model.layers.{l}."
        vector(p + "attn_norm.weight", b + "input_layernorm.weight", E)
        matrix(p + "attn_q.weight", b + "self_attn.q_proj.weight", H * d, E, l, "q", H)
        matrix(p + "attn_k.weight", b + "self_attn.k_proj.weight", Hkv * d, E, l, "k", Hkv)
        matrix(p + "attn_v.weight", b + "self_attn.v_proj.weight", Hkv * d, E, l, "v")
        matrix(p + "attn_output.weight", b + "self_attn.o_proj.weight", E, H * d, l, "o")
        vector(p + "ffn_norm.weight", b + "post_attention_layernorm.weight", E)
        matrix(p + "ffn_gate.weight", b + "mlp.gate_proj.weight", FF, E)
        matrix(p + "ffn_up.weight", b + "mlp.up_proj.weight", FF, E)
        matrix(p + "ffn_down.weight", b + "mlp.down_proj.weight", E, FF)
        if lc.layers:
            t = lc.layers[l]
            const(p + "lola.fmap_q.weight", hedgehog_to_gguf(t["fmap_q"]))
            const(p + "lola.fmap_k.weight", hedgehog_to_gguf(t["fmap_k"]))
            const(p + "lola.window_factors", t["window_factors"].reshape(H))
    vector("output_norm.weight", "model.norm.weight", E)
    if "lm_head.weight" in st:
        matrix("output.weight", "lm_head.weight", cfg.n_vocab, E)
    elif not cfg.tied:
        raise ConversionError(f"{base}: 'lm_head.weight' is missing and tie_word_embeddings is false")

    rope_type = None
    if cfg.rope_scaling:
        rope_type = cfg.rope_scaling.get("rope_type") or cfg.rope_scaling.get("type")
        if rope_type == "llama3":
            const("rope_freqs.weight", llama3_rope_factors(cfg))
        elif rope_type not in ("linear", "default", None):
            raise ConversionError(f"rope_scaling type {rope_type!r} is not supported "
                                  f"(llama3, linear)")

    # -- metadata
    writer = g.GGUFWriter(str(out_path), "llama")
    file_type = {"f32": g.LlamaFileType.ALL_F32, "f16": g.LlamaFileType.MOSTLY_F16,
                 "bf16": g.LlamaFileType.MOSTLY_BF16, "q8_0": g.LlamaFileType.MOSTLY_Q8_0}[outtype]
    writer.add_name(name or os.path.basename(os.path.normpath(str(base))))
    writer.add_file_type(int(file_type))
    if outtype == "q8_0":
        writer.add_quantization_version(g.GGML_QUANT_VERSION)
    if cfg.n_ctx:
        writer.add_context_length(cfg.n_ctx)
    writer.add_embedding_length(E)
    writer.add_block_count(L)
    writer.add_feed_forward_length(FF)
    writer.add_head_count(H)
    writer.add_head_count_kv(Hkv)
    if d != E // H:
        writer.add_key_length(d)
        writer.add_value_length(d)
    writer.add_rope_dimension_count(d)
    writer.add_layer_norm_rms_eps(cfg.rms_eps)
    writer.add_rope_freq_base(cfg.rope_theta)
    writer.add_vocab_size(cfg.n_vocab)
    if rope_type == "llama3":
        writer.add_string("llama.rope.scaling.type", "llama3")
        writer.add_rope_scaling_factor(float(cfg.rope_scaling["factor"]))
        writer.add_rope_scaling_orig_ctx_len(int(cfg.rope_scaling.get("original_max_position_embeddings", 8192)))
    elif rope_type == "linear":
        writer.add_rope_scaling_type(g.RopeScalingType.LINEAR)
        writer.add_rope_scaling_factor(float(cfg.rope_scaling["factor"]))
    writer.add_uint32("lola.chunk_size", lola.chunk)
    writer.add_uint32("lola.sparse_capacity", lola.sparse)
    writer.add_string("lola.mixing", MIXING[lola.mixing])
    if lc.layers:
        writer.add_string("lola.feature_map", "hedgehog")
        writer.add_uint32("lola.feature_dim", 2 * half)
    if r:
        writer.add_uint32("lola.lora.rank", r)
        writer.add_float32("lola.lora.alpha", alpha)
    if lc.sources:
        writer.add_array("lola.sources", [os.path.basename(s.rstrip("/")) for s in lc.sources])
    tokenizer = add_tokenizer(writer, base, cfg.n_vocab)

    # -- tensors: infos first, then each tensor produced and written in turn
    for tname, shape, qtype, _ in plan.items:
        if qtype in (g.GGMLQuantizationType.F32, g.GGMLQuantizationType.F16):
            dtype = np.float32 if qtype == g.GGMLQuantizationType.F32 else np.float16
            writer.add_tensor_info(tname, shape, np.dtype(dtype), int(np.prod(shape)) * np.dtype(dtype).itemsize)
        else:
            writer.add_tensor_info(tname, shape, np.dtype(np.float32), _nbytes(shape, qtype), raw_dtype=qtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    total = 0
    for tname, shape, qtype, produce in plan.items:
        data = produce()
        writer.write_tensor_data(data)
        total += data.nbytes
        log.debug("%s %s %s", tname, list(shape), qtype.name)
    writer.close()
    return {"tensors": len(plan.items), "tensor_bytes": total, "lora_r": r, "lora_alpha": alpha,
            "lora_scale": scale, "lora_pairs": len(lc.lora), "hedgehog": bool(lc.layers),
            "tokenizer": tokenizer, "chunk": lola.chunk, "sparse": lola.sparse, "mixing": lola.mixing}


def add_tokenizer(writer, base, n_vocab) -> bool:
    """Llama 3's byte-level BPE vocabulary from tokenizer.json (gguf's BpeVocab/SpecialVocab).
    Returns False (with a warning) when the folder has none: the model then runs on token ids."""
    from pathlib import Path

    g = _gguf()
    path = Path(str(base))
    if not (path / "tokenizer.json").is_file():
        log.warning("%s has no tokenizer.json: the GGUF will have no vocabulary", base)
        return False
    try:
        vocab = g.BpeVocab(path)
    except (FileNotFoundError, ValueError) as e:
        log.warning("tokenizer.json is not a byte-level BPE vocabulary (%s): none written", e)
        return False
    tokens, types = [], []
    for text, _score, ttype in vocab.all_tokens():
        tokens.append(text if isinstance(text, str) else text.decode("utf-8"))
        types.append(int(ttype))
    if len(tokens) > n_vocab:
        raise ConversionError(f"tokenizer.json has {len(tokens)} tokens, the embedding {n_vocab}")
    for i in range(len(tokens), n_vocab):  # rows of the embedding no token uses
        tokens.append(f"[PAD{i}]")
        types.append(int(g.TokenType.UNUSED))
    with open(path / "tokenizer.json", encoding="utf-8") as f:
        pre = json.dumps(json.load(f).get("pre_tokenizer"))
    # Llama 3's split pattern: contractions case-insensitive, numbers in groups of 1-3 digits
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("llama-bpe" if "(?i:'s|'t|'re|'ve|'m|'ll|'d)" in pre and
                             "\\\\p{N}{1,3}" in pre else "default")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    g.SpecialVocab(path, load_merges=True, n_vocab=n_vocab).add_to_gguf(writer, quiet=True)
    return True
