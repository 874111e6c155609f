// llama_context.cpp: the Llama forward pass over LoLA attention layers, written once against
// backend::Backend (the ops, the arena, the attention state live there).
#include "model/llama_context.hpp"

#include <algorithm>
#include <cstring>

#include "base/error.hpp"
#include "cpu/cpu_backend.hpp"

namespace lola::model {

LayerConfig layer_config(const Model &model, const ContextConfig &config, int64_t layer) {
    const HParams &hp = model.hparams();
    LayerConfig c = config.attention;
    if (!config.layer_attention.empty()) c.attention = config.layer_attention.at(static_cast<size_t>(layer));
    c.n_heads = static_cast<int>(hp.n_head);
    c.n_kv_heads = static_cast<int>(hp.n_head_kv);
    c.head_dim = static_cast<int>(hp.head_dim);
    c.seed = config.attention.seed + static_cast<uint64_t>(layer);  // distinct projections per layer
    const LayerWeights &w = model.layers()[static_cast<size_t>(layer)];
    if (config.feature_map_auto) {
        if (model.has_lola_tensors()) {
            c.feature_map = FeatureMapKind::hedgehog;
            c.feature_dim = model.hedgehog_feature_dim();
        } else if (c.feature_map == FeatureMapKind::hedgehog) {
            c.feature_map = FeatureMapKind::performer;
        }
    }
    if (c.feature_map == FeatureMapKind::hedgehog) {
        if (!model.has_lola_tensors())
            fail(Status::invalid_argument, "the hedgehog feature map needs a model with LoLA tensors");
        c.feature_dim = model.hedgehog_feature_dim();
        c.hedgehog_q = w.hedgehog_q;
        c.hedgehog_k = w.hedgehog_k;
    }
    if (c.feature_map == FeatureMapKind::precomputed)
        fail(Status::invalid_argument, "precomputed features are not available inside a model");
    if (model.has_lola_tensors() && c.window_factors.empty()) c.window_factors = w.window_factors;
    if (config.gate_logit) c.window_factors.assign(static_cast<size_t>(hp.n_head), *config.gate_logit);
    c.n_threads = std::max(1, config.n_threads);
    return c;
}

Context::Context(std::shared_ptr<const Model> model, const ContextConfig &config)
    : Context(cpu::upload(std::move(model)), config) {}

Context::Context(std::shared_ptr<const backend::Weights> weights, const ContextConfig &config)
    : weights_(std::move(weights)), config_(config) {
    if (!weights_) fail(Status::null_pointer, "weights is NULL");
    if (config_.n_threads < 1 || config_.n_threads > 1024)
        fail(Status::invalid_argument, "n_threads must be in [1, 1024]");
    if (config_.batch < 1 || config_.batch > 65536)
        fail(Status::invalid_argument, "batch must be in [1, 65536]");
    const int64_t n_layer = weights_->model().hparams().n_layer;
    if (!config_.layer_attention.empty() && static_cast<int64_t>(config_.layer_attention.size()) != n_layer)
        fail(Status::invalid_argument, "layer_attention has " + std::to_string(config_.layer_attention.size()) +
                                           " entries; the model has " + std::to_string(n_layer) + " layers");
    backend::BackendConfig bc;
    bc.n_threads = config_.n_threads;
    bc.max_tokens = config_.batch;
    for (int64_t l = 0; l < model().hparams().n_layer; ++l) bc.layers.push_back(layer_config(model(), config_, l));
    backend_ = weights_->make_backend(bc);
    allocate();
}

Context::Context(const Context &other)
    : weights_(other.weights_), config_(other.config_), backend_(other.backend_->clone()),
      logits_(other.logits_), logit_rows_(other.logit_rows_), n_past_(other.n_past_) {
    allocate();
}

void Context::allocate() { act_ = allocate_activations(*backend_, model().hparams(), config_.batch); }

size_t Context::state_bytes() const {
    size_t total = 0;
    for (int64_t l = 0; l < backend_->n_layers(); ++l) total += backend_->attention_state(l).bytes();
    return total;
}

void Context::reset() {
    backend_->reset_attention();
    n_past_ = 0;
    logits_.clear();
    logit_rows_ = 0;
}

void Context::check_tokens(const int32_t *tokens, int64_t n) const {
    const int64_t V = model().hparams().n_vocab;
    for (int64_t i = 0; i < n; ++i)
        if (tokens[i] < 0 || tokens[i] >= V)
            fail(Status::invalid_argument, "tokens[" + std::to_string(i) + "] = " +
                                               std::to_string(tokens[i]) + " is out of range [0, " +
                                               std::to_string(V) + "); nothing was fed");
}

int64_t Context::feed(const int32_t *tokens, int64_t n, bool all_logits,
                      const std::function<bool()> &abort) {
    if (n <= 0) fail(Status::invalid_argument, "n_tokens must be >= 1, got " + std::to_string(n));
    if (!tokens) fail(Status::null_pointer, "tokens is NULL");
    check_tokens(tokens, n);
    const int64_t rows = all_logits ? n : 1;
    prepare_logits(rows);
    int64_t done = 0;
    while (done < n) {
        if (done > 0 && abort && abort()) return done;
        const int64_t len = std::min<int64_t>(config_.batch, n - done);
        const bool last = done + len == n;
        step(tokens + done, len, all_logits || last, all_logits);
        done += len;
    }
    logit_rows_ = rows;
    return n;
}

void Context::prepare_logits(int64_t rows) {
    // The buffer is reused (its address stays put: lola_context_logits promises it, and a decode
    // loop allocates nothing); it moves only to grow past every earlier feed, allocating before
    // any change.
    const size_t need = static_cast<size_t>(rows * model().hparams().n_vocab);
    if (logits_.capacity() < need) {
        std::vector<float> grown(need);
        std::swap(grown, logits_);
    } else {
        logits_.resize(need);
    }
    logit_rows_ = 0;
    logit_fill_ = 0;
}

void Context::accept_decoded(const float *logits_row) {
    std::copy(logits_row, logits_row + model().hparams().n_vocab, logits_.begin());
    logit_rows_ = 1;
    logit_fill_ = 1;
    n_past_ += 1;
}

void Context::step(const int32_t *tokens, int64_t n, bool want_logits, bool all_logits) {
    const HParams &hp = model().hparams();
    const int64_t E = hp.n_embd;
    backend::Backend &be = *backend_;
    const Activations &a = act_;
    be.embed(tokens, n, a.x);
    forward_layers(be, hp, a, n, [&](int64_t l) {
        be.rope(a.q, n, hp.n_head, n_past_);
        be.rope(a.k, n, hp.n_head_kv, n_past_);
        be.attention(l, n, a.q, a.k, a.v, a.y);
    });
    if (want_logits) {
        const int64_t first = all_logits ? 0 : n - 1;
        const int64_t rows = n - first;
        be.logits(a.x.slice(static_cast<size_t>(first * E), static_cast<size_t>(rows * E)), rows,
                  logits_.data() + static_cast<size_t>(logit_fill_ * hp.n_vocab));
        logit_fill_ += rows;
    }
    n_past_ += n;
}

size_t Context::save_size() const {
    size_t total = 8 + 8 + 8 + 4;  // magic, fingerprint, n_past, n_layers
    for (int64_t l = 0; l < backend_->n_layers(); ++l) total += 8 + backend_->attention_state(l).save_size();
    return total;
}

std::vector<unsigned char> Context::save() const {
    // [u64 model fingerprint][u64 n_past][u32 n_layers] then per layer [u64 size][layer blob]
    std::vector<unsigned char> out;
    out.reserve(save_size());
    auto put = [&](const void *p, size_t n) {
        const auto *b = static_cast<const unsigned char *>(p);
        out.insert(out.end(), b, b + n);
    };
    const uint64_t fp = model().fingerprint();
    const uint64_t past = static_cast<uint64_t>(n_past_);
    const uint32_t n_layers = static_cast<uint32_t>(backend_->n_layers());
    put("LOLACTX1", 8);
    put(&fp, 8);
    put(&past, 8);
    put(&n_layers, 4);
    for (uint32_t l = 0; l < n_layers; ++l) {
        const std::vector<unsigned char> blob = backend_->attention_state(l).save();
        const uint64_t size = blob.size();
        put(&size, 8);
        put(blob.data(), blob.size());
    }
    if (out.size() != save_size()) fail(Status::internal, "context state size miscomputed");
    return out;
}

void Context::restore(const unsigned char *data, size_t size) {
    if (!data) fail(Status::null_pointer, "state pointer is NULL");
    size_t at = 0;
    auto get = [&](void *p, size_t n, const char *what) {
        if (n > size - at) fail(Status::corrupt_data, std::string("context state truncated in '") + what + "'");
        std::memcpy(p, data + at, n);
        at += n;
    };
    char magic[8];
    get(magic, 8, "magic");
    if (std::memcmp(magic, "LOLACTX", 7) != 0) fail(Status::corrupt_data, "not a liblola context state (bad magic)");
    if (magic[7] != '1')  // the format version: this library reads version 1
        fail(Status::version_mismatch, "context state format version byte " +
                                           std::to_string(static_cast<unsigned char>(magic[7])) +
                                           ", this liblola reads '1' (49)");
    uint64_t fp, past;
    uint32_t n_layers;
    get(&fp, 8, "model_fingerprint");
    get(&past, 8, "n_past");
    get(&n_layers, 4, "n_layers");
    if (fp != model().fingerprint())
        fail(Status::incompatible, "context state was saved with another model (fingerprint differs)");
    if (n_layers != backend_->n_layers())
        fail(Status::corrupt_data, "context state has " + std::to_string(n_layers) + " layers, the model " +
                                       std::to_string(backend_->n_layers()));
    std::vector<backend::Bytes> blobs;
    for (uint32_t l = 0; l < n_layers; ++l) {
        uint64_t n;
        get(&n, 8, "layer size");
        if (n > size - at) fail(Status::corrupt_data, "context state truncated in layer " + std::to_string(l));
        blobs.push_back(backend::Bytes{data + at, static_cast<size_t>(n)});
        at += static_cast<size_t>(n);
    }
    if (at != size) fail(Status::corrupt_data, "context state has trailing bytes");
    backend_->restore_attention(blobs, static_cast<int64_t>(past));  // validates all, then swaps
    n_past_ = static_cast<int64_t>(past);
    logits_.clear();
    logit_rows_ = 0;
}

}  // namespace lola::model
