"""lola_convert: Hugging Face Llama + LoLCATs checkpoints -> one liblola GGUF (pure Python).

A package of its own (tools/convert, `pip install ./tools/convert`), not part of the Python
binding: it writes the files liblola reads and never loads liblola, so it installs and runs
where the library is not built. Needs numpy and gguf only: .pt checkpoints are read by a
restricted unpickler (safe_pt) that never executes pickle code and does not need torch;
.safetensors by a numpy reader. It must not import the binding (`lola`); its tests check that.

    python -m lola_convert --base Meta-Llama-3.1-8B --distill distill/model.pt \
        --lora ft-lora/model.pt --outtype q8_0 -o lolcats-8b-q8_0.gguf
"""

from .lolcats import LolcatsWeights, collect, read_state_dict
from .llama_to_gguf import ConversionError, LolaDefaults, convert, default_lola, read_config
from .safe_pt import CheckpointError, UnsafePickleError

__all__ = ["CheckpointError", "ConversionError", "LolaDefaults", "LolcatsWeights",
           "UnsafePickleError", "collect", "convert", "default_lola", "read_config",
           "read_state_dict"]
