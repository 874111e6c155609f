// k_lola_append.cu: the device side of k_lola_state.hpp's append (one block per state head),
// on the decode path: built with the decode kernels' no-spill rule.
#include "cuda/k_lola_state.hpp"
#include "cuda/launch.hpp"
#include "cuda/launch_blocks.cuh"

namespace lola::cuda {

namespace {

__global__ void __launch_bounds__(k::kStateThreads) append_kernel(k::AppendArgs a) {
    k::append_block(static_cast<int64_t>(blockIdx.x), a);
}

}  // namespace

cudaError_t launch_append(const k::AppendArgs &a, int64_t n_state_heads, cudaStream_t stream) {
    return launch_blocks(append_kernel, n_state_heads, k::kStateThreads, stream, a);
}

}  // namespace lola::cuda
