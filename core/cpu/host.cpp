// host.cpp: see host.hpp.
#include "cpu/host.hpp"

#include <cstring>
#include <string>

#include "base/error.hpp"
#include "cpu/ops.hpp"
#include "model/llama_model.hpp"

namespace lola::backend {

void require(Buf b, size_t n, const char *what) {
    if (!b.data || b.size < n)
        fail(Status::internal, std::string(what) + ": a buffer of " + std::to_string(b.size) +
                                   " floats where " + std::to_string(n) + " are needed");
}

void require_attention(const model::Model &model, int64_t n, Buf q, Buf k, Buf v, Buf y) {
    const model::HParams &hp = model.hparams();
    const size_t nq = static_cast<size_t>(n * hp.n_head * hp.head_dim);
    const size_t nkv = static_cast<size_t>(n * hp.n_head_kv * hp.head_dim);
    require(q, nq, "attention");
    require(k, nkv, "attention");
    require(v, nkv, "attention");
    if (y.data) require(y, nq, "attention");
}

namespace {

const model::LayerWeights &layer_weights(const model::Model &m, int64_t layer) {
    if (layer < 0 || layer >= m.hparams().n_layer)
        fail(Status::internal, "layer " + std::to_string(layer) + " out of range");
    return m.layers()[static_cast<size_t>(layer)];
}

}  // namespace

const model::Matrix &weight_matrix(const model::Model &m, Linear which, int64_t layer) {
    if (which == Linear::output) return m.output();
    const model::LayerWeights &w = layer_weights(m, layer);
    switch (which) {
        case Linear::q: return w.wq;
        case Linear::k: return w.wk;
        case Linear::v: return w.wv;
        case Linear::o: return w.wo;
        case Linear::gate: return w.w_gate;
        case Linear::up: return w.w_up;
        case Linear::down: return w.w_down;
        case Linear::output: break;
    }
    fail(Status::internal, "unknown weight role " + std::to_string(static_cast<int>(which)));
}

const std::vector<float> &norm_weights(const model::Model &m, Norm which, int64_t layer) {
    if (which == Norm::output) return m.output_norm();
    const model::LayerWeights &w = layer_weights(m, layer);
    return which == Norm::attn ? w.attn_norm : w.ffn_norm;
}

HostWeights::HostWeights(std::shared_ptr<const model::Model> model) : model_(std::move(model)) {
    const model::HParams &hp = model_->hparams();
    inv_freq_ = cpu::rope_inv_freq(hp.rope.freq_base, hp.rope.freq_scale, hp.rope.freq_factors, hp.head_dim);
}

Buf HostArena::alloc(size_t n) {
    blocks_.push_back(std::make_unique<float[]>(n));
    return Buf{blocks_.back().get(), n};
}

void HostArena::write(Buf dst, const float *src, size_t n) const {
    require(dst, n, "write");
    std::memcpy(dst.data, src, n * sizeof(float));
}

void HostArena::read(Buf src, float *dst, size_t n) const {
    require(src, n, "read");
    std::memcpy(dst, src.data, n * sizeof(float));
}

}  // namespace lola::backend
