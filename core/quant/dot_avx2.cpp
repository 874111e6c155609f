// dot_avx2.cpp: the AVX2 + FMA + F16C kernels. Compiled with -mavx2 -mfma -mf16c (this file
// only, see core/CMakeLists.txt) and reached only through quant.cpp's runtime CPU check.
//
// Every format is walked in chunks of 32 consecutive elements: the chunk is dequantized into
// four vectors of 8 floats w[0..3], then for each token t
//     s = w0*x0; s = fma(w1, x1, s); s = fma(w2, x2, s); s = fma(w3, x3, s); acc[t] += s
// and at the end out[t] = the fixed horizontal sum of acc[t]. A chunk is dequantized once for
// all the tokens of a call (up to 6), and every token sees the same operations whatever their
// number: the multi-token kernel is bit-identical to the single-token one. Plain rows (F32, F16, BF16)
// whose length is not a multiple of 32 end with 8-wide steps and a scalar tail.
#include "quant/kernels.hpp"

#if defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)

#include <immintrin.h>

#include <cstring>

namespace lola::quant::detail {

namespace {

// Tokens per multi() call: 6 accumulators, 4 weight vectors and temporaries fit the 16 ymm
// registers (measured on Zen 4: 6 beats 4 by 5-20% in prefill; 8 spills for some formats).
constexpr int kGroup = 6;

using W4 = __m256[4];

inline float half(const uint8_t *p) { return _cvtsh_ss(load_u16(p)); }

inline __m128i load128(const uint8_t *p) {
    return _mm_loadu_si128(reinterpret_cast<const __m128i *>(p));
}

inline __m256i load256(const uint8_t *p) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i *>(p));
}

// The low 8 bytes of v as 8 floats, signed / unsigned.
inline __m256 cvt_i8(__m128i v) { return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(v)); }
inline __m256 cvt_u8(__m128i v) { return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(v)); }

// 32 bytes in element order -> 4 x 8 floats.
inline void widen_i8(__m256i q, W4 &f) {
    const __m128i lo = _mm256_castsi256_si128(q), hi = _mm256_extracti128_si256(q, 1);
    f[0] = cvt_i8(lo);
    f[1] = cvt_i8(_mm_unpackhi_epi64(lo, lo));
    f[2] = cvt_i8(hi);
    f[3] = cvt_i8(_mm_unpackhi_epi64(hi, hi));
}

inline void widen_u8(__m256i q, W4 &f) {
    const __m128i lo = _mm256_castsi256_si128(q), hi = _mm256_extracti128_si256(q, 1);
    f[0] = cvt_u8(lo);
    f[1] = cvt_u8(_mm_unpackhi_epi64(lo, lo));
    f[2] = cvt_u8(hi);
    f[3] = cvt_u8(_mm_unpackhi_epi64(hi, hi));
}

// Byte j of the result is 0xFF when bit j of bits is set, else 0.
inline __m256i bits_to_bytes(uint32_t bits) {
    const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,  //
                                            2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(bits)), spread);
    const __m256i bit = _mm256_set1_epi64x(static_cast<long long>(0x8040201008040201ULL));
    return _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
}

// The 16 nibble bytes of a legacy block, low nibbles then high nibbles: 32 bytes in element
// order.
inline __m256i nibbles32(const uint8_t *qs) {
    const __m128i v = load128(qs), m4 = _mm_set1_epi8(15);
    const __m128i lo = _mm_and_si128(v, m4), hi = _mm_and_si128(_mm_srli_epi16(v, 4), m4);
    return _mm256_set_m128i(hi, lo);
}

inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 0x55));
    return _mm_cvtss_f32(s);
}

template <int NT>
inline void fma_chunk(const W4 &w, const float *x, int64_t ldx, __m256 (&acc)[NT]) {
    for (int t = 0; t < NT; ++t) {
        const float *xt = x + t * ldx;
        __m256 s = _mm256_mul_ps(w[0], _mm256_loadu_ps(xt));
        s = _mm256_fmadd_ps(w[1], _mm256_loadu_ps(xt + 8), s);
        s = _mm256_fmadd_ps(w[2], _mm256_loadu_ps(xt + 16), s);
        s = _mm256_fmadd_ps(w[3], _mm256_loadu_ps(xt + 24), s);
        acc[t] = _mm256_add_ps(acc[t], s);
    }
}

// ---- the formats: block(b, emit) calls emit(c, w) for each chunk c of 32 elements ---------

struct Q8_0F {
    static constexpr bool kPlain = false;
    static constexpr int kTokens = kGroup;
    static constexpr int64_t kBlock = kQK, kBytes = 34;
    template <class E>
    static inline void block(const uint8_t *b, E &&emit) {
        const __m256 d = _mm256_set1_ps(half(b));
        W4 w;
        for (int k = 0; k < 4; ++k)
            w[k] = _mm256_mul_ps(d, cvt_i8(_mm_loadl_epi64(
                                         reinterpret_cast<const __m128i *>(b + 2 + 8 * k))));
        emit(0, w);
    }
};

struct Q4_0F {
    static constexpr bool kPlain = false;
    static constexpr int kTokens = kGroup;
    static constexpr int64_t kBlock = kQK, kBytes = 18;
    template <class E>
    static inline void block(const uint8_t *b, E &&emit) {
        const __m256 d = _mm256_set1_ps(half(b));
        const __m256i q = _mm256_sub_epi8(nibbles32(b + 2), _mm256_set1_epi8(8));
        W4 w;
        widen_i8(q, w);
        for (int k = 0; k < 4; ++k) w[k] = _mm256_mul_ps(d, w[k]);
        emit(0, w);
    }
};

struct Q4_1F {
    static constexpr bool kPlain = false;
    static constexpr int kTokens = kGroup;
    static constexpr int64_t kBlock = kQK, kBytes = 20;
    template <class E>
    static inline void block(const uint8_t *b, E &&emit) {
        const __m256 d = _mm256_set1_ps(half(b)), m = _mm256_set1_ps(half(b + 2));
        W4 w;
        widen_u8(nibbles32(b + 4), w);
        for (int k = 0; k < 4; ++k) w[k] = _mm256_fmadd_ps(d, w[k], m);
        emit(0, w);
    }
};

struct Q5_0F {
    static constexpr bool kPlain = false;
    static constexpr int kTokens = kGroup;
    static constexpr int64_t kBlock = kQK, kBytes = 22;
    template <class E>
    static inline void block(const uint8_t *b, E &&emit) {
        const __m256 d = _mm256_set1_ps(half(b));
        const __m256i hb = _mm256_and_si256(bits_to_bytes(load_u32(b + 2)), _mm256_set1_epi8(16));
        const __m256i q = _mm256_sub_epi8(_mm256_or_si256(nibbles32(b + 6), hb),
                                          _mm256_set1_epi8(16));
        W4 w;
        widen_i8(q, w);
        for (int k = 0; k < 4; ++k) w[k] = _mm256_mul_ps(d, w[k]);
        emit(0, w);
    }
};

struct Q5_1F {
    static constexpr bool kPlain = false;
    static constexpr int kTokens = kGroup;
    static constexpr int64_t kBlock = kQK, kBytes = 24;
    template <class E>
    static inline void block(const uint8_t *b, E &&emit) {
        const __m256 d = _mm256_set1_ps(half(b)), m = _mm256_set1_ps(half(b + 2));
        const __m256i hb = _mm256_and_si256(bits_to_bytes(load_u32(b + 4)), _mm256_set1_epi8(16));
        W4 w;
        widen_u8(_mm256_or_si256(nibbles32(b + 8), hb), w);
        for (int k = 0; k < 4; ++k) w[k] = _mm256_fmadd_ps(d, w[k], m);
        emit(0, w);
    }
};

// Sub-block j of a Q4_K / Q5_K super-block from its 32 unsigned quant bytes.
template <class E>
inline void emit_k(int j, __m256i q, float dj, float mj, E &emit) {
    const __m256 d = _mm256_set1_ps(dj), m = _mm256_set1_ps(mj);
    W4 w;
    widen_u8(q, w);
    for (int k = 0; k < 4; ++k) w[k] = _mm256_fmsub_ps(w[k], d, m);
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
        const __m256i m4 = _mm256_set1_epi8(15);
        for (int p = 0; p < 4; ++p) {
            const __m256i v = load256(b + 16 + 32 * p);
            const int j = 2 * p;
            emit_k(j, _mm256_and_si256(v, m4), d * static_cast<float>(sc[j]),
                   dmin * static_cast<float>(mn[j]), emit);
            emit_k(j + 1, _mm256_and_si256(_mm256_srli_epi16(v, 4), m4),
                   d * static_cast<float>(sc[j + 1]), dmin * static_cast<float>(mn[j + 1]), emit);
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
        const __m256i m4 = _mm256_set1_epi8(15), b4 = _mm256_set1_epi8(16);
        const __m256i qh = load256(b + 16);
        for (int p = 0; p < 4; ++p) {
            const __m256i v = load256(b + 48 + 32 * p);
            const __m256i nib[2] = {_mm256_and_si256(v, m4),
                                    _mm256_and_si256(_mm256_srli_epi16(v, 4), m4)};
            for (int h = 0; h < 2; ++h) {
                const int j = 2 * p + h;
                const __m256i bit = _mm256_set1_epi8(static_cast<char>(1 << j));
                const __m256i hb = _mm256_and_si256(
                    _mm256_cmpeq_epi8(_mm256_and_si256(qh, bit), bit), b4);
                emit_k(j, _mm256_or_si256(nib[h], hb), d * static_cast<float>(sc[j]),
                       dmin * static_cast<float>(mn[j]), emit);
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
                const __m256 s0 = _mm256_set1_ps(d * static_cast<float>(sc[2 * c]));
                const __m256 s1 = _mm256_set1_ps(d * static_cast<float>(sc[2 * c + 1]));
                W4 w;
                widen_i8(_mm256_sub_epi8(q[k], c32), w);
                w[0] = _mm256_mul_ps(w[0], s0);
                w[1] = _mm256_mul_ps(w[1], s0);
                w[2] = _mm256_mul_ps(w[2], s1);
                w[3] = _mm256_mul_ps(w[3], s1);
                emit(c, w);
            }
        }
    }
};

template <class F, int NT>
void run_blocks(const void *row, const float *X, int64_t ldx, float *out, int64_t n) {
    __m256 acc[NT];
    for (int t = 0; t < NT; ++t) acc[t] = _mm256_setzero_ps();
    const auto *b = static_cast<const uint8_t *>(row);
    const int64_t nb = n / F::kBlock;
    for (int64_t i = 0; i < nb; ++i, b += F::kBytes) {
        const float *x = X + i * F::kBlock;
        F::block(b, [&](int c, const W4 &w) { fma_chunk<NT>(w, x + 32 * c, ldx, acc); });
    }
    for (int t = 0; t < NT; ++t) out[t] = hsum(acc[t]);
}

// ---- plain types ---------------------------------------------------------------------------

struct F32P {
    static constexpr bool kPlain = true;
    static constexpr int kTokens = kGroup;
    static inline __m256 load8(const uint8_t *p) {
        return _mm256_loadu_ps(reinterpret_cast<const float *>(p));
    }
    static inline float load1(const uint8_t *p) {
        float f;
        std::memcpy(&f, p, 4);
        return f;
    }
    static constexpr int64_t kSize = 4;
};

struct F16P {
    static constexpr bool kPlain = true;
    static constexpr int kTokens = kGroup;
    static inline __m256 load8(const uint8_t *p) { return _mm256_cvtph_ps(load128(p)); }
    static inline float load1(const uint8_t *p) { return half(p); }
    static constexpr int64_t kSize = 2;
};

struct BF16P {
    static constexpr bool kPlain = true;
    static constexpr int kTokens = kGroup;
    static inline __m256 load8(const uint8_t *p) {
        return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(load128(p)), 16));
    }
    static inline float load1(const uint8_t *p) {
        const uint32_t bits = static_cast<uint32_t>(load_u16(p)) << 16;
        float f;
        std::memcpy(&f, &bits, 4);
        return f;
    }
    static constexpr int64_t kSize = 2;
};

template <class P, int NT>
void run_plain(const void *row, const float *X, int64_t ldx, float *out, int64_t n) {
    __m256 acc[NT];
    for (int t = 0; t < NT; ++t) acc[t] = _mm256_setzero_ps();
    const auto *src = static_cast<const uint8_t *>(row);
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        const uint8_t *p = src + i * P::kSize;
        const W4 w = {P::load8(p), P::load8(p + 8 * P::kSize), P::load8(p + 16 * P::kSize),
                      P::load8(p + 24 * P::kSize)};
        fma_chunk<NT>(w, X + i, ldx, acc);
    }
    for (; i + 8 <= n; i += 8) {
        const __m256 w = P::load8(src + i * P::kSize);
        for (int t = 0; t < NT; ++t)
            acc[t] = _mm256_fmadd_ps(w, _mm256_loadu_ps(X + t * ldx + i), acc[t]);
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

Kernel avx2_kernel(uint32_t type) {
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

#else  // not compiled for AVX2: no kernels at this level

namespace lola::quant::detail {
Kernel avx2_kernel(uint32_t) { return Kernel{}; }
}  // namespace lola::quant::detail

#endif
