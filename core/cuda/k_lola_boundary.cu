// k_lola_boundary.cu: the device side of k_lola_state.hpp's chunk boundary (one block per
// state head). Once per chunk, not per token: exempt from the decode kernels' no-spill rule
// (ptxas keeps 16 bytes on the stack here).
#include "cuda/k_lola_state.hpp"
#include "cuda/launch.hpp"
#include "cuda/launch_blocks.cuh"

namespace lola::cuda {

namespace {

__global__ void __launch_bounds__(k::kStateThreads) boundary_kernel(k::StateArgs a) {
    __shared__ k::BoundaryShared s;
    k::boundary_block(static_cast<int64_t>(blockIdx.x), a, s);
}

}  // namespace


cudaError_t launch_boundary(const k::StateArgs &a, int64_t n_state_heads, cudaStream_t stream) {
    return launch_blocks(boundary_kernel, n_state_heads, k::kStateThreads, stream, a);
}

}  // namespace lola::cuda
