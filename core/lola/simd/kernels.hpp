// kernels.hpp: the attention layer's dense primitives at each instruction-set level.
//
// The reference (scalar level) is lola/math.hpp's dot / gemm_nt / gemm_nn_acc with fexp and the
// std::max fold, exactly as token_step.cpp and chunk_prefill.cpp call them. The SIMD levels
// compute every element with the same operations in the same order, only several at a time:
// an 8-lane dot is one 8-float vector per step and math.hpp's reduction tree done with
// shuffles, an accumulation adds each product in key order, e^x is fexp's double-precision
// steps four (AVX2) or eight (AVX-512) at a time. So their results are bit-identical to the
// reference (tests/lola/test_attn_kernels.cpp checks it on awkward sizes and special values),
// the token step stays equal to the chunked prefill, and the CUDA exact tier, which mirrors
// the reference, still equals the CPU at every level.
//
// One body (simd_body.inl) is compiled by one small file per level with that level's flags;
// it touches nothing but raw pointers and its own internal functions (see quant/kernels.hpp
// for why). Reached only after the runtime CPU check in kernels.cpp.
#pragma once

#include <cstddef>

#include "base/isa.hpp"

namespace lola::simd {

struct Kernels {
    // C[i][j] = alpha * dot(A[i], B[j], k) for i < m, j < n (math.hpp's gemm_nt).
    void (*scores)(int m, int n, int k, float alpha, const float *A, size_t lda, const float *B,
                   size_t ldb, float *C, size_t ldc);
    // C[i] += sum_j P[i][j] * B[j], j in increasing order, rows of k (gemm_nn_acc).
    void (*accumulate)(int m, int n, int k, const float *P, size_t ldp, const float *B,
                       size_t ldb, float *C, size_t ldc);
    // The std::max fold of row[0..n) from -infinity (NaNs skipped, as std::max(m, s) does;
    // the same bits, the sign of a zero maximum included).
    float (*row_max)(const float *row, int n);
    // row[c] = fexp(row[c] - m) for c < n (their sums: primitives.hpp's sums_in_order).
    void (*exp_shift)(float *row, int n, float m);
    // gate[i] = gate[i] / (1 + fexp(-gate[i])) * up[i] for i < n (SwiGLU, cpu/ops.cpp's swiglu).
    void (*swiglu)(float *gate, const float *up, size_t n);
};

// The kernels of a SIMD level, or nullptr: for Isa::scalar (callers use the reference code),
// for a level this build did not compile, or one this CPU does not run.
const Kernels *kernels(Isa isa);

// The best level with kernels here (scalar when there is none).
Isa best_isa();

namespace detail {
// Each level's table; all null when the level is not compiled in. They do not check the CPU.
Kernels avx2_kernels();
Kernels avx512_kernels();
}  // namespace detail

}  // namespace lola::simd
