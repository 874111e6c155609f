// simd_body.inl: the attention kernels of one SIMD level (see kernels.hpp), included by
// simd_avx2.cpp and simd_avx512.cpp only, each compiled with its level's flags. Everything here
// is internal (an anonymous namespace) and uses intrinsics and raw pointers only, so no inline
// function with external linkage is emitted from this file with wider instructions.
//
// Bit-identity with the reference, piece by piece:
//   scores      the 8-lane dot: lane l of one 8-float vector accumulates elements l, l+8, ...
//               with a multiply then an add (no FMA), a tail of k % 8 elements loaded masked
//               (the masked lanes add +0 * +0 to a lane that is never -0, so they keep their
//               bits), then math.hpp's tree ((a0+a4)+(a1+a5))+((a2+a6)+(a3+a7)) for four keys
//               at once with one cross-half add and two horizontal adds; then alpha * dot.
//               Two rows by four keys at a time, so each key vector loaded serves two rows.
//   accumulate  each C element adds P[i][j] * B[j][e] for j in order, as a chain of axpy does;
//               rows and columns are only done several at a time.
//   exp_shift   fexp's steps on doubles: clamp, n = floor(x log2e + 1/2) (what fexp's
//               truncate-and-correct computes), the two-part reduction, the same Horner
//               polynomial, 2^n from its bits, one rounding to float; NaN in, NaN out.
//   swiglu      g / (1 + fexp(-g)) * u with IEEE division, as cpu/ops.cpp writes it.
//   row_max     max is exact in any order; NaNs are skipped as std::max(m, s) skips them (the
//               vector max returns its second operand, the running maximum, when the first is
//               NaN or equal). A zero maximum is returned as the first zero in order, the
//               sequential fold's, so even its sign is the reference's.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace lola::simd::detail::body {

namespace {

// ---- e^x ---------------------------------------------------------------------------------------

constexpr double kLog2e = 1.4426950408889634;
constexpr double kLn2Hi = 6.93147180369123816490e-01;
constexpr double kLn2Lo = 1.90821492927058770002e-10;
constexpr double kTwo52 = 4503599627370496.0;
// fexp's Taylor coefficients, highest first (the same constant expressions).
constexpr double kPoly[12] = {1.0 / 39916800.0, 1.0 / 3628800.0, 1.0 / 362880.0, 1.0 / 40320.0,
                              1.0 / 5040.0,     1.0 / 720.0,     1.0 / 120.0,    1.0 / 24.0,
                              1.0 / 6.0,        0.5,             1.0,            1.0};

#if defined(__AVX512F__)
using VD = __m512d;
using VF = __m512;  // e^x and accumulations: 16 floats
constexpr int kWide = 16;
#define LOLA_PD(op) _mm512_##op##_pd
#define LOLA_PS(op) _mm512_##op##_ps
inline VD floor_pd(VD t) { return _mm512_roundscale_pd(t, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC); }
inline VD pow2_of(VD n) {  // 2^n for integral n in [-160, 146]
    const VD magic = _mm512_set1_pd(kTwo52);
    const __m512i biased = _mm512_sub_epi64(
        _mm512_castpd_si512(_mm512_add_pd(_mm512_add_pd(n, _mm512_set1_pd(1023.0)), magic)),
        _mm512_castpd_si512(magic));
    return _mm512_castsi512_pd(_mm512_slli_epi64(biased, 52));
}
#else
using VD = __m256d;
using VF = __m256;  // 8 floats
constexpr int kWide = 8;
#define LOLA_PD(op) _mm256_##op##_pd
#define LOLA_PS(op) _mm256_##op##_ps
inline VD floor_pd(VD t) { return _mm256_floor_pd(t); }
inline VD pow2_of(VD n) {
    const VD magic = _mm256_set1_pd(kTwo52);
    const __m256i biased = _mm256_sub_epi64(
        _mm256_castpd_si256(_mm256_add_pd(_mm256_add_pd(n, _mm256_set1_pd(1023.0)), magic)),
        _mm256_castpd_si256(magic));
    return _mm256_castsi256_pd(_mm256_slli_epi64(biased, 52));
}
#endif

// fexp on the lanes of x (a NaN lane gives garbage; exp_wide puts the NaN back).
inline VD exp_pd(VD x) {
    x = LOLA_PD(min)(x, LOLA_PD(set1)(100.0));
    x = LOLA_PD(max)(x, LOLA_PD(set1)(-110.0));
    const VD t = LOLA_PD(add)(LOLA_PD(mul)(x, LOLA_PD(set1)(kLog2e)), LOLA_PD(set1)(0.5));
    const VD n = floor_pd(t);
    VD r = LOLA_PD(sub)(x, LOLA_PD(mul)(n, LOLA_PD(set1)(kLn2Hi)));
    r = LOLA_PD(sub)(r, LOLA_PD(mul)(n, LOLA_PD(set1)(kLn2Lo)));
    VD p = LOLA_PD(set1)(kPoly[0]);
    for (int i = 1; i < 12; ++i) p = LOLA_PD(add)(LOLA_PD(mul)(p, r), LOLA_PD(set1)(kPoly[i]));
    return LOLA_PD(mul)(p, pow2_of(n));
}

// fexp of every float lane.
inline VF exp_wide(VF x) {
#if defined(__AVX512F__)
    const VD lo = exp_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(x)));
    const VD hi = exp_pd(_mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x), 1))));
    const VF r = _mm512_castpd_ps(_mm512_insertf64x4(
        _mm512_castps_pd(_mm512_castps256_ps512(_mm512_cvtpd_ps(lo))),
        _mm256_castps_pd(_mm512_cvtpd_ps(hi)), 1));
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), r, x);
#else
    const VD lo = exp_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(x)));
    const VD hi = exp_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(x, 1)));
    const VF r = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm256_cvtpd_ps(lo)), _mm256_cvtpd_ps(hi), 1);
    return _mm256_blendv_ps(r, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
#endif
}

void exp_shift(float *row, int n, float m) {
    const VF vm = LOLA_PS(set1)(m);
    int c = 0;
    for (; c + kWide <= n; c += kWide)
        LOLA_PS(storeu)(row + c, exp_wide(LOLA_PS(sub)(LOLA_PS(loadu)(row + c), vm)));
    if (c < n) {  // the tail through a padded copy
        float buf[kWide] = {};
        const size_t bytes = static_cast<size_t>(n - c) * sizeof(float);
        std::memcpy(buf, row + c, bytes);
        LOLA_PS(storeu)(buf, exp_wide(LOLA_PS(sub)(LOLA_PS(loadu)(buf), vm)));
        std::memcpy(row + c, buf, bytes);
    }
}

// -x, exactly (the sign bit flipped).
inline VF negate(VF x) {
#if defined(__AVX512F__)
    return _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(x), _mm512_set1_epi32(INT32_MIN)));
#else
    return _mm256_xor_ps(x, _mm256_set1_ps(-0.0f));
#endif
}

void swiglu(float *gate, const float *up, size_t n) {
    const VF one = LOLA_PS(set1)(1.0f);
    size_t i = 0;
    for (; i + kWide <= n; i += kWide) {
        const VF g = LOLA_PS(loadu)(gate + i);
        const VF e = exp_wide(negate(g));
        LOLA_PS(storeu)(gate + i, LOLA_PS(mul)(LOLA_PS(div)(g, LOLA_PS(add)(one, e)), LOLA_PS(loadu)(up + i)));
    }
    if (i < n) {  // the tail through padded copies
        float g[kWide] = {}, u[kWide] = {};
        const size_t bytes = (n - i) * sizeof(float);
        std::memcpy(g, gate + i, bytes);
        std::memcpy(u, up + i, bytes);
        const VF gv = LOLA_PS(loadu)(g);
        const VF e = exp_wide(negate(gv));
        LOLA_PS(storeu)(g, LOLA_PS(mul)(LOLA_PS(div)(gv, LOLA_PS(add)(one, e)), LOLA_PS(loadu)(u)));
        std::memcpy(gate + i, g, bytes);
    }
}

// ---- the running maximum -------------------------------------------------------------------

float row_max(const float *row, int n) {
    VF acc = LOLA_PS(set1)(-__builtin_inff());
    int c = 0;
    for (; c + kWide <= n; c += kWide) acc = LOLA_PS(max)(LOLA_PS(loadu)(row + c), acc);
    float lanes[kWide];
    LOLA_PS(storeu)(lanes, acc);
    float m = -__builtin_inff();
    for (int l = 0; l < kWide; ++l) m = m < lanes[l] ? lanes[l] : m;
    for (; c < n; ++c) m = m < row[c] ? row[c] : m;
    if (m == 0) {  // +0 or -0: the sequential fold's is the first zero in order
        for (int i = 0; i < n; ++i)
            if (row[i] == 0) return row[i];
    }
    return m;
}

// ---- scores: 8-lane dots, four keys at a time ----------------------------------------------

// Lanes 0..n-1 of p (1 <= n <= 7), zeros elsewhere; nothing past p + n is read.
inline __m256 load_first(const float *p, __m256i mask) { return _mm256_maskload_ps(p, mask); }

// (r(a0), r(a1), r(a2), r(a3)) with r(x) = ((x0+x4)+(x1+x5))+((x2+x6)+(x3+x7)).
inline __m128 reduce4(__m256 a0, __m256 a1, __m256 a2, __m256 a3) {
    // s01 = (a0_l + a0_{l+4}, l < 4 ; a1_l + a1_{l+4}), s23 likewise
    const __m256 s01 = _mm256_add_ps(_mm256_permute2f128_ps(a0, a1, 0x20), _mm256_permute2f128_ps(a0, a1, 0x31));
    const __m256 s23 = _mm256_add_ps(_mm256_permute2f128_ps(a2, a3, 0x20), _mm256_permute2f128_ps(a2, a3, 0x31));
    // h = (a0A, a0B, a2A, a2B, a1A, a1B, a3A, a3B), xA = (x0+x4)+(x1+x5), xB = (x2+x6)+(x3+x7)
    const __m256 h = _mm256_hadd_ps(s01, s23);
    // g = (a0, a2, a0, a2, a1, a3, a1, a3)
    const __m256 g = _mm256_hadd_ps(h, h);
    return _mm_unpacklo_ps(_mm256_castps256_ps128(g), _mm256_extractf128_ps(g, 1));
}

// The first nj of four scores.
inline void store_scores(__m128 r, int nj, float *c) {
    if (nj == 4) {
        _mm_storeu_ps(c, r);
        return;
    }
    float out[4];
    _mm_storeu_ps(out, r);
    for (int q = 0; q < nj; ++q) c[q] = out[q];
}

// Rows a0 and a1 against the four keys b0..b3; the scores into c0 and c1 (nj of them). Each B
// vector load serves both rows.
inline void scores_2x4(const float *a0, const float *a1, const float *b0, const float *b1, const float *b2,
                       const float *b3, int kfull, int krem, __m256i mask, __m128 va, int nj, float *c0,
                       float *c1) {
    __m256 p0 = _mm256_setzero_ps(), p1 = p0, p2 = p0, p3 = p0;  // row a0
    __m256 q0 = p0, q1 = p0, q2 = p0, q3 = p0;                   // row a1
    for (int kk = 0; kk < kfull; kk += 8) {
        const __m256 x0 = _mm256_loadu_ps(a0 + kk), x1 = _mm256_loadu_ps(a1 + kk);
        __m256 b = _mm256_loadu_ps(b0 + kk);
        p0 = _mm256_add_ps(p0, _mm256_mul_ps(x0, b));
        q0 = _mm256_add_ps(q0, _mm256_mul_ps(x1, b));
        b = _mm256_loadu_ps(b1 + kk);
        p1 = _mm256_add_ps(p1, _mm256_mul_ps(x0, b));
        q1 = _mm256_add_ps(q1, _mm256_mul_ps(x1, b));
        b = _mm256_loadu_ps(b2 + kk);
        p2 = _mm256_add_ps(p2, _mm256_mul_ps(x0, b));
        q2 = _mm256_add_ps(q2, _mm256_mul_ps(x1, b));
        b = _mm256_loadu_ps(b3 + kk);
        p3 = _mm256_add_ps(p3, _mm256_mul_ps(x0, b));
        q3 = _mm256_add_ps(q3, _mm256_mul_ps(x1, b));
    }
    if (krem) {
        const __m256 x0 = load_first(a0 + kfull, mask), x1 = load_first(a1 + kfull, mask);
        __m256 b = load_first(b0 + kfull, mask);
        p0 = _mm256_add_ps(p0, _mm256_mul_ps(x0, b));
        q0 = _mm256_add_ps(q0, _mm256_mul_ps(x1, b));
        b = load_first(b1 + kfull, mask);
        p1 = _mm256_add_ps(p1, _mm256_mul_ps(x0, b));
        q1 = _mm256_add_ps(q1, _mm256_mul_ps(x1, b));
        b = load_first(b2 + kfull, mask);
        p2 = _mm256_add_ps(p2, _mm256_mul_ps(x0, b));
        q2 = _mm256_add_ps(q2, _mm256_mul_ps(x1, b));
        b = load_first(b3 + kfull, mask);
        p3 = _mm256_add_ps(p3, _mm256_mul_ps(x0, b));
        q3 = _mm256_add_ps(q3, _mm256_mul_ps(x1, b));
    }
    store_scores(_mm_mul_ps(va, reduce4(p0, p1, p2, p3)), nj, c0);
    store_scores(_mm_mul_ps(va, reduce4(q0, q1, q2, q3)), nj, c1);
}

void scores(int m, int n, int k, float alpha, const float *A, size_t lda, const float *B,
            size_t ldb, float *C, size_t ldc) {
    const int kfull = k & ~7, krem = k - kfull;
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(krem), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    const __m128 va = _mm_set1_ps(alpha);
    for (int j0 = 0; j0 < n; j0 += 4) {
        const int nj = n - j0 < 4 ? n - j0 : 4;
        // Missing keys of the last block repeat the first; their scores are not stored.
        const float *b0 = B + static_cast<size_t>(j0) * ldb;
        const float *b1 = nj > 1 ? b0 + ldb : b0;
        const float *b2 = nj > 2 ? b0 + 2 * ldb : b0;
        const float *b3 = nj > 3 ? b0 + 3 * ldb : b0;
        int i = 0;
        for (; i + 2 <= m; i += 2) {  // two rows at a time
            const float *a0 = A + static_cast<size_t>(i) * lda;
            float *c0 = C + static_cast<size_t>(i) * ldc + j0;
            scores_2x4(a0, a0 + lda, b0, b1, b2, b3, kfull, krem, mask, va, nj, c0, c0 + ldc);
        }
        if (i < m) {  // an odd last row alone
            const float *a = A + static_cast<size_t>(i) * lda;
            __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
            for (int kk = 0; kk < kfull; kk += 8) {
                const __m256 av = _mm256_loadu_ps(a + kk);
                acc0 = _mm256_add_ps(acc0, _mm256_mul_ps(av, _mm256_loadu_ps(b0 + kk)));
                acc1 = _mm256_add_ps(acc1, _mm256_mul_ps(av, _mm256_loadu_ps(b1 + kk)));
                acc2 = _mm256_add_ps(acc2, _mm256_mul_ps(av, _mm256_loadu_ps(b2 + kk)));
                acc3 = _mm256_add_ps(acc3, _mm256_mul_ps(av, _mm256_loadu_ps(b3 + kk)));
            }
            if (krem) {
                const __m256 av = load_first(a + kfull, mask);
                acc0 = _mm256_add_ps(acc0, _mm256_mul_ps(av, load_first(b0 + kfull, mask)));
                acc1 = _mm256_add_ps(acc1, _mm256_mul_ps(av, load_first(b1 + kfull, mask)));
                acc2 = _mm256_add_ps(acc2, _mm256_mul_ps(av, load_first(b2 + kfull, mask)));
                acc3 = _mm256_add_ps(acc3, _mm256_mul_ps(av, load_first(b3 + kfull, mask)));
            }
            store_scores(_mm_mul_ps(va, reduce4(acc0, acc1, acc2, acc3)), nj, C + static_cast<size_t>(i) * ldc + j0);
        }
    }
}

// ---- accumulate: C[i] += sum_j P[i][j] B[j] --------------------------------------------------

#if defined(__AVX512F__)
constexpr int kRows = 4;  // rows per pass: 4 x 4 accumulators of the 32 registers
#else
constexpr int kRows = 3;  // 3 x 4 accumulators, the p broadcasts and one B vector: 16 registers
#endif

// Rows [0, MR) of C, columns [0, NV * kWide), over every j.
template <int MR, int NV>
inline void acc_tile(int n, const float *P, size_t ldp, const float *B, size_t ldb, float *C, size_t ldc) {
    VF c[MR][NV];
    for (int r = 0; r < MR; ++r)
        for (int v = 0; v < NV; ++v) c[r][v] = LOLA_PS(loadu)(C + r * ldc + v * kWide);
    for (int j = 0; j < n; ++j) {
        const float *b = B + static_cast<size_t>(j) * ldb;
        VF p[MR];
        for (int r = 0; r < MR; ++r) p[r] = LOLA_PS(set1)(P[r * ldp + j]);
        for (int v = 0; v < NV; ++v) {
            const VF bv = LOLA_PS(loadu)(b + v * kWide);
            for (int r = 0; r < MR; ++r) c[r][v] = LOLA_PS(add)(c[r][v], LOLA_PS(mul)(p[r], bv));
        }
    }
    for (int r = 0; r < MR; ++r)
        for (int v = 0; v < NV; ++v) LOLA_PS(storeu)(C + r * ldc + v * kWide, c[r][v]);
}

template <int MR>
inline void acc_rows(int n, int k, const float *P, size_t ldp, const float *B, size_t ldb, float *C, size_t ldc) {
    int e = 0;
    for (; e + 4 * kWide <= k; e += 4 * kWide) acc_tile<MR, 4>(n, P, ldp, B + e, ldb, C + e, ldc);
    for (; e + kWide <= k; e += kWide) acc_tile<MR, 1>(n, P, ldp, B + e, ldb, C + e, ldc);
    if (e == k) return;
    // The last k % kWide columns, element by element (each still adds in j order).
    for (int r = 0; r < MR; ++r)
        for (int j = 0; j < n; ++j) {
            const float pj = P[r * ldp + j];
            const float *b = B + static_cast<size_t>(j) * ldb;
            for (int ee = e; ee < k; ++ee) C[r * ldc + ee] += pj * b[ee];
        }
}

// Rows of B per block: a block (at d = 64, 32 KiB) stays in L1/L2 while every row group of P
// passes over it, instead of all of B streaming by once per group. Each C element still adds
// its terms in increasing j (block after block; the partial sums wait in C between blocks).
constexpr int kKeyBlock = 128;

void accumulate(int m, int n, int k, const float *P, size_t ldp, const float *B, size_t ldb,
                float *C, size_t ldc) {
    for (int j0 = 0; j0 < n; j0 += kKeyBlock) {
        const int nj = n - j0 < kKeyBlock ? n - j0 : kKeyBlock;
        const float *Bj = B + static_cast<size_t>(j0) * ldb;
        for (int i = 0; i < m; i += kRows) {
            const float *Pi = P + static_cast<size_t>(i) * ldp + j0;
            float *Ci = C + static_cast<size_t>(i) * ldc;
            switch (m - i < kRows ? m - i : kRows) {
            case 1: acc_rows<1>(nj, k, Pi, ldp, Bj, ldb, Ci, ldc); break;
            case 2: acc_rows<2>(nj, k, Pi, ldp, Bj, ldb, Ci, ldc); break;
            case 3: acc_rows<3>(nj, k, Pi, ldp, Bj, ldb, Ci, ldc); break;
#if defined(__AVX512F__)
            case 4: acc_rows<4>(nj, k, Pi, ldp, Bj, ldb, Ci, ldc); break;
#endif
            default: break;
            }
        }
    }
}

#undef LOLA_PD
#undef LOLA_PS

Kernels table() { return Kernels{&scores, &accumulate, &row_max, &exp_shift, &swiglu}; }

}  // namespace

}  // namespace lola::simd::detail::body
