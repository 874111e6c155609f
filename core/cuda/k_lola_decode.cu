// k_lola_decode.cu: the device side of k_lola_decode.hpp (one block per state head).
#include "cuda/k_lola_decode.hpp"
#include "cuda/launch.hpp"
#include "cuda/launch_blocks.cuh"

namespace lola::cuda {

namespace {

__global__ void __launch_bounds__(k::kDecodeThreads) lola_decode_kernel(k::DecodeArgs a) {
    k::lola_decode_block(static_cast<int64_t>(blockIdx.x), a);
}

}  // namespace

cudaError_t launch_lola_decode(const k::DecodeArgs &a, int64_t n_state_heads, cudaStream_t stream) {
    if (n_state_heads <= 0) return cudaSuccess;
    if (a.n_tokens < 1) return cudaErrorInvalidConfiguration;
    return launch_blocks(lola_decode_kernel, n_state_heads * a.n_tokens, k::kDecodeThreads, stream, a);
}

}  // namespace lola::cuda
