// math.hpp: the few dense primitives of the layer, with a fixed accumulation order.
//
// Every sum is accumulated in 8 independent lanes (element i goes to lane i % 8) and the lanes
// are reduced by one fixed tree. The compiler vectorises the lane loop without reassociating
// anything, and the batched routines (gemm_nt) compute each element with exactly the same
// operations as dot(): that is what makes the chunked prefill bit-identical to the token step.
// The core is compiled with -ffp-contract=off so that no FMA contraction differs between call
// sites.
#pragma once

#include <cstddef>

namespace lola {

constexpr int kLanes = 8;

template <class T>
inline T reduce_lanes(const T *acc) {
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

// sum_i a[i] * b[i]
template <class T>
inline T dot(const T *a, const T *b, int n) {
    T acc[kLanes] = {};
    int i = 0;
    for (; i + kLanes <= n; i += kLanes)
        for (int l = 0; l < kLanes; ++l) acc[l] += a[i + l] * b[i + l];
    for (int l = 0; i < n; ++i, ++l) acc[l] += a[i] * b[i];
    return reduce_lanes(acc);
}

// Four dot products of a0..a3 with one b, each bit-identical to dot(ai, b, n).
template <class T>
inline void dot4(const T *a0, const T *a1, const T *a2, const T *a3, const T *b, int n,
                 T *out0, T *out1, T *out2, T *out3) {
    T c0[kLanes] = {}, c1[kLanes] = {}, c2[kLanes] = {}, c3[kLanes] = {};
    int i = 0;
    for (; i + kLanes <= n; i += kLanes)
        for (int l = 0; l < kLanes; ++l) {
            const T bl = b[i + l];
            c0[l] += a0[i + l] * bl;
            c1[l] += a1[i + l] * bl;
            c2[l] += a2[i + l] * bl;
            c3[l] += a3[i + l] * bl;
        }
    for (int l = 0; i < n; ++i, ++l) {
        c0[l] += a0[i] * b[i];
        c1[l] += a1[i] * b[i];
        c2[l] += a2[i] * b[i];
        c3[l] += a3[i] * b[i];
    }
    *out0 = reduce_lanes(c0);
    *out1 = reduce_lanes(c1);
    *out2 = reduce_lanes(c2);
    *out3 = reduce_lanes(c3);
}

// y[i] += alpha * x[i]
template <class T>
inline void axpy(T alpha, const T *x, T *y, int n) {
    for (int i = 0; i < n; ++i) y[i] += alpha * x[i];
}

// C[i][j] = alpha * dot(A[i], B[j]) for i < m, j < n; A is m x k (row stride lda), B is n x k
// (row stride ldb), C row stride ldc. Four rows of A share each row of B while it is in cache.
template <class T>
inline void gemm_nt(int m, int n, int k, T alpha, const T *A, size_t lda, const T *B, size_t ldb,
                    T *C, size_t ldc) {
    int i = 0;
    for (; i + 4 <= m; i += 4) {
        const T *a0 = A + i * lda, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
        for (int j = 0; j < n; ++j) {
            T r0, r1, r2, r3;
            dot4(a0, a1, a2, a3, B + j * ldb, k, &r0, &r1, &r2, &r3);
            C[i * ldc + j] = alpha * r0;
            C[(i + 1) * ldc + j] = alpha * r1;
            C[(i + 2) * ldc + j] = alpha * r2;
            C[(i + 3) * ldc + j] = alpha * r3;
        }
    }
    for (; i < m; ++i)
        for (int j = 0; j < n; ++j) C[i * ldc + j] = alpha * dot(A + i * lda, B + j * ldb, k);
}

// C[i] += sum_j P[i][j] * B[j] for i < m (rows of length k), j taken in increasing order, so
// each C[i] is bit-identical to a sequence of axpy(P[i][j], B[j], C[i]) calls. P is m x n
// (row stride ldp), B is n x k (row stride ldb), C row stride ldc.
template <class T>
inline void gemm_nn_acc(int m, int n, int k, const T *P, size_t ldp, const T *B, size_t ldb,
                        T *C, size_t ldc) {
    int i = 0;
    for (; i + 4 <= m; i += 4) {
        T *c0 = C + i * ldc, *c1 = c0 + ldc, *c2 = c1 + ldc, *c3 = c2 + ldc;
        const T *p = P + i * ldp;
        for (int j = 0; j < n; ++j) {
            const T *b = B + j * ldb;
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
