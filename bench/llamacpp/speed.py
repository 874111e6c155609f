"""speed.py: part 1 of compare.py, one (engine, N) speed and memory measurement in a child process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np

from llama_engine import LlamaEngine  # noqa: E402
from lola_engine import LOLA_ATTENTION_FULL, LOLA_ATTENTION_LOLA, LolaEngine  # noqa: E402
from settings import BLOCK, COMPARE, DECODE_BLOCKS, DECODE_TOKENS, WARMUP  # noqa: E402


def proc_status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def cpu_ticks():
    """(busy ticks of the whole machine, steal ticks, this process's ticks, all threads)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    busy = v[0] + v[1] + v[2] + v[5] + v[6]  # user nice system irq softirq
    steal = v[7] if len(v) > 7 else 0
    with open("/proc/self/stat") as f:
        own = f.read().rsplit(")", 1)[1].split()
    return busy, steal, int(own[11]) + int(own[12])


def foreign_load(before, after, wall_s: float) -> dict:
    """Average number of CPUs that other processes kept busy (and the hypervisor stole)."""
    hz = os.sysconf("SC_CLK_TCK")
    busy = after[0] - before[0]
    own = after[2] - before[2]
    return {"others_cpus": round(max(busy - own, 0) / hz / wall_s, 3),
            "steal_cpus": round((after[1] - before[1]) / hz / wall_s, 3),
            "own_cpus": round(own / hz / wall_s, 3)}


def wait_quiet(limit_s: float, threshold: float = 0.15, window_s: float = 2.0) -> float:
    """Waits (up to limit_s) until other processes use less than `threshold` CPUs over a
    window; returns the seconds waited."""
    t0 = time.perf_counter()
    while True:
        a = cpu_ticks()
        time.sleep(window_s)
        load = foreign_load(a, cpu_ticks(), window_s)
        if load["others_cpus"] < threshold or time.perf_counter() - t0 > limit_s:
            return time.perf_counter() - t0


def make_engine(cfg: dict, n_ctx: int):
    engine = cfg["engine"]
    if engine == "llama.cpp":
        return LlamaEngine(cfg["model"], n_ctx, cfg["threads"], cfg.get("flash_attn", "default"))
    attention = {"lola-full": LOLA_ATTENTION_FULL, "lola-lola": LOLA_ATTENTION_LOLA}[engine]
    return LolaEngine(cfg["lib"], cfg["model"], attention, cfg["threads"])


def child_speed(cfg: dict) -> dict:
    tokens = np.load(cfg["tokens_file"])
    n = cfg["n"]
    need = n + DECODE_BLOCKS * DECODE_TOKENS
    assert tokens.size >= need, (tokens.size, need)
    t_load = time.perf_counter()
    eng = make_engine(cfg, n_ctx=n + 128)
    t_load = time.perf_counter() - t_load
    out = {"engine": cfg["engine"], "n": n, "load_s": t_load, "params": eng.params}
    if isinstance(eng, LlamaEngine):
        out["n_ctx"] = eng.n_ctx
        out["n_batch"] = eng.n_batch
    eng.feed(tokens[:WARMUP])
    eng.reset()
    out["rss_after_load_kib"] = proc_status_kib("VmRSS")

    head = n - BLOCK
    ticks0 = cpu_ticks()
    t0 = time.perf_counter()
    if head > 0:
        eng.feed(tokens[:head])
    t1 = time.perf_counter()
    eng.feed(tokens[head:n])
    t2 = time.perf_counter()
    out["prefill_head_s"] = t1 - t0
    out["prefill_block_s"] = t2 - t1
    out["prefill_tps"] = n / (t2 - t0)
    out["block_tps"] = BLOCK / (t2 - t1)
    np.save(os.path.join(cfg["logits_dir"], f"{cfg['engine']}-{n}.npy"),
            np.array(eng.logits(), dtype=np.float32))

    step_s = []
    for i in range(n, need):
        ts = time.perf_counter()
        eng.feed(tokens[i:i + 1])
        eng.logits()
        step_s.append(time.perf_counter() - ts)
    blocks = [sum(step_s[b * DECODE_TOKENS:(b + 1) * DECODE_TOKENS])
              for b in range(DECODE_BLOCKS)]
    out["decode_block_s"] = blocks
    out["decode_step_ms"] = [round(1000.0 * x, 3) for x in step_s]
    out["load_during_timing"] = foreign_load(ticks0, cpu_ticks(), time.perf_counter() - t0)
    out["decode_tps"] = DECODE_TOKENS / min(blocks)
    out["decode_median_ms"] = 1000.0 * float(np.median(step_s))
    np.save(os.path.join(cfg["logits_dir"], f"{cfg['engine']}-{n}-decoded.npy"),
            np.array(eng.logits(), dtype=np.float32))
    if isinstance(eng, LolaEngine):
        out["state_bytes"] = eng.state_bytes()
    out["peak_rss_kib"] = proc_status_kib("VmHWM")
    out["final_rss_kib"] = proc_status_kib("VmRSS")
    eng.close()
    return out


def run_child(cfg: dict, log_path: str, timeout: float) -> dict:
    cmd = [sys.executable, COMPARE, "--child", json.dumps(cfg)]  # compare.py runs the child
    t0 = time.perf_counter()
    with open(log_path, "w") as log:
        try:
            proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=log, text=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"engine": cfg["engine"], "n": cfg["n"], "error": f"timeout {timeout}s",
                    "wall_s": time.perf_counter() - t0}
    wall = time.perf_counter() - t0
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            res = json.loads(line[len("RESULT "):])
            res["wall_s"] = wall
            res["log"] = log_path
            return res
    return {"engine": cfg["engine"], "n": cfg["n"], "error": f"exit {proc.returncode}",
            "wall_s": wall, "log": log_path}
