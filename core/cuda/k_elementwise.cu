// k_elementwise.cu: the device side of k_elementwise.hpp.
#include "cuda/k_elementwise.hpp"
#include "cuda/launch.hpp"
#include "cuda/launch_blocks.cuh"

namespace lola::cuda {

namespace {

__global__ void __launch_bounds__(k::kRowThreads) embed_kernel(k::EmbedArgs a) {
    k::NoShared s;
    k::embed_block(static_cast<int64_t>(blockIdx.x), a, s);
}

__global__ void __launch_bounds__(k::kRowThreads) rms_norm_kernel(k::RmsNormArgs a) {
    __shared__ k::RmsNormShared s;
    k::rms_norm_block(static_cast<int64_t>(blockIdx.x), a, s);
}

__global__ void __launch_bounds__(k::kRowThreads) rope_kernel(k::RopeArgs a) {
    k::NoShared s;
    k::rope_block(static_cast<int64_t>(blockIdx.x), a, s);
}

__global__ void __launch_bounds__(k::kFlatThreads) swiglu_kernel(k::SwigluArgs a) {
    k::NoShared s;
    k::swiglu_block(static_cast<int64_t>(blockIdx.x), a, s);
}

__global__ void __launch_bounds__(k::kFlatThreads) add_kernel(k::AddArgs a) {
    k::NoShared s;
    k::add_block(static_cast<int64_t>(blockIdx.x), a, s);
}

}  // namespace

cudaError_t launch_embed(const k::EmbedArgs &a, int64_t n, cudaStream_t stream) {
    return launch_blocks(embed_kernel, n, k::kRowThreads, stream, a);
}

cudaError_t launch_rms_norm(const k::RmsNormArgs &a, int64_t n, cudaStream_t stream) {
    return launch_blocks(rms_norm_kernel, n, k::kRowThreads, stream, a);
}

cudaError_t launch_rope(const k::RopeArgs &a, int64_t n, cudaStream_t stream) {
    return launch_blocks(rope_kernel, n, k::kRowThreads, stream, a);
}

cudaError_t launch_swiglu(const k::SwigluArgs &a, cudaStream_t stream) {
    return launch_blocks(swiglu_kernel, k::flat_blocks(a.n), k::kFlatThreads, stream, a);
}

cudaError_t launch_add(const k::AddArgs &a, cudaStream_t stream) {
    return launch_blocks(add_kernel, k::flat_blocks(a.n), k::kFlatThreads, stream, a);
}

}  // namespace lola::cuda
