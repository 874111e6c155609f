// fexp.hpp: e^x for float with the same bits on every CPU and GPU.
//
// std::exp(float) is whatever the platform's libm (or CUDA's libdevice) computes, so two
// backends that otherwise run the same operations in the same order would still differ in the
// last bit. fexp is written out: Cody-Waite reduction x = n ln2 + r in double, a degree-11
// Taylor polynomial for e^r (|r| <= ln2/2, truncation below 1e-15 relative), the scale 2^n
// built from its bits, and one rounding to float at the end. Every step is an IEEE double
// multiply or add, which the build keeps uncontracted (-ffp-contract=off here, -fmad=false
// under nvcc), so the result is a function of x alone. It is within 1 ulp of the correctly
// rounded e^x for every float (tests/base/test_fexp.cpp checks every float in the range where
// the result is neither 0 nor infinite; in practice it is the correctly rounded value but for
// rare double-rounding ties).
#pragma once

#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define LOLA_HOST_DEVICE __host__ __device__
#else
#define LOLA_HOST_DEVICE
#endif

namespace lola {

LOLA_HOST_DEVICE inline float fexp(float xf) {
    if (xf != xf) return xf;  // NaN in, NaN out
    // Beyond these the float result is 0 or infinite anyway; clamping keeps 2^n a normal double.
    double x = xf;
    if (x > 100.0) x = 100.0;
    if (x < -110.0) x = -110.0;
    // n = round(x / ln2); ln2_hi has 32 trailing zero bits, so n * ln2_hi is exact for |n| < 2^20.
    const double log2e = 1.4426950408889634;
    const double ln2_hi = 6.93147180369123816490e-01;
    const double ln2_lo = 1.90821492927058770002e-10;
    const double t = x * log2e + 0.5;
    double n = static_cast<double>(static_cast<int64_t>(t));
    if (n > t) n = n - 1.0;  // floor, for negative t
    double r = x - n * ln2_hi;
    r = r - n * ln2_lo;
    // e^r = sum r^k / k!, k = 0..11, by Horner.
    double p = 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    // 2^n as a double: n is in [-159, 145], well inside the normal exponent range.
    const uint64_t bits = static_cast<uint64_t>(static_cast<int64_t>(n) + 1023) << 52;
    double scale;
    std::memcpy(&scale, &bits, sizeof scale);
    return static_cast<float>(p * scale);
}

}  // namespace lola
