// k_matvec_exact.hpp: the exact tier's quantized matrix products, one body for the device and
// for the emulation (simt.hpp).
//
// Y[t][r] = dot(W_r, X_t) with exactly the CPU scalar kernel's arithmetic (quant/dot_scalar.cpp):
// element e of a row is dequantized by the reference formula (quant/dequant.hpp), multiplied
// by x[e] and added into lane e % 8, the lanes each in increasing e, and the 8 lanes meet in
// the tree ((l0 + l4) + (l1 + l5)) + ((l2 + l6) + (l3 + l7)). A block of 32 threads owns 4
// rows, 8 threads (the lanes) a row; phase 1 leaves each lane's sum of each token in shared
// memory, phase 2 has one thread per row combine them. Weights stay quantized, in the GGUF
// block layout. Tokens are taken kTokensPerPass at a time (launch shape independent of the
// batch), so a block-of-tokens product is bit-identical to token-by-token matvecs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "cuda/simt.hpp"
#include "quant/dequant.hpp"

namespace lola::cuda::k {

constexpr int kLanes = 8;
constexpr int kRowsPerBlock = 4;
constexpr int kThreads = kLanes * kRowsPerBlock;  // one warp
constexpr int kTokensPerPass = 8;

// GGML type ids (gguf/tensor_type.hpp; quant::Type names them for the CPU).
enum : uint32_t { kF32 = 0, kF16 = 1, kQ4_0 = 2, kQ4_1 = 3, kQ5_0 = 6, kQ5_1 = 7, kQ8_0 = 8,
                  kQ4_K = 12, kQ5_K = 13, kQ6_K = 14, kBF16 = 30 };

// Element e of a row of `type` (row: the row's first byte).
LOLA_HD inline float row_element(uint32_t type, const uint8_t *row, int64_t e) {
    using namespace lola::quant::dq;
    switch (type) {
    case kF32: {
        float f;
        std::memcpy(&f, row + 4 * e, 4);
        return f;
    }
    case kF16: return fp16_to_fp32(load_u16(row + 2 * e));
    case kBF16: return bf16_to_fp32(load_u16(row + 2 * e));
    case kQ8_0: return el_q8_0(row + (e / 32) * 34, static_cast<int>(e % 32));
    case kQ4_0: return el_q4_0(row + (e / 32) * 18, static_cast<int>(e % 32));
    case kQ4_1: return el_q4_1(row + (e / 32) * 20, static_cast<int>(e % 32));
    case kQ5_0: return el_q5_0(row + (e / 32) * 22, static_cast<int>(e % 32));
    case kQ5_1: return el_q5_1(row + (e / 32) * 24, static_cast<int>(e % 32));
    case kQ4_K: return el_q4_k(row + (e / 256) * 144, static_cast<int>(e % 256));
    case kQ5_K: return el_q5_k(row + (e / 256) * 176, static_cast<int>(e % 256));
    case kQ6_K: return el_q6_k(row + (e / 256) * 210, static_cast<int>(e % 256));
    default: return 0.0f;  // the launcher refuses other types before launching
    }
}

// The CPU scalar kernel's lane tree.
LOLA_HD inline float lane_tree(const float *l) {
    return ((l[0] + l[4]) + (l[1] + l[5])) + ((l[2] + l[6]) + (l[3] + l[7]));
}

struct MatmulArgs {
    uint32_t type = 0;
    const uint8_t *w = nullptr;  // rows rows of row_bytes bytes
    size_t row_bytes = 0;
    int64_t rows = 0, cols = 0;
    const float *x = nullptr;    // [n_tokens][ldx]
    int64_t ldx = 0;
    float *y = nullptr;          // [n_tokens][ldy]
    int64_t ldy = 0;
    int64_t token0 = 0;          // this pass: tokens token0 .. token0 + n - 1
    int n = 0;                   // <= kTokensPerPass
};

// The arguments of Y = W X^T for a row-major W (rows x cols of `type`), X [n][cols], Y [n][rows].
inline MatmulArgs matmul_args(uint32_t type, const uint8_t *w, size_t row_bytes, int64_t rows,
                              int64_t cols, const float *x, float *y) {
    return MatmulArgs{type, w, row_bytes, rows, cols, x, /*ldx*/ cols, y, /*ldy*/ rows, 0, 0};
}

struct MatmulShared {
    float lanes[kTokensPerPass][kThreads];
};

inline int64_t matmul_blocks(int64_t rows) { return (rows + kRowsPerBlock - 1) / kRowsPerBlock; }

LOLA_HD inline void matmul_block(int64_t block, const MatmulArgs &a, MatmulShared &s) {
    const int64_t row0 = block * kRowsPerBlock;
    // Phase 1: thread (row r of the block, lane l) sums its lane for each token of the pass.
    LOLA_FOR_THREADS(t, kThreads) {
        const int64_t r = row0 + t / kLanes;
        const int l = t % kLanes;
        if (r < a.rows) {
            const uint8_t *row = a.w + static_cast<size_t>(r) * a.row_bytes;
            for (int j = 0; j < a.n; ++j) {
                const float *x = a.x + (a.token0 + j) * a.ldx;
                float acc = 0.0f;
                for (int64_t e = l; e < a.cols; e += kLanes) acc += row_element(a.type, row, e) * x[e];
                s.lanes[j][t] = acc;
            }
        }
    }
    LOLA_SYNC();
    // Phase 2: one thread per row meets its lanes, token by token.
    LOLA_FOR_THREADS(t, kRowsPerBlock) {
        const int64_t r = row0 + t;
        if (r < a.rows)
            for (int j = 0; j < a.n; ++j)
                a.y[(a.token0 + j) * a.ldy + r] = lane_tree(&s.lanes[j][t * kLanes]);
    }
}

// The passes of a product of n_tokens tokens: launch(args) once per pass, args.token0 and
// args.n set (the device launcher and the emulation both walk the tokens this way).
template <class Launch>
void for_each_pass(MatmulArgs a, int64_t n_tokens, Launch &&launch) {
    for (int64_t t0 = 0; t0 < n_tokens; t0 += kTokensPerPass) {
        a.token0 = t0;
        a.n = static_cast<int>(n_tokens - t0 < kTokensPerPass ? n_tokens - t0 : kTokensPerPass);
        launch(a);
    }
}

// The whole product as an emulated launch (CI's stand-in for the device).
inline void matmul_emulated(const MatmulArgs &args, int64_t n_tokens) {
    for_each_pass(args, n_tokens, [](const MatmulArgs &a) {
        emulate_launch<MatmulShared>(matmul_blocks(a.rows),
                                     [&a](int64_t b, MatmulShared &s) { matmul_block(b, a, s); });
    });
}

}  // namespace lola::cuda::k
