// launch_blocks.cuh: the one way the .cu launchers start a kernel: `blocks` blocks of `threads`
// threads on `stream` (no blocks: nothing to do; more than a grid's x dimension holds: invalid
// configuration, nothing launched), returning CUDA's status of the launch.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace lola::cuda {

template <class Args>
cudaError_t launch_blocks(void (*kernel)(Args), int64_t blocks, int threads, cudaStream_t stream,
                          const Args &args) {
    if (blocks <= 0) return cudaSuccess;
    if (blocks > 0x7FFFFFFF) return cudaErrorInvalidConfiguration;
    kernel<<<static_cast<unsigned>(blocks), threads, 0, stream>>>(args);
    return cudaGetLastError();
}

}  // namespace lola::cuda
