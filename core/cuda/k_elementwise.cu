// k_elementwise.cu: the device side of k_elementwise.hpp.
#include "cuda/k_elementwise.hpp"
#include "cuda/launch.hpp"

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

bool grid_fits(int64_t blocks) { return blocks > 0 && blocks <= 0x7FFFFFFF; }

}  // namespace

cudaError_t launch_embed(const k::EmbedArgs &a, int64_t n, cudaStream_t stream) {
    if (n <= 0) return cudaSuccess;
    if (!grid_fits(n)) return cudaErrorInvalidConfiguration;
    embed_kernel<<<static_cast<unsigned>(n), k::kRowThreads, 0, stream>>>(a);
    return cudaGetLastError();
}

cudaError_t launch_rms_norm(const k::RmsNormArgs &a, int64_t n, cudaStream_t stream) {
    if (n <= 0) return cudaSuccess;
    if (!grid_fits(n)) return cudaErrorInvalidConfiguration;
    rms_norm_kernel<<<static_cast<unsigned>(n), k::kRowThreads, 0, stream>>>(a);
    return cudaGetLastError();
}

cudaError_t launch_rope(const k::RopeArgs &a, int64_t n, cudaStream_t stream) {
    if (n <= 0) return cudaSuccess;
    if (!grid_fits(n)) return cudaErrorInvalidConfiguration;
    rope_kernel<<<static_cast<unsigned>(n), k::kRowThreads, 0, stream>>>(a);
    return cudaGetLastError();
}

cudaError_t launch_swiglu(const k::SwigluArgs &a, cudaStream_t stream) {
    if (a.n <= 0) return cudaSuccess;
    const int64_t blocks = k::flat_blocks(a.n);
    if (!grid_fits(blocks)) return cudaErrorInvalidConfiguration;
    swiglu_kernel<<<static_cast<unsigned>(blocks), k::kFlatThreads, 0, stream>>>(a);
    return cudaGetLastError();
}

cudaError_t launch_add(const k::AddArgs &a, cudaStream_t stream) {
    if (a.n <= 0) return cudaSuccess;
    const int64_t blocks = k::flat_blocks(a.n);
    if (!grid_fits(blocks)) return cudaErrorInvalidConfiguration;
    add_kernel<<<static_cast<unsigned>(blocks), k::kFlatThreads, 0, stream>>>(a);
    return cudaGetLastError();
}

}  // namespace lola::cuda
