"""The lola-convert command: python -m lola_convert --base DIR [--distill F] [--lora F] -o OUT."""

from __future__ import annotations

import argparse
import logging
import sys

from .llama_to_gguf import OUT_TYPES, ConversionError, LolaDefaults, convert, default_lola, read_config
from .lolcats import collect
from .safe_pt import CheckpointError


def _parser():
    p = argparse.ArgumentParser(
        prog="lola-convert",
        description="Convert a Hugging Face Llama folder and LoLCATs checkpoints (hedgehog feature "
                    "maps and gates; LoRA on q/k/v/o, merged) into one GGUF for liblola. .pt files "
                    "are read without executing pickle code; torch is not needed.")
    p.add_argument("--base", required=True, help="Hugging Face Llama folder (config.json, *.safetensors, tokenizer.json)")
    p.add_argument("--distill", help="LoLCATs distill checkpoint (model.pt): feature maps and window_factors")
    p.add_argument("--lora", help="LoLCATs finetune checkpoint (model.pt) or a PEFT adapter folder")
    p.add_argument("--lora-r", type=int, help="LoRA rank (default: from the adapter)")
    p.add_argument("--lora-alpha", type=float, help="LoRA alpha (default: adapter_config.json, else 16)")
    p.add_argument("--outtype", choices=OUT_TYPES, default="f16", help="type of the weight matrices (default f16)")
    p.add_argument("--chunk", type=int, help="default chunk/window size C stored in the file "
                   "(default 64; 256 for models with hidden size <= 2048, i.e. Llama-3.2-1B)")
    p.add_argument("--window", type=int, dest="chunk", help="alias of --chunk (the window unit is the chunk)")
    p.add_argument("--sparse", type=int, help="default sparse cache capacity lambda (default = chunk default)")
    p.add_argument("--mixing", choices=("A", "B"), default="A",
                   help="default output mixing: A = LoLA's released code (default), B = LoLCATs Eq. 7")
    p.add_argument("--name", help="general.name (default: the base folder's name)")
    p.add_argument("-o", "--output", required=True, help="output .gguf path")
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="lola-convert: %(message)s")
    try:
        cfg = read_config(args.base)
        d = default_lola(cfg)
        lola = LolaDefaults(chunk=args.chunk if args.chunk is not None else d.chunk,
                            sparse=args.sparse if args.sparse is not None else d.sparse,
                            mixing=args.mixing)
        sources = [s for s in (args.distill, args.lora) if s]
        weights = collect(sources) if sources else None
        if args.lora and weights is not None and not weights.lora:
            raise ConversionError(f"{args.lora}: holds no lora_A/lora_B tensors")
        if args.distill and weights is not None and not weights.layers:
            raise ConversionError(f"{args.distill}: holds no feature_map_q/k or window_factors tensors")
        summary = convert(args.base, args.output, weights, args.outtype, lola,
                          args.lora_r, args.lora_alpha, args.name)
    except (ConversionError, CheckpointError, OSError) as e:
        print(f"lola-convert: error: {e}", file=sys.stderr)
        return 1
    lora = (f"LoRA r={summary['lora_r']} alpha={summary['lora_alpha']:g} merged into "
            f"{summary['lora_pairs']} matrices; " if summary["lora_pairs"] else "")
    print(f"lola-convert: wrote {args.output}: {summary['tensors']} tensors, "
          f"{summary['tensor_bytes'] / 2**20:.1f} MiB ({args.outtype}); {lora}"
          f"hedgehog maps {'yes' if summary['hedgehog'] else 'no'}; tokenizer "
          f"{'yes' if summary['tokenizer'] else 'no'}; defaults C={summary['chunk']} "
          f"lambda={summary['sparse']} mixing {summary['mixing']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
