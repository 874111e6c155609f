// fuzz_state_blob.hpp: the layers fuzz_state_blob restores into (shared with make_seeds.cpp,
// which saves their blobs as the seed corpus). Input format of the target and of its seeds:
// byte 0 picks the layer (bits 0-1) and whether the target rewrites the blob's trailing CRC-32
// (bit 2), so that mutations reach the checks behind the checksum; the rest is the blob.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "lola/config.hpp"
#include "lola/layer.hpp"

namespace lola_fuzz {

constexpr int kBlobLayers = 4;

inline lola::LayerConfig blob_layer_config(int which) {
    lola::LayerConfig c;
    c.n_heads = 2;
    c.n_kv_heads = 1;
    c.head_dim = 4;
    c.chunk = 3;
    c.sparse_capacity = 2;
    switch (which) {
    case 0: break;  // LoLA, performer features
    case 1: c.attention = lola::Attention::full; break;
    case 2: c.attention = lola::Attention::window; break;
    default: {      // LoLA, hedgehog features: one state per query head
        c.feature_map = lola::FeatureMapKind::hedgehog;
        c.feature_dim = 4;
        const size_t n = static_cast<size_t>(c.n_heads * c.head_dim * c.feature_dim / 2);
        for (size_t i = 0; i < n; ++i) {
            c.hedgehog_q.push_back(std::sin(0.7 * static_cast<double>(i)));
            c.hedgehog_k.push_back(std::cos(0.3 * static_cast<double>(i)));
        }
        c.window_factors = {0.5, -0.25};
        break;
    }
    }
    return c;
}

// Feeds n deterministic tokens (q, k, v from a fixed formula) starting at position `from`.
inline void feed_tokens(lola::Layer<float> &layer, int from, int n) {
    const lola::LayerConfig &c = layer.config();
    const size_t qs = static_cast<size_t>(c.n_heads * c.head_dim);
    const size_t ks = static_cast<size_t>(c.n_kv_heads * c.head_dim);
    std::vector<float> q(n * qs), k(n * ks), v(n * ks), y(n * qs);
    for (size_t i = 0; i < q.size(); ++i) q[i] = static_cast<float>(std::sin(0.37 * static_cast<double>(i + from * qs)));
    for (size_t i = 0; i < k.size(); ++i) {
        k[i] = static_cast<float>(std::cos(0.11 * static_cast<double>(i + from * ks)));
        v[i] = static_cast<float>(std::sin(0.23 * static_cast<double>(i + from * ks) + 1.0));
    }
    layer.feed(n, q.data(), k.data(), v.data(), nullptr, nullptr, y.data());
}

}  // namespace lola_fuzz
