// dot_simd.inl: the body of the SIMD dot kernels, written once over a float vector of kWidth
// lanes and included by one small translation unit per instruction-set level (dot_avx2.cpp:
// 8 lanes, dot_avx512.cpp: 16 lanes), each compiled with its own -m flags.
//
// Before including this file, a level defines, in lola::quant::detail's anonymous namespace:
//   Vec, kWidth        the float vector and its lane count (8 or 16; 32 % kWidth == 0)
//   kGroup             the most tokens one multi() call takes (<= kMaxGroup)
//   LOLA_SIMD(op)      the intrinsic `op` at that width: _mm256_##op or _mm512_##op (used for
//                      the ops whose name differs only by that prefix: add_ps, fmadd_ps, ...)
//   vload_f16(p)       kWidth fp16 values at p as floats
//   vload_bf16(p)      kWidth bfloat16 values at p as floats
//   vfold8(v)          the 8-lane sum of v's halves (v itself at 8 lanes)
//   widen_q5(lo, hi, qh, bias, w)   the 32 values (nibble | bit i of qh << 4) - bias of a
//                      Q5_0 / Q5_1 block (nibbles lo: elements 0-15, hi: 16-31) as kVecs
//                      vectors (AVX2 spreads the bits with a byte shuffle, AVX-512 adds 16
//                      under a mask: each level's fastest way to the same integers)
// and leaves the rest of the integer work to AVX2 (which every level has). Everything here has
// internal linkage (see kernels.hpp: nothing a baseline file also instantiates).
//
// Every format is walked in chunks of 32 consecutive elements: the chunk is dequantized into
// kVecs = 32 / kWidth vectors w[0..kVecs), then for each token t
//     s = w[0]*x[0]; s = fma(w[k], x[k], s) for k = 1 .. kVecs-1; acc[t] += s
// and at the end out[t] = the fixed horizontal sum of acc[t] (fold to 8 lanes, then a tree).
// Lane l of acc[t] thus sums the elements l, l + kWidth, ... of each chunk, so the two levels
// round differently from each other, but each is deterministic. A chunk is dequantized once for
// all the tokens of a call, and every token sees the same operations whatever their number: the
// multi-token kernel is bit-identical to the single-token one. Plain rows (F32, F16, BF16) whose
// length is not a multiple of 32 end with kWidth-wide steps and a scalar tail.

#include <immintrin.h>

#include <cstring>

namespace lola::quant::detail {

namespace {

constexpr int kVecs = 32 / kWidth;  // vectors per chunk of 32 elements
static_assert(kVecs * kWidth == 32 && (kVecs == 2 || kVecs == 4));
static_assert(kGroup >= 1 && kGroup <= kMaxGroup);

using W = Vec[kVecs];

inline Vec vzero() { return LOLA_SIMD(setzero_ps)(); }
inline Vec vset1(float f) { return LOLA_SIMD(set1_ps)(f); }
inline Vec vload(const float *p) { return LOLA_SIMD(loadu_ps)(p); }
inline Vec vadd(Vec a, Vec b) { return LOLA_SIMD(add_ps)(a, b); }
inline Vec vmul(Vec a, Vec b) { return LOLA_SIMD(mul_ps)(a, b); }
inline Vec vfmadd(Vec a, Vec b, Vec c) { return LOLA_SIMD(fmadd_ps)(a, b, c); }  // a * b + c
inline Vec vfmsub(Vec a, Vec b, Vec c) { return LOLA_SIMD(fmsub_ps)(a, b, c); }  // a * b - c

// The low kWidth bytes of v as floats, signed / unsigned.
inline Vec vcvt_i8(__m128i v) { return LOLA_SIMD(cvtepi32_ps)(LOLA_SIMD(cvtepi8_epi32)(v)); }
inline Vec vcvt_u8(__m128i v) { return LOLA_SIMD(cvtepi32_ps)(LOLA_SIMD(cvtepu8_epi32)(v)); }

inline float vsum(Vec v) {
    const __m256 v8 = vfold8(v);
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v8), _mm256_extractf128_ps(v8, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 0x55));
    return _mm_cvtss_f32(s);
}

inline float half(const uint8_t *p) { return _cvtsh_ss(load_u16(p)); }

inline __m128i load128(const uint8_t *p) {
    return _mm_loadu_si128(reinterpret_cast<const __m128i *>(p));
}

inline __m256i load256(const uint8_t *p) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i *>(p));
}

// kWidth int8 values at p as floats (reads kWidth bytes, no more).
inline Vec vload_i8(const uint8_t *p) {
    if constexpr (kWidth == 8)
        return vcvt_i8(_mm_loadl_epi64(reinterpret_cast<const __m128i *>(p)));
    else
        return vcvt_i8(load128(p));
}

// 16 bytes as 16 / kWidth vectors of floats, signed / unsigned.
inline void widen16_i8(__m128i v, Vec *f) {
    f[0] = vcvt_i8(v);
    if constexpr (kWidth == 8) f[1] = vcvt_i8(_mm_unpackhi_epi64(v, v));
}

inline void widen16_u8(__m128i v, Vec *f) {
    f[0] = vcvt_u8(v);
    if constexpr (kWidth == 8) f[1] = vcvt_u8(_mm_unpackhi_epi64(v, v));
}

// 32 bytes in element order (two halves of 16, or one 256-bit vector) -> the chunk's vectors.
inline void widen_i8(__m128i lo, __m128i hi, W &w) {
    widen16_i8(lo, w);
    widen16_i8(hi, w + kVecs / 2);
}

inline void widen_u8(__m128i lo, __m128i hi, W &w) {
    widen16_u8(lo, w);
    widen16_u8(hi, w + kVecs / 2);
}

inline void widen_i8(__m256i q, W &w) {
    widen_i8(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1), w);
}

inline void widen_u8(__m256i q, W &w) {
    widen_u8(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1), w);
}

// The 16 quant bytes of a legacy block as its low nibbles (elements 0-15) and high nibbles
// (elements 16-31).
inline void nibbles(const uint8_t *qs, __m128i &lo, __m128i &hi) {
    const __m128i v = load128(qs), m4 = _mm_set1_epi8(15);
    lo = _mm_and_si128(v, m4);
    hi = _mm_and_si128(_mm_srli_epi16(v, 4), m4);
}

template <int NT>
inline void fma_chunk(const W &w, const float *x, int64_t ldx, Vec (&acc)[NT]) {
    for (int t = 0; t < NT; ++t) {
        const float *xt = x + t * ldx;
        Vec s = vmul(w[0], vload(xt));
        for (int k = 1; k < kVecs; ++k) s = vfmadd(w[k], vload(xt + k * kWidth), s);
        acc[t] = vadd(acc[t], s);
    }
}

// ---- the formats: block(b, emit) calls emit(c, w) for each chunk c of 32 elements ---------

struct Q8_0F {
    static constexpr bool kPlain = false;
    static constexpr int64_t kBlock = kQK, kBytes = sizeof(BlockQ8_0);
    template <class E>
    static inline void block(const uint8_t *b, E &&emit) {
        const Vec d = vset1(half(b));
        W w;
        for (int k = 0; k < kVecs; ++k) w[k] = vmul(d, vload_i8(b + 2 + kWidth * k));
        emit(0, w);
    }
};

struct Q4_0F {
    static constexpr bool kPlain = false;
    static constexpr int64_t kBlock = kQK, kBytes = sizeof(BlockQ4_0);
    template <class E>
    static inline void block(const uint8_t *b, E &&emit) {
        const Vec d = vset1(half(b));
        const __m128i c8 = _mm_set1_epi8(8);
        __m128i lo, hi;
        nibbles(b + 2, lo, hi);
        W w;
        widen_i8(_mm_sub_epi8(lo, c8), _mm_sub_epi8(hi, c8), w);
        for (int k = 0; k < kVecs; ++k) w[k] = vmul(d, w[k]);
        emit(0, w);
    }
};

struct Q4_1F {
    static constexpr bool kPlain = false;
    static constexpr int64_t kBlock = kQK, kBytes = sizeof(BlockQ4_1);
    template <class E>
    static inline void block(const uint8_t *b, E &&emit) {
        const Vec d = vset1(half(b)), m = vset1(half(b + 2));
        __m128i lo, hi;
        nibbles(b + 4, lo, hi);
        W w;
        widen_u8(lo, hi, w);
        for (int k = 0; k < kVecs; ++k) w[k] = vfmadd(d, w[k], m);
        emit(0, w);
    }
};

struct Q5_0F {
    static constexpr bool kPlain = false;
    static constexpr int64_t kBlock = kQK, kBytes = sizeof(BlockQ5_0);
    template <class E>
    static inline void block(const uint8_t *b, E &&emit) {
        const Vec d = vset1(half(b));
        __m128i lo, hi;
        nibbles(b + 6, lo, hi);
        W w;
        widen_q5(lo, hi, load_u32(b + 2), 16, w);
        for (int k = 0; k < kVecs; ++k) w[k] = vmul(d, w[k]);
        emit(0, w);
    }
};

struct Q5_1F {
    static constexpr bool kPlain = false;
    static constexpr int64_t kBlock = kQK, kBytes = sizeof(BlockQ5_1);
    template <class E>
    static inline void block(const uint8_t *b, E &&emit) {
        const Vec d = vset1(half(b)), m = vset1(half(b + 2));
        __m128i lo, hi;
        nibbles(b + 8, lo, hi);
        W w;
        widen_q5(lo, hi, load_u32(b + 4), 0, w);
        for (int k = 0; k < kVecs; ++k) w[k] = vfmadd(d, w[k], m);
        emit(0, w);
    }
};

// Sub-block j of a Q4_K / Q5_K super-block from its 32 unsigned quant bytes.
template <class E>
inline void emit_k(int j, __m256i q, float dj, float mj, E &emit) {
    const Vec d = vset1(dj), m = vset1(mj);
    W w;
    widen_u8(q, w);
    for (int k = 0; k < kVecs; ++k) w[k] = vfmsub(w[k], d, m);
    emit(j, w);
}

struct Q4_KF {
    static constexpr bool kPlain = false;
    static constexpr int64_t kBlock = kQK_K, kBytes = sizeof(BlockQ4_K);
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
    static constexpr int64_t kBlock = kQK_K, kBytes = sizeof(BlockQ5_K);
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
    static constexpr int64_t kBlock = kQK_K, kBytes = sizeof(BlockQ6_K);
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
                const int c = 4 * h + k;  // elements 0-15 scale by sc[2c], 16-31 by sc[2c + 1]
                const Vec s0 = vset1(d * static_cast<float>(sc[2 * c]));
                const Vec s1 = vset1(d * static_cast<float>(sc[2 * c + 1]));
                W w;
                widen_i8(_mm256_sub_epi8(q[k], c32), w);
                for (int v = 0; v < kVecs; ++v) w[v] = vmul(w[v], v < kVecs / 2 ? s0 : s1);
                emit(c, w);
            }
        }
    }
};

template <class F, int NT>
void run_blocks(const void *row, const float *X, int64_t ldx, float *out, int64_t n) {
    Vec acc[NT];
    for (int t = 0; t < NT; ++t) acc[t] = vzero();
    const auto *b = static_cast<const uint8_t *>(row);
    const int64_t nb = n / F::kBlock;
    for (int64_t i = 0; i < nb; ++i, b += F::kBytes) {
        const float *x = X + i * F::kBlock;
        F::block(b, [&](int c, const W &w) { fma_chunk<NT>(w, x + 32 * c, ldx, acc); });
    }
    for (int t = 0; t < NT; ++t) out[t] = vsum(acc[t]);
}

// ---- plain types ---------------------------------------------------------------------------

struct F32P {
    static constexpr bool kPlain = true;
    static constexpr int64_t kSize = 4;
    static inline Vec load(const uint8_t *p) { return vload(reinterpret_cast<const float *>(p)); }
    static inline float load1(const uint8_t *p) {
        float f;
        std::memcpy(&f, p, 4);
        return f;
    }
};

struct F16P {
    static constexpr bool kPlain = true;
    static constexpr int64_t kSize = 2;
    static inline Vec load(const uint8_t *p) { return vload_f16(p); }
    static inline float load1(const uint8_t *p) { return half(p); }
};

struct BF16P {
    static constexpr bool kPlain = true;
    static constexpr int64_t kSize = 2;
    static inline Vec load(const uint8_t *p) { return vload_bf16(p); }
    static inline float load1(const uint8_t *p) {
        const uint32_t bits = static_cast<uint32_t>(load_u16(p)) << 16;
        float f;
        std::memcpy(&f, &bits, 4);
        return f;
    }
};

template <class P, int NT>
void run_plain(const void *row, const float *X, int64_t ldx, float *out, int64_t n) {
    Vec acc[NT];
    for (int t = 0; t < NT; ++t) acc[t] = vzero();
    const auto *src = static_cast<const uint8_t *>(row);
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        const uint8_t *p = src + i * P::kSize;
        W w;
        for (int k = 0; k < kVecs; ++k) w[k] = P::load(p + k * kWidth * P::kSize);
        fma_chunk<NT>(w, X + i, ldx, acc);
    }
    for (; i + kWidth <= n; i += kWidth) {
        const Vec w = P::load(src + i * P::kSize);
        for (int t = 0; t < NT; ++t) acc[t] = vfmadd(w, vload(X + t * ldx + i), acc[t]);
    }
    float tail[NT] = {};
    for (; i < n; ++i) {
        const float w = P::load1(src + i * P::kSize);
        for (int t = 0; t < NT; ++t) tail[t] += w * X[t * ldx + i];
    }
    for (int t = 0; t < NT; ++t) out[t] = vsum(acc[t]) + tail[t];
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
    // Dispatches nt (1 <= nt <= kGroup) to go<nt>.
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
        multi_n<kGroup>(row, X, ldx, nt, out, n);
    }
    static Kernel kernel() { return Kernel{dot, multi, kGroup}; }
};

// This level's kernels for a type; Kernel{} where it has none.
Kernel level_kernel(uint32_t type) {
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

}  // namespace

}  // namespace lola::quant::detail

#undef LOLA_SIMD
