// config.cpp: validation, defaults and the fingerprint of a LayerConfig.
#include "lola/config.hpp"

#include <cmath>
#include <cstring>
#include <limits>

#include "base/error.hpp"
#include "base/fnv.hpp"

namespace lola {

namespace {

void require(bool ok, const std::string &message) {
    if (!ok) fail(Status::invalid_argument, message);
}

void require_finite(const std::vector<double> &values, const char *name) {
    for (size_t i = 0; i < values.size(); ++i)
        if (!std::isfinite(values[i]))
            fail(Status::non_finite, std::string(name) + "[" + std::to_string(i) +
                                         "] is not finite");
}

constexpr int kMaxDim = 1 << 16;  // bounds that keep every size computation far from overflow

}  // namespace

const char *to_string(Attention a) {
    switch (a) {
        case Attention::lola: return "lola";
        case Attention::full: return "full";
        case Attention::window: return "window";
    }
    return "?";
}

const char *to_string(FeatureMapKind f) {
    switch (f) {
        case FeatureMapKind::hedgehog: return "hedgehog";
        case FeatureMapKind::performer: return "performer";
        case FeatureMapKind::elu1: return "elu1";
        case FeatureMapKind::relu: return "relu";
        case FeatureMapKind::precomputed: return "precomputed";
    }
    return "?";
}

bool state_per_query_head(const LayerConfig &c) {
    return c.expand_kv || c.feature_map == FeatureMapKind::hedgehog ||
           c.feature_map == FeatureMapKind::precomputed;
}

LayerConfig validated_shapes(LayerConfig c) {
    require(c.n_heads >= 1 && c.n_heads <= 4096, "n_heads must be in [1, 4096], got " +
                                                     std::to_string(c.n_heads));
    require(c.n_kv_heads >= 1 && c.n_kv_heads <= c.n_heads,
            "n_kv_heads must be in [1, n_heads], got " + std::to_string(c.n_kv_heads));
    require(c.n_heads % c.n_kv_heads == 0,
            "n_heads (" + std::to_string(c.n_heads) + ") must be a multiple of n_kv_heads (" +
                std::to_string(c.n_kv_heads) + ")");
    require(c.head_dim >= 1 && c.head_dim <= kMaxDim,
            "head_dim must be in [1, 65536], got " + std::to_string(c.head_dim));
    require(c.attention == Attention::lola || c.attention == Attention::full ||
                c.attention == Attention::window,
            "attention must be LOLA, FULL or WINDOW, got " +
                std::to_string(static_cast<int>(c.attention)));
    require(c.chunk >= 1 && c.chunk <= kMaxDim,
            "chunk_size must be in [1, 65536], got " + std::to_string(c.chunk));
    require(c.sparse_capacity >= 0 && c.sparse_capacity <= (1 << 20),
            "sparse_capacity must be in [0, 1048576], got " + std::to_string(c.sparse_capacity));
    require(c.mixing == Mixing::lola || c.mixing == Mixing::lolcats,
            "mixing must be LOLA (A) or LOLCATS (B), got " +
                std::to_string(static_cast<int>(c.mixing)));
    require(static_cast<int>(c.scoring) >= 0 && static_cast<int>(c.scoring) <= 3,
            "scoring must be SRE, RECENCY, RANDOM or VALUE_NORM, got " +
                std::to_string(static_cast<int>(c.scoring)));
    require(static_cast<int>(c.feature_map) >= 0 && static_cast<int>(c.feature_map) <= 4,
            "feature_map must be HEDGEHOG, PERFORMER, ELU1, RELU or PRECOMPUTED, got " +
                std::to_string(static_cast<int>(c.feature_map)));
    require(c.n_threads >= 1 && c.n_threads <= 1024,
            "n_threads must be in [1, 1024], got " + std::to_string(c.n_threads));
    require(std::isfinite(c.softmax_scale) && c.softmax_scale >= 0,
            "softmax_scale must be finite and >= 0 (0 = 1/sqrt(head_dim))");
    require(std::isfinite(c.eps) && c.eps >= 0, "eps must be finite and >= 0");
    if (c.softmax_scale == 0) c.softmax_scale = 1.0 / std::sqrt(static_cast<double>(c.head_dim));

    const int d = c.head_dim;
    switch (c.feature_map) {
        case FeatureMapKind::hedgehog:
            if (c.feature_dim == 0) c.feature_dim = 128;
            require(c.feature_dim >= 2 && c.feature_dim % 2 == 0 && c.feature_dim <= kMaxDim,
                    "hedgehog feature_dim must be even and in [2, 65536], got " +
                        std::to_string(c.feature_dim));
            break;
        case FeatureMapKind::elu1:
        case FeatureMapKind::relu:
            if (c.feature_dim == 0) c.feature_dim = d;
            require(c.feature_dim == d, std::string(to_string(c.feature_map)) +
                                            " feature_dim must equal head_dim (" +
                                            std::to_string(d) + "), got " +
                                            std::to_string(c.feature_dim));
            break;
        case FeatureMapKind::performer:
        case FeatureMapKind::precomputed:
            if (c.feature_dim == 0) c.feature_dim = d;
            require(c.feature_dim >= 1 && c.feature_dim <= kMaxDim,
                    "feature_dim must be in [1, 65536], got " + std::to_string(c.feature_dim));
            break;
    }

    if (c.window_factors.empty()) c.window_factors.assign(c.n_heads, 0.0);
    require(c.window_factors.size() == static_cast<size_t>(c.n_heads),
            "window_factors must have n_heads values");
    require_finite(c.window_factors, "window_factors");
    if (c.attention != Attention::lola) c.sparse_capacity = 0;
    return c;
}

size_t hedgehog_weight_count(const LayerConfig &c) {
    return static_cast<size_t>(c.n_heads) * c.head_dim * (c.feature_dim / 2);
}

LayerConfig validated(LayerConfig config) {
    LayerConfig c = validated_shapes(std::move(config));
    const size_t hh_size = hedgehog_weight_count(c);
    if (c.feature_map == FeatureMapKind::hedgehog) {
        require(c.hedgehog_q.size() == hh_size && c.hedgehog_k.size() == hh_size,
                "hedgehog weights must be given for queries and keys, [n_heads][head_dim]"
                "[feature_dim/2] = " + std::to_string(hh_size) + " values each");
        require_finite(c.hedgehog_q, "hedgehog_q");
        require_finite(c.hedgehog_k, "hedgehog_k");
    } else {
        require(c.hedgehog_q.empty() && c.hedgehog_k.empty(),
                "hedgehog weights given for a layer whose feature map is " +
                    std::string(to_string(c.feature_map)));
    }
    return c;
}

uint64_t fingerprint(const LayerConfig &c) {
    Fnv f;
    for (int v : {c.n_heads, c.n_kv_heads, c.head_dim, static_cast<int>(c.attention), c.chunk,
                  c.sparse_capacity, static_cast<int>(c.feature_map), c.feature_dim,
                  static_cast<int>(c.mixing), static_cast<int>(c.scoring),
                  static_cast<int>(c.performer_orthogonal), static_cast<int>(c.expand_kv)})
        f.value(v);
    f.value(c.seed);
    f.value(c.softmax_scale);
    f.value(c.eps);
    f.doubles(c.window_factors);
    f.doubles(c.hedgehog_q);
    f.doubles(c.hedgehog_k);
    return f.h;
}

}  // namespace lola
