// simd_avx512.cpp: the AVX-512 level of the attention kernels: simd_body.inl with its 512-bit
// paths (e^x eight doubles at a time, accumulations 16 floats per vector) and 32 vector
// registers. Compiled with -mavx512f -mavx2 -mfma -mf16c (this file only) and reached only
// through kernels.cpp's runtime check.
#include "lola/simd/kernels.hpp"

#if defined(__x86_64__) && defined(__AVX512F__)

// GCC 12's AVX-512 intrinsics start from a self-initialised "undefined" vector, which
// -Wuninitialized then reports wherever one is inlined (as in quant/dot_avx512.cpp).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "lola/simd/simd_body.inl"

namespace lola::simd::detail {
Kernels avx512_kernels() { return body::table(); }
}  // namespace lola::simd::detail

#else

namespace lola::simd::detail {
Kernels avx512_kernels() { return Kernels{}; }
}  // namespace lola::simd::detail

#endif
