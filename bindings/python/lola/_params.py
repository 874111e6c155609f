"""Keyword arguments into the lola._lola *Params objects, whose defaults are the C library's
(each is filled by its lola_*_params_init): enum names and bools converted, an unknown keyword
a TypeError. The attention settings (lola_attention_params) are built here, in one place, for
lola.Layer and lola.Context alike, and resolved for Model/Layer.resolve_attention."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from ._native import _lola
from .enums import Attention, Device, FeatureMap, Mixing, Scoring, to_int

#: The fields of lola_attention_params, in the struct's order (the properties the extension's
#: AttentionParams defines): the keywords that Layer and Context both take.
ATTENTION_FIELDS: Tuple[str, ...] = tuple(
    name for name, attr in vars(_lola.AttentionParams).items() if isinstance(attr, property))

_ENUMS = {"attention": Attention, "feature_map": FeatureMap, "mixing": Mixing,
          "scoring": Scoring, "device": Device}
_BOOLS = {"performer_orthogonal"}


def fill(params: Any, kwargs: Dict[str, Any]) -> None:
    """Set each keyword on a lola._lola *Params object, converting enum names and bools."""
    for name, value in kwargs.items():
        if name.startswith("_") or not isinstance(getattr(type(params), name, None), property):
            raise TypeError(f"unknown parameter {name!r}")
        if name in _ENUMS:
            value = to_int(_ENUMS[name], value)
        elif isinstance(value, bool):
            value = int(value)
        setattr(params, name, value)


def fill_with_attention(params: Any, kwargs: Dict[str, Any]) -> "_lola.AttentionParams":
    """Set the keywords that name an attention setting on a new AttentionParams, which is
    returned, and the others on ``params`` (a LayerParams or ContextParams)."""
    attention = _lola.AttentionParams()
    fill(attention, {k: v for k, v in kwargs.items() if k in ATTENTION_FIELDS})
    fill(params, {k: v for k, v in kwargs.items() if k not in ATTENTION_FIELDS})
    return attention


def layer_attention(kwargs: Dict[str, Any]) -> List[int]:
    """Pops ``layer_attention`` from the keywords: None or absent, every layer computes the
    ``attention`` keyword's attention; else one entry per layer of the model, each an
    Attention (member, name or int) or None for ``attention``'s (LOLA_MODEL_DEFAULT), as the
    int list lola_context_params.layer_attention takes (its length is checked there)."""
    kinds = kwargs.pop("layer_attention", None)
    if kinds is None:
        return []
    if isinstance(kinds, (str, bytes)):
        raise TypeError("layer_attention is one entry per layer (a list), not a string")
    return [_lola.LOLA_MODEL_DEFAULT if k is None else to_int(Attention, k) for k in kinds]


def resolve_attention(model: Optional["_lola.Model"], kwargs: Dict[str, Any]) -> Dict[str, Any]:
    """The attention settings the keywords give, with each LOLA_MODEL_DEFAULT field replaced by
    the value a context on ``model`` (None: a standalone layer) uses
    (lola_attention_params_resolve), as a dict of every field: enum fields as enum members,
    ``performer_orthogonal`` a bool, ``eps`` a float. It can be passed back as keywords."""
    attention = _lola.AttentionParams()
    fill(attention, kwargs)
    resolved = _lola.resolve_attention(model, attention)
    out: Dict[str, Any] = {}
    for name in ATTENTION_FIELDS:
        value = getattr(resolved, name)
        if name in _ENUMS:
            try:
                value = _ENUMS[name](value)
            except ValueError:  # a value lola.h does not name: the C library refuses it later
                pass
        elif name in _BOOLS:
            value = bool(value)
        elif isinstance(value, float):  # a C float: its shortest decimal (1e-06)
            value = float(str(np.float32(value)))
        out[name] = value
    return out
