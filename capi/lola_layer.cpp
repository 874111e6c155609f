// lola_layer.cpp: the standalone attention layer of the C API (lola_layer_*), over
// core/lola/layer.
#include <cstring>
#include <string>

#include "attention_params.hpp"
#include "boundary.hpp"
#include "cache_query.hpp"
#include "handles.hpp"
#include "lola.h"
#include "struct_versions.hpp"

namespace {

using namespace lola::capi;

lola_layer_params default_layer_params() {
    const lola::LayerConfig d;
    lola_layer_params p{};
    p.struct_size = sizeof p;
    p.n_heads = d.n_heads;
    p.n_kv_heads = d.n_kv_heads;
    p.head_dim = d.head_dim;
    p.n_threads = 1;
    p.attention = nullptr;
    p.softmax_scale = 0.0f;
    return p;
}

lola::LayerConfig to_config(const lola_layer_params &in) {
    lola_attention_params a = read_attention_params(in.attention);
    resolve_model_defaults(AttentionDefaults{}, a);  // a standalone layer: the library's
    lola::LayerConfig c;
    c.n_heads = in.n_heads;
    c.n_kv_heads = in.n_kv_heads;
    c.head_dim = in.head_dim;
    c.softmax_scale = in.softmax_scale;
    c.n_threads = in.n_threads;
    if (apply_attention_params(a, c))  // AUTO: hedgehog when its weights are given
        c.feature_map = in.hedgehog_q || in.hedgehog_k ? lola::FeatureMapKind::hedgehog
                                                       : lola::FeatureMapKind::performer;
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

lola_status feed_impl(const char *function, lola_layer *layer, int64_t n_tokens,
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

}  // namespace

extern "C" {

lola_status lola_attention_params_init(lola_attention_params *params) {
    return guard(__func__, [&] {
        require_pointer(params, "params");
        *params = default_attention_params();
        return LOLA_OK;
    });
}

lola_status lola_layer_params_init(lola_layer_params *params) {
    return guard(__func__, [&] {
        require_pointer(params, "params");
        *params = default_layer_params();
        return LOLA_OK;
    });
}

lola_status lola_layer_create(const lola_layer_params *params, lola_layer **out) {
    if (out) *out = nullptr;
    return guard(__func__, [&] {
        const lola_layer_params p = read_struct(params, "params", default_layer_params());
        require_pointer(out, "out");
        *out = new lola_layer(to_config(p));
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
        require_struct(info, "info");
        const lola::LayerConfig &c = layer->impl.config();
        lola_layer_info out{};
        out.n_heads = c.n_heads;
        out.n_kv_heads = c.n_kv_heads;
        out.head_dim = c.head_dim;
        out.feature_dim = c.feature_dim;
        out.n_state_heads = layer->impl.n_state_heads();
        out.chunk_size = c.chunk;
        out.sparse_capacity = c.sparse_capacity;
        out.attention = static_cast<int32_t>(c.attention);
        out.n_tokens = layer->impl.n_tokens();
        out.bytes = layer->impl.bytes();
        write_struct(info, "info", out);
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
