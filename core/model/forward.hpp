// forward.hpp: the Llama layers of one forward step over the compute seam, shared by a single
// context's step (llama_context.cpp) and the batched decode step (llama_batch.cpp). Rows are
// tokens: one context's consecutive tokens, or one token of each context of a batch; only RoPE
// and attention depend on which, so the caller supplies them.
#pragma once

#include <cstdint>
#include <functional>

#include "backend/backend.hpp"
#include "model/llama_model.hpp"

namespace lola::model {

// The activations of `rows` rows in a backend's arena.
struct Activations {
    backend::Buf x, xn, q, k, v, y, o, gate, up;
};
Activations allocate_activations(backend::Backend &be, const HParams &hp, int64_t rows);

// Every layer on n rows of a.x: x += Wo attn(...), x += Wdown swiglu(...). `attend(l)` rotates
// a.q and a.k and runs layer l's attention into a.y.
void forward_layers(backend::Backend &be, const HParams &hp, const Activations &a, int64_t n,
                    const std::function<void(int64_t layer)> &attend);

}  // namespace lola::model
