"""Build the liblola wheel from a source tree with pip, install it into a throwaway venv and
run a smoke test there, outside the source tree and without LD_LIBRARY_PATH or PYTHONPATH: the
wheel must carry its own liblola, and only the binding: numpy its one dependency, no converter
(tools/convert is a package of its own) and no `lola-convert` command. Registered as the ctest
`python_wheel`.

    python check_wheel.py --source REPO --work DIR --model tiny.gguf

Needs pip, scikit-build-core, pybind11 and numpy in the running interpreter (no build
isolation, no network). The CMake build directory DIR/build is kept between runs.
"""

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile

SMOKE = r"""
import os, sys
import numpy as np
import lola
venv = sys.prefix
assert lola.__file__.startswith(venv), lola.__file__
assert lola.abi_version() == lola.EXPECTED_ABI_VERSION
libs = {line.split()[-1] for line in open("/proc/self/maps") if "liblola.so" in line}
assert libs and all(p.startswith(venv) for p in libs), libs  # the wheel's own library
with lola.Model(sys.argv[1]) as model, model.create_context(chunk_size=4) as ctx:
    assert model.resolve_attention(chunk_size=4)["chunk_size"] == 4
    tokens = model.tokenize("hello world")
    assert model.detokenize(tokens) == "hello world"
    ctx.feed(tokens)
    assert ctx.logits.shape == (model.n_vocab,)
    np.testing.assert_array_equal(ctx.logits, ctx.logits_copy())
    text = ctx.generate_text(5)
    out = model.complete("hello world", 5, temperature=0, chunk_size=4)  # the same, one call
    assert out["choices"][0]["text"] == text and out["usage"]["prompt_tokens"] == 11, out
print("wheel smoke OK:", lola.__version__, sorted(libs), repr(text))
"""


def run(cmd, **kw):
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, **kw)


def abi_version(source):
    """LOLA_ABI_VERSION of the source tree's lola.h: the wheel's library is liblola.so.<it>."""
    with open(os.path.join(source, "capi", "lola.h")) as f:
        return int(re.search(r"^#define LOLA_ABI_VERSION (\d+)", f.read(), re.M).group(1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--model", required=True)
    args = ap.parse_args()
    work = os.path.abspath(args.work)
    wheels, venv = os.path.join(work, "wheels"), os.path.join(work, "venv")
    for d in (wheels, venv):
        shutil.rmtree(d, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if k not in ("LD_LIBRARY_PATH", "PYTHONPATH")}
    env.setdefault("CMAKE_BUILD_PARALLEL_LEVEL", "2")

    run([sys.executable, "-m", "pip", "wheel", args.source, "--no-build-isolation", "--no-deps",
         "-w", wheels, f"-Cbuild-dir={os.path.join(work, 'build')}",
         "-Ccmake.define.LOLA_ENABLE_CUDA=OFF"], env=env)
    (wheel,) = glob.glob(os.path.join(wheels, "liblola-*.whl"))

    names = set(zipfile.ZipFile(wheel).namelist())
    expected = ["lola/__init__.py", "lola/_lola.pyi", "lola/py.typed",
                f"lola/liblola.so.{abi_version(args.source)}"]
    missing = [n for n in expected if n not in names]
    if not any(n.startswith("lola/_lola.") and n.endswith(".so") for n in names):
        missing.append("lola/_lola.*.so")
    if missing:
        sys.exit(f"{wheel} lacks {missing}; it holds {sorted(names)}")
    converter = [n for n in names if n.startswith(("lola/convert/", "lola_convert/"))
                 or n.endswith(".dist-info/entry_points.txt")]
    if converter:
        sys.exit(f"{wheel} ships the converter or a command ({converter}): lola-convert is the "
                 "package tools/convert")
    (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
    requires = [line.split(":", 1)[1].split(";")[0].strip()
                for line in zipfile.ZipFile(wheel).read(metadata).decode().splitlines()
                if line.startswith("Requires-Dist:") and "extra ==" not in line]
    if requires != ["numpy"]:
        sys.exit(f"{wheel} requires {requires}; the binding needs numpy only")

    run([sys.executable, "-m", "venv", "--system-site-packages", venv])
    vpy = os.path.join(venv, "bin", "python")
    # numpy comes from this interpreter's site-packages (it may itself be a venv, which a
    # nested venv's --system-site-packages would not see); the venv's own packages come first.
    site = subprocess.run([vpy, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    with open(os.path.join(site, "outer_site.pth"), "w") as f:
        f.write(sysconfig.get_paths()["purelib"] + "\n")
    run([vpy, "-m", "pip", "install", "--no-deps", "--no-index", wheel], env=env)
    run([vpy, "-c", SMOKE, os.path.abspath(args.model)], env=env, cwd=work)
    if os.path.exists(os.path.join(venv, "bin", "lola-convert")):
        sys.exit("the wheel installed a lola-convert command: that is tools/convert's")


if __name__ == "__main__":
    main()
