// llama_context.cpp: the Llama forward pass over LoLA attention layers.
#include "model/llama_context.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/error.hpp"
#include "quant/matmul.hpp"

namespace lola::model {

namespace {

// out[t] = x[t] / rms(x[t]) * w, for n rows of length E
void rms_norm(const float *x, const std::vector<float> &w, float eps, int64_t n, int64_t E,
              float *out) {
    for (int64_t t = 0; t < n; ++t) {
        const float *row = x + t * E;
        double ss = 0;
        for (int64_t i = 0; i < E; ++i) ss += static_cast<double>(row[i]) * row[i];
        const float scale = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(E) + eps));
        for (int64_t i = 0; i < E; ++i) out[t * E + i] = row[i] * scale * w[static_cast<size_t>(i)];
    }
}

// Below this many weights a single-token product is done on the calling thread: waking the
// pool costs about as much as the product (measured with bench_quant on 2 cores).
constexpr int64_t kParallelMatvecWeights = int64_t{1} << 20;

void linear(const Matrix &w, const float *x, int64_t n, float *y, ThreadPool *pool) {
    if (n == 1)
        quant::matvec(w.type, w.data, w.rows, w.cols, x, y,
                      w.rows * w.cols >= kParallelMatvecWeights ? pool : nullptr);
    else
        quant::matmul(w.type, w.data, w.rows, w.cols, x, n, y, pool);
}

}  // namespace

LayerConfig layer_config(const Model &model, const ContextConfig &config, int64_t layer) {
    const HParams &hp = model.hparams();
    LayerConfig c = config.attention;
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
    : model_(std::move(model)), config_(config) {
    if (config_.n_threads < 1 || config_.n_threads > 1024)
        fail(Status::invalid_argument, "n_threads must be in [1, 1024]");
    if (config_.batch < 1 || config_.batch > 65536)
        fail(Status::invalid_argument, "batch must be in [1, 65536]");
    pool_ = std::make_unique<ThreadPool>(config_.n_threads);
    const HParams &hp = model_->hparams();
    for (int64_t l = 0; l < hp.n_layer; ++l)
        layers_.push_back(std::make_unique<Layer<float>>(layer_config(*model_, config_, l), pool_.get()));
    const int64_t half = hp.head_dim / 2;
    inv_freq_.resize(static_cast<size_t>(half));
    for (int64_t i = 0; i < half; ++i) {
        double f = std::pow(static_cast<double>(hp.rope.freq_base),
                            -2.0 * static_cast<double>(i) / static_cast<double>(hp.head_dim));
        f *= hp.rope.freq_scale;
        if (!hp.rope.freq_factors.empty()) f /= hp.rope.freq_factors[static_cast<size_t>(i)];
        inv_freq_[static_cast<size_t>(i)] = static_cast<float>(f);
    }
}

Context::Context(const Context &other)
    : model_(other.model_), config_(other.config_), inv_freq_(other.inv_freq_),
      logits_(other.logits_), logit_rows_(other.logit_rows_), n_past_(other.n_past_) {
    pool_ = std::make_unique<ThreadPool>(config_.n_threads);
    for (const auto &l : other.layers_) layers_.push_back(std::make_unique<Layer<float>>(*l, pool_.get()));
}

size_t Context::state_bytes() const {
    size_t total = 0;
    for (const auto &l : layers_) total += l->bytes();
    return total;
}

void Context::reset() {
    for (auto &l : layers_) l->reset();
    n_past_ = 0;
    logits_.clear();
    logit_rows_ = 0;
}

void Context::fill_synthetic(int64_t n, uint64_t seed) {
    const HParams &hp = model_->hparams();
    const int64_t block = 1024;
    const size_t q_len = static_cast<size_t>(block * hp.n_head * hp.head_dim);
    const size_t kv_len = static_cast<size_t>(block * hp.n_head_kv * hp.head_dim);
    std::vector<float> q(q_len), k(kv_len), v(kv_len);
    uint64_t state = seed;
    auto next = [&] {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        return static_cast<float>(static_cast<double>(state >> 40) / 16777216.0 * 2.0 - 1.0);
    };
    for (int64_t done = 0; done < n;) {
        const int64_t len = std::min(block, n - done);
        for (float &x : q) x = next();
        for (float &x : k) x = next();
        for (float &x : v) x = next();
        for (auto &l : layers_) l->feed(len, q.data(), k.data(), v.data(), nullptr, nullptr, nullptr);
        done += len;
    }
    n_past_ += n;
    logits_.clear();
    logit_rows_ = 0;
}

void Context::rope(float *x, int64_t n_tokens, int64_t n_heads, int64_t pos0) const {
    // GGUF stores llama q/k so that RoPE rotates adjacent pairs (x[2i], x[2i+1]).
    const int64_t hd = model_->hparams().head_dim, half = hd / 2;
    for (int64_t t = 0; t < n_tokens; ++t) {
        const double pos = static_cast<double>(pos0 + t);
        for (int64_t i = 0; i < half; ++i) {
            const double angle = pos * inv_freq_[static_cast<size_t>(i)];
            const float c = static_cast<float>(std::cos(angle)), s = static_cast<float>(std::sin(angle));
            for (int64_t h = 0; h < n_heads; ++h) {
                float *p = x + (t * n_heads + h) * hd + 2 * i;
                const float x0 = p[0], x1 = p[1];
                p[0] = x0 * c - x1 * s;
                p[1] = x0 * s + x1 * c;
            }
        }
    }
}

void Context::check_tokens(const int32_t *tokens, int64_t n) const {
    const int64_t V = model_->hparams().n_vocab;
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
    const int64_t V = model_->hparams().n_vocab;
    const int64_t rows = all_logits ? n : 1;
    // The buffer is reused (its address stays put: lola_context_logits promises it, and a decode
    // loop allocates nothing); it moves only to grow past every earlier feed, allocating before
    // any change.
    const size_t need = static_cast<size_t>(rows * V);
    if (logits_.capacity() < need) {
        std::vector<float> grown(need);
        std::swap(grown, logits_);
    } else {
        logits_.resize(need);
    }
    logit_rows_ = 0;
    logit_fill_ = 0;
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

void Context::step(const int32_t *tokens, int64_t n, bool want_logits, bool all_logits) {
    const Model &m = *model_;
    const HParams &hp = m.hparams();
    const int64_t E = hp.n_embd, hd = hp.head_dim, H = hp.n_head, Hkv = hp.n_head_kv, FF = hp.n_ff;
    const size_t N = static_cast<size_t>(n);
    x_.resize(N * E);
    xn_.resize(N * E);
    q_.resize(N * H * hd);
    k_.resize(N * Hkv * hd);
    v_.resize(N * Hkv * hd);
    y_.resize(N * H * hd);
    o_.resize(N * E);
    gate_.resize(N * FF);
    up_.resize(N * FF);
    for (int64_t t = 0; t < n; ++t) m.embed(tokens[t], x_.data() + t * E);
    ThreadPool *pool = pool_.get();
    for (int64_t l = 0; l < hp.n_layer; ++l) {
        const LayerWeights &w = m.layers()[static_cast<size_t>(l)];
        rms_norm(x_.data(), w.attn_norm, hp.rms_eps, n, E, xn_.data());
        linear(w.wq, xn_.data(), n, q_.data(), pool);
        linear(w.wk, xn_.data(), n, k_.data(), pool);
        linear(w.wv, xn_.data(), n, v_.data(), pool);
        rope(q_.data(), n, H, n_past_);
        rope(k_.data(), n, Hkv, n_past_);
        layers_[static_cast<size_t>(l)]->feed(n, q_.data(), k_.data(), v_.data(), nullptr, nullptr,
                                              y_.data());
        linear(w.wo, y_.data(), n, o_.data(), pool);
        for (size_t i = 0; i < N * E; ++i) x_[i] += o_[i];
        rms_norm(x_.data(), w.ffn_norm, hp.rms_eps, n, E, xn_.data());
        linear(w.w_gate, xn_.data(), n, gate_.data(), pool);
        linear(w.w_up, xn_.data(), n, up_.data(), pool);
        for (size_t i = 0; i < N * FF; ++i) {
            const float g = gate_[i];
            gate_[i] = g / (1.f + std::exp(-g)) * up_[i];
        }
        linear(w.w_down, gate_.data(), n, o_.data(), pool);
        for (size_t i = 0; i < N * E; ++i) x_[i] += o_[i];
    }
    if (want_logits) {
        const int64_t first = all_logits ? 0 : n - 1;
        const int64_t rows = n - first;
        rms_norm(x_.data() + first * E, m.output_norm(), hp.rms_eps, rows, E, xn_.data());
        linear(m.output(), xn_.data(), rows,
               logits_.data() + static_cast<size_t>(logit_fill_ * hp.n_vocab), pool);
        logit_fill_ += rows;
    }
    n_past_ += n;
}

size_t Context::save_size() const {
    size_t total = 8 + 8 + 8 + 4;  // magic, fingerprint, n_past, n_layers
    for (const auto &l : layers_) total += 8 + l->save_size();
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
    const uint64_t fp = model_->fingerprint();
    const uint64_t past = static_cast<uint64_t>(n_past_);
    const uint32_t n_layers = static_cast<uint32_t>(layers_.size());
    put("LOLACTX1", 8);
    put(&fp, 8);
    put(&past, 8);
    put(&n_layers, 4);
    for (const auto &l : layers_) {
        const std::vector<unsigned char> blob = l->save();
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
    if (fp != model_->fingerprint())
        fail(Status::incompatible, "context state was saved with another model (fingerprint differs)");
    if (n_layers != layers_.size())
        fail(Status::corrupt_data, "context state has " + std::to_string(n_layers) + " layers, the model " +
                                       std::to_string(layers_.size()));
    // Restore into copies first: a bad layer blob leaves this context unchanged.
    std::vector<std::unique_ptr<Layer<float>>> fresh;
    for (uint32_t l = 0; l < n_layers; ++l) {
        uint64_t n;
        get(&n, 8, "layer size");
        if (n > size - at) fail(Status::corrupt_data, "context state truncated in layer " + std::to_string(l));
        auto layer = std::make_unique<Layer<float>>(*layers_[l], pool_.get());
        layer->restore(data + at, static_cast<size_t>(n));
        if (layer->n_tokens() != static_cast<int64_t>(past))
            fail(Status::corrupt_data, "layer " + std::to_string(l) + " holds a different token count");
        at += static_cast<size_t>(n);
        fresh.push_back(std::move(layer));
    }
    if (at != size) fail(Status::corrupt_data, "context state has trailing bytes");
    layers_ = std::move(fresh);
    n_past_ = static_cast<int64_t>(past);
    logits_.clear();
    logit_rows_ = 0;
}

}  // namespace lola::model
