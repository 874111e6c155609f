// emulated_backend.hpp: the CUDA backend's forward pass with every op run as the emulated
// launch of its kernel body (core/cuda/k_*.hpp) on the host, behind the compute seam
// (backend/backend.hpp): the exact tier's whole-model result on a machine without a GPU. The
// parity harness (tests/backend/) runs it as "cuda:emulated" against the CPU reference, bitwise.
//
// The attention state lives in the kernels' layout (host_state.hpp); attention_state() hands
// it back as a host Layer for cache queries and save, restore_attention() loads it from the
// same blobs. Each attention call runs token by token: key features, append, query features,
// decode, and the boundary when W_cur fills, exactly the sequence the device will run. Full
// attention (the baseline) is the same decode over a W_cur that grows and never folds.
#pragma once

#include <memory>

#include "backend/backend.hpp"

namespace lola::model {
class Model;
}

namespace lola::cuda {

std::shared_ptr<const backend::Weights> upload_emulated(std::shared_ptr<const model::Model> model);

}  // namespace lola::cuda
