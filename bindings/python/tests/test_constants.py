"""lola.h is the one source of the constants: the extension exports every enumerator and integer
#define of the header with its value (the compiler read them), and the package's IntEnums,
error classes and attention keywords are exactly the header's. The header is parsed here, from
LOLA_HEADER (ctest sets it to capi/lola.h) or else the source tree's capi/lola.h, so that a
name missing on either side or a value that differs fails."""

import os
import re
from pathlib import Path

import pytest

import lola
from lola import _lola
from lola._params import ATTENTION_FIELDS

# The C enums the package exposes as IntEnums; lola_status maps to the error classes and
# lola_log_level has no Python use (set_log_enabled only turns the log on or off).
INT_ENUMS = {"lola_attention": lola.Attention, "lola_feature_map": lola.FeatureMap,
             "lola_mixing": lola.Mixing, "lola_scoring": lola.Scoring,
             "lola_memory": lola.Memory, "lola_device": lola.Device}
NOT_INT_ENUMS = {"lola_status", "lola_log_level"}


def c_int(literal):
    """The value of a C integer literal such as 14, (-1), 0x10 or 1u; None for anything else."""
    text = literal.strip()
    while text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    match = re.fullmatch(r"(-?\s*(?:0[xX][0-9a-fA-F]+|\d+))[uUlL]*", text)
    return int(match.group(1).replace(" ", ""), 0) if match else None


@pytest.fixture(scope="module")
def header():
    path = os.environ.get("LOLA_HEADER") or Path(__file__).resolve().parents[3] / "capi" / "lola.h"
    if not os.path.exists(path):
        pytest.fail(f"lola.h not found at {path} (set LOLA_HEADER)")
    text = Path(path).read_text()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


@pytest.fixture(scope="module")
def enums(header):
    """{C enum name: {enumerator: value}}."""
    out = {}
    for m in re.finditer(r"typedef\s+enum\s+(\w+)\s*\{(.*?)\}\s*\w+\s*;", header, re.S):
        values, following = {}, 0
        for item in filter(None, (i.strip() for i in m.group(2).split(","))):
            name, _, literal = (part.strip() for part in item.partition("="))
            value = c_int(literal) if literal else following
            assert value is not None, f"{name} = {literal}: not an integer literal"
            values[name], following = value, value + 1
        out[m.group(1)] = values
    return out


@pytest.fixture(scope="module")
def defines(header):
    """{macro: value} of the #defines whose value is an integer literal."""
    out = {}
    for m in re.finditer(r"^[ \t]*#[ \t]*define[ \t]+(LOLA_\w+)[ \t]+(.+?)[ \t]*$", header, re.M):
        value = c_int(m.group(2))
        if value is not None:
            out[m.group(1)] = value
    return out


def test_header_is_parsed(enums, defines):
    # Guards the tests below against a parser that finds nothing.
    assert set(INT_ENUMS) | NOT_INT_ENUMS <= set(enums)
    assert len(enums["lola_status"]) >= 15 and "LOLA_ERR_IO" in enums["lola_status"]
    assert {"LOLA_ABI_VERSION", "LOLA_FEATURE_MAP_AUTO", "LOLA_MODEL_DEFAULT"} <= set(defines)


def test_extension_exports_every_constant_of_the_header(enums, defines):
    expected = dict(defines)
    for values in enums.values():
        expected.update(values)
    exported = {name: getattr(_lola, name) for name in dir(_lola) if name.startswith("LOLA_")}
    assert exported == expected


def test_every_enum_of_the_header_is_an_int_enum(enums, defines):
    assert set(enums) - set(INT_ENUMS) == NOT_INT_ENUMS, "a C enum without a Python IntEnum"
    for c_name, cls in INT_ENUMS.items():
        prefix = c_name.upper() + "_"  # lola_feature_map: LOLA_FEATURE_MAP_
        expected = dict(enums[c_name])
        expected.update({n: v for n, v in defines.items() if n.startswith(prefix)})  # AUTO
        assert {prefix + m.name: m.value for m in cls} == expected, cls.__name__


def test_every_status_of_the_header_has_its_error_class(enums):
    statuses = enums["lola_status"]
    assert statuses.pop("LOLA_OK") == _lola.LOLA_OK
    classes = set()
    for name, value in statuses.items():
        cls = lola.error_class(value)
        assert cls is not lola.LolaError, f"{name} has no error class"
        assert (cls.status, cls.status_name) == (value, name)
        assert _lola.status_string(value) == name
        classes.add(cls)
    # and no class of lola.errors stands for a status the header lacks
    public = {getattr(lola, n) for n in lola.errors.__all__ if n not in ("LolaError", "error_class")}
    assert public == classes


def test_attention_keywords_are_the_fields_of_lola_attention_params(header):
    body = re.search(r"typedef\s+struct\s+lola_attention_params\s*\{(.*?)\}", header, re.S)
    fields = [re.findall(r"\w+", decl)[-1] for decl in body.group(1).split(";") if decl.strip()]
    assert fields[0] == "struct_size"
    assert list(ATTENTION_FIELDS) == fields[1:]
    # the layer's and the context's own params hold none of them: each is set in one place
    for own in (_lola.LayerParams(), _lola.ContextParams()):
        assert not [f for f in fields if hasattr(own, f)], type(own).__name__


def test_type_stubs_declare_every_constant():
    stub = (Path(lola.__file__).parent / "_lola.pyi").read_text()
    declared = re.findall(r"^(LOLA_\w+): int$", stub, re.M)
    assert sorted(declared) == sorted(n for n in dir(_lola) if n.startswith("LOLA_"))
