// math.hpp: the few dense primitives of the layer, with a fixed accumulation order.
//
// Every sum is accumulated in 8 independent lanes (element i goes to lane i % 8) and the lanes
// are reduced by one fixed tree. The compiler vectorises the lane loop without reassociating
// anything, and the batched routines (gemm_nt) compute each element with exactly the same
// operations as dot(): that is what makes the chunked prefill bit-identical to the token step.
// The core is compiled with -ffp-contract=off so that no FMA contraction differs between call
// sites.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "base/fexp.hpp"

// reduce_lanes and dot are also the GPU kernels' (core/cuda/): host and device under nvcc.
#if defined(__CUDACC__)
#define LOLA_MATH_HD __host__ __device__
#else
#define LOLA_MATH_HD
#endif

namespace lola {

constexpr int kLanes = 8;

// e^x of the layer: fexp on the float path, so that every backend (CPU and GPU) computes the
// same bits; the double reference keeps libm's.
inline float exp_of(float x) { return fexp(x); }
inline double exp_of(double x) { return std::exp(x); }

template <class T>
LOLA_MATH_HD inline T reduce_lanes(const T *acc) {
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

// sum_i a[i] * b[i]
template <class T>
LOLA_MATH_HD inline T dot(const T *a, const T *b, int n) {
    T acc[kLanes] = {};
    int i = 0;
    for (; i + kLanes <= n; i += kLanes)
        for (int l = 0; l < kLanes; ++l) acc[l] += a[i + l] * b[i + l];
    // The tail: fewer than kLanes elements, element i + l into lane l (the bound l < kLanes
    // is implied; spelled out, it lets the compiler see it too).
    for (int l = 0; l < n - i && l < kLanes; ++l) acc[l] += a[i + l] * b[i + l];
    return reduce_lanes(acc);
}

// y[i] += alpha * x[i]
template <class T>
inline void axpy(T alpha, const T *x, T *y, int n) {
    for (int i = 0; i < n; ++i) y[i] += alpha * x[i];
}

// C[i][j] = alpha * dot(A[i], B[j]) for i < m, j < n; A is m x k (row stride lda), B is n x k
// (row stride ldb), C row stride ldc. Blocks of 16 rows of B stay in L1 while every row of A
// passes over them. (Micro-kernels that share each B load between 2 or 4 rows of A ran 2x
// slower on baseline x86-64 with GCC 12: their lane arrays are not vectorised.)
template <class T>
inline void gemm_nt(int m, int n, int k, T alpha, const T *A, size_t lda, const T *B, size_t ldb,
                    T *C, size_t ldc) {
    constexpr int kBlock = 16;
    for (int j0 = 0; j0 < n; j0 += kBlock) {
        const int j1 = std::min(n, j0 + kBlock);
        for (int i = 0; i < m; ++i)
            for (int j = j0; j < j1; ++j) C[i * ldc + j] = alpha * dot(A + i * lda, B + j * ldb, k);
    }
}

// C[i] += sum_j P[i][j] * B[j] for i < m (rows of length k), j taken in increasing order, so
// each C[i] is bit-identical to a sequence of axpy(P[i][j], B[j], C[i]) calls. P is m x n
// (row stride ldp), B is n x k (row stride ldb), C row stride ldc.
template <class T>
inline void gemm_nn_acc(int m, int n, int k, const T *P, size_t ldp, const T *B, size_t ldb,
                        T *C, size_t ldc) {
    int i = 0;
    for (; i + 4 <= m; i += 4) {
        T *__restrict c0 = C + i * ldc;
        T *__restrict c1 = c0 + ldc;
        T *__restrict c2 = c1 + ldc;
        T *__restrict c3 = c2 + ldc;
        const T *p = P + i * ldp;
        for (int j = 0; j < n; ++j) {
            const T *__restrict b = B + j * ldb;
            const T p0 = p[j], p1 = p[ldp + j], p2 = p[2 * ldp + j], p3 = p[3 * ldp + j];
            for (int e = 0; e < k; ++e) {
                const T be = b[e];
                c0[e] += p0 * be;
                c1[e] += p1 * be;
                c2[e] += p2 * be;
                c3[e] += p3 * be;
            }
        }
    }
    for (; i < m; ++i)
        for (int j = 0; j < n; ++j) axpy(P[i * ldp + j], B + j * ldb, C + i * ldc, k);
}

}  // namespace lola
