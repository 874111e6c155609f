// k_elementwise.hpp: the exact tier's element-wise ops of the forward pass, one body each for
// the device and the emulation (simt.hpp), with the CPU reference's arithmetic (cpu/ops.cpp):
//   embed     row `token` of the embedding table, dequantized (quant/dequant.hpp);
//   rms_norm  sum of squares in 32 double lanes (element i in lane i % 32, each lane in
//             increasing i) met by halving_sum, scale = 1 / sqrt(ss / E + eps) in double;
//   rope      pairs (x[2i], x[2i+1]) rotated by the host-built (cos, sin) table;
//   swiglu    g / (1 + fexp(-g)) * up;
//   add       x += y.
// One block per row (token) with kRowThreads threads for the row ops; the flat ops take
// kFlatThreads elements per block. No atomics, no data-dependent launch shapes.
#pragma once

#include <cmath>
#include <cstdint>

#include "base/fexp.hpp"
#include "base/lanes.hpp"
#include "cuda/k_matvec_exact.hpp"
#include "cuda/simt.hpp"

namespace lola::cuda::k {

constexpr int kRowThreads = 32;   // the 32 lanes of rms_norm's sum
constexpr int kFlatThreads = 256;

// ---- embed: one block per token -----------------------------------------------------------
struct EmbedArgs {
    uint32_t type = 0;
    const uint8_t *table = nullptr;  // n_vocab rows of row_bytes
    size_t row_bytes = 0;
    int64_t n_embd = 0;
    const int32_t *tokens = nullptr;  // checked in range by the host before the launch
    float *x = nullptr;               // [n][n_embd]
};
struct NoShared {};

LOLA_HD inline void embed_block(int64_t t, const EmbedArgs &a, NoShared &) {
    const uint8_t *row = a.table + static_cast<size_t>(a.tokens[t]) * a.row_bytes;
    float *out = a.x + t * a.n_embd;
    LOLA_FOR_THREADS(i, a.n_embd) out[i] = row_element(a.type, row, i);
}

// ---- rms_norm: one block per row ----------------------------------------------------------
struct RmsNormArgs {
    const float *x = nullptr;  // [n][E]
    const float *w = nullptr;  // [E]
    float eps = 0;
    int64_t E = 0;
    float *out = nullptr;      // [n][E]
};
struct RmsNormShared {
    double lanes[kRowThreads];
    float scale;
};

LOLA_HD inline void rms_norm_block(int64_t t, const RmsNormArgs &a, RmsNormShared &s) {
    const float *row = a.x + t * a.E;
    LOLA_FOR_THREADS(l, kRowThreads) {
        double acc = 0;
        for (int64_t i = l; i < a.E; i += kRowThreads) acc += static_cast<double>(row[i]) * row[i];
        s.lanes[l] = acc;
    }
    LOLA_SYNC();
    LOLA_FOR_THREADS(l, 1) {
        const double ss = halving_sum<kRowThreads>(s.lanes);
        s.scale = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(a.E) + a.eps));
    }
    LOLA_SYNC();
    float *out = a.out + t * a.E;
    LOLA_FOR_THREADS(i, a.E) out[i] = row[i] * s.scale * a.w[i];
}

// ---- rope: one block per row, a thread per (head, pair) -----------------------------------
struct RopeArgs {
    float *x = nullptr;            // [n][n_heads][head_dim]
    int64_t n_heads = 0, head_dim = 0;
    const float *table = nullptr;  // [n][head_dim / 2][cos, sin] (cpu::rope_table)
};

LOLA_HD inline void rope_block(int64_t t, const RopeArgs &a, NoShared &) {
    const int64_t half = a.head_dim / 2;
    const float *row = a.table + t * half * 2;
    LOLA_FOR_THREADS(j, a.n_heads * half) {
        const int64_t h = j / half, i = j % half;
        float *p = a.x + (t * a.n_heads + h) * a.head_dim + 2 * i;
        const float c = row[2 * i], s = row[2 * i + 1];
        const float x0 = p[0], x1 = p[1];
        p[0] = x0 * c - x1 * s;
        p[1] = x0 * s + x1 * c;
    }
}

// ---- swiglu and add: kFlatThreads elements per block --------------------------------------
struct SwigluArgs {
    float *gate = nullptr;
    const float *up = nullptr;
    int64_t n = 0;
};

// f(i) for the elements i < n that block b owns.
template <class F>
LOLA_HD inline void for_block_elements(int64_t b, int64_t n, F &&f) {
    LOLA_FOR_THREADS(j, kFlatThreads) {
        const int64_t i = b * kFlatThreads + j;
        if (i < n) f(i);
    }
}

LOLA_HD inline void swiglu_block(int64_t b, const SwigluArgs &a, NoShared &) {
    for_block_elements(b, a.n, [&a](int64_t i) {
        const float g = a.gate[i];
        a.gate[i] = g / (1.f + fexp(-g)) * a.up[i];
    });
}

struct AddArgs {
    float *x = nullptr;
    const float *y = nullptr;
    int64_t n = 0;
};

LOLA_HD inline void add_block(int64_t b, const AddArgs &a, NoShared &) {
    for_block_elements(b, a.n, [&a](int64_t i) { a.x[i] += a.y[i]; });
}

inline int64_t flat_blocks(int64_t n) { return (n + kFlatThreads - 1) / kFlatThreads; }

// ---- emulated launches ---------------------------------------------------------------------
inline void embed_emulated(const EmbedArgs &a, int64_t n) {
    emulate_launch<NoShared>(n, [&a](int64_t b, NoShared &s) { embed_block(b, a, s); });
}
inline void rms_norm_emulated(const RmsNormArgs &a, int64_t n) {
    emulate_launch<RmsNormShared>(n, [&a](int64_t b, RmsNormShared &s) { rms_norm_block(b, a, s); });
}
inline void rope_emulated(const RopeArgs &a, int64_t n) {
    emulate_launch<NoShared>(n, [&a](int64_t b, NoShared &s) { rope_block(b, a, s); });
}
inline void swiglu_emulated(const SwigluArgs &a) {
    emulate_launch<NoShared>(flat_blocks(a.n), [&a](int64_t b, NoShared &s) { swiglu_block(b, a, s); });
}
inline void add_emulated(const AddArgs &a) {
    emulate_launch<NoShared>(flat_blocks(a.n), [&a](int64_t b, NoShared &s) { add_block(b, a, s); });
}

}  // namespace lola::cuda::k
