// driver.hpp: what the CUDA driver says about this machine's GPUs, asked without linking any
// CUDA library: libcuda.so.1 is opened at run time (dlopen), so liblola loads and runs where
// there is no driver, and the answer then says so in the loader's or the driver's own words.
#pragma once

#include <string>
#include <vector>

namespace lola::cuda {

struct GpuInfo {
    std::string name;
    int major = 0, minor = 0;  // compute capability
    size_t total_bytes = 0;
};

struct DriverQuery {
    std::vector<GpuInfo> gpus;  // empty: none usable, `why` says why
    std::string why;
};

// Asks once per process (the driver is initialised at most once); thread-safe.
const DriverQuery &query_driver();

// The lowest compute capability the exact-tier kernels are built for (sm_80).
constexpr int kMinMajor = 8;

}  // namespace lola::cuda
