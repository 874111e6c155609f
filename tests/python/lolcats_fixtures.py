"""Tiny synthetic LoLCATs checkpoints, written byte by byte in the formats of the real ones.

* A Hugging Face Llama folder: config.json (llama3 RoPE scaling), model.safetensors.index.json
  and two .safetensors shards in bf16, f16 or f32 (the header and data written here, not by a
  library).
* A LoLCATs distill checkpoint (feature_map_q/k.mlp.layer [H, d, F/2], window_factors
  [1, H, 1, 1]) and a finetune checkpoint (PEFT lora_A/lora_B on q/k/v/o), as torch.save zip
  archives whose pickle is emitted opcode by opcode (no torch): `_rebuild_tensor_v2` calls over
  persistent storage ids, exactly as torch writes them. Every key layout LoLCATs produces:
  bare, inside "model_state_dict", with prefixes "model." and "base_model.model.model.".
* A PEFT adapter folder (adapter_model.safetensors + adapter_config.json).

`reference_model` builds the float64 reference of the same weights in Hugging Face layout
(LoRA merged here as W + alpha/r * B @ A; RoPE rotate_half with transformers' llama3 frequency
rule), for lola_reference.Forward. Nothing here imports lola_convert; `write_poisoned_binding`
makes a `lola` package that fails on import, to show that the converter never imports the
binding.
"""

from __future__ import annotations

import json
import math
import os
import struct
import zipfile
from dataclasses import dataclass

import numpy as np

import lola_reference


@dataclass
class TinySpec:
    n_vocab: int = 128
    n_embd: int = 64
    n_layer: int = 2
    n_head: int = 4
    n_head_kv: int = 2
    n_ff: int = 128
    half: int = 8                 # F/2 of the hedgehog maps
    rope_theta: float = 500000.0
    rope_factor: float = 8.0
    rope_low: float = 1.0
    rope_high: float = 4.0
    rope_orig_ctx: int = 64       # puts the head's 8 frequencies in all three llama3 bands
    lora_r: int = 4
    lora_alpha: float = 16.0
    seed: int = 7

    @property
    def head_dim(self):
        return self.n_embd // self.n_head


# ---------------------------------------------------------------------------------------------
# Weights (Hugging Face layout and names)
# ---------------------------------------------------------------------------------------------


def bf16_round(x):
    """float32 -> the nearest bfloat16 (ties to even), as float32."""
    b = np.asarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    b = (b + 0x7FFF + ((b >> 16) & 1)) >> 16
    return (b.astype(np.uint32) << 16).view(np.float32)


def round_to(x, dtype):
    if dtype == "BF16":
        return bf16_round(x)
    if dtype == "F16":
        return np.asarray(x, dtype=np.float16).astype(np.float32)
    return np.asarray(x, dtype=np.float32)


def base_weights(spec: TinySpec, dtype="F32"):
    """HF tensors of a random Llama, already rounded to `dtype` (what the file will hold)."""
    rng = np.random.default_rng(spec.seed)
    E, hd, H, Hkv, FF, V = spec.n_embd, spec.head_dim, spec.n_head, spec.n_head_kv, spec.n_ff, spec.n_vocab

    def mat(rows, cols, gain=1.0):
        return rng.standard_normal((rows, cols)) * gain / np.sqrt(cols)

    def norm(n):
        return 1.0 + 0.1 * rng.standard_normal(n)

    w = {"model.embed_tokens.weight": rng.standard_normal((V, E))}
    for l in range(spec.n_layer):
        p = f"model.layers.{l}."
        w[p + "input_layernorm.weight"] = norm(E)
        w[p + "self_attn.q_proj.weight"] = mat(H * hd, E, 1.5)
        w[p + "self_attn.k_proj.weight"] = mat(Hkv * hd, E, 1.5)
        w[p + "self_attn.v_proj.weight"] = mat(Hkv * hd, E)
        w[p + "self_attn.o_proj.weight"] = mat(E, H * hd)
        w[p + "post_attention_layernorm.weight"] = norm(E)
        w[p + "mlp.gate_proj.weight"] = mat(FF, E)
        w[p + "mlp.up_proj.weight"] = mat(FF, E)
        w[p + "mlp.down_proj.weight"] = mat(E, FF)
    w["model.norm.weight"] = norm(E)
    w["lm_head.weight"] = mat(V, E, 3.0)
    return {k: round_to(v, dtype) for k, v in w.items()}


def lolcats_weights(spec: TinySpec):
    """Per layer: hedgehog maps [H, d, F/2] and gate logits [1, H, 1, 1] (float32), and LoRA
    pairs {(layer, proj): (A [r, in], B [out, r])} on q/k/v/o."""
    rng = np.random.default_rng(spec.seed + 1)
    H, Hkv, hd, E, r = spec.n_head, spec.n_head_kv, spec.head_dim, spec.n_embd, spec.lora_r
    layers, lora = {}, {}
    for l in range(spec.n_layer):
        layers[l] = {
            "fmap_q": (0.4 * rng.standard_normal((H, hd, spec.half))).astype(np.float32),
            "fmap_k": (0.4 * rng.standard_normal((H, hd, spec.half))).astype(np.float32),
            "window_factors": (1.5 * rng.standard_normal((1, H, 1, 1))).astype(np.float32),
        }
        shapes = {"q": (H * hd, E), "k": (Hkv * hd, E), "v": (Hkv * hd, E), "o": (E, H * hd)}
        for proj, (out, inp) in shapes.items():
            a = (rng.standard_normal((r, inp)) / np.sqrt(inp)).astype(np.float32)
            b = (0.1 * rng.standard_normal((out, r))).astype(np.float32)
            lora[(l, proj)] = (a, b)
    return layers, lora


# ---------------------------------------------------------------------------------------------
# File formats
# ---------------------------------------------------------------------------------------------


def write_safetensors(path, tensors: dict, dtype="F32", metadata=None):
    """tensors: name -> float32 array (already representable in dtype)."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, arr in tensors.items():
        arr = np.ascontiguousarray(arr, dtype=np.float32)
        if dtype == "BF16":
            data = (arr.view(np.uint32) >> 16).astype("<u2").tobytes()
        elif dtype == "F16":
            data = arr.astype("<f2").tobytes()
        else:
            data = arr.astype("<f4").tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for b in blobs:
            f.write(b)


def write_hf_folder(folder, spec: TinySpec, dtype="F32", weights=None):
    """config.json + two safetensors shards with an index; returns the weights written."""
    os.makedirs(folder, exist_ok=True)
    w = weights if weights is not None else base_weights(spec, dtype)
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "hidden_size": spec.n_embd, "intermediate_size": spec.n_ff,
        "num_hidden_layers": spec.n_layer, "num_attention_heads": spec.n_head,
        "num_key_value_heads": spec.n_head_kv, "vocab_size": spec.n_vocab,
        "max_position_embeddings": 1024, "rms_norm_eps": 1e-5, "rope_theta": spec.rope_theta,
        "rope_scaling": {"rope_type": "llama3", "factor": spec.rope_factor,
                         "low_freq_factor": spec.rope_low, "high_freq_factor": spec.rope_high,
                         "original_max_position_embeddings": spec.rope_orig_ctx},
        "tie_word_embeddings": False, "torch_dtype": {"BF16": "bfloat16", "F16": "float16",
                                                      "F32": "float32"}[dtype],
    }
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f)
    names = list(w)
    shards = {"model-00001-of-00002.safetensors": names[: len(names) // 2],
              "model-00002-of-00002.safetensors": names[len(names) // 2:]}
    weight_map = {}
    for shard, keys in shards.items():
        write_safetensors(os.path.join(folder, shard), {k: w[k] for k in keys}, dtype,
                          metadata={"format": "pt"})
        weight_map.update({k: shard for k in keys})
    with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {}, "weight_map": weight_map}, f)
    return w


class Pickle:
    """A protocol-2 pickle emitted opcode by opcode, the way torch.save writes state dicts."""

    def __init__(self):
        self.out = bytearray(b"\x80\x02")  # PROTO 2

    def global_(self, module, name):
        self.out += b"c" + module.encode() + b"\n" + name.encode() + b"\n"

    def str_(self, s):
        b = s.encode()
        self.out += b"X" + struct.pack("<I", len(b)) + b

    def int_(self, n):
        self.out += b"J" + struct.pack("<i", n)

    def float_(self, x):
        self.out += b"G" + struct.pack(">d", x)

    def tuple_(self, items):
        self.out += b"("
        for it in items:
            self.int_(it)
        self.out += b"t"

    def mark(self):
        self.out += b"("

    def stop(self):
        self.out += b"."
        return bytes(self.out)


_STORAGE = {"F32": ("FloatStorage", "<f4"), "F16": ("HalfStorage", "<f2"),
            "BF16": ("BFloat16Storage", "<u2")}


def _tensor_bytes(arr, dtype):
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    if dtype == "BF16":
        return (arr.view(np.uint32) >> 16).astype("<u2").tobytes()
    return arr.astype(_STORAGE[dtype][1]).tobytes()


def write_torch_pt(path, state: dict, wrap=None, dtype="F32", extra=None, inject=None):
    """A torch.save zip archive of `state` (name -> float32 array), as {wrap: state, 'step': 1}
    when wrap is given. `inject(p)` may emit one more value (under the key 'extra') in the
    outer dict: the malicious-pickle tests use it. Tensors are saved as torch does: one storage
    per tensor, contiguous, with the storage dtype of `dtype`."""
    p = Pickle()
    storages = {}
    p.out += b"}"          # EMPTY_DICT (outer)
    if wrap:
        p.str_(wrap)
        p.out += b"}"      # the state dict itself
    p.mark()
    for i, (name, arr) in enumerate(state.items()):
        key = str(i)
        storages[key] = _tensor_bytes(arr, dtype)
        p.str_(name)
        p.global_("torch._utils", "_rebuild_tensor_v2")
        p.mark()
        # persistent id ('storage', torch.<X>Storage, key, 'cpu', numel)
        p.mark()
        p.str_("storage")
        p.global_("torch", _STORAGE[dtype][0])
        p.str_(key)
        p.str_("cpu")
        p.int_(int(np.asarray(arr).size))
        p.out += b"t" + b"Q"  # TUPLE, BINPERSID
        p.int_(0)
        shape = np.asarray(arr).shape
        strides = [int(np.prod(shape[i + 1:])) for i in range(len(shape))]
        p.tuple_(shape)
        p.tuple_(strides)
        p.out += b"\x89"      # NEWFALSE (requires_grad)
        p.global_("collections", "OrderedDict")
        p.out += b")R"        # EMPTY_TUPLE, REDUCE: OrderedDict()
        p.out += b"tR"        # TUPLE of the args, REDUCE: the tensor
    p.out += b"u"             # SETITEMS
    if wrap:
        p.out += b"s"         # outer[wrap] = state
        p.str_("step")
        p.int_(1)
        p.out += b"s"
        p.str_("eval/loss")
        p.float_(1.25)
        p.out += b"s"
    if inject is not None:
        p.str_("extra")
        inject(p)
        p.out += b"s"
    data = p.stop()
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", data)
        z.writestr("archive/byteorder", "little")
        for key, raw in storages.items():
            z.writestr(f"archive/data/{key}", raw)
        z.writestr("archive/version", "3\n")


PREFIXES = {"bare": "", "model": "model.", "model.model": "model.model.",
            "peft": "base_model.model.model."}


def distill_state(layers, prefix=""):
    out = {}
    for l, t in layers.items():
        p = f"{prefix}layers.{l}.self_attn."
        out[p + "feature_map_q.mlp.layer"] = t["fmap_q"]
        out[p + "feature_map_k.mlp.layer"] = t["fmap_k"]
        out[p + "window_factors"] = t["window_factors"]
    return out


def lora_state(lora, prefix="base_model.model.model.", adapter=".default"):
    out = {}
    for (l, proj), (a, b) in lora.items():
        p = f"{prefix}layers.{l}.self_attn.{proj}_proj."
        out[p + f"lora_A{adapter}.weight"] = a
        out[p + f"lora_B{adapter}.weight"] = b
    return out


def write_peft_folder(folder, lora, r, alpha):
    os.makedirs(folder, exist_ok=True)
    write_safetensors(os.path.join(folder, "adapter_model.safetensors"),
                      lora_state(lora, adapter=""))
    with open(os.path.join(folder, "adapter_config.json"), "w") as f:
        json.dump({"peft_type": "LORA", "r": r, "lora_alpha": alpha,
                   "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj"]}, f)


# ---------------------------------------------------------------------------------------------
# The reference model of the same weights
# ---------------------------------------------------------------------------------------------


def llama3_inv_freq(spec: TinySpec):
    """transformers' llama3 rule: wavelengths above original/low_freq_factor are slowed by
    `factor`, those below original/high_freq_factor kept, the band between blended."""
    hd = spec.head_dim
    inv = 1.0 / spec.rope_theta ** (np.arange(0, hd, 2, dtype=np.float64) / hd)
    wavelen = 2 * math.pi / inv
    low_wl = spec.rope_orig_ctx / spec.rope_low
    high_wl = spec.rope_orig_ctx / spec.rope_high
    scaled = np.where(wavelen > low_wl, inv / spec.rope_factor, inv)
    smooth = (spec.rope_orig_ctx / wavelen - spec.rope_low) / (spec.rope_high - spec.rope_low)
    blended = (1 - smooth) * inv / spec.rope_factor + smooth * inv
    medium = (wavelen >= high_wl) & (wavelen <= low_wl)
    return np.where(medium, blended, scaled)


def reference_model(spec: TinySpec, base: dict, layers: dict, lora: dict | None, scale: float):
    """lola_reference.LlamaModel in HF layout (rotate_half RoPE) with LoRA merged."""
    w_layers = []
    for l in range(spec.n_layer):
        p = f"model.layers.{l}."
        proj = {}
        for name in ("q", "k", "v", "o"):
            w = base[p + f"self_attn.{name}_proj.weight"].astype(np.float64)
            if lora is not None:
                a, b = lora[(l, name)]
                w = w + scale * (b.astype(np.float64) @ a.astype(np.float64))
            proj[name] = w
        w_layers.append({
            "attn_norm": base[p + "input_layernorm.weight"], "wq": proj["q"], "wk": proj["k"],
            "wv": proj["v"], "wo": proj["o"], "ffn_norm": base[p + "post_attention_layernorm.weight"],
            "w_gate": base[p + "mlp.gate_proj.weight"], "w_up": base[p + "mlp.up_proj.weight"],
            "w_down": base[p + "mlp.down_proj.weight"],
            "hedgehog_q": layers[l]["fmap_q"], "hedgehog_k": layers[l]["fmap_k"],
            "window_factors": layers[l]["window_factors"].reshape(-1),
        })
    return lola_reference.LlamaModel(
        n_vocab=spec.n_vocab, n_embd=spec.n_embd, n_layer=spec.n_layer, n_head=spec.n_head,
        n_head_kv=spec.n_head_kv, head_dim=spec.head_dim, n_ff=spec.n_ff, rms_eps=1e-5,
        rope_base=spec.rope_theta, rope_freq_scale=1.0, rope_freq_factors=None,
        token_embd=base["model.embed_tokens.weight"], output_norm=base["model.norm.weight"],
        output=base["lm_head.weight"], layers=w_layers, has_lola=True, hedgehog_dim=2 * spec.half,
        rope_layout="half", rope_inv_freq=llama3_inv_freq(spec))


# ---------------------------------------------------------------------------------------------
# A binding that must not be imported
# ---------------------------------------------------------------------------------------------


def write_poisoned_binding(folder: str) -> str:
    """A folder holding a `lola` package whose import raises; put first on PYTHONPATH it stands
    in for the Python binding, so a converter that imports the binding fails. Returns folder."""
    os.makedirs(os.path.join(folder, "lola"), exist_ok=True)
    with open(os.path.join(folder, "lola", "__init__.py"), "w") as f:
        f.write('raise ImportError("lola_convert imported the liblola binding (lola)")\n')
    return folder
