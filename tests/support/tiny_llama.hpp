// tiny_llama.hpp: writes a small random Llama GGUF (F32 weights) for model and C API tests.
#pragma once

#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "gguf_builder.hpp"
#include "random_blocks.hpp"

namespace lola_test {

struct TinyLlama {
    int n_vocab = 97, n_embd = 32, n_layer = 2, n_head = 4, n_head_kv = 2, n_ff = 48;
    uint64_t seed = 1;
    bool tied = true;
    // The GGML type of every weight matrix (token_embd included); norms stay F32. Any type but
    // F32 gets random valid blocks (random_blocks.hpp); n_embd and n_ff must be multiples of its
    // block size.
    uint32_t matrix_type = 0;
    std::string name = "tiny random llama";
    // > 0: every layer also carries LoLA tensors (as lola-convert writes them): hedgehog feature
    // maps of this F (lola.fmap_q/k.weight, [n_head][head_dim][F/2]) and window factors
    // (lola.window_factors, [n_head]). Even. 0: a plain Llama.
    int lola_feature_dim = 0;
    // Extra metadata (e.g. a tokenizer vocabulary), written after the hyperparameters.
    std::function<void(GgufBuilder &)> extra_kv;

    int head_dim() const { return n_embd / n_head; }

    // The file's bytes.
    std::vector<uint8_t> bytes() const {
        GgufBuilder g;
        g.kv_str("general.architecture", "llama").kv_str("general.name", name);
        g.kv_u32("llama.context_length", 4096).kv_u32("llama.embedding_length", static_cast<uint32_t>(n_embd));
        g.kv_u32("llama.block_count", static_cast<uint32_t>(n_layer));
        g.kv_u32("llama.feed_forward_length", static_cast<uint32_t>(n_ff));
        g.kv_u32("llama.attention.head_count", static_cast<uint32_t>(n_head));
        g.kv_u32("llama.attention.head_count_kv", static_cast<uint32_t>(n_head_kv));
        g.kv_f32("llama.attention.layer_norm_rms_epsilon", 1e-5f).kv_f32("llama.rope.freq_base", 10000.f);
        if (extra_kv) extra_kv(g);
        const uint64_t E = static_cast<uint64_t>(n_embd), hd = static_cast<uint64_t>(head_dim());
        g.tensor("token_embd.weight", {E, static_cast<uint64_t>(n_vocab)}, matrix_type);
        g.tensor("output_norm.weight", {E});
        if (!tied) g.tensor("output.weight", {E, static_cast<uint64_t>(n_vocab)}, matrix_type);
        for (int l = 0; l < n_layer; ++l) {
            const std::string b = "blk." + std::to_string(l) + ".";
            g.tensor(b + "attn_norm.weight", {E});
            g.tensor(b + "attn_q.weight", {E, n_head * hd}, matrix_type);
            g.tensor(b + "attn_k.weight", {E, n_head_kv * hd}, matrix_type);
            g.tensor(b + "attn_v.weight", {E, n_head_kv * hd}, matrix_type);
            g.tensor(b + "attn_output.weight", {n_head * hd, E}, matrix_type);
            g.tensor(b + "ffn_norm.weight", {E});
            g.tensor(b + "ffn_gate.weight", {E, static_cast<uint64_t>(n_ff)}, matrix_type);
            g.tensor(b + "ffn_up.weight", {E, static_cast<uint64_t>(n_ff)}, matrix_type);
            g.tensor(b + "ffn_down.weight", {static_cast<uint64_t>(n_ff), E}, matrix_type);
            if (lola_feature_dim > 0) {
                const uint64_t half = static_cast<uint64_t>(lola_feature_dim / 2), H = static_cast<uint64_t>(n_head);
                g.tensor(b + "lola.fmap_q.weight", {half, hd, H});
                g.tensor(b + "lola.fmap_k.weight", {half, hd, H});
                g.tensor(b + "lola.window_factors", {H});
            }
        }
        size_t start = 0;
        std::vector<uint8_t> out = g.build(&start);
        const std::vector<uint64_t> offsets = g.offsets();
        std::mt19937_64 rng(seed);
        std::normal_distribution<float> normal(0.f, 1.f);
        for (size_t i = 0; i < g.tensors.size(); ++i) {
            const auto &t = g.tensors[i];
            uint64_t n = 1;
            for (uint64_t d : t.dims) n *= d;
            const bool norm = t.dims.size() == 1;
            const float scale = norm ? 0.1f : 1.f / std::sqrt(static_cast<float>(t.dims[0]));
            if (t.type != 0) {
                fill_random_blocks(t.type, out.data() + start + offsets[i], n, scale, rng);
                continue;
            }
            for (uint64_t j = 0; j < n; ++j) {
                const float x = norm ? 1.f + scale * normal(rng) : scale * normal(rng);
                std::memcpy(out.data() + start + offsets[i] + 4 * j, &x, 4);
            }
        }
        return out;
    }

    // Writes the file to `path`; returns the path.
    std::string write(const std::string &path) const {
        const std::vector<uint8_t> b = bytes();
        std::ofstream f(path, std::ios::binary);
        f.write(reinterpret_cast<const char *>(b.data()), static_cast<std::streamsize>(b.size()));
        return path;
    }
};

}  // namespace lola_test
