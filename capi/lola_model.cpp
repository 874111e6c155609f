// lola_model.cpp: the model and context part of the C API, over core/model.
#include <atomic>
#include <cmath>
#include <limits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>

#include "base/log.hpp"
#include "attention_params.hpp"
#include "boundary.hpp"
#include "cache_query.hpp"
#include "lola.h"
#include "cuda/driver.hpp"
#include "model/llama_context.hpp"
#include "model/llama_model.hpp"

#include "handles.hpp"
#include "struct_versions.hpp"

namespace {

using namespace lola::capi;

lola_model_params default_model_params() {
    lola_model_params p{};
    p.struct_size = sizeof p;
    p.device = LOLA_DEVICE_CPU;
    p.device_index = 0;
    p.memory_budget = 0;
    p.adapter_path = nullptr;
    return p;
}

lola_context_params default_context_params() {
    lola_context_params p{};
    p.struct_size = sizeof p;
    p.n_threads = 1;
    p.batch_size = 64;
    p.attention = nullptr;
    p.gate_logit = std::numeric_limits<float>::quiet_NaN();
    p.layer_attention = nullptr;
    p.n_layer_attention = 0;
    return p;
}

// What LOLA_MODEL_DEFAULT means on `model`: its lola.* metadata, else the library's defaults.
AttentionDefaults attention_defaults(const lola::model::Model &model) {
    const lola::model::LolaDefaults &d = model.hparams().lola;
    return AttentionDefaults{d.chunk, d.sparse_capacity, d.mixing};
}

// lola_context_params.layer_attention as one kind per layer (empty when NULL).
std::vector<lola::Attention> layer_attention(const lola_context_params &p, int64_t n_layer,
                                             lola::Attention all) {
    if (!p.layer_attention) {
        if (p.n_layer_attention != 0)
            fail(LOLA_ERR_NULL_POINTER, "layer_attention is NULL but n_layer_attention is " +
                                            std::to_string(p.n_layer_attention));
        return {};
    }
    if (p.n_layer_attention != static_cast<size_t>(n_layer))
        fail(LOLA_ERR_INVALID_ARGUMENT, "n_layer_attention is " + std::to_string(p.n_layer_attention) +
                                            "; the model has " + std::to_string(n_layer) + " layers");
    std::vector<lola::Attention> kinds;
    for (size_t l = 0; l < p.n_layer_attention; ++l) {
        const int32_t k = p.layer_attention[l];
        if (k == LOLA_MODEL_DEFAULT) {
            kinds.push_back(all);
        } else if (k == LOLA_ATTENTION_LOLA || k == LOLA_ATTENTION_FULL || k == LOLA_ATTENTION_WINDOW) {
            kinds.push_back(static_cast<lola::Attention>(k));
        } else {
            fail(LOLA_ERR_INVALID_ARGUMENT, "layer_attention[" + std::to_string(l) + "] is " + std::to_string(k) +
                                                " (LOLA_ATTENTION_LOLA, _FULL, _WINDOW or LOLA_MODEL_DEFAULT)");
        }
    }
    return kinds;
}

lola::model::ContextConfig to_context_config(const lola_context_params &p,
                                             const lola::model::Model &model) {
    lola_attention_params a = read_attention_params(p.attention);
    resolve_model_defaults(attention_defaults(model), a);
    if (a.feature_map != LOLA_FEATURE_MAP_AUTO && (a.feature_map < 0 || a.feature_map > LOLA_FEATURE_MAP_RELU))
        fail(LOLA_ERR_INVALID_ARGUMENT, "feature_map must be AUTO, HEDGEHOG, PERFORMER, ELU1 or RELU "
                                        "(precomputed features are for standalone layers)");
    lola::model::ContextConfig c;
    c.n_threads = p.n_threads;
    c.batch = p.batch_size;
    c.feature_map_auto = apply_attention_params(a, c.attention);
    if (!std::isnan(p.gate_logit)) {
        if (!std::isfinite(p.gate_logit)) fail(LOLA_ERR_INVALID_ARGUMENT, "gate_logit must be finite or NaN");
        c.gate_logit = p.gate_logit;
    }
    c.layer_attention = layer_attention(p, model.hparams().n_layer, c.attention.attention);
    return c;
}

void copy_string(char *dst, size_t cap, const std::string &src) {
    const size_t n = std::min(cap - 1, src.size());
    std::memcpy(dst, src.data(), n);
    dst[n] = '\0';
}

const lola::Layer<float> &context_layer(const lola_context *ctx, int32_t layer) {
    const int64_t n = ctx->impl->model().hparams().n_layer;
    if (layer < 0 || layer >= n)
        fail(LOLA_ERR_INVALID_ARGUMENT, "layer " + std::to_string(layer) + " out of range [0, " +
                                            std::to_string(n) + ")");
    return ctx->impl->layer(layer);
}

}  // namespace

extern "C" {

lola_status lola_model_params_init(lola_model_params *params) {
    return guard(__func__, [&] {
        require_pointer(params, "params");
        *params = default_model_params();
        return LOLA_OK;
    });
}

namespace {

// Why a model cannot load on CUDA device `index` (always: the backend is not complete), the
// most specific reason first.
[[noreturn]] void refuse_cuda(int32_t index) {
    const std::string which = "CUDA device " + std::to_string(index);
    if (index < 0) fail(LOLA_ERR_INVALID_ARGUMENT, "device_index must be >= 0, got " + std::to_string(index));
#if !LOLA_HAS_CUDA
    fail(LOLA_ERR_UNSUPPORTED, "this build of liblola has no CUDA backend (" + which + " requested)");
#else
    const lola::cuda::DriverQuery &q = lola::cuda::query_driver();
    if (q.gpus.empty()) fail(LOLA_ERR_UNSUPPORTED, which + " requested, but " + q.why);
    if (static_cast<size_t>(index) >= q.gpus.size())
        fail(LOLA_ERR_INVALID_ARGUMENT, which + " requested, but the driver reports " +
                                            std::to_string(q.gpus.size()) + " device(s)");
    const lola::cuda::GpuInfo &g = q.gpus[static_cast<size_t>(index)];
    const std::string gpu = g.name + " (sm_" + std::to_string(g.major) + std::to_string(g.minor) + ")";
    if (g.major < lola::cuda::kMinMajor)
        fail(LOLA_ERR_UNSUPPORTED, which + " is " + gpu + ": liblola's CUDA kernels need sm_80 or newer");
    fail(LOLA_ERR_UNSUPPORTED, which + " is " + gpu + ", but this version's CUDA backend cannot run "
                               "models yet (its kernels are built and emulation-tested only); use LOLA_DEVICE_CPU");
#endif
}

}  // namespace

lola_status lola_device_count(int32_t device, int32_t *count) {
    if (count) *count = 0;
    return guard(__func__, [&] {
        require_pointer(count, "count");
        if (device == LOLA_DEVICE_CPU) {
            *count = 1;
        } else if (device == LOLA_DEVICE_CUDA) {
            *count = static_cast<int32_t>(lola::cuda::query_driver().gpus.size());
        } else {
            fail(LOLA_ERR_INVALID_ARGUMENT, "device must be LOLA_DEVICE_CPU or LOLA_DEVICE_CUDA, got " +
                                                std::to_string(device));
        }
        return LOLA_OK;
    });
}

lola_status lola_model_load(const char *path, const lola_model_params *params_in, lola_model **out) {
    if (out) *out = nullptr;
    return guard(__func__, [&] {
        require_pointer(path, "path");
        const lola_model_params p = read_struct(params_in, "params", default_model_params());
        const lola_model_params *params = &p;
        require_pointer(out, "out");
        if (params->device == LOLA_DEVICE_CUDA) refuse_cuda(params->device_index);
        if (params->device != LOLA_DEVICE_CPU)
            fail(LOLA_ERR_INVALID_ARGUMENT, "device must be LOLA_DEVICE_CPU or LOLA_DEVICE_CUDA");
        // The budget is checked on the file's size before it is mapped or parsed (the weights
        // stay in the mapping; the tables built beside them are small), and again after.
        auto check_budget = [&](uint64_t bytes) {
            if (params->memory_budget != 0 && bytes > params->memory_budget)
                fail(LOLA_ERR_OUT_OF_MEMORY, std::string("'") + path + "' needs " + std::to_string(bytes) +
                                                 " bytes, over memory_budget = " +
                                                 std::to_string(params->memory_budget) + " bytes");
        };
        const std::string adapter = params->adapter_path ? params->adapter_path : "";
        if (params->adapter_path && adapter.empty())
            fail(LOLA_ERR_INVALID_ARGUMENT, "adapter_path is an empty string (NULL loads no adapter)");
        std::error_code size_error;
        uintmax_t file_bytes = std::filesystem::file_size(path, size_error);
        if (!size_error && !adapter.empty()) {
            std::error_code adapter_error;
            const uintmax_t adapter_bytes = std::filesystem::file_size(adapter, adapter_error);
            if (!adapter_error) file_bytes += adapter_bytes;
        }
        if (!size_error) check_budget(file_bytes);  // else the load reports why it cannot open it
        std::shared_ptr<const lola::model::Model> model;
        try {
            model = lola::model::Model::load(path, adapter);
        } catch (const lola::Error &e) {
            fail(static_cast<lola_status>(e.status()), std::string("'") + path + "': " + e.what());
        }
        check_budget(model->file().size());
        const auto &hp = model->hparams();
        lola::log(lola::LogLevel::info, "loaded '" + std::string(path) + "': " + hp.architecture + ", " +
                                       std::to_string(hp.n_layer) + " layers, " +
                                       std::to_string(hp.n_vocab) + " tokens" +
                                       (adapter.empty() ? "" : ", adapter '" + adapter + "'"));
        *out = new lola_model{std::move(model)};
        return LOLA_OK;
    });
}

void lola_model_free(lola_model *model) { delete model; }

lola_status lola_model_get_info(const lola_model *model, lola_model_info *info) {
    return guard(__func__, [&] {
        require_handle(model, "model");
        require_struct(info, "info");
        lola_model_info out{};
        const auto &hp = model->impl->hparams();
        copy_string(out.architecture, sizeof out.architecture, hp.architecture);
        copy_string(out.name, sizeof out.name, hp.name);
        out.n_layer = static_cast<int32_t>(hp.n_layer);
        out.n_head = static_cast<int32_t>(hp.n_head);
        out.n_head_kv = static_cast<int32_t>(hp.n_head_kv);
        out.head_dim = static_cast<int32_t>(hp.head_dim);
        out.n_embd = static_cast<int32_t>(hp.n_embd);
        out.n_ff = static_cast<int32_t>(hp.n_ff);
        out.n_vocab = static_cast<int32_t>(hp.n_vocab);
        out.n_ctx_train = hp.n_ctx_train;
        uint64_t weights = 0;
        for (const auto &t : model->impl->file().tensors()) weights += t.n_bytes;
        out.weight_bytes = weights;
        out.has_lola_tensors = model->impl->has_lola_tensors() ? 1 : 0;
        out.has_adapter = model->impl->has_adapter() ? 1 : 0;
        out.fingerprint = model->impl->fingerprint();
        write_struct(info, "info", out);
        return LOLA_OK;
    });
}

lola_status lola_file_describe(const char *path, char *text, size_t capacity, size_t *text_len) {
    return guard(__func__, [&] {
        require_pointer(path, "path");
        require_pointer(text_len, "text_len");
        std::string summary;
        try {
            summary = lola::gguf::File::open(path)->describe();
        } catch (const lola::Error &e) {
            fail(static_cast<lola_status>(e.status()), std::string("'") + path + "': " + e.what());
        }
        *text_len = summary.size();
        if (!text) {
            if (capacity != 0) fail(LOLA_ERR_NULL_POINTER, "text is NULL with a non-zero capacity");
            return LOLA_OK;
        }
        if (capacity < summary.size() + 1)
            fail(LOLA_ERR_BUFFER_TOO_SMALL, "capacity " + std::to_string(capacity) + " < " +
                                                std::to_string(summary.size() + 1) + " bytes");
        std::memcpy(text, summary.c_str(), summary.size() + 1);
        return LOLA_OK;
    });
}

lola_status lola_context_params_init(lola_context_params *params) {
    return guard(__func__, [&] {
        require_pointer(params, "params");
        *params = default_context_params();
        return LOLA_OK;
    });
}

lola_status lola_attention_params_resolve(const lola_model *model, lola_attention_params *params) {
    return guard(__func__, [&] {
        require_pointer(params, "params");
        lola_attention_params p = read_attention_params(params);
        resolve_model_defaults(model ? attention_defaults(*model->impl) : AttentionDefaults{}, p);
        write_struct(params, "params", p);
        return LOLA_OK;
    });
}

lola_status lola_context_create(lola_model *model, const lola_context_params *params,
                                lola_context **out) {
    if (out) *out = nullptr;
    return guard(__func__, [&] {
        require_handle(model, "model");
        const lola_context_params p = read_struct(params, "params", default_context_params());
        require_pointer(out, "out");
        auto ctx = std::make_unique<lola_context>();
        ctx->impl = std::make_unique<lola::model::Context>(model->impl, to_context_config(p, *model->impl));
        *out = ctx.release();
        return LOLA_OK;
    });
}

void lola_context_free(lola_context *ctx) { delete ctx; }

lola_status lola_context_clone(const lola_context *ctx, lola_context **out) {
    if (out) *out = nullptr;
    return guard(__func__, [&] {
        require_handle(ctx, "ctx");
        require_pointer(out, "out");
        auto copy = std::make_unique<lola_context>();
        copy->impl = std::make_unique<lola::model::Context>(*ctx->impl);
        copy->logits_valid = ctx->logits_valid;
        *out = copy.release();
        return LOLA_OK;
    });
}

lola_status lola_context_reset(lola_context *ctx) {
    return guard(__func__, [&] {
        require_handle(ctx, "ctx");
        ctx->impl->reset();
        ctx->logits_valid = false;
        return LOLA_OK;
    });
}

lola_status lola_context_feed(lola_context *ctx, const int32_t *tokens, size_t n_tokens,
                              uint32_t flags, size_t *n_fed) {
    if (n_fed) *n_fed = 0;
    return guard(__func__, [&] {
        require_handle(ctx, "ctx");
        require_pointer(tokens, "tokens");
        if (n_tokens == 0 || n_tokens > static_cast<size_t>(INT64_MAX / 2))
            fail(LOLA_ERR_INVALID_ARGUMENT, "n_tokens must be >= 1");
        if (flags & ~LOLA_FEED_ALL_LOGITS)
            fail(LOLA_ERR_INVALID_ARGUMENT, "unknown flags " + std::to_string(flags));
        std::function<bool()> abort;
        if (ctx->abort_fn) abort = [ctx] { return ctx->abort_fn(ctx->abort_user); };
        const int64_t n = static_cast<int64_t>(n_tokens);
        ctx->impl->check_tokens(tokens, n);  // a refused batch keeps the previous logits
        ctx->logits_valid = false;
        const int64_t done = ctx->impl->feed(tokens, n, (flags & LOLA_FEED_ALL_LOGITS) != 0, abort);
        if (n_fed) *n_fed = static_cast<size_t>(done);
        if (done < n)
            fail(LOLA_ERR_ABORTED, "aborted by the callback after " + std::to_string(done) + " of " +
                                       std::to_string(n) + " tokens");
        ctx->logits_valid = true;
        return LOLA_OK;
    });
}

lola_status lola_context_logits(const lola_context *ctx, const float **logits, size_t *n_rows,
                                size_t *n_vocab) {
    return guard(__func__, [&] {
        require_handle(ctx, "ctx");
        require_pointer(logits, "logits");
        if (!ctx->logits_valid) fail(LOLA_ERR_UNSUPPORTED, "no logits: nothing was fed since the last reset, restore or abort");
        *logits = ctx->impl->logits().data();
        if (n_rows) *n_rows = static_cast<size_t>(ctx->impl->logit_rows());
        if (n_vocab) *n_vocab = static_cast<size_t>(ctx->impl->model().hparams().n_vocab);
        return LOLA_OK;
    });
}

lola_status lola_context_copy_logits(const lola_context *ctx, int64_t row, float *out,
                                     size_t capacity) {
    return guard(__func__, [&] {
        require_handle(ctx, "ctx");
        require_pointer(out, "out");
        if (!ctx->logits_valid) fail(LOLA_ERR_UNSUPPORTED, "no logits: nothing was fed since the last reset, restore or abort");
        const int64_t rows = ctx->impl->logit_rows();
        const size_t V = static_cast<size_t>(ctx->impl->model().hparams().n_vocab);
        if (row == -1) row = rows - 1;
        if (row < 0 || row >= rows)
            fail(LOLA_ERR_INVALID_ARGUMENT, "row " + std::to_string(row) + " out of range [0, " +
                                                std::to_string(rows) + ")");
        if (capacity < V)
            fail(LOLA_ERR_BUFFER_TOO_SMALL, "capacity " + std::to_string(capacity) + " < n_vocab " +
                                                std::to_string(V));
        std::memcpy(out, ctx->impl->logits().data() + static_cast<size_t>(row) * V, V * sizeof(float));
        return LOLA_OK;
    });
}

lola_status lola_context_get_info(const lola_context *ctx, lola_context_info *info) {
    return guard(__func__, [&] {
        require_handle(ctx, "ctx");
        require_struct(info, "info");
        lola_context_info out{};
        const auto &hp = ctx->impl->model().hparams();
        out.n_past = ctx->impl->n_past();
        out.n_layer = static_cast<int32_t>(hp.n_layer);
        out.n_state_heads = ctx->impl->layer(0).n_state_heads();
        out.state_bytes = ctx->impl->state_bytes();
        out.n_window = out.n_sparse = out.n_folded = out.n_evicted = 0;
        for (int64_t l = 0; l < hp.n_layer; ++l) {
            const lola::Layer<float> &layer = ctx->impl->layer(l);
            for (int h = 0; h < static_cast<int>(hp.n_head); ++h) {
                const auto &st = layer.state(layer.state_head_of(h));
                out.n_window += st.prev.size() + st.cur.size();
                out.n_sparse += st.sparse.size();
                out.n_folded += st.n_folded;
                out.n_evicted += st.n_evicted;
            }
        }
        write_struct(info, "info", out);
        return LOLA_OK;
    });
}

lola_status lola_context_get_head_state(const lola_context *ctx, int32_t layer, int32_t head,
                                        lola_head_state *state) {
    return guard(__func__, [&] {
        require_handle(ctx, "ctx");
        fill_head_state(context_layer(ctx, layer), head, state);
        return LOLA_OK;
    });
}

lola_status lola_context_get_positions(const lola_context *ctx, int32_t layer, int32_t head,
                                       int32_t memory, int64_t *positions, float *scores,
                                       size_t capacity, size_t *n_out) {
    return guard(__func__, [&] {
        require_handle(ctx, "ctx");
        fill_positions(context_layer(ctx, layer), head, memory, positions, scores, capacity, n_out);
        return LOLA_OK;
    });
}

lola_status lola_context_state_size(const lola_context *ctx, size_t *size) {
    return guard(__func__, [&] {
        require_handle(ctx, "ctx");
        require_pointer(size, "size");
        *size = ctx->impl->save_size();
        return LOLA_OK;
    });
}

lola_status lola_context_state_save(const lola_context *ctx, void *buffer, size_t capacity,
                                    size_t *written) {
    return guard(__func__, [&] {
        require_handle(ctx, "ctx");
        copy_out(ctx->impl->save(), buffer, capacity, written);
        return LOLA_OK;
    });
}

lola_status lola_context_state_restore(lola_context *ctx, const void *buffer, size_t size) {
    return guard(__func__, [&] {
        require_handle(ctx, "ctx");
        require_pointer(buffer, "buffer");
        ctx->impl->restore(static_cast<const unsigned char *>(buffer), size);
        ctx->logits_valid = false;
        return LOLA_OK;
    });
}

lola_status lola_context_set_abort_callback(lola_context *ctx, lola_abort_fn fn, void *user_data) {
    return guard(__func__, [&] {
        require_handle(ctx, "ctx");
        ctx->abort_fn = fn;
        ctx->abort_user = user_data;
        return LOLA_OK;
    });
}

}  // extern "C"
