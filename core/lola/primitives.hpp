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

// row[c] = e^(row[c] - m) for c < n; returns their sum, added in order.
template <class T>
inline T exp_shift(const HeadParams<T> &p, T *row, int n, T m) {
    if constexpr (std::is_same_v<T, float>)
        if (p.kernels) return p.kernels->exp_shift(row, n, m);
    T z = 0;
    for (int c = 0; c < n; ++c) {
        row[c] = exp_of(row[c] - m);
        z += row[c];
    }
    return z;
}

}  // namespace lola
