"""lola_convert as the package of its own it is: tools/convert installed with pip.

tools/convert (pyproject.toml, package lola_convert, the `lola-convert` command) is built and
installed into a fresh venv from a copy outside the source tree (no build isolation, no index:
setuptools, numpy and gguf come from the interpreter running the tests, through a .pth file).
In that venv a `lola` package that raises on import stands in for the liblola binding, so the
checks fail if the converter imports the binding. Checked: the package declares numpy and gguf
as its dependencies; `lola-convert --help` works; the installed command converts a tiny
LoLCATs checkpoint into a GGUF holding the hedgehog maps and the lola.* defaults.

Needs no liblola; needs numpy, gguf, and the venv module with ensurepip (Debian python3-venv).
"""

from __future__ import annotations

import ast
import importlib.util
import os
import shutil
import subprocess
import sys

import pytest

np = pytest.importorskip("numpy")
gguf = pytest.importorskip("gguf")

import lolcats_fixtures as fx  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.normpath(os.path.join(HERE, os.pardir, os.pardir, "tools", "convert"))
SPEC = fx.TinySpec()

# Prints where lola_convert was imported from and what the installed package requires.
PROBE = r"""
import importlib.metadata as md, sys
import lola_convert
print(lola_convert.__file__)
print(sorted(r.split(";")[0].replace(" ", "") for r in md.requires("lola-convert")))
assert "lola" not in sys.modules, "importing lola_convert imported lola"
"""


def _site_of(module: str) -> str:
    """The site-packages folder a module of this interpreter comes from."""
    spec = importlib.util.find_spec(module)
    return os.path.dirname(os.path.dirname(spec.origin))


# What the setuptools build of tools/convert lacks in the interpreter running it ("" for
# nothing): setuptools, and before setuptools 70.1 (which has bdist_wheel built in) wheel.
MISSING_BUILD_TOOLS = r"""
import importlib.metadata, importlib.util
if importlib.util.find_spec("setuptools") is None:
    print("setuptools is")
else:
    v = tuple(int(x) for x in importlib.metadata.version("setuptools").split(".")[:2])
    if v < (70, 1) and importlib.util.find_spec("wheel") is None:
        print(f"wheel (needed by setuptools {v[0]}.{v[1]}) is")
"""


def _run(cmd, **kw):
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kw)
    assert res.returncode == 0, f"{cmd} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}"
    return res


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    """A venv with tools/convert installed from a copy, and a poisoned `lola`; returns
    (venv folder, environment for its commands)."""
    work = tmp_path_factory.mktemp("convert-package")
    src = str(work / "src")
    shutil.copytree(SOURCE, src, ignore=shutil.ignore_patterns(
        "build", "*.egg-info", "__pycache__", "*.pyc"))
    folder = str(work / "venv")
    made = subprocess.run([sys.executable, "-m", "venv", folder], capture_output=True, text=True,
                          timeout=300)
    if made.returncode != 0:
        pytest.skip(f"cannot make a venv with pip (Debian: apt install python3-venv): "
                    f"{made.stderr.strip()[-300:]}")
    vpy = os.path.join(folder, "bin", "python")
    site = _run([vpy, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
                ).stdout.strip()
    # setuptools (wheel), numpy, gguf from this interpreter, after the venv's own packages.
    outer = dict.fromkeys(_site_of(m) for m in ("setuptools", "wheel", "numpy", "gguf")
                          if importlib.util.find_spec(m) is not None)
    with open(os.path.join(site, "outer_site.pth"), "w") as f:
        f.write("".join(p + "\n" for p in outer))
    fx.write_poisoned_binding(site)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    missing = _run([vpy, "-c", MISSING_BUILD_TOOLS], env=env).stdout.strip()
    if missing:
        pytest.skip(f"{missing} not installed here (pip install setuptools wheel): they build "
                    "tools/convert, whose installation test_convert_package.py checks")
    _run([vpy, "-m", "pip", "install", "-q", "--no-build-isolation", "--no-index", "--no-deps",
          src], env=env, cwd=str(work))
    return folder, env


def test_package_installs_with_its_dependencies_declared(venv, tmp_path):
    folder, env = venv
    out = _run([os.path.join(folder, "bin", "python"), "-c", PROBE], env=env,
               cwd=str(tmp_path)).stdout.splitlines()
    assert out[0].startswith(folder), f"lola_convert came from {out[0]}, not the venv"
    requires = ast.literal_eval(out[1])
    assert "numpy" in requires and any(r.startswith("gguf") for r in requires), requires


def test_installed_command_prints_its_help(venv, tmp_path):
    folder, env = venv
    res = _run([os.path.join(folder, "bin", "lola-convert"), "--help"], env=env,
               cwd=str(tmp_path))
    assert res.stdout.startswith("usage: lola-convert")
    for option in ("--base", "--distill", "--lora", "--outtype", "--chunk", "--sparse"):
        assert option in res.stdout


def test_installed_command_converts_a_lolcats_checkpoint(venv, tmp_path):
    folder, env = venv
    base = str(tmp_path / "hf")
    fx.write_hf_folder(base, SPEC, "F32")
    layers, _ = fx.lolcats_weights(SPEC)
    distill = str(tmp_path / "distill.pt")
    fx.write_torch_pt(distill, fx.distill_state(layers, "model."))
    out = str(tmp_path / "out.gguf")
    res = _run([os.path.join(folder, "bin", "lola-convert"), "--base", base, "--distill",
                distill, "--outtype", "f32", "--chunk", "8", "--sparse", "5", "-o", out],
               env=env, cwd=str(tmp_path))
    assert f"wrote {out}" in res.stdout
    reader = gguf.GGUFReader(out)
    fields = reader.fields
    assert fields["lola.chunk_size"].contents() == 8
    assert fields["lola.sparse_capacity"].contents() == 5
    assert fields["lola.feature_map"].contents() == "hedgehog"
    tensors = {t.name: t for t in reader.tensors}
    for layer in range(SPEC.n_layer):
        fmap = tensors[f"blk.{layer}.lola.fmap_q.weight"]
        # numpy order [H, d, F/2]; the input axis d permuted to GGUF's RoPE order (as documented)
        want = np.asarray(layers[layer]["fmap_q"], dtype=np.float32)
        assert sorted(fmap.data.shape) == sorted(want.shape)
        assert np.allclose(np.sort(fmap.data.ravel()), np.sort(want.ravel()))
