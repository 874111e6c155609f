"""The LoLCATs checkpoints: which tensors they hold and under which names.

LoLCATs saves its trained parameters as plain state dicts (``torch.save``), possibly wrapped in
``{"model_state_dict": ..., "step": ...}``, with names relative to the module they were taken
from: ``model.layers.N...``, ``model.model.layers.N...`` or, once PEFT wraps the model,
``base_model.model.model.layers.N...``. LoLCATs' own loader applies the state dicts in order
(distill, then finetune), so a name present in both takes the later value; so does this.

Per layer N, under ``self_attn.``:
  feature_map_q.mlp.layer, feature_map_k.mlp.layer   [H, d, F/2] hedgehog weights (H = query heads)
  feature_map_q.mlp.bias, feature_map_k.mlp.bias     optional, [1, H, 1, 1]: one constant added
        to every z of a head, which the softmaxes of the hedgehog map cancel; checked, not stored
  window_factors                                     [1, H, 1, 1] gate logits, g = sigmoid(w)
  {q,k,v,o}_proj.lora_A[.<adapter>].weight           [r, in]
  {q,k,v,o}_proj.lora_B[.<adapter>].weight           [out, r]
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field

import numpy as np

from . import safe_pt
from .safe_pt import CheckpointError
from .safetensors_reader import SafetensorsFile

_KEY = re.compile(r"^(?:base_model\.model\.)?(?:model\.){0,2}layers\.(\d+)\.self_attn\.(.+)$")
_LORA = re.compile(r"^([qkvo])_proj\.lora_([AB])(?:\.[A-Za-z0-9_\-]+)?\.weight$")
_FMAP = {"feature_map_q.mlp.layer": "fmap_q", "feature_map_k.mlp.layer": "fmap_k",
         "window_factors": "window_factors"}
_FMAP_BIAS = ("feature_map_q.mlp.bias", "feature_map_k.mlp.bias")


@dataclass
class LoraConfig:
    r: int | None = None          # from adapter_config.json, else the shapes
    alpha: float | None = None    # from adapter_config.json, else given (default 16)
    rslora: bool = False          # scale alpha / sqrt(r) instead of alpha / r


@dataclass
class LolcatsWeights:
    """Per layer: 'fmap_q', 'fmap_k' [H, d, F/2] and 'window_factors' [H] (float32); LoRA
    pairs by (layer, 'q'|'k'|'v'|'o') -> {'A': [r, in], 'B': [out, r]}."""

    layers: dict = field(default_factory=dict)
    lora: dict = field(default_factory=dict)
    lora_config: LoraConfig = field(default_factory=LoraConfig)
    sources: list = field(default_factory=list)


def read_state_dict(path) -> tuple[dict, LoraConfig]:
    """The tensors of a checkpoint: a torch .pt/.bin zip, a .safetensors file, or a PEFT
    adapter folder (adapter_model.safetensors or .bin, with adapter_config.json)."""
    path = str(path)
    config = LoraConfig()
    if os.path.isdir(path):
        cfg = os.path.join(path, "adapter_config.json")
        if os.path.isfile(cfg):
            with open(cfg, encoding="utf-8") as f:
                c = json.load(f)
            config.r = int(c["r"]) if "r" in c else None
            config.alpha = float(c["lora_alpha"]) if "lora_alpha" in c else None
            config.rslora = bool(c.get("use_rslora", False))
        for name in ("adapter_model.safetensors", "adapter_model.bin", "model.safetensors", "model.pt"):
            if os.path.isfile(os.path.join(path, name)):
                return read_state_dict(os.path.join(path, name))[0], config
        raise CheckpointError(f"{path}: no adapter_model.safetensors, adapter_model.bin or model.pt")
    if path.endswith(".safetensors"):
        st = SafetensorsFile(path)
        return {n: st.get(n) for n in st.names()}, config
    obj = safe_pt.load(path)
    if isinstance(obj, dict) and "model_state_dict" in obj:
        obj = obj["model_state_dict"]
    elif isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path}: holds a {type(obj).__name__}, not a state dict")
    out = {}
    for k, v in obj.items():
        if not isinstance(k, str) or not isinstance(v, np.ndarray):
            raise CheckpointError(f"{path}: entry {k!r:.80} is not a named tensor")
        out[k] = v
    return out, config


def collect(paths) -> LolcatsWeights:
    """Reads the checkpoints in order (later names override earlier ones) and sorts their
    tensors into hedgehog maps, gates and LoRA pairs. Unknown names are an error."""
    w = LolcatsWeights()
    for path in paths:
        tensors, config = read_state_dict(path)
        w.sources.append(str(path))
        for key in ("r", "alpha", "rslora"):
            value = getattr(config, key)
            if value is not None and value is not False:
                setattr(w.lora_config, key, value)
        unknown = []
        for name, arr in tensors.items():
            m = _KEY.match(name)
            if not m:
                unknown.append(name)
                continue
            layer, rest = int(m.group(1)), m.group(2)
            arr = np.asarray(arr, dtype=np.float32)
            if rest in _FMAP:
                w.layers.setdefault(layer, {})[_FMAP[rest]] = arr
            elif rest in _FMAP_BIAS:
                if arr.size != 0 and arr.shape[-1] != 1:
                    raise CheckpointError(
                        f"{path}: '{name}' has shape {arr.shape}: a bias per feature changes the "
                        f"hedgehog map, which liblola does not support (only one per head)")
            elif (lm := _LORA.match(rest)) is not None:
                w.lora.setdefault((layer, lm.group(1)), {})[lm.group(2)] = arr
            else:
                unknown.append(name)
        if unknown:
            shown = ", ".join(sorted(unknown)[:8])
            raise CheckpointError(
                f"{path}: {len(unknown)} tensor(s) liblola does not know (expected hedgehog "
                f"feature maps, window_factors or LoRA on q/k/v/o): {shown}"
                + (" ..." if len(unknown) > 8 else ""))
    return w
