// k_lola_decode.hpp: the exact tier's LoLA decode attention of one token, one body for the
// device and the emulation (simt.hpp), with the arithmetic of the CPU reference
// (lola/token_step.cpp attend_token + lola/head_common.cpp mix_output, float):
//   s_i = scale * dot(q, k_i)                  over G, W_prev, W_cur (this token included),
//                                              dot = lola/math.hpp's 8-lane dot
//   m = max_i s_i                              in that order, as std::max
//   N'[e] = sum_i e^(s_i - m) v_i[e], Z' = sum_i e^(s_i - m)   in pair order, e^ = fexp
//   f^T H [e] = sum_f f[f] H[f][e] (f ascending), f^T s = dot(f, s)
//   y = mix(N', Z', m, f^T H, f^T s, q_log, g)    (mode A or B, the stable form)
// One block per state head; its query heads (a KV group sharing the state) are threads of
// the same block, so they share every key and value read. Scores live in a global scratch
// area (the block's slice), as their number (lambda + 2C) is the config's, not a constant.
// The query features f (and their log-scale q_log) come precomputed, from the feature-map
// kernels, exactly as query_features returns them on the CPU.
#pragma once

#include <cmath>
#include <cstdint>

#include "base/fexp.hpp"
#include "cuda/k_lola_state.hpp"
#include "cuda/simt.hpp"
#include "lola/math.hpp"

namespace lola::cuda::k {

constexpr int kDecodeThreads = 64;

// One state head's inputs and output for the token: its state (k_lola_state.hpp, this token
// already appended to W_cur) and the token's query heads of that state.
struct DecodeHead {
    const HeadView *state = nullptr;
    const float *q = nullptr;        // [n_query_heads][d]
    const float *fq = nullptr;       // [n_query_heads][F] query features, when linear
    const float *q_log = nullptr;    // [n_query_heads]
    const float *gate = nullptr;     // [n_query_heads]
    float *y = nullptr;              // [n_query_heads][d]
};

struct DecodeArgs {
    const DecodeHead *heads = nullptr;  // [n_state_heads]
    int d = 0, F = 0, n_query_heads = 1;
    float scale = 0, eps = 0, log_eps = 0;
    bool linear = false;                // attention == lola
    int mixing = 0;                     // 0: mode A (LoLA), 1: mode B (LoLCATs)
    // Global scratch, per block: scores [n_query_heads][max_pairs], then per query head
    // m, z, lin_den, and N' [d], f^T H [d].
    float *scratch = nullptr;
    int64_t max_pairs = 0;
    // A run of n_tokens consecutive tokens of one chunk (the chunked prefill), all appended to
    // W_cur already: token t sees W_cur up to itself. Block b is (state head b / n_tokens,
    // token b % n_tokens); token t's q, fq, q_log and y are its head's pointers plus t times
    // these strides (floats). n_tokens 1: the decode of one token.
    int n_tokens = 1;
    int64_t q_stride = 0, fq_stride = 0, qlog_stride = 0, y_stride = 0;
};

// Floats of scratch one block needs.
LOLA_HD inline int64_t decode_scratch_floats(const DecodeArgs &a) {
    return static_cast<int64_t>(a.n_query_heads) * (a.max_pairs + 3 + 2 * static_cast<int64_t>(a.d));
}

LOLA_HD inline float max_as_std(float a, float b) { return a < b ? b : a; }  // std::max(a, b)

LOLA_HD inline void lola_decode_block(int64_t block, const DecodeArgs &a) {
    const int64_t tok = block % a.n_tokens;
    const DecodeHead &head = a.heads[block / a.n_tokens];
    DecodeHead h = head;  // this token's rows
    h.q += tok * a.q_stride;
    h.fq += tok * a.fq_stride;
    h.q_log += tok * a.qlog_stride;
    h.y += tok * a.y_stride;
    const HeadView &st = *h.state;
    const PairsView *mem[3] = {&st.g, &st.prev, &st.cur};
    const int d = a.d, F = a.F, nq = a.n_query_heads;
    float *scores = a.scratch + block * decode_scratch_floats(a);
    float *m_z_den = scores + static_cast<int64_t>(nq) * a.max_pairs;  // [nq][3]
    float *num = m_z_den + 3 * nq;                                      // [nq][d]
    float *lin = num + static_cast<int64_t>(nq) * d;                    // [nq][d]
    // Token t sees W_cur up to itself: the later tokens of the run are already appended.
    const int visible_cur = mem[2]->n - a.n_tokens + static_cast<int>(tok) + 1;
    const int counts[3] = {mem[0]->n, mem[1]->n, visible_cur};
    const int n0 = counts[0], n1 = counts[1], n_pairs = n0 + n1 + counts[2];
    const bool read_linear = a.linear && st.has_linear;

    // Phase 1: every (query head, pair) score.
    LOLA_FOR_THREADS(t, nq * n_pairs) {
        const int j = t / n_pairs, i = t % n_pairs;
        const PairsView &mv = i < n0 ? *mem[0] : i < n0 + n1 ? *mem[1] : *mem[2];
        const int at = i < n0 ? i : i < n0 + n1 ? i - n0 : i - n0 - n1;
        scores[static_cast<int64_t>(j) * a.max_pairs + i] =
            a.scale * dot(h.q + static_cast<int64_t>(j) * d, mv.k + static_cast<int64_t>(at) * d, d);
    }
    LOLA_SYNC();
    // Phase 2: per query head, the max score and, when linear, f^T s.
    LOLA_FOR_THREADS(j, nq) {
        const float *sj = scores + static_cast<int64_t>(j) * a.max_pairs;
        float m = -INFINITY;
        for (int i = 0; i < n_pairs; ++i) m = max_as_std(m, sj[i]);
        m_z_den[3 * j] = m;
        m_z_den[3 * j + 2] = read_linear ? dot(h.fq + static_cast<int64_t>(j) * F, st.s, F) : 0.0f;
    }
    LOLA_SYNC();
    // Phase 3: per (query head, element), N'[e] and f^T H [e]; element 0 also sums Z'.
    LOLA_FOR_THREADS(t, nq * d) {
        const int j = t / d, e = t % d;
        const float *sj = scores + static_cast<int64_t>(j) * a.max_pairs;
        const float m = m_z_den[3 * j];
        float acc = 0.0f, z = 0.0f;
        int i = 0;
        for (int w = 0; w < 3; ++w)
            for (int r = 0; r < counts[w]; ++r, ++i) {
                const float wt = fexp(sj[i] - m);
                z += wt;
                acc += wt * mem[w]->v[static_cast<int64_t>(r) * d + e];
            }
        num[static_cast<int64_t>(j) * d + e] = acc;
        if (e == 0) m_z_den[3 * j + 1] = z;
        float l = 0.0f;
        if (read_linear) {
            const float *f = h.fq + static_cast<int64_t>(j) * F;
            for (int k = 0; k < F; ++k) l += f[k] * st.H[static_cast<int64_t>(k) * d + e];
        }
        lin[static_cast<int64_t>(j) * d + e] = l;
    }
    LOLA_SYNC();
    // Phase 4: the output mixing (head_common.cpp mix_output), per (query head, element).
    LOLA_FOR_THREADS(t, nq * d) {
        const int j = t / d, e = t % d;
        const float m = m_z_den[3 * j], z = m_z_den[3 * j + 1], lin_den = m_z_den[3 * j + 2];
        const float n_e = num[static_cast<int64_t>(j) * d + e];
        float *y = h.y + static_cast<int64_t>(j) * d;
        if (!read_linear) {
            y[e] = n_e / z;
        } else {
            const bool folded = st.n_folded > 0;
            const float g = h.gate[j], q_log = h.q_log[j];
            const float l_e = lin[static_cast<int64_t>(j) * d + e];
            if (a.mixing == 0) {
                const float E = folded ? q_log + st.log_scale - m : -INFINITY;
                const float K = max_as_std(0.0f, max_as_std(E, a.log_eps - m));
                const float sn = g * fexp(-K);
                const float lw = folded ? (1 - g) * fexp(E - K) : 0.0f;
                const float den = sn * z + lw * lin_den + a.eps * fexp(-m - K);
                y[e] = (sn * n_e + (folded ? lw * l_e : 0.0f)) / den;
            } else {
                const float E = q_log + st.log_scale;
                const float K = folded ? max_as_std(0.0f, E) : 0.0f;
                const float sn = g * fexp(-K);
                const float lw = folded ? fexp(E - K) : 0.0f;
                const float den = sn * z + lw * lin_den;
                y[e] = den != 0 ? (sn * n_e + (folded ? lw * l_e : 0.0f)) / den : 0.0f;
            }
        }
    }
}

inline void lola_decode_emulated(const DecodeArgs &a, int64_t n_state_heads) {
    struct None {};
    emulate_launch<None>(n_state_heads * a.n_tokens, [&a](int64_t b, None &) { lola_decode_block(b, a); });
}

}  // namespace lola::cuda::k
