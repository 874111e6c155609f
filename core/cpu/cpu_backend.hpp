// cpu_backend.hpp: the CPU backend of backend.hpp, the reference every other backend is tested
// against. Weights stay in the memory-mapped GGUF file (quantized, dequantized on the fly by
// core/quant's kernels); the attention layers are lola::Layer<float>; one thread pool per
// context runs the matrix products and the heads.
#pragma once

#include <memory>
#include <optional>

#include "backend/backend.hpp"
#include "quant/quant.hpp"

namespace lola {
class ThreadPool;
}

namespace lola::cpu {

// The CPU's resident weights of `model`. `isa` pins the dot-product level of core/quant (the
// parity harness runs each level as a backend of its own); empty: the active level.
std::shared_ptr<const backend::Weights> upload(std::shared_ptr<const model::Model> model,
                                               std::optional<quant::Isa> isa = std::nullopt);

// The thread pool of a CPU backend (made by upload()'s weights), for a caller that spreads work
// of its own over the same threads (model::Batch: attention over its contexts); nullptr for
// any other backend.
ThreadPool *pool_of(backend::Backend &backend);

}  // namespace lola::cpu
