"""environment.py: the corpus, the machine and the versions compare.py reports."""

from __future__ import annotations

import datetime
import glob
import hashlib
import os
import platform
import subprocess
import sysconfig

import numpy as np

from llama_engine import llama_backend, llama_tokenize  # noqa: E402
from lola_engine import Library  # noqa: E402
from settings import REPO  # noqa: E402


def corpus_files() -> list[str]:
    """License texts (resolved, deduplicated, sorted), then Python's standard library sources."""
    lic = sorted({os.path.realpath(p) for p in glob.glob("/usr/share/common-licenses/*")
                  if os.path.isfile(p)})
    std = sorted(glob.glob(os.path.join(sysconfig.get_paths()["stdlib"], "*.py")))
    return lic + std


def build_corpus(model: str, need: int):
    used, parts, total = [], [], 0
    for path in corpus_files():
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        toks = llama_tokenize(model, text, special=False)
        if parts:  # one BOS at most: drop what the tokenizer adds at the start of later files
            first = llama_tokenize(model, "", special=False)
            if first.size and toks.size and toks[0] == first[0]:
                toks = toks[first.size:]
        parts.append(toks)
        used.append(path)
        total += toks.size
        if total >= need:
            break
    tokens = np.concatenate(parts)[:need].astype(np.int32)
    if tokens.size < need:
        raise RuntimeError(f"the corpus gives {tokens.size} tokens, {need} needed")
    return tokens, used


def machine_info() -> dict:
    info = {"platform": platform.platform(), "python": platform.python_version()}
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in lscpu.splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("Model name", "CPU(s)", "Thread(s) per core", "Core(s) per socket",
                               "Socket(s)", "Flags"):
                info[key.strip()] = value.strip()
    except OSError:
        pass
    flags = info.pop("Flags", "").split()
    info["simd_flags"] = [f for f in flags if f.startswith(("avx", "fma", "f16c", "amx"))]
    info["os_cpu_count"] = os.cpu_count()
    info["affinity_cpus"] = len(os.sched_getaffinity(0))
    try:
        with open("/proc/meminfo") as f:
            info["mem_total"] = f.readline().split(":")[1].strip()
    except OSError:
        pass
    return info


def versions(args) -> dict:
    ll = llama_backend()
    v = {"llama_cpp_python": getattr(ll, "__version__", "?"),
         "llama_cpp_system_info": ll.llama_print_system_info().decode(errors="replace").strip(),
         "numpy": np.__version__}
    libdir = os.path.join(os.path.dirname(ll.__file__), "lib")
    v["llama_cpp_libs"] = sorted(os.path.basename(p) for p in
                                 glob.glob(os.path.join(libdir, "lib*.so.*.*.*")))
    try:
        import importlib.metadata as md
        v["gguf"] = md.version("gguf")
    except Exception:
        pass
    v["liblola"] = Library(os.path.abspath(args.lib)).version()
    v["liblola_path"] = os.path.abspath(args.lib)
    v["liblola_built"] = datetime.datetime.fromtimestamp(
        os.path.getmtime(os.path.realpath(args.lib))).astimezone().isoformat(timespec="seconds")
    git = lambda *a: subprocess.run(["git", "-C", REPO, *a], capture_output=True,
                                    text=True).stdout.strip()
    v["liblola_commit"] = git("rev-parse", "HEAD")
    dirty = git("status", "--porcelain", "--untracked-files=no")
    v["liblola_worktree_modified"] = [line[3:] for line in dirty.splitlines()]
    with open(args.model, "rb") as f:
        h = hashlib.sha256()
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    v["model"] = os.path.abspath(args.model)
    v["model_sha256"] = h.hexdigest()
    return v


def llama_log_lines(log_path: str) -> list[str]:
    keys = ("flash_attn", "n_ctx", "n_batch", "n_ubatch", "CPU_REPACK", "KV buffer",
            "compute buffer", "model buffer", "system_info", "type_k", "kv_unified",
            "n_ctx_per_seq")
    try:
        with open(log_path, errors="replace") as f:
            lines = f.readlines()
    except OSError:
        return []
    out = [l.rstrip() for l in lines if any(k in l for k in keys)][:40]
    fa = sum("(FLASH_ATTN_EXT)" in l for l in lines)
    out.append(f"[compare.py] graph nodes logged as FLASH_ATTN_EXT: {fa}")
    return out
