// lola.cpp: the C API over the core. Every entry point runs inside guard(), which turns any
// C++ exception into a lola_status plus a thread-local message; nothing propagates to C.
#include "lola.h"

#include <cstring>
#include <new>
#include <string>

#include "boundary.hpp"
#include "cache_query.hpp"
#include "base/error.hpp"
#include "lola/layer.hpp"

#ifndef LOLA_VERSION_STRING
#define LOLA_VERSION_STRING "0.0.0"
#endif

struct lola_layer {
    explicit lola_layer(const lola::LayerConfig &config) : impl(config) {}
    lola_layer(const lola_layer &other) = default;
    lola::Layer<float> impl;
};

namespace {

using namespace lola::capi;

// The struct_size of the first published lola_layer_params (the ABI-1 layout).
constexpr size_t kLayerParamsV1 = sizeof(lola_layer_params);

lola::LayerConfig to_config(const lola_layer_params &in) {
    lola::LayerConfig c;
    c.n_heads = in.n_heads;
    c.n_kv_heads = in.n_kv_heads;
    c.head_dim = in.head_dim;
    c.attention = static_cast<lola::Attention>(in.attention);
    c.chunk = in.chunk_size;
    c.sparse_capacity = in.sparse_capacity;
    c.feature_map = static_cast<lola::FeatureMapKind>(in.feature_map);
    c.feature_dim = in.feature_dim;
    c.mixing = static_cast<lola::Mixing>(in.mixing);
    c.scoring = static_cast<lola::Scoring>(in.scoring);
    c.seed = in.seed;
    c.softmax_scale = in.softmax_scale;
    c.eps = in.eps;
    c.performer_orthogonal = in.performer_orthogonal != 0;
    c.n_threads = in.n_threads;
    // Validate the shapes before reading caller arrays whose sizes they imply.
    const lola::LayerConfig shapes = lola::validated_shapes(c);
    if (in.window_factors) c.window_factors.assign(in.window_factors, in.window_factors + c.n_heads);
    if (shapes.feature_map == lola::FeatureMapKind::hedgehog) {
        if (!in.hedgehog_q || !in.hedgehog_k)
            fail(LOLA_ERR_INVALID_ARGUMENT, "hedgehog feature map needs hedgehog_q and hedgehog_k");
        const size_t n = lola::hedgehog_weight_count(shapes);
        c.hedgehog_q.assign(in.hedgehog_q, in.hedgehog_q + n);
        c.hedgehog_k.assign(in.hedgehog_k, in.hedgehog_k + n);
    } else if (in.hedgehog_q || in.hedgehog_k) {
        fail(LOLA_ERR_INVALID_ARGUMENT, "hedgehog weights given for a layer whose feature map is " +
                                            std::string(lola::to_string(shapes.feature_map)));
    }
    return c;
}

}  // namespace

extern "C" {

const char *lola_status_string(lola_status status) {
    switch (status) {
        case LOLA_OK: return "LOLA_OK";
        case LOLA_ERR_INVALID_ARGUMENT: return "LOLA_ERR_INVALID_ARGUMENT";
        case LOLA_ERR_NULL_HANDLE: return "LOLA_ERR_NULL_HANDLE";
        case LOLA_ERR_NULL_POINTER: return "LOLA_ERR_NULL_POINTER";
        case LOLA_ERR_SIZE_MISMATCH: return "LOLA_ERR_SIZE_MISMATCH";
        case LOLA_ERR_BUFFER_TOO_SMALL: return "LOLA_ERR_BUFFER_TOO_SMALL";
        case LOLA_ERR_NON_FINITE: return "LOLA_ERR_NON_FINITE";
        case LOLA_ERR_OUT_OF_MEMORY: return "LOLA_ERR_OUT_OF_MEMORY";
        case LOLA_ERR_CORRUPT_DATA: return "LOLA_ERR_CORRUPT_DATA";
        case LOLA_ERR_VERSION_MISMATCH: return "LOLA_ERR_VERSION_MISMATCH";
        case LOLA_ERR_INCOMPATIBLE: return "LOLA_ERR_INCOMPATIBLE";
        case LOLA_ERR_UNSUPPORTED: return "LOLA_ERR_UNSUPPORTED";
        case LOLA_ERR_INTERNAL: return "LOLA_ERR_INTERNAL";
        case LOLA_ERR_IO: return "LOLA_ERR_IO";
        case LOLA_ERR_ABORTED: return "LOLA_ERR_ABORTED";
    }
    return "LOLA_ERR_UNKNOWN";
}

const char *lola_last_error_message(void) { return last_error().c_str(); }

const char *lola_version(void) { return LOLA_VERSION_STRING; }

int32_t lola_abi_version(void) { return LOLA_ABI_VERSION; }

lola_status lola_layer_params_init(lola_layer_params *params) {
    return guard(__func__, [&] {
        require_pointer(params, "params");
        std::memset(params, 0, sizeof *params);
        const lola::LayerConfig d;
        params->struct_size = sizeof *params;
        params->n_heads = d.n_heads;
        params->n_kv_heads = d.n_kv_heads;
        params->head_dim = d.head_dim;
        params->attention = LOLA_ATTENTION_LOLA;
        params->chunk_size = d.chunk;
        params->sparse_capacity = d.sparse_capacity;
        params->feature_map = LOLA_FEATURE_MAP_PERFORMER;
        params->feature_dim = 0;
        params->mixing = LOLA_MIXING_LOLA;
        params->scoring = LOLA_SCORING_SRE;
        params->seed = d.seed;
        params->softmax_scale = 0.0f;
        params->eps = static_cast<float>(d.eps);
        params->n_threads = 1;
        return LOLA_OK;
    });
}

lola_status lola_layer_create(const lola_layer_params *params, lola_layer **out) {
    if (out) *out = nullptr;
    return guard(__func__, [&] {
        require_pointer(params, "params");
        require_pointer(out, "out");
        if (params->struct_size != kLayerParamsV1)
            fail(LOLA_ERR_VERSION_MISMATCH,
                 "params->struct_size is " + std::to_string(params->struct_size) +
                     "; this library knows " + std::to_string(kLayerParamsV1) +
                     " (call lola_layer_params_init first)");
        *out = new lola_layer(to_config(*params));
        return LOLA_OK;
    });
}

void lola_layer_free(lola_layer *layer) { delete layer; }

lola_status lola_layer_clone(const lola_layer *layer, lola_layer **out) {
    if (out) *out = nullptr;
    return guard(__func__, [&] {
        require_handle(layer, "layer");
        require_pointer(out, "out");
        *out = new lola_layer(*layer);
        return LOLA_OK;
    });
}

lola_status lola_layer_reset(lola_layer *layer) {
    return guard(__func__, [&] {
        require_handle(layer, "layer");
        layer->impl.reset();
        return LOLA_OK;
    });
}

static lola_status feed_impl(const char *function, lola_layer *layer, int64_t n_tokens,
                             const float *q, size_t q_len, const float *k, size_t k_len,
                             const float *v, size_t v_len, const float *fq, size_t fq_len,
                             const float *fk, size_t fk_len, float *y, size_t y_len,
                             bool features) {
    return guard(function, [&] {
        require_handle(layer, "layer");
        const lola::LayerConfig &c = layer->impl.config();
        const bool precomputed = c.feature_map == lola::FeatureMapKind::precomputed;
        if (features != precomputed)
            fail(LOLA_ERR_UNSUPPORTED,
                 precomputed ? "this layer uses precomputed features: call lola_layer_feed_features"
                             : "lola_layer_feed_features needs a layer with LOLA_FEATURE_MAP_PRECOMPUTED");
        if (n_tokens <= 0)
            fail(LOLA_ERR_INVALID_ARGUMENT, "n_tokens must be >= 1, got " + std::to_string(n_tokens));
        const uint64_t T = static_cast<uint64_t>(n_tokens);
        const size_t nq = checked_product({T, uint64_t(c.n_heads), uint64_t(c.head_dim)});
        const size_t nkv = checked_product({T, uint64_t(c.n_kv_heads), uint64_t(c.head_dim)});
        require_length(q, q_len, nq, "q");
        require_length(k, k_len, nkv, "k");
        require_length(v, v_len, nkv, "v");
        if (features) {
            const size_t nf = checked_product({T, uint64_t(c.n_heads), uint64_t(c.feature_dim)});
            require_length(fq, fq_len, nf, "fq");
            require_length(fk, fk_len, nf, "fk");
        }
        if (y || y_len) require_length(y, y_len, nq, "y");
        layer->impl.feed(n_tokens, q, k, v, features ? fq : nullptr, features ? fk : nullptr, y);
        return LOLA_OK;
    });
}

lola_status lola_layer_feed(lola_layer *layer, int64_t n_tokens, const float *q, size_t q_len,
                            const float *k, size_t k_len, const float *v, size_t v_len, float *y,
                            size_t y_len) {
    return feed_impl(__func__, layer, n_tokens, q, q_len, k, k_len, v, v_len, nullptr, 0, nullptr,
                     0, y, y_len, false);
}

lola_status lola_layer_feed_features(lola_layer *layer, int64_t n_tokens, const float *q,
                                     size_t q_len, const float *k, size_t k_len, const float *v,
                                     size_t v_len, const float *fq, size_t fq_len, const float *fk,
                                     size_t fk_len, float *y, size_t y_len) {
    return feed_impl(__func__, layer, n_tokens, q, q_len, k, k_len, v, v_len, fq, fq_len, fk,
                     fk_len, y, y_len, true);
}

lola_status lola_layer_get_info(const lola_layer *layer, lola_layer_info *info) {
    return guard(__func__, [&] {
        require_handle(layer, "layer");
        require_pointer(info, "info");
        if (info->struct_size != sizeof(lola_layer_info))
            fail(LOLA_ERR_VERSION_MISMATCH, "info->struct_size is " + std::to_string(info->struct_size) +
                                                ", expected " + std::to_string(sizeof(lola_layer_info)));
        const lola::LayerConfig &c = layer->impl.config();
        info->n_heads = c.n_heads;
        info->n_kv_heads = c.n_kv_heads;
        info->head_dim = c.head_dim;
        info->feature_dim = c.feature_dim;
        info->n_state_heads = layer->impl.n_state_heads();
        info->chunk_size = c.chunk;
        info->sparse_capacity = c.sparse_capacity;
        info->attention = static_cast<int32_t>(c.attention);
        info->n_tokens = layer->impl.n_tokens();
        info->bytes = layer->impl.bytes();
        return LOLA_OK;
    });
}

lola_status lola_layer_get_head_state(const lola_layer *layer, int32_t head,
                                      lola_head_state *state) {
    return guard(__func__, [&] {
        require_handle(layer, "layer");
        fill_head_state(layer->impl, head, state);
        return LOLA_OK;
    });
}

lola_status lola_layer_get_positions(const lola_layer *layer, int32_t head, int32_t memory,
                                     int64_t *positions, float *scores, size_t capacity,
                                     size_t *n_out) {
    return guard(__func__, [&] {
        require_handle(layer, "layer");
        fill_positions(layer->impl, head, memory, positions, scores, capacity, n_out);
        return LOLA_OK;
    });
}

lola_status lola_layer_state_size(const lola_layer *layer, size_t *size) {
    return guard(__func__, [&] {
        require_handle(layer, "layer");
        require_pointer(size, "size");
        *size = layer->impl.save_size();
        return LOLA_OK;
    });
}

lola_status lola_layer_state_save(const lola_layer *layer, void *buffer, size_t capacity,
                                  size_t *written) {
    return guard(__func__, [&] {
        require_handle(layer, "layer");
        copy_out(layer->impl.save(), buffer, capacity, written);
        return LOLA_OK;
    });
}

lola_status lola_layer_state_restore(lola_layer *layer, const void *buffer, size_t size) {
    return guard(__func__, [&] {
        require_handle(layer, "layer");
        require_pointer(buffer, "buffer");
        layer->impl.restore(static_cast<const unsigned char *>(buffer), size);
        return LOLA_OK;
    });
}

}  // extern "C"

namespace lola::capi {
std::string &last_error() {
    thread_local std::string message;
    return message;
}
}  // namespace lola::capi
