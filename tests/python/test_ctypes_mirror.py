"""The ctypes mirror (lola_ctypes.py) is generated from capi/lola.h: it must agree with what a C
compiler makes of the header (every struct's size and field offsets, every enum value and
#define), cover every declaration of the header, agree with the struct sizes the built library
publishes, and follow a changed header (or refuse one it cannot read)."""

from __future__ import annotations

import ctypes as C
import os
import re
import shutil
import subprocess
import sys

import pytest

import lola_ctypes as L


def _c_layout(tmp_path, header: str) -> dict[str, int]:
    """What the system C compiler makes of `header`: sizeof and offsetof of every struct field,
    the value of every enum constant and #define the mirror read."""
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if not cc:
        pytest.skip("no C compiler to compare the ctypes layout with")
    h = L.Header(header)
    lines = ["#include <stddef.h>", "#include <stdio.h>", f'#include "{header}"',
             "int main(void) {"]
    for name, cls in h.structs.items():
        lines.append(f'printf("{name} %zu\\n", sizeof({name}));')
        for field, _ in cls._fields_:
            lines.append(f'printf("{name}.{field} %zu\\n", offsetof({name}, {field}));')
    for name in h.constants:
        lines.append(f'printf("{name} %lld\\n", (long long){name});')
    lines.append("return 0; }")
    src = tmp_path / "layout.c"
    src.write_text("\n".join(lines))
    exe = tmp_path / "layout"
    subprocess.run([cc, "-std=c99", "-Wall", "-Werror", str(src), "-o", str(exe)], check=True)
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    return {k: int(v) for k, v in (line.split() for line in out.splitlines())}


def _declared(path: str) -> dict[str, set]:
    """The names the header declares, found by looser patterns than the mirror's parser."""
    with open(path, encoding="utf-8") as f:
        text = re.sub(r"/\*.*?\*/", " ", f.read(), flags=re.S)
    return {
        "structs": set(re.findall(r"typedef\s+struct\s+(\w+)\s*\{", text)),
        "enums": set(re.findall(r"typedef\s+enum\s+(\w+)\s*\{", text)),
        "defines": set(re.findall(r"^\s*#\s*define\s+(LOLA_\w+)[ \t]+\S", text, re.M)) - {"LOLA_API"},
        "functions": set(re.findall(r"LOLA_API\s+[^;(]*?\b(lola_\w+)\s*\(", text)),
    }


def test_structs_enums_and_defines_match_the_c_compiler(tmp_path):
    layout = _c_layout(tmp_path, L.HEADER)
    h = L.Header(L.HEADER)
    for name, cls in h.structs.items():
        assert C.sizeof(cls) == layout[name], name
        for field, _ in cls._fields_:
            assert getattr(cls, field).offset == layout[f"{name}.{field}"], f"{name}.{field}"
    for name, value in h.constants.items():
        assert value == layout[name], name
    # the module-level names are the same values
    for name, value in h.constants.items():
        assert getattr(L, name) == value and getattr(L, name[len("LOLA_"):]) == value
    assert L.ABI_VERSION == 2 and L.FEATURE_MAP_AUTO == -1 and L.MODEL_DEFAULT == -1


def test_every_declaration_of_the_header_is_mirrored():
    d = _declared(L.HEADER)
    h = L.Header(L.HEADER)
    assert d["structs"] == set(h.structs)
    assert d["enums"] == set(h.enums)
    assert d["defines"] == {n for n in h.constants if not any(n in e for e in h.enums.values())}
    assert d["functions"] and d["functions"] == set(h.functions)
    assert {"lola_attention_params", "lola_layer_params", "lola_context_params"} <= d["structs"]
    assert "lola_attention_params_resolve" in h.functions
    assert "lola_context_params_resolve" not in h.functions  # gone in ABI 2


def test_signatures_are_read_from_the_header():
    h = L.Header(L.HEADER)
    res, args = h.functions["lola_context_feed"]
    assert res is C.c_int
    assert args[0] is C.c_void_p and args[2] is C.c_size_t and args[3] is C.c_uint32
    assert args[1]._type_ is C.c_int32 and args[4]._type_ is C.c_size_t
    res, args = h.functions["lola_attention_params_resolve"]
    assert args[0] is C.c_void_p and args[1]._type_ is h.structs["lola_attention_params"]
    assert h.functions["lola_token_is_eog"][0] is C.c_bool
    assert h.functions["lola_version"] == (C.c_char_p, [])
    assert h.functions["lola_model_free"][0] is None
    abort_fn = h.functions["lola_context_set_abort_callback"][1][1]
    assert abort_fn._restype_ is C.c_bool and abort_fn._argtypes_ == (C.c_void_p,)
    # a struct field pointing at another struct of the header
    attention = dict(h.structs["lola_context_params"]._fields_)["attention"]
    assert attention._type_ is h.structs["lola_attention_params"]


def test_the_library_publishes_the_mirrored_sizes(lib):
    """Every lola_*_params_init of the built library writes the struct_size the mirror has."""
    inits = [n for n in L._H.functions if re.fullmatch(r"lola_\w+_params_init", n)]
    assert len(inits) >= 5
    for init in inits:
        cls = L._H.structs[init[: -len("_init")]]
        s = cls()
        lib.check(getattr(lib.dll, init)(C.byref(s)), init)
        assert s.struct_size == C.sizeof(cls), init


def test_a_wrong_struct_size_is_a_lola_error_with_the_library_message(lib):
    p = L.lola_layer_params()
    lib.check(lib.dll.lola_layer_params_init(C.byref(p)), "lola_layer_params_init")
    p.struct_size += 8
    out = C.c_void_p()
    with pytest.raises(L.LolaError) as e:
        lib.check(lib.dll.lola_layer_create(C.byref(p), C.byref(out)), "lola_layer_create")
    assert e.value.status == L.ERR_VERSION_MISMATCH and not out
    assert f"accepts {C.sizeof(L.lola_layer_params)} for lola_layer_params" in e.value.message
    with pytest.raises(L.LolaError) as e:
        lib.load_model("/nonexistent/model.gguf")
    assert e.value.status == L.ERR_IO and "/nonexistent/model.gguf" in e.value.message


def test_attention_params_reach_the_library(lib):
    """The one AttentionParams (pointed at by the context and layer params) is what the library
    reads: resolve fills the LOLA_MODEL_DEFAULT fields, a layer reports the chunk it was given."""
    a = L.AttentionParams()
    lib.check(lib.dll.lola_attention_params_init(C.byref(a)), "lola_attention_params_init")
    assert (a.chunk_size, a.sparse_capacity, a.feature_map) == (L.MODEL_DEFAULT,) * 2 + (L.FEATURE_MAP_AUTO,)
    lib.check(lib.dll.lola_attention_params_resolve(None, C.byref(a)), "resolve")
    assert (a.chunk_size, a.sparse_capacity, a.mixing) == (64, 64, L.MIXING_LOLA)
    a.chunk_size, a.feature_map = 8, L.FEATURE_MAP_ELU1
    p = L.lola_layer_params()
    lib.check(lib.dll.lola_layer_params_init(C.byref(p)), "lola_layer_params_init")
    p.head_dim, p.attention = 16, C.pointer(a)
    layer = C.c_void_p()
    lib.check(lib.dll.lola_layer_create(C.byref(p), C.byref(layer)), "lola_layer_create")
    try:
        info = L.lola_layer_info()
        info.struct_size = C.sizeof(info)
        lib.check(lib.dll.lola_layer_get_info(layer, C.byref(info)), "lola_layer_get_info")
        assert (info.chunk_size, info.head_dim, info.feature_dim) == (8, 16, 16)
    finally:
        lib.dll.lola_layer_free(layer)


def test_a_changed_header_changes_the_mirror(tmp_path):
    text = open(L.HEADER, encoding="utf-8").read()
    edits = [("LOLA_ERR_IO = 13", "LOLA_ERR_IO = 15"),
             ("#define LOLA_ABI_VERSION 2", "#define LOLA_ABI_VERSION 3"),
             ("#define LOLA_FEED_ALL_LOGITS 1u", "#define LOLA_FEED_ALL_LOGITS 0x10u"),
             ("LOLA_API int32_t lola_abi_version(void);", "LOLA_API int64_t lola_abi_version(void);"),
             ("    float eps;                    /**<", "    float eps;\n    int64_t added_field; /**<"),
             # enum constants without a value count on from the previous one
             ("LOLA_LOG_INFO = 1,", "LOLA_LOG_INFO = 5,"), ("LOLA_LOG_WARN = 2,", "LOLA_LOG_WARN,"),
             ("LOLA_LOG_ERROR = 3", "LOLA_LOG_ERROR")]
    changed = text
    for old, new in edits:
        assert changed.count(old) == 1, old
        changed = changed.replace(old, new)
    path = tmp_path / "lola.h"
    path.write_text(changed)
    h = L.Header(str(path))
    assert h.constants["LOLA_ERR_IO"] == 15 and h.enums["lola_status"]["LOLA_ERR_IO"] == 15
    assert h.constants["LOLA_ERR_ABORTED"] == 14
    assert h.constants["LOLA_ABI_VERSION"] == 3 and h.constants["LOLA_FEED_ALL_LOGITS"] == 16
    assert h.functions["lola_abi_version"][0] is C.c_int64
    assert h.enums["lola_log_level"] == {"LOLA_LOG_DEBUG": 0, "LOLA_LOG_INFO": 5,
                                         "LOLA_LOG_WARN": 6, "LOLA_LOG_ERROR": 7}
    fields = [f for f, _ in h.structs["lola_attention_params"]._fields_]
    assert fields[-1] == "added_field"
    grown = h.structs["lola_attention_params"]
    assert C.sizeof(grown) > C.sizeof(L.AttentionParams)
    # a struct pointing at the changed one follows it
    pointer = dict(h.structs["lola_context_params"]._fields_)["attention"]
    assert pointer._type_ is grown
    layout = _c_layout(tmp_path, str(path))
    assert layout["lola_attention_params"] == C.sizeof(grown)
    assert all(layout[name] == value for name, value in h.constants.items())
    assert layout["lola_attention_params.added_field"] == grown.added_field.offset


@pytest.mark.parametrize("old,new,what", [
    ("    int32_t n_layer;\n    int32_t n_head;", "    int32_t n_layer;\n    mystery_t n_head;",
     "unknown type"),
    ("#define LOLA_ABI_VERSION 2", "#define LOLA_ABI_VERSION (1 << 1)", "LOLA_ABI_VERSION"),
    ("    int32_t bos;\n", "    int32_t bos, eos2;\n", "unknown type"),
])
def test_a_header_the_mirror_cannot_read_is_refused(tmp_path, old, new, what):
    text = open(L.HEADER, encoding="utf-8").read()
    assert text.count(old) == 1, old
    path = tmp_path / "lola.h"
    path.write_text(text.replace(old, new))
    with pytest.raises(ValueError, match=re.escape(what)):
        L.Header(str(path))


def test_the_header_can_be_named_by_the_environment(tmp_path):
    text = open(L.HEADER, encoding="utf-8").read().replace("LOLA_ERR_IO = 13", "LOLA_ERR_IO = 17")
    path = tmp_path / "lola.h"
    path.write_text(text)
    code = "import lola_ctypes as L; print(L.ERR_IO, L.HEADER)"
    env = dict(os.environ, LOLA_HEADER=str(path),
               PYTHONPATH=os.path.dirname(os.path.abspath(L.__file__)))
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                         capture_output=True, text=True).stdout.split()
    assert out == ["17", str(path)]
