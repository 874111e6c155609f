// cuda_check: the device half of scripts/cuda_device_check.sh. For each kernel family it runs
// the device kernel and the emulated launch of the same body on the same inputs and prints one
// line: family, case, pass/FAIL, bitwise or the largest difference in ulps, the first bad index.
// With --emulate it runs the emulation against the CPU reference instead (CI, no GPU), in the
// same format, so that the script runs end to end everywhere.
//
//   cuda_check [--emulate] [--tiny] [--device N]     (--tiny: the small cases only, for the
//                                                     compute-sanitizer tools)
// Exit status: 0 all pass, 1 a check failed, 77 no usable device (the message says why).
#include <cuda_runtime.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "cuda/launch.hpp"
#include "quant/matmul.hpp"
#include "quant/quant.hpp"
#include "random_blocks.hpp"

namespace {

namespace q = lola::quant;
namespace k = lola::cuda::k;

struct Compare {
    bool equal = true;
    int64_t max_ulp = 0, first_bad = -1;
};

int64_t ulp_distance(float a, float b) {
    int32_t ia, ib;
    std::memcpy(&ia, &a, 4);
    std::memcpy(&ib, &b, 4);
    if (ia < 0) ia = INT32_MIN - ia;  // order the bit patterns like the floats
    if (ib < 0) ib = INT32_MIN - ib;
    return std::llabs(static_cast<int64_t>(ia) - static_cast<int64_t>(ib));
}

Compare compare(const std::vector<float> &got, const std::vector<float> &want) {
    Compare c;
    for (size_t i = 0; i < want.size(); ++i) {
        if (std::memcmp(&got[i], &want[i], 4) == 0) continue;
        if (c.first_bad < 0) c.first_bad = static_cast<int64_t>(i);
        c.equal = false;
        const int64_t d = ulp_distance(got[i], want[i]);
        if (d > c.max_ulp) c.max_ulp = d;
    }
    return c;
}

bool report(const char *family, const std::string &what, const Compare &c) {
    if (c.equal)
        std::printf("%-8s %-28s pass  bitwise\n", family, what.c_str());
    else
        std::printf("%-8s %-28s FAIL  max %lld ulp, first bad index %lld\n", family, what.c_str(),
                    static_cast<long long>(c.max_ulp), static_cast<long long>(c.first_bad));
    return c.equal;
}

#define CUDA_OK(call)                                                                        \
    do {                                                                                     \
        const cudaError_t e_ = (call);                                                       \
        if (e_ != cudaSuccess) {                                                             \
            std::printf("cuda error at %s:%d: %s: %s\n", __FILE__, __LINE__, #call,          \
                        cudaGetErrorString(e_));                                             \
            return false;                                                                    \
        }                                                                                    \
    } while (0)

// The matmul family on one case: the device (or, emulating, the emulation) against its truth.
bool check_matmul(uint32_t type, int64_t rows, int64_t cols, int64_t tokens, bool emulate,
                  std::mt19937_64 &rng) {
    const size_t row_bytes = q::row_bytes(type, cols);
    std::vector<uint8_t> w(row_bytes * static_cast<size_t>(rows));
    lola_test::fill_random_blocks(type, w.data(), static_cast<uint64_t>(rows * cols), 0.5f, rng);
    std::normal_distribution<float> normal(0.f, 1.f);
    std::vector<float> x(static_cast<size_t>(tokens * cols));
    for (float &v : x) v = normal(rng);
    std::vector<float> want(static_cast<size_t>(tokens * rows)), got(want.size());
    k::MatmulArgs a;
    a.type = type;
    a.row_bytes = row_bytes;
    a.rows = rows;
    a.cols = cols;
    a.ldx = cols;
    a.ldy = rows;
    const std::string what = std::string(q::type_name(type)) + " " + std::to_string(rows) + "x" +
                             std::to_string(cols) + " t" + std::to_string(tokens);
    if (emulate) {
        q::matmul(type, w.data(), rows, cols, x.data(), tokens, want.data(), nullptr, q::Isa::scalar);
        a.w = w.data();
        a.x = x.data();
        a.y = got.data();
        k::matmul_emulated(a, tokens);
        return report("matmul", what, compare(got, want));
    }
    a.w = w.data();
    a.x = x.data();
    a.y = want.data();
    k::matmul_emulated(a, tokens);
    uint8_t *dw = nullptr;
    float *dx = nullptr, *dy = nullptr;
    CUDA_OK(cudaMalloc(&dw, w.size()));
    CUDA_OK(cudaMalloc(&dx, x.size() * 4));
    CUDA_OK(cudaMalloc(&dy, got.size() * 4));
    CUDA_OK(cudaMemcpy(dw, w.data(), w.size(), cudaMemcpyHostToDevice));
    CUDA_OK(cudaMemcpy(dx, x.data(), x.size() * 4, cudaMemcpyHostToDevice));
    CUDA_OK(cudaMemset(dy, 0xFF, got.size() * 4));  // NaNs: an element never written shows
    a.w = dw;
    a.x = dx;
    a.y = dy;
    CUDA_OK(lola::cuda::launch_matmul_exact(a, tokens, nullptr));
    CUDA_OK(cudaDeviceSynchronize());
    CUDA_OK(cudaMemcpy(got.data(), dy, got.size() * 4, cudaMemcpyDeviceToHost));
    CUDA_OK(cudaFree(dw));
    CUDA_OK(cudaFree(dx));
    CUDA_OK(cudaFree(dy));
    return report("matmul", what, compare(got, want));
}

}  // namespace

int main(int argc, char **argv) {
    bool emulate = false, tiny = false;
    int device = 0;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--emulate") == 0) emulate = true;
        else if (std::strcmp(argv[i], "--tiny") == 0) tiny = true;
        else if (std::strcmp(argv[i], "--device") == 0 && i + 1 < argc) device = std::atoi(argv[++i]);
        else {
            std::fprintf(stderr, "usage: %s [--emulate] [--tiny] [--device N]\n", argv[0]);
            return 2;
        }
    }
    if (!emulate) {
        int n = 0;
        const cudaError_t e = cudaGetDeviceCount(&n);
        if (e != cudaSuccess || n == 0) {
            std::printf("no CUDA device: %s\n", e != cudaSuccess ? cudaGetErrorString(e) : "none found");
            return 77;
        }
        cudaDeviceProp p;
        if (device < 0 || device >= n || cudaSetDevice(device) != cudaSuccess ||
            cudaGetDeviceProperties(&p, device) != cudaSuccess) {
            std::printf("no CUDA device %d (of %d)\n", device, n);
            return 77;
        }
        std::printf("device %d: %s, sm_%d%d, %.1f GiB\n", device, p.name, p.major, p.minor,
                    static_cast<double>(p.totalGlobalMem) / (1 << 30));
    } else {
        std::printf("emulated launches against the CPU reference\n");
    }
    std::mt19937_64 rng(20261203);
    bool ok = true;
    const uint32_t types[] = {q::F32, q::F16, q::BF16, q::Q8_0, q::Q4_0, q::Q4_1,
                              q::Q5_0, q::Q5_1, q::Q4_K, q::Q5_K, q::Q6_K};
    for (uint32_t type : types) {
        const int64_t bs = q::block_size(type) == 1 ? 32 : q::block_size(type);
        if (!tiny) ok &= check_matmul(type, 33, bs * 3, 1, emulate, rng);
        ok &= check_matmul(type, 5, bs, 17, emulate, rng);
    }
    if (tiny) {
        std::printf("%s\n", ok ? "all checks passed" : "SOME CHECKS FAILED");
        return ok ? 0 : 1;
    }
    // SmolLM2's shapes: the projections (Q4_1, 576 wide), the output head's type.
    ok &= check_matmul(q::Q4_1, 1536, 576, 1, emulate, rng);
    ok &= check_matmul(q::Q4_1, 576, 1536, 64, emulate, rng);
    ok &= check_matmul(q::Q8_0, 4099, 576, 1, emulate, rng);
    std::printf("%s\n", ok ? "all checks passed" : "SOME CHECKS FAILED");
    return ok ? 0 : 1;
}
