// primitives.hpp: math.hpp's primitives as the chunked prefill calls them: through the head's
// SIMD kernels (lola/simd/kernels.hpp) when it has them (float only), else the reference loops.
// Either way every element gets the same bits.
#pragma once

#include <algorithm>
#include <limits>
#include <type_traits>

#include "lola/head_state.hpp"
#include "lola/math.hpp"
#include "lola/simd/kernels.hpp"

namespace lola {

template <class T>
inline void scores_nt(const HeadParams<T> &p, int m, int n, int k, T alpha, const T *A, size_t lda,
                      const T *B, size_t ldb, T *C, size_t ldc) {
    if constexpr (std::is_same_v<T, float>)
        if (p.kernels) return p.kernels->scores(m, n, k, alpha, A, lda, B, ldb, C, ldc);
    gemm_nt(m, n, k, alpha, A, lda, B, ldb, C, ldc);
}

template <class T>
inline void accumulate_nn(const HeadParams<T> &p, int m, int n, int k, const T *P, size_t ldp,
                          const T *B, size_t ldb, T *C, size_t ldc) {
    if constexpr (std::is_same_v<T, float>)
        if (p.kernels) return p.kernels->accumulate(m, n, k, P, ldp, B, ldb, C, ldc);
    gemm_nn_acc(m, n, k, P, ldp, B, ldb, C, ldc);
}

// The std::max fold of row[0..n) from -infinity.
template <class T>
inline T max_of(const HeadParams<T> &p, const T *row, int n) {
    if constexpr (std::is_same_v<T, float>)
        if (p.kernels) return p.kernels->row_max(row, n);
    T m = -std::numeric_limits<T>::infinity();
    for (int c = 0; c < n; ++c) m = std::max(m, row[c]);
    return m;
}

// row[c] = e^(row[c] - m) for c < n.
template <class T>
inline void exp_shift(const HeadParams<T> &p, T *row, int n, T m) {
    if constexpr (std::is_same_v<T, float>)
        if (p.kernels) return p.kernels->exp_shift(row, n, m);
    for (int c = 0; c < n; ++c) row[c] = exp_of(row[c] - m);
}

// z[r] = the first len0 + r * step values of row r (rows ld apart) added in order from 0, for
// r < nrows: Z' exactly as the token step sums it. Up to 8 rows' chains run interleaved, so
// the adds overlap instead of waiting on each other.
template <class T>
inline void sums_in_order(const T *rows, size_t ld, int nrows, int len0, int step, T *z) {
    constexpr int kGroup = 8;
    for (int r0 = 0; r0 < nrows; r0 += kGroup) {
        const int nr = std::min(kGroup, nrows - r0);
        T acc[kGroup] = {};
        const int common = len0 + r0 * step;  // the group's shortest row (step >= 0)
        const T *base = rows + static_cast<size_t>(r0) * ld;
        for (int c = 0; c < common; ++c)
            for (int r = 0; r < nr; ++r) acc[r] += base[static_cast<size_t>(r) * ld + static_cast<size_t>(c)];
        for (int r = 0; r < nr; ++r) {
            const int len = len0 + (r0 + r) * step;
            for (int c = common; c < len; ++c) acc[r] += base[static_cast<size_t>(r) * ld + static_cast<size_t>(c)];
            z[r0 + r] = acc[r];
        }
    }
}

}  // namespace lola
