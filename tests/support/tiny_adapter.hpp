// tiny_adapter.hpp: writes a LoLA adapter GGUF (format v1, docs/ADAPTERS.md) for a TinyLlama-
// shaped base: seeded random hedgehog maps and gates, the base's fingerprint, C/lambda/mixing
// defaults. Each field can be broken on purpose by the adapter tests.
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "gguf_builder.hpp"

namespace lola_test {

struct TinyAdapter {
    int n_layer = 2, n_head = 4, head_dim = 8, feature_dim = 8;
    uint64_t base_fingerprint = 0;
    uint64_t seed = 7;
    uint32_t version = 1;
    int chunk = 4, sparse = 3;
    std::string mixing = "lolcats";
    std::string general_type = "adapter";
    float poison = 0.f;  // != 0: the first value of blk.0.lola.fmap_k.weight
    // Runs after the standard metadata and tensor list, before the data is filled: add, or
    // (through g.tensors) alter, anything.
    std::function<void(GgufBuilder &)> edit;

    std::vector<uint8_t> bytes() const {
        GgufBuilder g;
        g.kv_str("general.architecture", "llama").kv_str("general.type", general_type);
        g.kv_str("general.name", "tiny adapter").kv_str("adapter.type", "lola");
        g.kv_u32("lola.adapter.version", version).kv_u64("lola.adapter.base_fingerprint", base_fingerprint);
        g.kv_str("lola.adapter.base_name", "tiny random llama");
        g.kv_u32("llama.block_count", static_cast<uint32_t>(n_layer));
        g.kv_u32("llama.attention.head_count", static_cast<uint32_t>(n_head));
        g.kv_u32("lola.adapter.head_dim", static_cast<uint32_t>(head_dim));
        g.kv_str("lola.feature_map", "hedgehog").kv_u32("lola.feature_dim", static_cast<uint32_t>(feature_dim));
        g.kv_u32("lola.chunk_size", static_cast<uint32_t>(chunk));
        g.kv_u32("lola.sparse_capacity", static_cast<uint32_t>(sparse)).kv_str("lola.mixing", mixing);
        const uint64_t half = static_cast<uint64_t>(feature_dim / 2), hd = static_cast<uint64_t>(head_dim),
                       H = static_cast<uint64_t>(n_head);
        for (int l = 0; l < n_layer; ++l) {
            const std::string b = "blk." + std::to_string(l) + ".lola.";
            g.tensor(b + "fmap_q.weight", {half, hd, H});
            g.tensor(b + "fmap_k.weight", {half, hd, H});
            g.tensor(b + "window_factors", {H});
        }
        if (edit) edit(g);
        size_t start = 0;
        std::vector<uint8_t> out = g.build(&start);
        const std::vector<uint64_t> offsets = g.offsets();
        std::mt19937_64 rng(seed);
        std::normal_distribution<float> normal(0.f, 1.f);
        for (size_t i = 0; i < g.tensors.size(); ++i) {
            const uint64_t n = GgufBuilder::shape_bytes(g.tensors[i]) / 4;
            if (g.tensors[i].type != 0) continue;
            for (uint64_t j = 0; j < n; ++j) {
                float x = 0.3f * normal(rng);
                if (i == 1 && j == 0 && poison != 0.f) x = poison;
                std::memcpy(out.data() + start + offsets[i] + 4 * j, &x, 4);
            }
        }
        return out;
    }

    std::string write(const std::string &path) const {
        const std::vector<uint8_t> b = bytes();
        std::ofstream f(path, std::ios::binary);
        f.write(reinterpret_cast<const char *>(b.data()), static_cast<std::streamsize>(b.size()));
        return path;
    }
};

}  // namespace lola_test
