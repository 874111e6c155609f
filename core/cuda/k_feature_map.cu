// k_feature_map.cu: the device side of k_feature_map.hpp (one block per vector).
#include "cuda/k_feature_map.hpp"
#include "cuda/launch.hpp"
#include "cuda/launch_blocks.cuh"

namespace lola::cuda {

namespace {

__global__ void __launch_bounds__(k::kFeatureThreads) feature_kernel(k::FeatureArgs a) {
    k::feature_block(static_cast<int64_t>(blockIdx.x), a);
}

}  // namespace

cudaError_t launch_features(const k::FeatureArgs &a, int64_t n, cudaStream_t stream) {
    return launch_blocks(feature_kernel, n, k::kFeatureThreads, stream, a);
}

}  // namespace lola::cuda
