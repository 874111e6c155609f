// simt.hpp: the small shim that lets one kernel body run as CUDA and as an emulated launch.
//
// A kernel body is a host-and-device function of (block index, arguments, shared memory) made
// of phases: each phase is a LOLA_FOR_THREADS loop, and phases are separated by LOLA_SYNC().
// Under nvcc a phase is the block's threads striding over the loop's range and LOLA_SYNC() is
// __syncthreads(); under a host compiler the loop runs every index in order and the barrier is
// nothing, because each phase has finished before the next begins. Nothing may pass from one
// phase to the next except through shared memory (a thread's locals end with its phase), which
// is what makes the emulation exact: every value is computed by the same operations, in the
// same order, as on the device (tests/cuda/ compare emulated launches with the CPU reference
// bit for bit; scripts/cuda_device_check.sh compares the device with the emulation).
//
// Launch shapes never depend on the data, and no body uses atomics: results depend only on the
// inputs.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define LOLA_HD __host__ __device__
// A helper the device compiler must inline (a real call spills registers around it, which the
// build refuses for these kernels).
#define LOLA_HD_FORCE __host__ __device__ __forceinline__
#define LOLA_DEVICE_CODE 1
#else
#define LOLA_HD
#define LOLA_HD_FORCE inline
#define LOLA_DEVICE_CODE 0
#endif

#if defined(__CUDA_ARCH__)
// Device pass: the block's threads stride over [0, n).
#define LOLA_FOR_THREADS(t, n) \
    for (int t = static_cast<int>(threadIdx.x); t < static_cast<int>(n); t += static_cast<int>(blockDim.x))
#define LOLA_SYNC() __syncthreads()
#else
// Host pass (the emulation, and nvcc's host side of a __host__ __device__ body).
#define LOLA_FOR_THREADS(t, n) for (int t = 0; t < static_cast<int>(n); ++t)
#define LOLA_SYNC() ((void)0)
#endif

namespace lola::cuda {

// The emulated launch of a body over `blocks` blocks: block after block, each with its own
// shared memory (zeroed, as the device's is not: bodies must not read shared memory they did
// not write, and compute-sanitizer's initcheck holds them to it on the device).
template <class Shared, class Body>
void emulate_launch(int64_t blocks, Body &&body) {
    for (int64_t b = 0; b < blocks; ++b) {
        Shared shared{};
        body(b, shared);
    }
}

}  // namespace lola::cuda
