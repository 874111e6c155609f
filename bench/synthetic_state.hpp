// synthetic_state.hpp: benchmarks only. Brings a context to n tokens of seeded random keys and
// values in every layer without running the network (the cost of a later step depends on the
// cache's size, not its contents, so this reaches long contexts without an O(n) prefill).
// Each layer's state is built as a host lola::Layer fed random q/k/v in blocks, saved into a
// context state blob (Context::save's documented format, the same on every backend) one layer
// at a time, and the context restores from it: only public interfaces of the core are used.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "model/llama_context.hpp"

namespace lola::bench {

inline void fill_synthetic(model::Context &ctx, int64_t n, uint64_t seed) {
    const model::Model &m = ctx.model();
    const model::HParams &hp = m.hparams();
    std::vector<unsigned char> blob;
    auto put = [&](const void *p, size_t size) {
        const auto *b = static_cast<const unsigned char *>(p);
        blob.insert(blob.end(), b, b + size);
    };
    const uint64_t fp = m.fingerprint(), past = static_cast<uint64_t>(n);
    const uint32_t n_layers = static_cast<uint32_t>(hp.n_layer);
    put("LOLACTX1", 8);
    put(&fp, 8);
    put(&past, 8);
    put(&n_layers, 4);
    const int64_t block = 1024;
    std::vector<float> q(static_cast<size_t>(block * hp.n_head * hp.head_dim));
    std::vector<float> k(static_cast<size_t>(block * hp.n_head_kv * hp.head_dim)), v(k.size());
    uint64_t state = seed;
    auto next = [&] {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        return static_cast<float>(static_cast<double>(state >> 40) / 16777216.0 * 2.0 - 1.0);
    };
    for (int64_t l = 0; l < hp.n_layer; ++l) {
        Layer<float> layer(model::layer_config(m, ctx.config(), l));
        for (int64_t done = 0; done < n;) {
            const int64_t len = std::min(block, n - done);
            for (float &x : q) x = next();
            for (float &x : k) x = next();
            for (float &x : v) x = next();
            layer.feed(len, q.data(), k.data(), v.data(), nullptr, nullptr, nullptr);
            done += len;
        }
        const std::vector<unsigned char> one = layer.save();
        const uint64_t size = one.size();
        put(&size, 8);
        put(one.data(), one.size());
    }
    ctx.restore(blob.data(), blob.size());
}

}  // namespace lola::bench
