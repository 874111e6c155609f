"""The enumerations of lola.h as Python IntEnums. Wherever a parameter takes one, the enum
member, its int value or its lower-case name (``attention="full"``) are all accepted.

Each member's value is the C constant of the same name (``Attention.FULL`` is
``LOLA_ATTENTION_FULL``), as the compiler read it from lola.h into the extension: no value is
written here, and tests/test_constants.py checks these members against the header.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Type, Union

from ._native import _lola

__all__ = ["Attention", "FeatureMap", "Mixing", "Scoring", "Memory", "Device"]


class Attention(IntEnum):
    """lola_attention: which attention a layer computes."""
    LOLA = _lola.LOLA_ATTENTION_LOLA      #: window + sparse cache + linear state
    FULL = _lola.LOLA_ATTENTION_FULL      #: exact causal softmax over every past token
    WINDOW = _lola.LOLA_ATTENTION_WINDOW  #: softmax over the sliding window only


class FeatureMap(IntEnum):
    """lola_feature_map, plus AUTO (LOLA_FEATURE_MAP_AUTO, the default): the feature map of the
    linear state."""
    AUTO = _lola.LOLA_FEATURE_MAP_AUTO  #: hedgehog where there are hedgehog weights, else performer
    HEDGEHOG = _lola.LOLA_FEATURE_MAP_HEDGEHOG
    PERFORMER = _lola.LOLA_FEATURE_MAP_PERFORMER
    ELU1 = _lola.LOLA_FEATURE_MAP_ELU1
    RELU = _lola.LOLA_FEATURE_MAP_RELU
    PRECOMPUTED = _lola.LOLA_FEATURE_MAP_PRECOMPUTED  #: layers only: phi(q), phi(k) given


class Mixing(IntEnum):
    """lola_mixing: how the softmax part and the linear read-out are combined."""
    LOLA = _lola.LOLA_MIXING_LOLA        #: mode A, the released LoLA code
    LOLCATS = _lola.LOLA_MIXING_LOLCATS  #: mode B, LoLCATs Eq. 7


class Scoring(IntEnum):
    """lola_scoring: which pairs the sparse cache keeps."""
    SRE = _lola.LOLA_SCORING_SRE                #: self-recall error (LoLA)
    RECENCY = _lola.LOLA_SCORING_RECENCY        #: the most recent positions (ablation)
    RANDOM = _lola.LOLA_SCORING_RANDOM          #: a seeded random priority (ablation)
    VALUE_NORM = _lola.LOLA_SCORING_VALUE_NORM  #: the norm of the value vector (ablation)


class Memory(IntEnum):
    """lola_memory: the memories of the cache whose positions can be queried."""
    WINDOW = _lola.LOLA_MEMORY_WINDOW
    SPARSE = _lola.LOLA_MEMORY_SPARSE


class Device(IntEnum):
    """lola_device: where a model computes."""
    CPU = _lola.LOLA_DEVICE_CPU
    CUDA = _lola.LOLA_DEVICE_CUDA


def to_int(enum: Type[IntEnum], value: Union[IntEnum, int, str]) -> int:
    """The int value of an enum member, a name (any case) or an int of ``enum``."""
    if isinstance(value, str):
        try:
            return int(enum[value.upper()])
        except KeyError:
            names = ", ".join(repr(m.name.lower()) for m in enum)
            raise ValueError(f"unknown {enum.__name__} {value!r}; one of {names}") from None
    return int(value)
