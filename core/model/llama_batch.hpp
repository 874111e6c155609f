// llama_batch.hpp: one decode step for many contexts of one model at once. Every weight
// matrix is read once for all of them (a matrix product over the contexts' rows instead of one
// matrix-vector product each); each context keeps its own attention state, position and
// logits. The results are bitwise equal to feeding each context its token alone: every row of
// a matrix product is the same dot product as the matrix-vector product's (quant/matmul.hpp),
// rms-norm, RoPE and the element-wise ops work row by row, and attention runs per context.
//
// A Batch holds the activations of up to max_contexts rows in an ops-only backend over the
// model's weights, allocated once; decode() allocates nothing. Used by one thread at a time,
// with every context it is given.
#pragma once

#include <memory>
#include <vector>

#include "backend/backend.hpp"
#include "model/llama_context.hpp"

namespace lola::model {

class Batch {
public:
    Batch(std::shared_ptr<const Model> model, int64_t max_contexts, int n_threads);

    // Feeds tokens[i] to contexts[i] for i < n, one token each; afterwards each context's
    // logits() holds that token's logits. Everything is checked first (Status::invalid_argument
    // naming contexts[i]: NULL, another model, another backend, the same context twice, a
    // token out of range; n outside [1, max_contexts]); on an error no context changed.
    void decode(Context *const *contexts, const int32_t *tokens, int64_t n);

    int64_t max_contexts() const { return max_; }

private:
    std::shared_ptr<const Model> model_;
    std::shared_ptr<const backend::Weights> weights_;
    std::unique_ptr<backend::Backend> backend_;
    int64_t max_;
    Activations act_;
    std::vector<float> logits_;  // [max][n_vocab], host
};

}  // namespace lola::model
