// driver.cpp: see driver.hpp. The driver API's few entry points used here, by their documented
// C signatures (CUresult is an int, CUdevice an int; 0 is CUDA_SUCCESS).
#include "cuda/driver.hpp"

#include <dlfcn.h>

#include <string>

namespace lola::cuda {

namespace {

using CuInit = int (*)(unsigned);
using CuDeviceGetCount = int (*)(int *);
using CuDeviceGet = int (*)(int *, int);
using CuDeviceGetName = int (*)(char *, int, int);
using CuDeviceGetAttribute = int (*)(int *, int, int);
using CuDeviceTotalMem = int (*)(size_t *, int);
using CuGetErrorString = int (*)(int, const char **);

constexpr int kAttrComputeCapabilityMajor = 75;  // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR
constexpr int kAttrComputeCapabilityMinor = 76;  // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR

DriverQuery ask() {
    DriverQuery q;
    void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char *e = dlerror();
        q.why = std::string("no CUDA driver: ") + (e ? e : "libcuda.so.1 cannot be loaded");
        return q;
    }
    // The library stays loaded for the process (as the CUDA runtime keeps it).
    const auto sym = [lib](const char *name) { return dlsym(lib, name); };
    const auto init = reinterpret_cast<CuInit>(sym("cuInit"));
    const auto count = reinterpret_cast<CuDeviceGetCount>(sym("cuDeviceGetCount"));
    const auto get = reinterpret_cast<CuDeviceGet>(sym("cuDeviceGet"));
    const auto get_name = reinterpret_cast<CuDeviceGetName>(sym("cuDeviceGetName"));
    const auto attribute = reinterpret_cast<CuDeviceGetAttribute>(sym("cuDeviceGetAttribute"));
    auto total = reinterpret_cast<CuDeviceTotalMem>(sym("cuDeviceTotalMem_v2"));
    if (!total) total = reinterpret_cast<CuDeviceTotalMem>(sym("cuDeviceTotalMem"));
    const auto error_string = reinterpret_cast<CuGetErrorString>(sym("cuGetErrorString"));
    if (!init || !count || !get || !get_name || !attribute || !total) {
        q.why = "the CUDA driver (libcuda.so.1) lacks the driver API entry points";
        return q;
    }
    const auto says = [error_string](int status) {
        const char *s = nullptr;
        if (error_string && error_string(status, &s) == 0 && s) return std::string(s);
        return "CUDA driver error " + std::to_string(status);
    };
    int status = init(0);
    if (status != 0) {
        q.why = "the CUDA driver did not initialise: " + says(status);
        return q;
    }
    int n = 0;
    status = count(&n);
    if (status != 0) {
        q.why = "the CUDA driver cannot count its devices: " + says(status);
        return q;
    }
    for (int i = 0; i < n; ++i) {
        int dev = 0;
        GpuInfo g;
        char name[256] = {0};
        if (get(&dev, i) != 0 || get_name(name, static_cast<int>(sizeof name - 1), dev) != 0 ||
            attribute(&g.major, kAttrComputeCapabilityMajor, dev) != 0 ||
            attribute(&g.minor, kAttrComputeCapabilityMinor, dev) != 0 || total(&g.total_bytes, dev) != 0)
            continue;
        g.name = name;
        q.gpus.push_back(g);
    }
    if (q.gpus.empty()) q.why = n == 0 ? "the CUDA driver reports no device" : "no CUDA device answered";
    return q;
}

}  // namespace

const DriverQuery &query_driver() {
    static const DriverQuery q = ask();  // initialised once, thread-safe (C++11)
    return q;
}

}  // namespace lola::cuda
