// dot_avx512.cpp: the AVX-512 kernels. Compiled with -mavx512f -mavx2 -mfma -mf16c (this file
// only, see core/CMakeLists.txt; no -mavx512vl/bw/dq, so the compiler emits AVX-512F alone) and
// reached only through quant.cpp's runtime check (AVX-512F, AVX2, FMA, F16C).
//
// Same scheme as dot_avx2.cpp with 16-float vectors: each chunk of 32 elements is dequantized
// into w[0..1], then for each token s = w0*x0; s = fma(w1, x1, s); acc[t] += s, and out[t] is a
// fixed horizontal sum; up to 8 tokens per call (32 registers), each bit-identical to the
// single-token kernel. Plain rows end with 16-wide steps and a scalar tail.
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

#include <cstring>

namespace lola::quant::detail {

namespace {

// Tokens per multi() call (measured on Zen 4: 12 or 16 are no faster than 8).
constexpr int kGroup = 8;

using W2 = __m512[2];

inline float half(const uint8_t *p) { return _cvtsh_ss(load_u16(p)); }

inline __m128i load128(const uint8_t *p) {
    return _mm_loadu_si128(reinterpret_cast<const __m128i *>(p));
}

inline __m256i load256(const uint8_t *p) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i *>(p));
}

// 16 bytes as 16 floats, signed / unsigned.
inline __m512 cvt_i8(__m128i v) { return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(v)); }
inline __m512 cvt_u8(__m128i v) { return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(v)); }

inline float hsum(__m512 v) {
    const __m256 lo = _mm512_castps512_ps256(v);
    const __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
    const __m256 v8 = _mm256_add_ps(lo, hi);
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v8), _mm256_extractf128_ps(v8, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 0x55));
    return _mm_cvtss_f32(s);
}

template <int NT>
inline void fma_chunk(const W2 &w, const float *x, int64_t ldx, __m512 (&acc)[NT]) {
    for (int t = 0; t < NT; ++t) {
        const float *xt = x + t * ldx;
        __m512 s = _mm512_mul_ps(w[0], _mm512_loadu_ps(xt));
        s = _mm512_fmadd_ps(w[1], _mm512_loadu_ps(xt + 16), s);
        acc[t] = _mm512_add_ps(acc[t], s);
    }
}

// ---- the formats: block(b, emit) calls emit(c, w) for each chunk c of 32 elements ---------

struct Q8_0F {
    static constexpr bool kPlain = false;
    static constexpr int kTokens = kGroup;
    static constexpr int64_t kBlock = kQK, kBytes = 34;
    template <class E>
    static inline void block(const uint8_t *b, E &&emit) {
        const __m512 d = _mm512_set1_ps(half(b));
        const W2 w = {_mm512_mul_ps(d, cvt_i8(load128(b + 2))),
                      _mm512_mul_ps(d, cvt_i8(load128(b + 18)))};
        emit(0, w);
    }
};

// The low and high nibbles of a legacy block's 16 quant bytes.
inline void nibbles(const uint8_t *qs, __m128i &lo, __m128i &hi) {
    const __m128i v = load128(qs), m4 = _mm_set1_epi8(15);
    lo = _mm_and_si128(v, m4);
    hi = _mm_and_si128(_mm_srli_epi16(v, 4), m4);
}

struct Q4_0F {
    static constexpr bool kPlain = false;
    static constexpr int kTokens = kGroup;
    static constexpr int64_t kBlock = kQK, kBytes = 18;
    template <class E>
    static inline void block(const uint8_t *b, E &&emit) {
        const __m512 d = _mm512_set1_ps(half(b));
        const __m128i c8 = _mm_set1_epi8(8);
        __m128i lo, hi;
        nibbles(b + 2, lo, hi);
        const W2 w = {_mm512_mul_ps(d, cvt_i8(_mm_sub_epi8(lo, c8))),
                      _mm512_mul_ps(d, cvt_i8(_mm_sub_epi8(hi, c8)))};
        emit(0, w);
    }
};

struct Q4_1F {
    static constexpr bool kPlain = false;
    static constexpr int kTokens = kGroup;
    static constexpr int64_t kBlock = kQK, kBytes = 20;
    template <class E>
    static inline void block(const uint8_t *b, E &&emit) {
        const __m512 d = _mm512_set1_ps(half(b)), m = _mm512_set1_ps(half(b + 2));
        __m128i lo, hi;
        nibbles(b + 4, lo, hi);
        const W2 w = {_mm512_fmadd_ps(d, cvt_u8(lo), m), _mm512_fmadd_ps(d, cvt_u8(hi), m)};
        emit(0, w);
    }
};

// 16 nibbles as int32 with 16 added where the matching bit of mask is set.
inline __m512i five_bits(__m128i nib, uint32_t mask) {
    const __m512i q = _mm512_cvtepu8_epi32(nib);
    return _mm512_mask_add_epi32(q, static_cast<__mmask16>(mask & 0xFFFFu), q,
                                 _mm512_set1_epi32(16));
}

struct Q5_0F {
    static constexpr bool kPlain = false;
    static constexpr int kTokens = kGroup;
    static constexpr int64_t kBlock = kQK, kBytes = 22;
    template <class E>
    static inline void block(const uint8_t *b, E &&emit) {
        const __m512 d = _mm512_set1_ps(half(b));
        const uint32_t qh = load_u32(b + 2);
        const __m512i c16 = _mm512_set1_epi32(16);
        __m128i lo, hi;
        nibbles(b + 6, lo, hi);
        const __m512i q0 = _mm512_sub_epi32(five_bits(lo, qh), c16);
        const __m512i q1 = _mm512_sub_epi32(five_bits(hi, qh >> 16), c16);
        const W2 w = {_mm512_mul_ps(d, _mm512_cvtepi32_ps(q0)),
                      _mm512_mul_ps(d, _mm512_cvtepi32_ps(q1))};
        emit(0, w);
    }
};

struct Q5_1F {
    static constexpr bool kPlain = false;
    static constexpr int kTokens = kGroup;
    static constexpr int64_t kBlock = kQK, kBytes = 24;
    template <class E>
    static inline void block(const uint8_t *b, E &&emit) {
        const __m512 d = _mm512_set1_ps(half(b)), m = _mm512_set1_ps(half(b + 2));
        const uint32_t qh = load_u32(b + 4);
        __m128i lo, hi;
        nibbles(b + 8, lo, hi);
        const W2 w = {_mm512_fmadd_ps(d, _mm512_cvtepi32_ps(five_bits(lo, qh)), m),
                      _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(five_bits(hi, qh >> 16)), m)};
        emit(0, w);
    }
};

// Sub-block j of a Q4_K / Q5_K super-block from its 32 unsigned quant bytes (two halves).
template <class E>
inline void emit_k(int j, __m128i q0, __m128i q1, float dj, float mj, E &emit) {
    const __m512 d = _mm512_set1_ps(dj), m = _mm512_set1_ps(mj);
    const W2 w = {_mm512_fmsub_ps(cvt_u8(q0), d, m), _mm512_fmsub_ps(cvt_u8(q1), d, m)};
    emit(j, w);
}

struct Q4_KF {
    static constexpr bool kPlain = false;
    static constexpr int kTokens = kGroup;
    static constexpr int64_t kBlock = kQK_K, kBytes = 144;
    template <class E>
    static inline void block(const uint8_t *b, E &&emit) {
        const float d = half(b), dmin = half(b + 2);
        uint8_t sc[8], mn[8];
        unpack_k_scales(b + 4, sc, mn);
        const __m128i m4 = _mm_set1_epi8(15);
        for (int p = 0; p < 4; ++p) {
            const __m128i v0 = load128(b + 16 + 32 * p), v1 = load128(b + 32 + 32 * p);
            const int j = 2 * p;
            emit_k(j, _mm_and_si128(v0, m4), _mm_and_si128(v1, m4),
                   d * static_cast<float>(sc[j]), dmin * static_cast<float>(mn[j]), emit);
            emit_k(j + 1, _mm_and_si128(_mm_srli_epi16(v0, 4), m4),
                   _mm_and_si128(_mm_srli_epi16(v1, 4), m4), d * static_cast<float>(sc[j + 1]),
                   dmin * static_cast<float>(mn[j + 1]), emit);
        }
    }
};

struct Q5_KF {
    static constexpr bool kPlain = false;
    static constexpr int kTokens = kGroup;
    static constexpr int64_t kBlock = kQK_K, kBytes = 176;
    template <class E>
    static inline void block(const uint8_t *b, E &&emit) {
        const float d = half(b), dmin = half(b + 2);
        uint8_t sc[8], mn[8];
        unpack_k_scales(b + 4, sc, mn);
        const __m128i m4 = _mm_set1_epi8(15), b4 = _mm_set1_epi8(16);
        const __m128i qh0 = load128(b + 16), qh1 = load128(b + 32);
        for (int p = 0; p < 4; ++p) {
            const __m128i v0 = load128(b + 48 + 32 * p), v1 = load128(b + 64 + 32 * p);
            const __m128i n0[2] = {_mm_and_si128(v0, m4), _mm_and_si128(_mm_srli_epi16(v0, 4), m4)};
            const __m128i n1[2] = {_mm_and_si128(v1, m4), _mm_and_si128(_mm_srli_epi16(v1, 4), m4)};
            for (int h = 0; h < 2; ++h) {
                const int j = 2 * p + h;
                const __m128i bit = _mm_set1_epi8(static_cast<char>(1 << j));
                const __m128i h0 = _mm_and_si128(_mm_cmpeq_epi8(_mm_and_si128(qh0, bit), bit), b4);
                const __m128i h1 = _mm_and_si128(_mm_cmpeq_epi8(_mm_and_si128(qh1, bit), bit), b4);
                emit_k(j, _mm_or_si128(n0[h], h0), _mm_or_si128(n1[h], h1),
                       d * static_cast<float>(sc[j]), dmin * static_cast<float>(mn[j]), emit);
            }
        }
    }
};

struct Q6_KF {
    static constexpr bool kPlain = false;
    static constexpr int kTokens = kGroup;
    static constexpr int64_t kBlock = kQK_K, kBytes = 210;
    template <class E>
    static inline void block(const uint8_t *b, E &&emit) {
        const float d = half(b + 208);
        const auto *sc = reinterpret_cast<const int8_t *>(b + 192);
        const __m256i m4 = _mm256_set1_epi8(15), m30 = _mm256_set1_epi8(0x30);
        const __m256i c32 = _mm256_set1_epi8(32);
        for (int h = 0; h < 2; ++h) {
            const __m256i ql0 = load256(b + 64 * h), ql1 = load256(b + 64 * h + 32);
            const __m256i qh = load256(b + 128 + 32 * h);
            const __m256i q[4] = {
                _mm256_or_si256(_mm256_and_si256(ql0, m4),
                                _mm256_and_si256(_mm256_slli_epi16(qh, 4), m30)),
                _mm256_or_si256(_mm256_and_si256(ql1, m4),
                                _mm256_and_si256(_mm256_slli_epi16(qh, 2), m30)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4),
                                _mm256_and_si256(qh, m30)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4),
                                _mm256_and_si256(_mm256_srli_epi16(qh, 2), m30))};
            for (int k = 0; k < 4; ++k) {
                const int c = 4 * h + k;
                const __m256i qs = _mm256_sub_epi8(q[k], c32);
                const W2 w = {
                    _mm512_mul_ps(cvt_i8(_mm256_castsi256_si128(qs)),
                                  _mm512_set1_ps(d * static_cast<float>(sc[2 * c]))),
                    _mm512_mul_ps(cvt_i8(_mm256_extracti128_si256(qs, 1)),
                                  _mm512_set1_ps(d * static_cast<float>(sc[2 * c + 1])))};
                emit(c, w);
            }
        }
    }
};

template <class F, int NT>
void run_blocks(const void *row, const float *X, int64_t ldx, float *out, int64_t n) {
    __m512 acc[NT];
    for (int t = 0; t < NT; ++t) acc[t] = _mm512_setzero_ps();
    const auto *b = static_cast<const uint8_t *>(row);
    const int64_t nb = n / F::kBlock;
    for (int64_t i = 0; i < nb; ++i, b += F::kBytes) {
        const float *x = X + i * F::kBlock;
        F::block(b, [&](int c, const W2 &w) { fma_chunk<NT>(w, x + 32 * c, ldx, acc); });
    }
    for (int t = 0; t < NT; ++t) out[t] = hsum(acc[t]);
}

// ---- plain types ---------------------------------------------------------------------------

struct F32P {
    static constexpr bool kPlain = true;
    static constexpr int kTokens = kGroup;
    static constexpr int64_t kSize = 4;
    static inline __m512 load16(const uint8_t *p) {
        return _mm512_loadu_ps(reinterpret_cast<const float *>(p));
    }
    static inline float load1(const uint8_t *p) {
        float f;
        std::memcpy(&f, p, 4);
        return f;
    }
};

struct F16P {
    static constexpr bool kPlain = true;
    static constexpr int kTokens = kGroup;
    static constexpr int64_t kSize = 2;
    static inline __m512 load16(const uint8_t *p) { return _mm512_cvtph_ps(load256(p)); }
    static inline float load1(const uint8_t *p) { return half(p); }
};

struct BF16P {
    static constexpr bool kPlain = true;
    static constexpr int kTokens = kGroup;
    static constexpr int64_t kSize = 2;
    static inline __m512 load16(const uint8_t *p) {
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(load256(p)), 16));
    }
    static inline float load1(const uint8_t *p) {
        const uint32_t bits = static_cast<uint32_t>(load_u16(p)) << 16;
        float f;
        std::memcpy(&f, &bits, 4);
        return f;
    }
};

template <class P, int NT>
void run_plain(const void *row, const float *X, int64_t ldx, float *out, int64_t n) {
    __m512 acc[NT];
    for (int t = 0; t < NT; ++t) acc[t] = _mm512_setzero_ps();
    const auto *src = static_cast<const uint8_t *>(row);
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        const uint8_t *p = src + i * P::kSize;
        const W2 w = {P::load16(p), P::load16(p + 16 * P::kSize)};
        fma_chunk<NT>(w, X + i, ldx, acc);
    }
    for (; i + 16 <= n; i += 16) {
        const __m512 w = P::load16(src + i * P::kSize);
        for (int t = 0; t < NT; ++t)
            acc[t] = _mm512_fmadd_ps(w, _mm512_loadu_ps(X + t * ldx + i), acc[t]);
    }
    float tail[NT] = {};
    for (; i < n; ++i) {
        const float w = P::load1(src + i * P::kSize);
        for (int t = 0; t < NT; ++t) tail[t] += w * X[t * ldx + i];
    }
    for (int t = 0; t < NT; ++t) out[t] = hsum(acc[t]) + tail[t];
}

// ---- entry points --------------------------------------------------------------------------

template <class F>
struct Entry {
    template <int NT>
    static void go(const void *row, const float *X, int64_t ldx, float *out, int64_t n) {
        if constexpr (F::kPlain)
            run_plain<F, NT>(row, X, ldx, out, n);
        else
            run_blocks<F, NT>(row, X, ldx, out, n);
    }
    static float dot(const void *row, const float *x, int64_t n) {
        float out;
        go<1>(row, x, 0, &out, n);
        return out;
    }
    // Dispatches nt (1 <= nt <= F::kTokens) to go<nt>.
    template <int K>
    static void multi_n(const void *row, const float *X, int64_t ldx, int nt, float *out,
                        int64_t n) {
        if constexpr (K > 1) {
            if (nt < K) return multi_n<K - 1>(row, X, ldx, nt, out, n);
        }
        go<K>(row, X, ldx, out, n);
    }
    static void multi(const void *row, const float *X, int64_t ldx, int nt, float *out,
                      int64_t n) {
        multi_n<F::kTokens>(row, X, ldx, nt, out, n);
    }
    static_assert(F::kTokens >= 1 && F::kTokens <= kMaxGroup);
    static Kernel kernel() { return Kernel{dot, multi, F::kTokens}; }
};

}  // namespace

Kernel avx512_kernel(uint32_t type) {
    switch (type) {
    case F32: return Entry<F32P>::kernel();
    case F16: return Entry<F16P>::kernel();
    case BF16: return Entry<BF16P>::kernel();
    case Q8_0: return Entry<Q8_0F>::kernel();
    case Q4_0: return Entry<Q4_0F>::kernel();
    case Q4_1: return Entry<Q4_1F>::kernel();
    case Q5_0: return Entry<Q5_0F>::kernel();
    case Q5_1: return Entry<Q5_1F>::kernel();
    case Q4_K: return Entry<Q4_KF>::kernel();
    case Q5_K: return Entry<Q5_KF>::kernel();
    case Q6_K: return Entry<Q6_KF>::kernel();
    default: return Kernel{};
    }
}

}  // namespace lola::quant::detail

#else  // not compiled for AVX-512: no kernels at this level

namespace lola::quant::detail {
Kernel avx512_kernel(uint32_t) { return Kernel{}; }
}  // namespace lola::quant::detail

#endif
