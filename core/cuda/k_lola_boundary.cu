// k_lola_boundary.cu: the device side of k_lola_state.hpp's chunk boundary (one block per
// state head). Once per chunk, not per token: exempt from the decode kernels' no-spill rule
// (ptxas keeps 16 bytes on the stack here).
#include "cuda/k_lola_state.hpp"
#include "cuda/launch.hpp"

namespace lola::cuda {

namespace {

__global__ void __launch_bounds__(k::kStateThreads) boundary_kernel(k::StateArgs a) {
    __shared__ k::BoundaryShared s;
    k::boundary_block(static_cast<int64_t>(blockIdx.x), a, s);
}

}  // namespace


cudaError_t launch_boundary(const k::StateArgs &a, int64_t n_state_heads, cudaStream_t stream) {
    if (n_state_heads <= 0) return cudaSuccess;
    if (n_state_heads > 0x7FFFFFFF) return cudaErrorInvalidConfiguration;
    boundary_kernel<<<static_cast<unsigned>(n_state_heads), k::kStateThreads, 0, stream>>>(a);
    return cudaGetLastError();
}

}  // namespace lola::cuda
