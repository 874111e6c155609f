// dot_avx2.cpp: the AVX2 + FMA + F16C level of the dot kernels: dot_simd.inl over 8-float
// vectors (a chunk of 32 elements is 4 of them), up to 6 tokens per multi() call. Compiled with
// -mavx2 -mfma -mf16c (this file only, see core/CMakeLists.txt) and reached only through
// quant.cpp's runtime CPU check; without those flags (or off x86-64) it has no kernels.
#include "quant/kernels.hpp"

#if defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)

#include <immintrin.h>

namespace lola::quant::detail {

namespace {

using Vec = __m256;
constexpr int kWidth = 8;
// Tokens per multi() call: 6 accumulators, 4 weight vectors and temporaries fit the 16 ymm
// registers (measured on Zen 4: 6 beats 4 by 5-20% in prefill; 8 spills for some formats).
constexpr int kGroup = 6;
#define LOLA_SIMD(op) _mm256_##op

inline Vec vload_f16(const uint8_t *p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i *>(p)));
}

inline Vec vload_bf16(const uint8_t *p) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i *>(p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

inline __m256 vfold8(Vec v) { return v; }

inline Vec cvt8(__m128i v) { return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(v)); }

// See dot_simd.inl: the 32 values as bytes (byte i of hb is 16 when bit i of qh is set), then
// widened 8 at a time.
inline void widen_q5(__m128i lo, __m128i hi, uint32_t qh, int bias, Vec *w) {
    const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,  //
                                            2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i bit = _mm256_set1_epi64x(static_cast<long long>(0x8040201008040201ULL));
    const __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(qh)), spread);
    const __m256i hb = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit),
                                        _mm256_set1_epi8(16));
    const __m256i q = _mm256_sub_epi8(_mm256_or_si256(_mm256_set_m128i(hi, lo), hb),
                                      _mm256_set1_epi8(static_cast<char>(bias)));
    const __m128i q0 = _mm256_castsi256_si128(q), q1 = _mm256_extracti128_si256(q, 1);
    w[0] = cvt8(q0);
    w[1] = cvt8(_mm_unpackhi_epi64(q0, q0));
    w[2] = cvt8(q1);
    w[3] = cvt8(_mm_unpackhi_epi64(q1, q1));
}

}  // namespace

}  // namespace lola::quant::detail

#include "quant/dot_simd.inl"

namespace lola::quant::detail {
Kernel avx2_kernel(uint32_t type) { return level_kernel(type); }
}  // namespace lola::quant::detail

#else  // not compiled for AVX2: no kernels at this level

namespace lola::quant::detail {
Kernel avx2_kernel(uint32_t) { return Kernel{}; }
}  // namespace lola::quant::detail

#endif
