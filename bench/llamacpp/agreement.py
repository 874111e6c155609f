"""agreement.py: part 2 of compare.py, greedy agreement of the engines under full attention."""

from __future__ import annotations

import time

import numpy as np

from llama_engine import LlamaEngine, llama_piece, llama_tokenize  # noqa: E402
from lola_engine import LOLA_ATTENTION_FULL, LOLA_ATTENTION_LOLA, LolaEngine  # noqa: E402
from settings import GEN_TOKENS  # noqa: E402


SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
QUESTIONS = [
    "What is the capital of France?",
    "Explain in two sentences why the sky is blue.",
    "Write a Python function that returns the factorial of n.",
    "List three healthy breakfast ideas.",
    "What is 17 times 23?",
]
PLAIN = [
    "The history of the Roman Empire begins with",
    "Once upon a time, in a small village by the sea, there lived",
]


def chatml(question: str) -> str:
    return (f"<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\n{question}<|im_end|>\n"
            f"<|im_start|>assistant\n")


def top2(logits: np.ndarray):
    idx = np.argpartition(logits, -2)[-2:]
    idx = idx[np.argsort(-logits[idx])]
    return int(idx[0]), int(idx[1]), float(logits[idx[0]] - logits[idx[1]])


def greedy(eng, prompt: np.ndarray, steps: int):
    """Tokens, top-2 margins and the logits of each step (the logits that chose the token)."""
    eng.reset()
    eng.feed(prompt)
    toks, margins, rows = [], [], []
    for _ in range(steps):
        lg = np.array(eng.logits(), dtype=np.float32)
        t1, _, m = top2(lg)
        toks.append(t1)
        margins.append(m)
        rows.append(lg)
        eng.feed(np.array([t1], dtype=np.int32))
    return toks, margins, rows


class Reference:
    """The same Llama forward pass in float64 numpy over the GGUF's weights dequantized by the
    gguf package (the weights exactly as stored, no quantized activations, no f16 caches):
    the yardstick that says which engine a logit difference comes from."""

    def __init__(self, path: str):
        from gguf import GGUFReader
        from gguf.quants import dequantize
        r = GGUFReader(path)

        def field(name):
            f = r.fields[name]
            return f.parts[f.data[0]][0].item()

        self.n_layer = int(field("llama.block_count"))
        self.n_head = int(field("llama.attention.head_count"))
        self.n_head_kv = int(field("llama.attention.head_count_kv"))
        self.eps = float(field("llama.attention.layer_norm_rms_epsilon"))
        self.base = float(field("llama.rope.freq_base"))
        self.w = {}
        for t in r.tensors:
            a = dequantize(t.data, t.tensor_type)
            self.w[t.name] = np.asarray(a, dtype=np.float64).reshape(
                [int(x) for x in reversed(t.shape)])
        self.n_embd = self.w["token_embd.weight"].shape[1]
        self.head_dim = self.n_embd // self.n_head
        self.out = self.w.get("output.weight", self.w["token_embd.weight"])

    def _norm(self, x, w):
        return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + self.eps) * w

    def logits(self, tokens: np.ndarray, last: int) -> np.ndarray:
        """Logits of the last `last` positions of one causal pass over `tokens`."""
        T, d, H, Hkv = tokens.size, self.head_dim, self.n_head, self.n_head_kv
        x = self.w["token_embd.weight"][tokens]
        ang = np.arange(T)[:, None] * self.base ** (-np.arange(0, d, 2) / d)[None, :]
        cos, sin = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]

        def rope(v):  # llama.cpp's "normal" RoPE: adjacent pairs (GGUF Q/K rows are permuted)
            out = np.empty_like(v)
            out[..., 0::2] = v[..., 0::2] * cos - v[..., 1::2] * sin
            out[..., 1::2] = v[..., 0::2] * sin + v[..., 1::2] * cos
            return out

        mask = np.triu(np.full((T, T), -np.inf), 1)
        for layer in range(self.n_layer):
            w = lambda name: self.w[f"blk.{layer}.{name}.weight"]
            h = self._norm(x, w("attn_norm"))
            q = rope((h @ w("attn_q").T).reshape(T, H, d))
            k = rope((h @ w("attn_k").T).reshape(T, Hkv, d))
            v = (h @ w("attn_v").T).reshape(T, Hkv, d)
            k = np.repeat(k, H // Hkv, axis=1)  # query head i reads kv head i // (H / Hkv)
            v = np.repeat(v, H // Hkv, axis=1)
            s = np.einsum("thd,shd->hts", q, k) / np.sqrt(d) + mask
            s = np.exp(s - s.max(axis=-1, keepdims=True))
            s /= s.sum(axis=-1, keepdims=True)
            o = np.einsum("hts,shd->thd", s, v).reshape(T, H * d)
            x = x + o @ w("attn_output").T
            h = self._norm(x, w("ffn_norm"))
            g = h @ w("ffn_gate").T
            x = x + ((g / (1.0 + np.exp(-g))) * (h @ w("ffn_up").T)) @ w("ffn_down").T
        x = self._norm(x[T - last:], self.w["output_norm.weight"])
        return x @ self.out.T


def forced(eng, prompt: np.ndarray, continuation: list[int]):
    """Logits of each step when fed `continuation` after the prompt (teacher forcing)."""
    eng.reset()
    eng.feed(prompt)
    rows = []
    for t in continuation:
        rows.append(np.array(eng.logits(), dtype=np.float32))
        eng.feed(np.array([t], dtype=np.int32))
    return rows


def agreement(args, long_tokens: np.ndarray) -> list[dict]:
    prompts = [("chat", q, llama_tokenize(args.model, chatml(q), special=True))
               for q in QUESTIONS]
    prompts += [("plain", p, llama_tokenize(args.model, p, special=False)) for p in PLAIN]
    long_prompt = long_tokens[:args.long_prompt]
    prompts.append(("plain-long", f"the first {long_prompt.size} tokens of the speed corpus",
                    long_prompt))
    n_ctx = max(p[2].size for p in prompts) + GEN_TOKENS + 64
    ll = LlamaEngine(args.model, n_ctx, args.threads)
    full = LolaEngine(args.lib, args.model, LOLA_ATTENTION_FULL, args.threads)
    lola = LolaEngine(args.lib, args.model, LOLA_ATTENTION_LOLA, args.threads)
    ref = Reference(args.model) if args.reference else None
    results = []
    for kind, text, prompt in prompts:
        t0 = time.perf_counter()
        a_tok, a_mar, a_rows = greedy(ll, prompt, GEN_TOKENS)
        b_tok, b_mar, b_rows = greedy(full, prompt, GEN_TOKENS)
        c_tok, _, _ = greedy(lola, prompt, GEN_TOKENS)
        f_rows = forced(full, prompt, a_tok)  # liblola-full fed llama.cpp's tokens
        same = [x == y for x, y in zip(a_tok, b_tok)]
        prefix = next((i for i, s in enumerate(same) if not s), GEN_TOKENS)
        r = {"kind": kind, "prompt": text, "prompt_tokens": int(prompt.size),
             "llama_tokens": a_tok, "lola_full_tokens": b_tok, "lola_lola_tokens": c_tok,
             "identical": int(sum(same)), "common_prefix": prefix,
             "lola_lola_identical": int(sum(x == y for x, y in zip(a_tok, c_tok))),
             "llama_text": "".join(llama_piece(args.model, t) for t in a_tok),
             "lola_full_text": "".join(llama_piece(args.model, t) for t in b_tok)}
        if prefix < GEN_TOKENS:
            i = prefix
            la, lb = a_rows[i], b_rows[i]
            r["first_divergence"] = {
                "position": i, "llama_token": a_tok[i], "lola_token": b_tok[i],
                "llama_piece": llama_piece(args.model, a_tok[i]),
                "lola_piece": llama_piece(args.model, b_tok[i]),
                "llama_top2_margin": a_mar[i], "lola_top2_margin": b_mar[i],
                # how far each engine puts the other's choice below its own
                "llama_gap_to_lola_token": float(la[a_tok[i]] - la[b_tok[i]]),
                "lola_gap_to_llama_token": float(lb[b_tok[i]] - lb[a_tok[i]]),
            }
        # teacher forcing: same prefixes at every step
        fa = [int(np.argmax(x)) for x in f_rows]
        diffs = [np.abs(x - y) for x, y in zip(a_rows, f_rows)]
        r["forced"] = {
            "argmax_agree": int(sum(x == y for x, y in zip(a_tok, fa))),
            "max_abs_logit_diff": float(max(d.max() for d in diffs)),
            "mean_abs_logit_diff": float(np.mean([d.mean() for d in diffs])),
            "llama_logit_range": float(max(x.max() - x.min() for x in a_rows)),
            "disagree_steps": [
                {"step": i, "llama_token": a_tok[i], "lola_token": fa[i],
                 "llama_margin": a_mar[i],
                 "lola_gap": float(f_rows[i][fa[i]] - f_rows[i][a_tok[i]])}
                for i in range(GEN_TOKENS) if fa[i] != a_tok[i]],
        }
        if ref is not None:
            # the reference over llama.cpp's continuation: row i = the same prefix as step i
            rr = ref.logits(np.concatenate([prompt, np.array(a_tok[:-1], np.int32)]),
                            GEN_TOKENS)
            r["reference"] = {
                "argmax_agree_llama": int(sum(int(np.argmax(rr[i])) == a_tok[i]
                                              for i in range(GEN_TOKENS))),
                "argmax_agree_lola_full": int(sum(int(np.argmax(rr[i])) == fa[i]
                                                  for i in range(GEN_TOKENS))),
                "max_abs_diff_llama": float(max(np.abs(rr[i] - a_rows[i]).max()
                                                for i in range(GEN_TOKENS))),
                "max_abs_diff_lola_full": float(max(np.abs(rr[i] - f_rows[i]).max()
                                                    for i in range(GEN_TOKENS))),
                "mean_abs_diff_llama": float(np.mean([np.abs(rr[i] - a_rows[i]).mean()
                                                      for i in range(GEN_TOKENS)])),
                "mean_abs_diff_lola_full": float(np.mean([np.abs(rr[i] - f_rows[i]).mean()
                                                          for i in range(GEN_TOKENS)])),
            }
            if "first_divergence" in r:
                i = r["first_divergence"]["position"]
                r["first_divergence"]["reference_gap_llama_minus_lola_token"] = float(
                    rr[i][a_tok[i]] - rr[i][b_tok[i]])
        r["seconds"] = time.perf_counter() - t0
        results.append(r)
        print(f"  {kind:10s} {r['prompt_tokens']:5d} prompt tokens: {r['identical']}/32 "
              f"identical, forced argmax {r['forced']['argmax_agree']}/32", flush=True)
    ll.close()
    full.close()
    lola.close()
    return results
