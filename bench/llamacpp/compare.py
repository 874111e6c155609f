#!/usr/bin/env python3
"""compare.py: liblola against llama.cpp (through llama-cpp-python) on the same GGUF, same run.

    python bench/llamacpp/compare.py [--model M.gguf] [--lib build-llcmp/capi/liblola.so]
                                     [--contexts 512,2048,8192,32768] [--threads 2]

Run it with a Python that has llama-cpp-python and numpy installed (see README.md here).

Part 1, speed and memory. Every (engine, context N) runs in a fresh child process of this
script; the engines are llama.cpp (its default context parameters, n_ctx = N + 128), liblola
with full attention and liblola with LoLA (chunk 64, sparse capacity 64). All get the same
thread count and the same real token sequence: license texts and Python sources tokenized
by llama.cpp's tokenizer. In the child:
  warm-up   the first 64 tokens are evaluated, then the context is cleared;
  prefill   tokens[0 : N-512] in one call, then tokens[N-512 : N] in a second call, both
            timed: "prefill tok/s" = N / (both times), "block tok/s" = 512 / (second time),
            i.e. a 512-token block appended at context N-512 (N = 512: the same block);
  decode    tokens[N : N+96] one at a time (each call computes the logits of its token):
            "decode tok/s" = the best of the three blocks of 32 tokens;
  memory    VmHWM (peak resident set) of the child at the end, and VmRSS after the model
            was loaded and warmed up.
Each engine's tokens-per-call is its own default batching: llama.cpp evaluates in batches of
n_batch = 512 (its default), liblola in batches of 64 (its default batch_size).
The logits after the prefill are saved so that the engines can be compared at every N.

Part 2, greedy agreement under full attention. For each prompt (chat-formatted questions,
tokenized by llama.cpp with its special tokens, and plain text), both engines generate 32
tokens greedily (argmax of the logits, computed here, no sampler), each feeding back its own
tokens. Reported: identical tokens among the 32 (position by position), the common prefix,
the first divergence (position, both ids, both top-2 margins, and what each engine gives the
other's token at that step) and a teacher-forced check: liblola fed llama.cpp's tokens, with
its argmax agreement and the logit differences at each of the 32 steps.

Prints the machine, the versions, markdown tables and writes the raw results as JSON.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from agreement import agreement  # noqa: E402
from environment import build_corpus, llama_log_lines, machine_info, versions  # noqa: E402
from settings import BLOCK, DECODE_BLOCKS, DECODE_TOKENS, DEFAULT_LIB, DEFAULT_MODEL, GEN_TOKENS, HERE, WARMUP  # noqa: E402
from speed import child_speed, run_child, wait_quiet  # noqa: E402


def fmt(x, spec=".1f"):
    return format(x, spec) if isinstance(x, (int, float)) else str(x)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--lib", default=os.environ.get("LOLA_LIBRARY", DEFAULT_LIB))
    ap.add_argument("--contexts", default="512,2048,8192,32768")
    ap.add_argument("--engines", default="llama.cpp,lola-full,lola-lola")
    ap.add_argument("--skip", default="lola-full@32768",
                    help="engine@N pairs to leave out, comma-separated (e.g. lola-full@32768)")
    ap.add_argument("--llama-flash-attn", default="default", choices=["default", "on", "off",
                                                                      "auto"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--long-prompt", type=int, default=1024,
                    help="tokens of the long plain-text prompt of the agreement part")
    ap.add_argument("--no-reference", dest="reference", action="store_false",
                    help="leave out the float64 numpy reference of the agreement part")
    ap.add_argument("--no-speed", action="store_true")
    ap.add_argument("--no-agreement", action="store_true")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per child")
    ap.add_argument("--max-wait", type=float, default=60.0,
                    help="before each measurement, wait up to this many seconds for other "
                         "processes to leave the CPUs (0: do not wait)")
    ap.add_argument("--busy", type=float, default=0.25,
                    help="a measurement during which other processes used more CPUs than "
                         "this on average is repeated (see --retries)")
    ap.add_argument("--retries", type=int, default=1)
    ap.add_argument("--retry-max-s", type=float, default=300.0,
                    help="never repeat a measurement that took longer than this")
    ap.add_argument("--out", default=None, help="JSON path (default results-<date>.json here)")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.child:
        cfg = json.loads(args.child)
        print("RESULT " + json.dumps(child_speed(cfg)), flush=True)
        return

    import llama_cpp._logger  # the parent keeps llama.cpp quiet; the children log to files
    llama_cpp._logger.set_verbose(False)
    t_start = time.perf_counter()
    started = datetime.datetime.now().astimezone()
    contexts = [int(x) for x in args.contexts.split(",") if x]
    engines = [e for e in args.engines.split(",") if e]
    skip = {s for s in args.skip.split(",") if s}
    out_path = args.out or os.path.join(HERE, f"results-{started.date().isoformat()}.json")

    mach = machine_info()
    vers = versions(args)
    print(f"machine: {mach.get('Model name')}, {mach.get('CPU(s)')} CPUs "
          f"({mach.get('Core(s) per socket')} cores/socket x {mach.get('Socket(s)')} sockets, "
          f"{mach.get('Thread(s) per core')} threads/core), {mach.get('mem_total')}; "
          f"{' '.join(mach['simd_flags'])}")
    print(f"llama-cpp-python {vers['llama_cpp_python']}; llama.cpp system info: "
          f"{vers['llama_cpp_system_info']}")
    print(f"liblola {vers['liblola']} at commit {vers['liblola_commit'][:10]}"
          + (f" (modified in the work tree: {', '.join(vers['liblola_worktree_modified'])})"
             if vers["liblola_worktree_modified"] else "") + f"; {vers['liblola_path']}")
    print(f"model {vers['model']} (sha256 {vers['model_sha256'][:16]}...); threads "
          f"{args.threads}", flush=True)

    need = max(contexts + [args.long_prompt]) + DECODE_BLOCKS * DECODE_TOKENS
    t0 = time.perf_counter()
    tokens, files = build_corpus(args.model, need)
    print(f"corpus: {tokens.size} tokens from {len(files)} files "
          f"({time.perf_counter() - t0:.1f}s to tokenize)", flush=True)
    work = tempfile.mkdtemp(prefix="lola-llcmp-")
    tokens_file = os.path.join(work, "tokens.npy")
    np.save(tokens_file, tokens)
    logits_dir = os.path.join(work, "logits")
    os.makedirs(logits_dir)

    results = {"started": started.isoformat(timespec="seconds"),
               "command": [os.path.relpath(sys.executable)] + sys.argv, "machine": mach,
               "versions": vers, "threads": args.threads,
               "corpus": {"files": files, "tokens": int(tokens.size),
                          "sha256": hashlib.sha256(tokens.tobytes()).hexdigest()},
               "method": {"block": BLOCK, "decode_blocks": DECODE_BLOCKS,
                          "decode_tokens": DECODE_TOKENS, "warmup": WARMUP,
                          "llama_n_ctx": "N + 128", "lola_chunk": 64, "lola_sparse": 64,
                          "llama_flash_attn": args.llama_flash_attn},
               "speed": [], "logit_checks": [], "agreement": []}

    if not args.no_speed:
        print("\n## speed", flush=True)
        for n in contexts:
            for eng in engines:
                if f"{eng}@{n}" in skip:
                    print(f"  {n:6d} {eng:10s} skipped (--skip)", flush=True)
                    results["speed"].append({"engine": eng, "n": n, "skipped": True})
                    continue
                cfg = {"engine": eng, "n": n, "model": os.path.abspath(args.model),
                       "lib": os.path.abspath(args.lib), "threads": args.threads,
                       "tokens_file": tokens_file, "logits_dir": logits_dir,
                       "flash_attn": args.llama_flash_attn}
                r, attempts = None, []
                for attempt in range(1 + args.retries):
                    waited = wait_quiet(args.max_wait) if args.max_wait > 0 else 0.0
                    log = os.path.join(work, f"{eng}-{n}-{attempt}.log")
                    x = run_child(cfg, log, args.timeout)
                    x["waited_quiet_s"] = round(waited, 1)
                    busy = x.get("load_during_timing", {}).get("others_cpus", 0.0)
                    attempts.append({"others_cpus": busy, "waited_s": x["waited_quiet_s"],
                                     "decode_tps": x.get("decode_tps"),
                                     "prefill_tps": x.get("prefill_tps")})
                    if r is None or ("error" in r and "error" not in x) or (
                            "error" not in x and busy < r["load_during_timing"]["others_cpus"]):
                        r = x
                    if "error" in x or busy <= args.busy or x["wall_s"] > args.retry_max_s:
                        break
                    print(f"  {n:6d} {eng:10s} other processes used {busy:.2f} CPUs during the "
                          f"timing: again", flush=True)
                r["attempts"] = attempts
                if eng == "llama.cpp":
                    r["llama_log"] = llama_log_lines(log)
                results["speed"].append(r)
                if "error" in r:
                    print(f"  {n:6d} {eng:10s} FAILED: {r['error']} (log {log})", flush=True)
                else:
                    print(f"  {n:6d} {eng:10s} prefill {r['prefill_tps']:8.1f} tok/s, block "
                          f"{r['block_tps']:8.1f}, decode {r['decode_tps']:7.1f} tok/s, peak RSS "
                          f"{r['peak_rss_kib'] / 1024:8.1f} MiB ({r['wall_s']:.0f}s; others "
                          f"{r['load_during_timing']['others_cpus']:.2f} CPUs)", flush=True)
                with open(out_path, "w") as f:  # partial results survive an interrupted run
                    json.dump(results, f, indent=1)
            # the engines' logits after the same N tokens (and after N + 96)
            for suffix in ("", "-decoded"):
                ref_path = os.path.join(logits_dir, f"llama.cpp-{n}{suffix}.npy")
                if not os.path.exists(ref_path):
                    continue
                ref = np.load(ref_path)
                for eng in ("lola-full", "lola-lola"):
                    p = os.path.join(logits_dir, f"{eng}-{n}{suffix}.npy")
                    if os.path.exists(p):
                        x = np.load(p)
                        results["logit_checks"].append({
                            "n": n + (DECODE_BLOCKS * DECODE_TOKENS if suffix else 0),
                            "engine": eng, "llama_argmax": int(np.argmax(ref)),
                            "lola_argmax": int(np.argmax(x)),
                            "max_abs_diff": float(np.abs(ref - x).max()),
                            "corr": float(np.corrcoef(ref, x)[0, 1]),
                            "top10_overlap": len(set(np.argsort(-ref)[:10]) &
                                                 set(np.argsort(-x)[:10]))})

    if not args.no_agreement:
        print("\n## greedy agreement (full attention)", flush=True)
        t0 = time.perf_counter()
        results["agreement"] = agreement(args, tokens)
        results["agreement_s"] = time.perf_counter() - t0
    results["total_s"] = time.perf_counter() - t_start
    with open(out_path, "w") as f:
        json.dump(results, f, indent=1)

    print_report(results)
    print(f"\nraw results: {out_path}; logs and logits: {work}; total "
          f"{results['total_s'] / 60:.1f} min")


def print_report(res: dict):
    names = {"llama.cpp": "llama.cpp", "lola-full": "liblola full", "lola-lola": "liblola LoLA"}
    speed = [r for r in res["speed"]]
    if speed:
        print(f"\n### Speed and memory ({res['threads']} threads; prefill = N-token prompt from "
              f"an empty context; block = its last {BLOCK} tokens; decode = best of "
              f"{DECODE_BLOCKS}x{DECODE_TOKENS} single tokens after N)\n")
        print("| context | engine/attention | prefill tok/s | block tok/s | decode tok/s | "
              "peak RSS MiB | other CPUs busy |")
        print("|---:|---|---:|---:|---:|---:|---:|")
        for r in speed:
            name = names.get(r["engine"], r["engine"])
            if r.get("skipped") or "error" in r:
                why = "skipped" if r.get("skipped") else r["error"]
                print(f"| {r['n']} | {name} | {why} | | | | |")
                continue
            print(f"| {r['n']} | {name} | {r['prefill_tps']:.1f} | {r['block_tps']:.1f} | "
                  f"{r['decode_tps']:.1f} | {r['peak_rss_kib'] / 1024:.1f} | "
                  f"{r['load_during_timing']['others_cpus']:.2f} |")
        by = {(r["engine"], r["n"]): r for r in speed if "decode_tps" in r}
        print()
        for n in sorted({r["n"] for r in speed}):
            a, b, c = by.get(("lola-lola", n)), by.get(("llama.cpp", n)), by.get(("lola-full", n))
            if a and b:
                line = (f"N = {n}: liblola-LoLA / llama.cpp decode = {a['decode_tps']:.1f} / "
                        f"{b['decode_tps']:.1f} = {a['decode_tps'] / b['decode_tps']:.2f}x; "
                        f"prefill {a['prefill_tps'] / b['prefill_tps']:.2f}x")
                if c:
                    line += (f"; liblola-full / llama.cpp decode "
                             f"{c['decode_tps'] / b['decode_tps']:.2f}x, prefill "
                             f"{c['prefill_tps'] / b['prefill_tps']:.2f}x")
                print(line)
    if res.get("logit_checks"):
        print("\n### Last-token logits after the same N tokens, against llama.cpp\n")
        print("| tokens | engine | argmax llama.cpp / liblola | max abs diff | corr | "
              "top-10 overlap |")
        print("|---:|---|---|---:|---:|---:|")
        for c in res["logit_checks"]:
            print(f"| {c['n']} | {names[c['engine']]} | {c['llama_argmax']} / {c['lola_argmax']}"
                  f" | {c['max_abs_diff']:.3f} | {c['corr']:.5f} | {c['top10_overlap']} |")
    if res.get("agreement"):
        print(f"\n### Greedy agreement, {GEN_TOKENS} tokens, llama.cpp against liblola full "
              f"attention (LoLA column: liblola LoLA against llama.cpp)\n")
        print("| prompt | tokens | identical | prefix | first divergence: pos, ids llama/lola, "
              "top-2 margins llama/lola, reference gap | forced argmax | forced max abs diff "
              "| LoLA |")
        print("|---|---:|---:|---:|---|---:|---:|---:|")
        for r in res["agreement"]:
            d = r.get("first_divergence")
            if d:
                div = (f"{d['position']}: {d['llama_token']} {d['llama_piece']!r} / "
                       f"{d['lola_token']} {d['lola_piece']!r}; margins "
                       f"{d['llama_top2_margin']:.3f} / {d['lola_top2_margin']:.3f}")
                if "reference_gap_llama_minus_lola_token" in d:
                    div += f"; ref {d['reference_gap_llama_minus_lola_token']:+.3f}"
            else:
                div = "none"
            prompt = r["prompt"] if len(r["prompt"]) <= 48 else r["prompt"][:45] + "..."
            print(f"| {r['kind']}: {prompt} | {r['prompt_tokens']} | {r['identical']}/32 | "
                  f"{r['common_prefix']} | {div} | {r['forced']['argmax_agree']}/32 | "
                  f"{r['forced']['max_abs_logit_diff']:.3f} | {r['lola_lola_identical']}/32 |")
        if any("reference" in r for r in res["agreement"]):
            print("\nreference gap: the float64 reference's logit of llama.cpp's token minus that "
                  "of liblola's (> 0: the reference sides with llama.cpp).\n")
            print("| prompt | reference argmax = llama.cpp / liblola full | max abs logit diff "
                  "to reference, llama.cpp / liblola | mean abs diff, llama.cpp / liblola |")
            print("|---|---|---|---|")
            for r in res["agreement"]:
                f = r.get("reference")
                if not f:
                    continue
                prompt = r["prompt"] if len(r["prompt"]) <= 48 else r["prompt"][:45] + "..."
                print(f"| {r['kind']}: {prompt} | {f['argmax_agree_llama']}/32 / "
                      f"{f['argmax_agree_lola_full']}/32 | {f['max_abs_diff_llama']:.3g} / "
                      f"{f['max_abs_diff_lola_full']:.3g} | {f['mean_abs_diff_llama']:.3g} / "
                      f"{f['mean_abs_diff_lola_full']:.3g} |")


if __name__ == "__main__":
    main()
