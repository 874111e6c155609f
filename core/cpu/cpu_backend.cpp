// cpu_backend.cpp: the CPU backend (see cpu_backend.hpp).
#include "cpu/cpu_backend.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "base/error.hpp"
#include "base/thread_pool.hpp"
#include "cpu/host.hpp"
#include "cpu/ops.hpp"
#include "lola/simd/kernels.hpp"
#include "model/llama_model.hpp"
#include "quant/matmul.hpp"

namespace lola::cpu {

namespace {

using backend::Buf;
using backend::Bytes;
using backend::Linear;
using backend::Norm;
using model::Matrix;

// Below this many weights a single-token product is done on the calling thread: waking the
// pool costs about as much as the product (measured with bench_quant on 2 cores).
constexpr int64_t kParallelMatvecWeights = int64_t{1} << 16;

using backend::require;

class CpuWeights final : public backend::HostWeights, public std::enable_shared_from_this<CpuWeights> {
public:
    CpuWeights(std::shared_ptr<const model::Model> model, std::optional<quant::Isa> isa)
        : HostWeights(std::move(model)), isa_(isa) {
        if (isa_ && !quant::isa_available(*isa_))
            fail(Status::unsupported, std::string("the CPU backend cannot run level ") +
                                          quant::isa_name(*isa_) + " on this machine");
        name_ = isa_ ? std::string("cpu:") + quant::isa_name(*isa_) : std::string("cpu");
    }
    const char *name() const override { return name_.c_str(); }
    std::unique_ptr<backend::Backend> make_backend(const backend::BackendConfig &config) const override;

    const std::optional<quant::Isa> &isa() const { return isa_; }

private:
    std::optional<quant::Isa> isa_;
    std::string name_;
};

class CpuBackend final : public backend::Backend {
public:
    CpuBackend(std::shared_ptr<const CpuWeights> weights, const backend::BackendConfig &config)
        : weights_(std::move(weights)), config_(config),
          pool_(std::make_unique<ThreadPool>(config.n_threads)) {
        for (const LayerConfig &c : config_.layers) {
            layers_.push_back(std::make_unique<Layer<float>>(c, pool_.get()));
            // A forced level ("cpu:scalar", ...) holds for the attention kernels too: cpu:scalar
            // is the whole reference. The bits are the same at every level.
            if (weights_->isa()) layers_.back()->set_isa(*weights_->isa());
        }
        normed_ = alloc(static_cast<size_t>(config_.max_tokens * hp().n_embd));
        rope_table_ = alloc(static_cast<size_t>(config_.max_tokens) * weights_->inv_freq().size() * 2);
    }
    CpuBackend(const CpuBackend &other)
        : weights_(other.weights_), config_(other.config_),
          pool_(std::make_unique<ThreadPool>(other.config_.n_threads)) {
        for (const auto &l : other.layers_) layers_.push_back(std::make_unique<Layer<float>>(*l, pool_.get()));
        normed_ = alloc(other.normed_.size);
        rope_table_ = alloc(other.rope_table_.size);
    }

    const char *name() const override { return weights_->name(); }
    std::unique_ptr<backend::Backend> clone() const override { return std::make_unique<CpuBackend>(*this); }

    Buf alloc(size_t n) override { return arena_.alloc(n); }
    void write(Buf dst, const float *src, size_t n) override { arena_.write(dst, src, n); }
    void read(Buf src, float *dst, size_t n) override { arena_.read(src, dst, n); }

    void embed(const int32_t *tokens, int64_t n, Buf x) override {
        const int64_t E = hp().n_embd;
        require(x, static_cast<size_t>(n * E), "embed");
        for (int64_t t = 0; t < n; ++t) weights_->model().embed(tokens[t], x.data + t * E);
    }
    void rms_norm(Norm which, int64_t layer, Buf x, int64_t n, Buf out) override {
        const int64_t E = hp().n_embd;
        require(x, static_cast<size_t>(n * E), "rms_norm");
        require(out, static_cast<size_t>(n * E), "rms_norm");
        cpu::rms_norm(x.data, weights_->norm(which, layer).data(), hp().rms_eps, n, E, out.data);
    }
    void linear(Linear which, int64_t layer, Buf x, int64_t n, Buf y) override {
        const Matrix &w = weights_->matrix(which, layer);
        require(x, static_cast<size_t>(n * w.cols), "linear");
        require(y, static_cast<size_t>(n * w.rows), "linear");
        const std::optional<quant::Isa> &isa = weights_->isa();
        if (n == 1) {
            ThreadPool *pool = w.rows * w.cols >= kParallelMatvecWeights ? pool_.get() : nullptr;
            if (isa)
                quant::matvec(w.type, w.data, w.rows, w.cols, x.data, y.data, pool, *isa);
            else
                quant::matvec(w.type, w.data, w.rows, w.cols, x.data, y.data, pool);
        } else if (isa) {
            quant::matmul(w.type, w.data, w.rows, w.cols, x.data, n, y.data, pool_.get(), *isa);
        } else {
            quant::matmul(w.type, w.data, w.rows, w.cols, x.data, n, y.data, pool_.get());
        }
    }
    void rope(Buf x, int64_t n, int64_t n_heads, int64_t pos0) override {
        require(x, static_cast<size_t>(n * n_heads * hp().head_dim), "rope");
        // q and k of every layer rotate by the same positions: one table per forward step.
        const size_t table = static_cast<size_t>(n) * weights_->inv_freq().size() * 2;
        require(rope_table_, table, "rope table");
        if (pos0 != rope_pos0_ || n != rope_n_) {
            cpu::rope_table(pos0, n, weights_->inv_freq(), rope_table_.data);
            rope_pos0_ = pos0;
            rope_n_ = n;
        }
        cpu::rope_apply(x.data, n, n_heads, hp().head_dim, rope_table_.data);
    }
    void add(Buf x, Buf y, size_t n) override {
        require(x, n, "add");
        require(y, n, "add");
        cpu::add(x.data, y.data, n);
    }
    void swiglu(Buf gate, Buf up, size_t n) override {
        require(gate, n, "swiglu");
        require(up, n, "swiglu");
        if (simd_)
            simd_->swiglu(gate.data, up.data, n);  // the same bits, several at a time
        else
            cpu::swiglu(gate.data, up.data, n);
    }
    void attention(int64_t layer, int64_t n, Buf q, Buf k, Buf v, Buf y) override {
        backend::require_attention(weights_->model(), n, q, k, v, y);
        layer_at(layer).feed(n, q.data, k.data, v.data, nullptr, nullptr, y.data);
    }
    void logits(Buf x, int64_t rows, float *out) override {
        const int64_t E = hp().n_embd;
        require(x, static_cast<size_t>(rows * E), "logits");
        rms_norm(Norm::output, 0, x, rows, normed_);
        linear(Linear::output, 0, normed_, rows, Buf{out, static_cast<size_t>(rows * hp().n_vocab)});
    }

    ThreadPool *pool() { return pool_.get(); }

    int64_t n_layers() const override { return static_cast<int64_t>(layers_.size()); }
    const Layer<float> &attention_state(int64_t layer) const override {
        return const_cast<CpuBackend *>(this)->layer_at(layer);
    }
    void restore_attention(const std::vector<Bytes> &blobs, int64_t n_tokens) override {
        if (blobs.size() != layers_.size())
            fail(Status::corrupt_data, "state has " + std::to_string(blobs.size()) + " layers, the model " +
                                           std::to_string(layers_.size()));
        // Restore into copies first: a bad layer blob leaves this backend unchanged.
        std::vector<std::unique_ptr<Layer<float>>> fresh;
        for (size_t l = 0; l < blobs.size(); ++l) {
            auto layer = std::make_unique<Layer<float>>(*layers_[l], pool_.get());
            layer->restore(blobs[l].data, blobs[l].size);
            if (layer->n_tokens() != n_tokens)
                fail(Status::corrupt_data, "layer " + std::to_string(l) + " holds a different token count");
            fresh.push_back(std::move(layer));
        }
        layers_ = std::move(fresh);
    }
    void reset_attention() override {
        for (auto &l : layers_) l->reset();
    }

private:
    const model::HParams &hp() const { return weights_->model().hparams(); }
    Layer<float> &layer_at(int64_t layer) {
        if (layer < 0 || layer >= n_layers())
            fail(Status::internal, "attention layer " + std::to_string(layer) + " out of range");
        return *layers_[static_cast<size_t>(layer)];
    }

    std::shared_ptr<const CpuWeights> weights_;
    backend::BackendConfig config_;
    std::unique_ptr<ThreadPool> pool_;
    // The element-wise kernels' SIMD level: the forced level, else the best (null: reference).
    const simd::Kernels *simd_ = simd::kernels(weights_->isa() ? *weights_->isa() : simd::best_isa());
    std::vector<std::unique_ptr<Layer<float>>> layers_;
    backend::HostArena arena_;
    Buf normed_;  // [max_tokens][n_embd]: the output norm's rows
    Buf rope_table_;  // [max_tokens][head_dim / 2][cos, sin] of positions rope_pos0_ + t < rope_n_
    int64_t rope_pos0_ = -1, rope_n_ = 0;
};

std::unique_ptr<backend::Backend> CpuWeights::make_backend(const backend::BackendConfig &config) const {
    if (config.n_threads < 1) fail(Status::invalid_argument, "n_threads must be >= 1");
    if (!config.layers.empty() && config.layers.size() != static_cast<size_t>(model_->hparams().n_layer))
        fail(Status::internal, "a backend needs one attention config per model layer (or none: ops only)");
    return std::make_unique<CpuBackend>(shared_from_this(), config);
}

}  // namespace

ThreadPool *pool_of(backend::Backend &backend) {
    auto *cpu = dynamic_cast<CpuBackend *>(&backend);
    return cpu ? cpu->pool() : nullptr;
}

std::shared_ptr<const backend::Weights> upload(std::shared_ptr<const model::Model> model,
                                               std::optional<quant::Isa> isa) {
    if (!model) fail(Status::null_pointer, "model is NULL");
    return std::make_shared<CpuWeights>(std::move(model), isa);
}

}  // namespace lola::cpu
