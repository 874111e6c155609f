// config.hpp: the parameters of one LoLA attention layer (spec: docs/lola-spec.md) and
// their validation. Plain data; the layer copies it at construction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace lola {

enum class Attention : int { lola = 0, full = 1, window = 2 };
enum class FeatureMapKind : int { hedgehog = 0, performer = 1, elu1 = 2, relu = 3, precomputed = 4 };
enum class Mixing : int { lola = 0, lolcats = 1 };  // mode A, mode B
enum class Scoring : int { sre = 0, recency = 1, random = 2, value_norm = 3 };

// Which code path a feed uses; results are identical, tests compare them.
enum class Path : int { automatic = 0, token = 1, chunk = 2 };

struct LayerConfig {
    int n_heads = 1;
    int n_kv_heads = 1;
    int head_dim = 64;
    Attention attention = Attention::lola;
    int chunk = 64;            // C
    int sparse_capacity = 64;  // lambda
    FeatureMapKind feature_map = FeatureMapKind::performer;
    int feature_dim = 0;  // F; 0 = the map's default
    Mixing mixing = Mixing::lola;
    Scoring scoring = Scoring::sre;
    uint64_t seed = 0x4C6F4C41u;
    double softmax_scale = 0;  // 0 = 1/sqrt(d)
    double eps = 1e-6;
    std::vector<double> window_factors;  // [n_heads] gate logits; empty = all 0
    std::vector<double> hedgehog_q;      // [n_heads][d][F/2]
    std::vector<double> hedgehog_k;      // [n_heads][d][F/2]
    bool performer_orthogonal = false;
    int n_threads = 1;
    // Keep one state per query head even when the feature map is shared by a KV group
    // (the "expanded form" of GQA); results are identical, memory is larger. For tests.
    bool expand_kv = false;
};

// Checks every field, fills defaults (feature_dim, softmax_scale), throws Error on bad input.
LayerConfig validated(LayerConfig config);

// The same without the hedgehog weights (so a caller can learn how many to read first).
LayerConfig validated_shapes(LayerConfig config);

// Values in each of hedgehog_q and hedgehog_k: n_heads * head_dim * feature_dim / 2.
size_t hedgehog_weight_count(const LayerConfig &config);

// True when phi differs per query head, so state must be kept per query head.
bool state_per_query_head(const LayerConfig &config);

// A 64-bit fingerprint of every field that affects the maths (weights included).
uint64_t fingerprint(const LayerConfig &config);

const char *to_string(Attention a);
const char *to_string(FeatureMapKind f);

}  // namespace lola
