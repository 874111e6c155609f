"""The ctypes mirror (lola_ctypes.py) is generated from capi/lola.h: it must agree with what a C
compiler makes of the header (every struct's size and field offsets, every enum value), cover
every LOLA_API function, and follow a changed header."""

from __future__ import annotations

import ctypes as C
import shutil
import subprocess

import pytest

import lola_ctypes as L


def _c_layout(tmp_path, header: str) -> dict[str, int]:
    """sizeof and offsetof of every struct field of the header, as the system C compiler sees them."""
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if not cc:
        pytest.skip("no C compiler to compare the ctypes layout with")
    h = L.Header(header)
    lines = ['#include <stddef.h>', '#include <stdio.h>', f'#include "{header}"', "int main(void) {"]
    for name, cls in h.structs.items():
        lines.append(f'printf("{name} %zu\\n", sizeof({name}));')
        for field, _ in cls._fields_:
            lines.append(f'printf("{name}.{field} %zu\\n", offsetof({name}, {field}));')
    for enum in h.enums.values():
        for name in enum:
            lines.append(f'printf("{name} %d\\n", (int){name});')
    lines.append("return 0; }")
    src = tmp_path / "layout.c"
    src.write_text("\n".join(lines))
    exe = tmp_path / "layout"
    subprocess.run([cc, "-std=c99", str(src), "-o", str(exe)], check=True)
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    return {k: int(v) for k, v in (line.split() for line in out.splitlines())}


def test_structs_and_enums_match_the_c_compiler(tmp_path):
    layout = _c_layout(tmp_path, L.HEADER)
    for name, cls in L._H.structs.items():
        assert C.sizeof(cls) == layout[name], name
        for field, _ in cls._fields_:
            assert getattr(cls, field).offset == layout[f"{name}.{field}"], f"{name}.{field}"
    for enum in L._H.enums.values():
        for name, value in enum.items():
            assert value == layout[name], name
    assert {"lola_attention_params", "lola_layer_params", "lola_context_params"} <= set(L._H.structs)


def test_every_function_of_the_header_is_mirrored():
    with open(L.HEADER, encoding="utf-8") as f:
        declared = set(__import__("re").findall(r"LOLA_API\s+[^;(]*?\b(lola_\w+)\s*\(", f.read()))
    assert declared and declared == set(L._H.functions)


def test_a_changed_header_changes_the_mirror(tmp_path):
    text = open(L.HEADER, encoding="utf-8").read()
    changed = text.replace("LOLA_ERR_IO = 13", "LOLA_ERR_IO = 15").replace(
        "    float eps;                    /**<", "    float eps;\n    int64_t added_field; /**<", 1)
    assert changed != text
    path = tmp_path / "lola.h"
    path.write_text(changed)
    h = L.Header(str(path))
    assert h.constants["LOLA_ERR_IO"] == 15
    assert [f for f, _ in h.structs["lola_attention_params"]._fields_][-1] == "added_field"
    assert C.sizeof(h.structs["lola_attention_params"]) > C.sizeof(L.AttentionParams)
    assert _c_layout(tmp_path, str(path))["lola_attention_params"] == C.sizeof(h.structs["lola_attention_params"])
