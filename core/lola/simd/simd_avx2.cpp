// simd_avx2.cpp: the AVX2 level of the attention kernels (simd_body.inl over 8-float and
// 4-double vectors). Compiled with -mavx2 -mfma -mf16c (this file only; FMA is never used: the
// core builds with -ffp-contract=off and the body calls no fused intrinsic) and reached only
// through kernels.cpp's runtime check; without those flags it has no kernels.
#include "lola/simd/kernels.hpp"

#if defined(__x86_64__) && defined(__AVX2__)

#include "lola/simd/simd_body.inl"

namespace lola::simd::detail {
Kernels avx2_kernels() { return body::table(); }
}  // namespace lola::simd::detail

#else

namespace lola::simd::detail {
Kernels avx2_kernels() { return Kernels{}; }
}  // namespace lola::simd::detail

#endif
