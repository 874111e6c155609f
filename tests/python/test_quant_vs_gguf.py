"""liblola's reference dequantization (lola::quant::dequantize_row) against gguf-py.

For every format liblola reads, random blocks (random bytes everywhere, with the fp16 / bf16 /
f32 fields replaced by random *finite* values, subnormals and signed zeros included) go through
the C++ tool named by $LOLA_DEQUANT_TOOL (tests/tools/dequant_tool.cpp, target
lola_dequant_tool) and through gguf.quants.dequantize from the PyPI package `gguf`; the float32
results must agree to 1 ulp (both evaluate the same float32 expressions in the same order, so in
practice they are bit-identical, which is also asserted and reported).

Run: LOLA_DEQUANT_TOOL=build/tests/lola_dequant_tool python3 -m pytest -q tests/python/test_quant_vs_gguf.py
"""
import os
import subprocess

import numpy as np
import pytest

gguf = pytest.importorskip("gguf")
from gguf import GGMLQuantizationType as T  # noqa: E402
from gguf.constants import GGML_QUANT_SIZES  # noqa: E402

TOOL = os.environ.get("LOLA_DEQUANT_TOOL")

# type -> (block elements, block bytes, byte offsets of the fp16 fields in a block)
HALF_FIELDS = {
    T.Q8_0: [0],
    T.Q4_0: [0],
    T.Q4_1: [0, 2],
    T.Q5_0: [0],
    T.Q5_1: [0, 2],
    T.Q4_K: [0, 2],
    T.Q5_K: [0, 2],
    T.Q6_K: [208],
}
GEOMETRY = {
    T.F32: (1, 4), T.F16: (1, 2), T.BF16: (1, 2),
    T.Q8_0: (32, 34), T.Q4_0: (32, 18), T.Q4_1: (32, 20), T.Q5_0: (32, 22), T.Q5_1: (32, 24),
    T.Q4_K: (256, 144), T.Q5_K: (256, 176), T.Q6_K: (256, 210),
}
TYPES = list(GEOMETRY)


def finite_half_bits(rng, n):
    """n random fp16 bit patterns that are finite (exponent field != 31)."""
    h = rng.integers(0, 1 << 16, size=n, dtype=np.uint32).astype(np.uint16)
    bad = (h & 0x7C00) == 0x7C00
    h[bad] &= np.uint16(0xBFFF)  # clear the top exponent bit: finite
    return h


def random_blocks(qtype, n_blocks, rng):
    block, size = GEOMETRY[qtype]
    data = rng.integers(0, 256, size=n_blocks * size, dtype=np.uint16).astype(np.uint8)
    if qtype == T.F32:
        bits = data.view(np.uint32).copy()
        bad = (bits & 0x7F800000) == 0x7F800000
        bits[bad] &= np.uint32(0xBFFFFFFF)
        return bits.view(np.uint8)
    if qtype == T.F16:
        return finite_half_bits(rng, n_blocks).view(np.uint8)
    if qtype == T.BF16:
        bits = data.view(np.uint16).copy()
        bad = (bits & 0x7F80) == 0x7F80
        bits[bad] &= np.uint16(0xBFFF)
        return bits.view(np.uint8)
    blocks = data.reshape(n_blocks, size)
    for off in HALF_FIELDS[qtype]:
        blocks[:, off:off + 2] = finite_half_bits(rng, n_blocks).view(np.uint8).reshape(n_blocks, 2)
    # a few blocks with ordinary scales too, so that typical magnitudes are covered
    normal = np.float16(rng.uniform(-0.05, 0.05, size=n_blocks // 4)).view(np.uint8)
    for off in HALF_FIELDS[qtype]:
        blocks[: n_blocks // 4, off:off + 2] = normal.reshape(-1, 2)
    return blocks.reshape(-1)


def run_tool(tmp_path, qtype, data, n):
    src = tmp_path / f"in_{qtype.name}.bin"
    dst = tmp_path / f"out_{qtype.name}.bin"
    src.write_bytes(data.tobytes())
    subprocess.run([TOOL, str(int(qtype)), str(n), str(src), str(dst)], check=True)
    return np.fromfile(dst, dtype="<f4")


@pytest.fixture(scope="module")
def tool():
    if not TOOL:
        pytest.skip("LOLA_DEQUANT_TOOL is not set (the path of lola_dequant_tool)")
    assert os.access(TOOL, os.X_OK), TOOL
    return TOOL


def test_geometry_matches_gguf():
    for qtype, geometry in GEOMETRY.items():
        assert GGML_QUANT_SIZES[qtype] == geometry, qtype.name


@pytest.mark.parametrize("qtype", TYPES, ids=[t.name for t in TYPES])
def test_dequantize_matches_gguf(tool, tmp_path, qtype):
    rng = np.random.default_rng(1234 + int(qtype))
    block, _ = GEOMETRY[qtype]
    n_blocks = 4096 if block == 1 else (512 if block == 32 else 128)
    data = random_blocks(qtype, n_blocks, rng)
    n = n_blocks * block
    ours = run_tool(tmp_path, qtype, data, n)
    theirs = np.asarray(gguf.quants.dequantize(data, qtype), dtype=np.float32).reshape(-1)
    assert ours.shape == theirs.shape == (n,)
    assert np.all(np.isfinite(theirs))
    np.testing.assert_array_max_ulp(ours, theirs, maxulp=1)
    differ = int(np.count_nonzero(ours != theirs))
    assert differ == 0, f"{qtype.name}: {differ} of {n} values differ by 1 ulp"


def test_tool_refuses_bad_input(tool, tmp_path):
    src = tmp_path / "bad.bin"
    src.write_bytes(b"\0" * 33)
    out = tmp_path / "bad.out"
    # 33 bytes are not one Q8_0 block of 32 (34 bytes); 48 elements are not whole blocks
    assert subprocess.run([tool, "8", "32", str(src), str(out)]).returncode == 1
    assert subprocess.run([tool, "8", "48", str(src), str(out)]).returncode == 1
    assert subprocess.run([tool, "9", "32", str(src), str(out)]).returncode == 1
