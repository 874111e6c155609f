// state_slots.hpp: the tests' names for the kernels' host-memory state layout
// (core/cuda/host_state.hpp).
#pragma once

#include "cuda/host_state.hpp"

namespace lola_test {

using StateSlots = lola::cuda::HostState;

}  // namespace lola_test
