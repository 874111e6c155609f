// matmul.hpp: products of a quantized weight matrix with fp32 activations.
//
// W is `rows` rows of `cols` elements of one type, each row row_bytes(type, cols) bytes, one
// after the other (the layout of a GGUF tensor of ne0 = cols, ne1 = rows).
//
// Work is split over ranges of rows, one range per ThreadPool task (pool may be nullptr: the
// calling thread does everything). Every output element is computed by one thread with the
// level's kernel, in a fixed order, so results do not depend on the number of threads, and
// y[r] of matvec and Y[t][r] of matmul are bit-identical to dot_fn(type, isa)(W_r, x_t, cols).
#pragma once

#include <cstdint>

#include "quant/quant.hpp"

namespace lola {
class ThreadPool;
}

namespace lola::quant {

// Decode: y[r] = dot(W_r, x) for r < rows. x has cols floats, y rows floats.
void matvec(uint32_t type, const void *W, int64_t rows, int64_t cols, const float *x, float *y,
            ThreadPool *pool);

// Prefill: Y[t][r] = dot(W_r, X_t) for t < n_tokens, r < rows; X is [n_tokens][cols], Y is
// [n_tokens][rows]. Each block of a weight row is dequantized once per group of up to
// max_tokens(type, isa) tokens and multiplied into all of them; rows are walked in groups of 16
// that stay in L1 while the token groups pass.
void matmul(uint32_t type, const void *W, int64_t rows, int64_t cols, const float *X,
            int64_t n_tokens, float *Y, ThreadPool *pool);

// The same through a given level (tests, benchmarks). The two above use active_isa_level().
// All four throw lola::Error for an unsupported type, cols not a multiple of the block size,
// negative sizes, null buffers, or a level that is not available.
void matvec(uint32_t type, const void *W, int64_t rows, int64_t cols, const float *x, float *y,
            ThreadPool *pool, Isa isa);
void matmul(uint32_t type, const void *W, int64_t rows, int64_t cols, const float *X,
            int64_t n_tokens, float *Y, ThreadPool *pool, Isa isa);

}  // namespace lola::quant
