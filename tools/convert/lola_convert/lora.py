"""Merging LoRA deltas into weight matrices: W' = W + scale * B @ A.

scale = alpha / r (PEFT's default; alpha / sqrt(r) with use_rslora). LoLCATs fine-tunes with
r = 8, alpha = 16 (configs/experiment/finetune_lora_qkvo_alpaca_clean.yaml), so scale = 2.
r comes from the adapter's shapes (checked against adapter_config.json when there is one);
alpha from adapter_config.json, or the caller, or 16.
"""

from __future__ import annotations

import math

import numpy as np

from .lolcats import LolcatsWeights
from .safe_pt import CheckpointError

DEFAULT_ALPHA = 16.0


def scale_for(w: LolcatsWeights, r_override=None, alpha_override=None) -> tuple[int, float, float]:
    """(r, alpha, scale) of the adapters in w; checks that every pair has rank r."""
    ranks = set()
    for (layer, proj), pair in sorted(w.lora.items()):
        for part in ("A", "B"):
            if part not in pair:
                raise CheckpointError(f"layer {layer} {proj}_proj: lora_{part} is missing "
                                      f"(lora_A and lora_B come in pairs)")
        a, b = pair["A"], pair["B"]
        if a.ndim != 2 or b.ndim != 2 or b.shape[1] != a.shape[0]:
            raise CheckpointError(f"layer {layer} {proj}_proj: lora_A {a.shape} and lora_B "
                                  f"{b.shape} do not multiply (need A [r, in], B [out, r])")
        ranks.add(a.shape[0])
    if len(ranks) > 1:
        raise CheckpointError(f"the LoRA adapters have different ranks {sorted(ranks)}")
    file_r = ranks.pop() if ranks else None
    r = r_override if r_override is not None else (w.lora_config.r or file_r)
    if file_r is not None and r != file_r:
        raise CheckpointError(f"LoRA rank r = {r} was given but the adapters have rank {file_r}")
    alpha = alpha_override if alpha_override is not None else (w.lora_config.alpha or DEFAULT_ALPHA)
    if r is None:
        return 0, alpha, 0.0
    if not (r > 0 and alpha > 0 and math.isfinite(alpha)):
        raise CheckpointError(f"LoRA r = {r} and alpha = {alpha} must be positive")
    scale = alpha / math.sqrt(r) if w.lora_config.rslora else alpha / r
    return r, alpha, scale


def merge(weight: np.ndarray, pair: dict, scale: float, what: str) -> np.ndarray:
    """weight [out, in] + scale * B @ A, in float32 (the product of small factors in float64)."""
    a, b = pair["A"], pair["B"]
    if b.shape[0] != weight.shape[0] or a.shape[1] != weight.shape[1]:
        raise CheckpointError(
            f"{what}: LoRA B @ A is [{b.shape[0]}, {a.shape[1]}] but the weight is "
            f"{list(weight.shape)}")
    delta = (b.astype(np.float64) @ a.astype(np.float64)) * scale
    return (weight.astype(np.float64) + delta).astype(np.float32)
