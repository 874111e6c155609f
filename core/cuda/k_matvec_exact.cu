// k_matvec_exact.cu: the device side of k_matvec_exact.hpp (one warp per 4 rows, one launch
// per pass of up to 8 tokens).
#include "cuda/launch.hpp"
#include "cuda/launch_blocks.cuh"

namespace lola::cuda {

namespace {

__global__ void __launch_bounds__(k::kThreads) matmul_exact_kernel(k::MatmulArgs a) {
    __shared__ k::MatmulShared shared;
    k::matmul_block(static_cast<int64_t>(blockIdx.x), a, shared);
}

}  // namespace

cudaError_t launch_matmul_exact(const k::MatmulArgs &args, int64_t n_tokens, cudaStream_t stream) {
    if (args.rows <= 0 || n_tokens <= 0) return cudaSuccess;
    cudaError_t err = cudaSuccess;
    k::for_each_pass(args, n_tokens, [&](const k::MatmulArgs &a) {
        if (err == cudaSuccess) err = launch_blocks(matmul_exact_kernel, k::matmul_blocks(a.rows), k::kThreads, stream, a);
    });
    return err;
}

}  // namespace lola::cuda
