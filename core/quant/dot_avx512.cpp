// dot_avx512.cpp: the AVX-512F level of the dot kernels: dot_simd.inl over 16-float vectors (a
// chunk of 32 elements is 2 of them), up to 8 tokens per multi() call (32 zmm registers).
// Compiled with -mavx512f -mavx2 -mfma -mf16c (this file only, see core/CMakeLists.txt; no
// -mavx512vl/bw/dq, so the compiler emits AVX-512F alone; the integer unpacking is AVX2) and
// reached only through quant.cpp's runtime check (AVX-512F, AVX2, FMA, F16C); without those
// flags (or off x86-64) it has no kernels.
#include "quant/kernels.hpp"

#if defined(__x86_64__) && defined(__AVX512F__) && defined(__AVX2__) && defined(__FMA__) && \
    defined(__F16C__)

#if defined(__GNUC__) && !defined(__clang__)
// GCC 12's avx512fintrin.h makes its "undefined" vectors by self-initialisation
// (__m512 __Y = __Y;), which -Wuninitialized then reports wherever such an intrinsic is
// inlined (fixed in later GCC releases). Nothing here reads an undefined value.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <immintrin.h>

namespace lola::quant::detail {

namespace {

using Vec = __m512;
constexpr int kWidth = 16;
// Tokens per multi() call (measured on Zen 4: 12 or 16 are no faster than 8).
constexpr int kGroup = 8;
#define LOLA_SIMD(op) _mm512_##op

inline Vec vload_f16(const uint8_t *p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i *>(p)));
}

inline Vec vload_bf16(const uint8_t *p) {
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(p));
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

inline __m256 vfold8(Vec v) {
    const __m256 lo = _mm512_castps512_ps256(v);
    const __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
    return _mm256_add_ps(lo, hi);
}

// See dot_simd.inl: 16 nibbles widened to int32 at a time, 16 added where qh's bit is set.
inline void widen_q5(__m128i lo, __m128i hi, uint32_t qh, int bias, Vec *w) {
    const __m512i c16 = _mm512_set1_epi32(16), b = _mm512_set1_epi32(bias);
    const __m512i q0 = _mm512_cvtepu8_epi32(lo), q1 = _mm512_cvtepu8_epi32(hi);
    const auto m0 = static_cast<__mmask16>(qh & 0xFFFFu), m1 = static_cast<__mmask16>(qh >> 16);
    w[0] = _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_mask_add_epi32(q0, m0, q0, c16), b));
    w[1] = _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_mask_add_epi32(q1, m1, q1, c16), b));
}

}  // namespace

}  // namespace lola::quant::detail

#include "quant/dot_simd.inl"

namespace lola::quant::detail {
Kernel avx512_kernel(uint32_t type) { return level_kernel(type); }
}  // namespace lola::quant::detail

#else  // not compiled for AVX-512: no kernels at this level

namespace lola::quant::detail {
Kernel avx512_kernel(uint32_t) { return Kernel{}; }
}  // namespace lola::quant::detail

#endif
