// host.hpp (core/cpu): what every backend that computes in host memory shares (the CPU backend, the
// emulated CUDA backend): the size check of a Buf, the model's weights by role, and an arena
// of host floats behind alloc/write/read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "backend/backend.hpp"

namespace lola::model {
class Model;
struct Matrix;
}  // namespace lola::model

namespace lola::backend {

// Throws Status::internal naming `what` when b holds fewer than n floats (or none).
void require(Buf b, size_t n, const char *what);

// The sizes an attention op of n tokens needs: q (and y, when given) [n][n_head][head_dim], k
// and v [n][n_head_kv][head_dim] of the model; throws like require().
void require_attention(const model::Model &model, int64_t n, Buf q, Buf k, Buf v, Buf y);

// The matrix / norm weights of a role (layer ignored for the output ones).
const model::Matrix &weight_matrix(const model::Model &model, Linear which, int64_t layer);
const std::vector<float> &norm_weights(const model::Model &model, Norm which, int64_t layer);

// The resident weights of a host backend: the model itself (its mapped file), read by role,
// and the RoPE frequencies every backend derives from it the same way.
class HostWeights : public Weights {
public:
    explicit HostWeights(std::shared_ptr<const model::Model> model);
    const model::Model &model() const override { return *model_; }
    const model::Matrix &matrix(Linear which, int64_t layer) const { return weight_matrix(*model_, which, layer); }
    const std::vector<float> &norm(Norm which, int64_t layer) const { return norm_weights(*model_, which, layer); }
    const std::vector<float> &inv_freq() const { return inv_freq_; }  // [head_dim / 2]

protected:
    std::shared_ptr<const model::Model> model_;
    std::vector<float> inv_freq_;
};

class HostArena {
public:
    Buf alloc(size_t n);
    void write(Buf dst, const float *src, size_t n) const;
    void read(Buf src, float *dst, size_t n) const;

private:
    std::vector<std::unique_ptr<float[]>> blocks_;
};

}  // namespace lola::backend
