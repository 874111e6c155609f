// op_profile.hpp: a per-op profile of the forward pass. ProfiledWeights wraps a backend's
// weights; the backends it makes forward every op of backend.hpp to the real backend and add
// its wall time to a shared table, by op (and by matrix for linear). Used by bench_model
// --profile; it changes no result and costs two clock reads per op.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "backend/backend.hpp"

namespace lola::bench {

// Seconds per op name, summed over every call.
struct OpTimes {
    std::map<std::string, double> seconds;
    std::map<std::string, long> calls;
    void clear() {
        seconds.clear();
        calls.clear();
    }
};

class ProfiledBackend final : public backend::Backend {
public:
    ProfiledBackend(std::unique_ptr<backend::Backend> inner, std::shared_ptr<OpTimes> times)
        : inner_(std::move(inner)), times_(std::move(times)) {}

    const char *name() const override { return inner_->name(); }
    std::unique_ptr<backend::Backend> clone() const override {
        return std::make_unique<ProfiledBackend>(inner_->clone(), times_);
    }
    backend::Buf alloc(size_t n) override { return inner_->alloc(n); }
    void write(backend::Buf dst, const float *src, size_t n) override { inner_->write(dst, src, n); }
    void read(backend::Buf src, float *dst, size_t n) override { inner_->read(src, dst, n); }

    void embed(const int32_t *tokens, int64_t n, backend::Buf x) override {
        timed("embed", [&] { inner_->embed(tokens, n, x); });
    }
    void rms_norm(backend::Norm which, int64_t layer, backend::Buf x, int64_t n, backend::Buf out) override {
        timed(which == backend::Norm::output ? "rms_norm output" : "rms_norm", [&] { inner_->rms_norm(which, layer, x, n, out); });
    }
    void linear(backend::Linear which, int64_t layer, backend::Buf x, int64_t n, backend::Buf y) override {
        static const char *names[] = {"linear q", "linear k", "linear v", "linear o",
                                      "linear gate", "linear up", "linear down", "linear output"};
        timed(names[static_cast<int>(which)], [&] { inner_->linear(which, layer, x, n, y); });
    }
    void rope(backend::Buf x, int64_t n, int64_t n_heads, int64_t pos0) override {
        timed("rope", [&] { inner_->rope(x, n, n_heads, pos0); });
    }
    void add(backend::Buf x, backend::Buf y, size_t n) override {
        timed("add", [&] { inner_->add(x, y, n); });
    }
    void swiglu(backend::Buf gate, backend::Buf up, size_t n) override {
        timed("swiglu", [&] { inner_->swiglu(gate, up, n); });
    }
    void attention(int64_t layer, int64_t n, backend::Buf q, backend::Buf k, backend::Buf v, backend::Buf y) override {
        timed("attention", [&] { inner_->attention(layer, n, q, k, v, y); });
    }
    void logits(backend::Buf x, int64_t rows, float *out) override {
        // the output norm and head; the inner backend's own calls are not seen here
        timed("logits (norm + output head)", [&] { inner_->logits(x, rows, out); });
    }
    int64_t n_layers() const override { return inner_->n_layers(); }
    const Layer<float> &attention_state(int64_t layer) const override { return inner_->attention_state(layer); }
    void restore_attention(const std::vector<backend::Bytes> &blobs, int64_t n_tokens) override {
        inner_->restore_attention(blobs, n_tokens);
    }
    void reset_attention() override { inner_->reset_attention(); }

private:
    template <class F>
    void timed(const char *op, F &&f) {
        const auto t0 = std::chrono::steady_clock::now();
        f();
        times_->seconds[op] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        ++times_->calls[op];
    }

    std::unique_ptr<backend::Backend> inner_;
    std::shared_ptr<OpTimes> times_;
};

class ProfiledWeights final : public backend::Weights {
public:
    ProfiledWeights(std::shared_ptr<const backend::Weights> inner, std::shared_ptr<OpTimes> times)
        : inner_(std::move(inner)), times_(std::move(times)) {}
    const char *name() const override { return inner_->name(); }
    const model::Model &model() const override { return inner_->model(); }
    std::unique_ptr<backend::Backend> make_backend(const backend::BackendConfig &config) const override {
        return std::make_unique<ProfiledBackend>(inner_->make_backend(config), times_);
    }

private:
    std::shared_ptr<const backend::Weights> inner_;
    std::shared_ptr<OpTimes> times_;
};

}  // namespace lola::bench
