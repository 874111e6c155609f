// emulated_backend.cpp: see emulated_backend.hpp.
#include "cuda/emulated_backend.hpp"

#include <cstring>
#include <string>
#include <vector>

#include "cpu/host.hpp"
#include "base/error.hpp"
#include "cpu/ops.hpp"
#include "cuda/emulated_attention.hpp"
#include "cuda/host_state.hpp"
#include "cuda/k_elementwise.hpp"
#include "cuda/k_feature_map.hpp"
#include "cuda/k_lola_decode.hpp"
#include "cuda/k_lola_state.hpp"
#include "cuda/k_matvec_exact.hpp"
#include "lola/layer.hpp"
#include "model/llama_model.hpp"

namespace lola::cuda {

namespace {

using backend::Buf;
using backend::Linear;
using backend::Norm;

using backend::require;

class EmulatedWeights final : public backend::HostWeights, public std::enable_shared_from_this<EmulatedWeights> {
public:
    using HostWeights::HostWeights;
    const char *name() const override { return "cuda:emulated"; }
    std::unique_ptr<backend::Backend> make_backend(const backend::BackendConfig &config) const override;
};

class EmulatedBackend final : public backend::Backend {
public:
    EmulatedBackend(std::shared_ptr<const EmulatedWeights> weights, const backend::BackendConfig &config)
        : weights_(std::move(weights)), config_(config) {
        for (const LayerConfig &c : config_.layers) layers_.push_back(std::make_unique<EmulatedAttention>(c));
        const size_t half = weights_->inv_freq().size();
        normed_ = alloc(static_cast<size_t>(config_.max_tokens * hp().n_embd));
        rope_table_.assign(static_cast<size_t>(config_.max_tokens) * half * 2, 0.f);
    }

    const char *name() const override { return weights_->name(); }
    std::unique_ptr<backend::Backend> clone() const override {
        auto copy = std::make_unique<EmulatedBackend>(weights_, config_);
        std::vector<std::vector<unsigned char>> saved;
        std::vector<backend::Bytes> blobs;
        for (const auto &l : layers_) saved.push_back(l->layer().save());
        for (const auto &b : saved) blobs.push_back({b.data(), b.size()});
        copy->restore_attention(blobs, layers_.empty() ? 0 : layers_[0]->n_tokens());
        return copy;
    }

    Buf alloc(size_t n) override { return arena_.alloc(n); }
    void write(Buf dst, const float *src, size_t n) override { arena_.write(dst, src, n); }
    void read(Buf src, float *dst, size_t n) override { arena_.read(src, dst, n); }

    void embed(const int32_t *tokens, int64_t n, Buf x) override {
        const model::Matrix &t = weights_->model().token_embd();
        require(x, static_cast<size_t>(n * hp().n_embd), "embed");
        k::embed_emulated(k::EmbedArgs{t.type, t.data, t.row_bytes, hp().n_embd, tokens, x.data}, n);
    }
    void rms_norm(Norm which, int64_t layer, Buf x, int64_t n, Buf out) override {
        const int64_t E = hp().n_embd;
        require(x, static_cast<size_t>(n * E), "rms_norm");
        require(out, static_cast<size_t>(n * E), "rms_norm");
        k::rms_norm_emulated(k::RmsNormArgs{x.data, weights_->norm(which, layer).data(), hp().rms_eps, E, out.data}, n);
    }
    void linear(Linear which, int64_t layer, Buf x, int64_t n, Buf y) override {
        const model::Matrix &w = weights_->matrix(which, layer);
        require(x, static_cast<size_t>(n * w.cols), "linear");
        require(y, static_cast<size_t>(n * w.rows), "linear");
        k::matmul_emulated(k::matmul_args(w.type, w.data, w.row_bytes, w.rows, w.cols, x.data, y.data), n);
    }
    void rope(Buf x, int64_t n, int64_t n_heads, int64_t pos0) override {
        require(x, static_cast<size_t>(n * n_heads * hp().head_dim), "rope");
        if (static_cast<size_t>(n) * weights_->inv_freq().size() * 2 > rope_table_.size())
            fail(Status::internal, "rope: more rows than the backend's max_tokens");
        cpu::rope_table(pos0, n, weights_->inv_freq(), rope_table_.data());  // host-built, as on a device
        k::rope_emulated(k::RopeArgs{x.data, n_heads, hp().head_dim, rope_table_.data()}, n);
    }
    void add(Buf x, Buf y, size_t n) override {
        require(x, n, "add");
        require(y, n, "add");
        k::add_emulated(k::AddArgs{x.data, y.data, static_cast<int64_t>(n)});
    }
    void swiglu(Buf gate, Buf up, size_t n) override {
        require(gate, n, "swiglu");
        require(up, n, "swiglu");
        k::swiglu_emulated(k::SwigluArgs{gate.data, up.data, static_cast<int64_t>(n)});
    }
    void attention(int64_t layer, int64_t n, Buf q, Buf k, Buf v, Buf y) override {
        backend::require_attention(weights_->model(), n, q, k, v, y);
        at(layer).feed(n, q.data, k.data, v.data, y.data);
    }
    void logits(Buf x, int64_t rows, float *out) override {
        require(x, static_cast<size_t>(rows * hp().n_embd), "logits");
        rms_norm(Norm::output, 0, x, rows, normed_);
        linear(Linear::output, 0, normed_, rows, Buf{out, static_cast<size_t>(rows * hp().n_vocab)});
    }

    int64_t n_layers() const override { return static_cast<int64_t>(layers_.size()); }
    const Layer<float> &attention_state(int64_t layer) const override {
        return const_cast<EmulatedBackend *>(this)->at(layer).layer();
    }
    void restore_attention(const std::vector<backend::Bytes> &blobs, int64_t n_tokens) override {
        if (blobs.size() != layers_.size())
            fail(Status::corrupt_data, "state has " + std::to_string(blobs.size()) + " layers, the model " +
                                           std::to_string(layers_.size()));
        // Every blob validated (on a copy) before any layer changes.
        for (size_t l = 0; l < blobs.size(); ++l) {
            Layer<float> probe(layers_[l]->layer());
            probe.restore(blobs[l].data, blobs[l].size);
            if (probe.n_tokens() != n_tokens)
                fail(Status::corrupt_data, "layer " + std::to_string(l) + " holds a different token count");
        }
        for (size_t l = 0; l < blobs.size(); ++l) layers_[l]->restore(blobs[l]);
    }
    void reset_attention() override {
        for (auto &l : layers_) l->reset();
    }

private:
    const model::HParams &hp() const { return weights_->model().hparams(); }
    EmulatedAttention &at(int64_t layer) {
        if (layer < 0 || layer >= n_layers())
            fail(Status::internal, "attention layer " + std::to_string(layer) + " out of range");
        return *layers_[static_cast<size_t>(layer)];
    }

    std::shared_ptr<const EmulatedWeights> weights_;
    backend::BackendConfig config_;
    std::vector<std::unique_ptr<EmulatedAttention>> layers_;
    backend::HostArena arena_;
    Buf normed_;
    std::vector<float> rope_table_;
};

std::unique_ptr<backend::Backend> EmulatedWeights::make_backend(const backend::BackendConfig &config) const {
    if (config.layers.size() != static_cast<size_t>(model_->hparams().n_layer))
        fail(Status::internal, "a backend needs one attention config per model layer");
    return std::make_unique<EmulatedBackend>(shared_from_this(), config);
}

}  // namespace

std::shared_ptr<const backend::Weights> upload_emulated(std::shared_ptr<const model::Model> model) {
    return std::make_shared<EmulatedWeights>(std::move(model));
}

}  // namespace lola::cuda
