"""The enumerations of lola.h as Python IntEnums. Wherever a parameter takes one, the enum
member, its int value or its lower-case name (``attention="full"``) are all accepted."""

from __future__ import annotations

from enum import IntEnum
from typing import Type, Union

__all__ = ["Attention", "FeatureMap", "Mixing", "Scoring", "Memory", "Device"]


class Attention(IntEnum):
    """lola_attention: which attention a layer computes."""
    LOLA = 0    #: window + sparse cache + linear state
    FULL = 1    #: exact causal softmax over every past token (memory grows)
    WINDOW = 2  #: softmax over the sliding window only


class FeatureMap(IntEnum):
    """lola_feature_map (plus AUTO for contexts): the feature map of the linear state."""
    AUTO = -1         #: contexts only: hedgehog if the model has LoLA tensors, else performer
    HEDGEHOG = 0
    PERFORMER = 1
    ELU1 = 2
    RELU = 3
    PRECOMPUTED = 4   #: layers only: the caller passes phi(q), phi(k)


class Mixing(IntEnum):
    """lola_mixing: how the softmax part and the linear read-out are combined."""
    LOLA = 0
    LOLCATS = 1


class Scoring(IntEnum):
    """lola_scoring: which pairs the sparse cache keeps."""
    SRE = 0
    RECENCY = 1
    RANDOM = 2
    VALUE_NORM = 3


class Memory(IntEnum):
    """lola_memory: the memories of the cache whose positions can be queried."""
    WINDOW = 0
    SPARSE = 1


class Device(IntEnum):
    """lola_device: where a model computes."""
    CPU = 0
    CUDA = 1


def to_int(enum: Type[IntEnum], value: Union[IntEnum, int, str]) -> int:
    """The int value of an enum member, a name (any case) or an int of ``enum``."""
    if isinstance(value, str):
        try:
            return int(enum[value.upper()])
        except KeyError:
            names = ", ".join(repr(m.name.lower()) for m in enum)
            raise ValueError(f"unknown {enum.__name__} {value!r}; one of {names}") from None
    return int(value)
