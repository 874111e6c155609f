// k_lola_state.hpp: the LoLA state of one state head in device memory, and the kernels that
// change it: append (a token's pair into W_cur) and the chunk boundary (lola/boundary.cpp),
// one body each for the device and the emulation (simt.hpp), with the CPU's arithmetic.
//
// Layout: structure-of-arrays memories of fixed capacity (G: lambda, twice, so that a boundary
// builds the next G beside the old; W_prev and W_cur: C each), the linear state H [F][d], s [F],
// and the scalars, all in one HeadView the kernels update in place (the window's rotation is a
// swap of two views, no copy). Everything a boundary decides is decided from the scalars as
// they were when it began (phase 0 copies them to shared memory).
#pragma once

#include <cmath>
#include <cstdint>

#include "base/fexp.hpp"
#include "base/random.hpp"
#include "cuda/simt.hpp"
#include "lola/math.hpp"

namespace lola::cuda::k {

constexpr int kStateThreads = 64;

struct PairsView {
    int64_t *pos = nullptr;
    float *k = nullptr, *v = nullptr;  // [cap][d]
    float *fk = nullptr;               // [cap][F] (F > 0)
    float *fk_log = nullptr, *score = nullptr;
    int n = 0;
};

struct HeadView {
    PairsView g, g_next, prev, cur;
    float *H = nullptr, *s = nullptr;
    float log_scale = 0;
    bool has_linear = false;
    int64_t n_folded = 0, n_evicted = 0;
    int kv_head = 0;  // for the random scoring policy
};

enum Scoring : int { kSre = 0, kRecency = 1, kRandom = 2, kValueNorm = 3 };
enum AttentionKind : int { kLola = 0, kFull = 1, kWindow = 2 };

struct StateArgs {
    HeadView *heads = nullptr;  // [n_state_heads]
    int d = 0, F = 0, chunk = 0, capacity = 0;
    int attention = kLola, scoring = kSre;
    uint64_t seed = 0;
    float eps = 0;
    // Global scratch per block: scores and ranks of [G, W_prev] and the recalls of their pairs.
    float *scratch = nullptr;
};

LOLA_HD inline int64_t state_scratch_floats(const StateArgs &a) {
    const int64_t n = static_cast<int64_t>(a.capacity) + a.chunk;
    return 2 * n + n * a.d;
}

// ---- append: one token's pair (k, v, key features) at the end of W_cur -------------------
struct AppendArgs {
    HeadView *heads = nullptr;
    int d = 0, F = 0;
    int64_t pos = 0;
    const float *k = nullptr, *v = nullptr;  // head h reads k + kv_of_head[h] * d
    const int32_t *kv_of_head = nullptr;
    const float *fk = nullptr;               // [n_state_heads][F], or null (no linear state)
    const float *fk_log = nullptr;           // [n_state_heads]
};

LOLA_HD inline void append_block(int64_t b, const AppendArgs &a) {
    HeadView &h = a.heads[b];
    const int at = h.cur.n;
    const float *k = a.k + static_cast<int64_t>(a.kv_of_head[b]) * a.d;
    const float *v = a.v + static_cast<int64_t>(a.kv_of_head[b]) * a.d;
    LOLA_FOR_THREADS(e, a.d) {
        h.cur.k[static_cast<int64_t>(at) * a.d + e] = k[e];
        h.cur.v[static_cast<int64_t>(at) * a.d + e] = v[e];
    }
    if (a.fk)
        LOLA_FOR_THREADS(i, a.F) h.cur.fk[static_cast<int64_t>(at) * a.F + i] = a.fk[b * a.F + i];
    LOLA_SYNC();
    LOLA_FOR_THREADS(t, 1) {
        h.cur.pos[at] = a.pos;
        h.cur.fk_log[at] = a.fk ? a.fk_log[b] : 0.0f;
        h.cur.score[at] = 0.0f;
        h.cur.n = at + 1;
    }
}

// ---- the boundary --------------------------------------------------------------------------
enum BoundaryMode : int { kRotateOnly = 0, kFirst = 1, kFoldAll = 2, kAppend = 3, kSelect = 4 };

struct BoundaryShared {
    int mode, n_g, n_p;  // set once, in phase 0, and only read afterwards
    int64_t n_folded;
    float log_scale;
    float c_max;         // the current fold's largest log-scale
    int count;           // and how many pairs it folds
};

LOLA_HD inline float fmax_as_std(float a, float b) { return a < b ? b : a; }  // std::max(a, b)

// Score of pair i of `m` (boundary.cpp score_pairs); recall: this pair's f^T H row (SRE).
LOLA_HD_FORCE float pair_score(const StateArgs &a, const HeadView &h, const PairsView &m, int i,
                                int64_t n_folded, float log_scale, float *recall) {
    const int d = a.d, F = a.F;
    const float *v = m.v + static_cast<int64_t>(i) * d;
    switch (a.scoring) {
    case kRecency: return static_cast<float>(m.pos[i]);
    case kRandom:
        return static_cast<float>(hash_uniform(a.seed, static_cast<uint64_t>(h.kv_head), static_cast<uint64_t>(m.pos[i])));
    case kValueNorm: return std::sqrt(dot(v, v, d));
    default: break;
    }
    if (n_folded == 0) return std::sqrt(dot(v, v, d));
    const float *f = m.fk + static_cast<int64_t>(i) * F;
    for (int e = 0; e < d; ++e) recall[e] = 0.0f;
    for (int j = 0; j < F; ++j) {  // gemm_nn_acc: ascending j, as a sequence of axpy
        const float fj = f[j];
        for (int e = 0; e < d; ++e) recall[e] += fj * h.H[static_cast<int64_t>(j) * d + e];
    }
    const float den = dot(f, h.s, F) + a.eps * fexp(-(m.fk_log[i] + log_scale));
    float acc = 0;
    for (int e = 0; e < d; ++e) {
        const float r = den != 0 ? recall[e] / den : 0.0f;
        acc += (v[e] - r) * (v[e] - r);
    }
    return std::sqrt(acc);
}

// Folds the pairs of `m` whose flag says so (ascending i) into (H, s): boundary.cpp fold().
// `leaves(i)` (a small function object, by value: no local memory on the device) is true for
// the pairs that leave. All threads call it; it ends synced.
template <class Leaves>
LOLA_HD_FORCE void fold_pairs(const StateArgs &a, HeadView &h, const PairsView &m, int n, Leaves leaves,
                               BoundaryShared &s) {
    const int d = a.d, F = a.F;
    LOLA_FOR_THREADS(t, 1) {
        float c_max = -INFINITY;
        int count = 0;
        for (int i = 0; i < n; ++i)
            if (leaves(i)) {
                c_max = fmax_as_std(c_max, m.fk_log[i]);
                ++count;
            }
        s.c_max = c_max;
        s.count = count;
    }
    LOLA_SYNC();
    const int count = s.count;
    if (count == 0) return;  // uniform: every thread sees the same count
    const bool first = s.n_folded == 0;
    const bool rescale = !first && s.c_max > s.log_scale;
    const float r = rescale ? fexp(s.log_scale - s.c_max) : 1.0f;
    const float scale = first || rescale ? s.c_max : s.log_scale;
    LOLA_FOR_THREADS(t, F * d) {
        const int j = t / d, e = t % d;
        float hv = h.H[t];
        if (rescale) hv *= r;
        float sv = 0;
        if (e == 0) {
            sv = h.s[j];
            if (rescale) sv *= r;
        }
        for (int i = 0; i < n; ++i) {
            if (!leaves(i)) continue;
            const float w = fexp(m.fk_log[i] - scale);
            const float fa = w * m.fk[static_cast<int64_t>(i) * F + j];
            hv += fa * m.v[static_cast<int64_t>(i) * d + e];
            if (e == 0) sv += fa;
        }
        h.H[t] = hv;
        if (e == 0) h.s[j] = sv;
    }
    LOLA_SYNC();
    LOLA_FOR_THREADS(t, 1) {
        s.log_scale = scale;
        s.n_folded += count;
    }
    LOLA_SYNC();
}

// Copies pair i of src to slot at of dst with score `score`.
LOLA_HD_FORCE void copy_pair(const StateArgs &a, const PairsView &src, int i, PairsView &dst, int at, float score,
                              int t) {
    const int d = a.d, F = a.F;
    if (t < d) {
        dst.k[static_cast<int64_t>(at) * d + t] = src.k[static_cast<int64_t>(i) * d + t];
        dst.v[static_cast<int64_t>(at) * d + t] = src.v[static_cast<int64_t>(i) * d + t];
    }
    if (t < F) dst.fk[static_cast<int64_t>(at) * F + t] = src.fk[static_cast<int64_t>(i) * F + t];
    if (t == 0) {
        dst.pos[at] = src.pos[i];
        dst.fk_log[at] = src.fk_log[i];
        dst.score[at] = score;
    }
}

LOLA_HD inline void boundary_block(int64_t b, const StateArgs &a, BoundaryShared &s) {
    HeadView &h = a.heads[b];
    const int d = a.d, F = a.F, lambda = a.capacity;
    const float flambda = static_cast<float>(lambda);  // ranks are stored as floats (exact)
    const int width = d > F ? d : F;
    float *scores = a.scratch + b * state_scratch_floats(a);
    const int64_t n_all = static_cast<int64_t>(a.capacity) + a.chunk;
    float *ranks = scores + n_all;
    float *recalls = ranks + n_all;
    // Phase 0: what this boundary does, from the state as it is now.
    LOLA_FOR_THREADS(t, 1) {
        s.n_g = h.g.n;
        s.n_p = h.prev.n;
        s.n_folded = h.n_folded;
        s.log_scale = h.log_scale;
        if (a.attention == kWindow) s.mode = kRotateOnly;
        else if (!h.has_linear) s.mode = kFirst;
        else if (lambda == 0) s.mode = kFoldAll;
        else if (s.n_g + s.n_p <= lambda) s.mode = kAppend;
        else s.mode = kSelect;
    }
    LOLA_SYNC();
    const int mode = s.mode, n_g = s.n_g, n_p = s.n_p;
    if (mode == kFirst) {
        LOLA_FOR_THREADS(t, F * d) h.H[t] = 0.0f;
        LOLA_FOR_THREADS(t, F) h.s[t] = 0.0f;
        LOLA_FOR_THREADS(t, 1) {
            s.log_scale = 0;
            h.has_linear = true;
        }
    } else if (mode == kFoldAll) {
        fold_pairs(a, h, h.prev, n_p, [](int) { return true; }, s);
    } else if (mode == kAppend || mode == kSelect) {
        // Every score against the state as it is, before anything folds.
        const int n_scored = mode == kSelect ? n_g + n_p : n_p;
        LOLA_FOR_THREADS(t, n_scored) {
            const int idx = mode == kSelect ? t : n_g + t;  // index in [G, W_prev]
            const bool in_g = idx < n_g;
            scores[idx] = pair_score(a, h, in_g ? h.g : h.prev, in_g ? idx : idx - n_g, s.n_folded,
                                     s.log_scale, recalls + static_cast<int64_t>(idx) * d);
        }
        LOLA_SYNC();
        if (mode == kAppend) {
            for (int i = 0; i < n_p; ++i) {
                LOLA_FOR_THREADS(t, width) copy_pair(a, h.prev, i, h.g, n_g + i, scores[n_g + i], t);
            }
            LOLA_SYNC();
            LOLA_FOR_THREADS(t, 1) h.g.n = n_g + n_p;
        } else {
            // The stable descending order (NaN as -inf, older first on ties) as ranks.
            const int n = n_g + n_p;
            float *keys = recalls;  // the recalls are no longer needed: the sort keys
            LOLA_FOR_THREADS(i, n) keys[i] = scores[i] != scores[i] ? -INFINITY : scores[i];
            LOLA_SYNC();
            LOLA_FOR_THREADS(i, n) {
                const float ki = keys[i];
                int rank = 0;
                for (int j = 0; j < n; ++j) rank += keys[j] > ki || (keys[j] == ki && j < i);
                ranks[i] = static_cast<float>(rank);
            }
            LOLA_SYNC();
            // Fold what leaves: G's first, then W_prev's, each in ascending order.
            fold_pairs(a, h, h.g, n_g, [ranks, flambda](int i) { return ranks[i] >= flambda; }, s);
            fold_pairs(a, h, h.prev, n_p, [ranks, flambda, n_g](int i) { return ranks[n_g + i] >= flambda; }, s);
            // The new G: the kept pairs in [G, W_prev] order (= position order).
            LOLA_FOR_THREADS(t, width) {
                int at = 0;
                for (int i = 0; i < n; ++i) {
                    if (ranks[i] >= flambda) continue;
                    const bool in_g = i < n_g;
                    copy_pair(a, in_g ? h.g : h.prev, in_g ? i : i - n_g, h.g_next, at, scores[i], t);
                    ++at;
                }
            }
            LOLA_SYNC();
            LOLA_FOR_THREADS(t, 1) {
                const PairsView old = h.g;
                h.g = h.g_next;
                h.g.n = lambda;
                h.g_next = old;
                h.g_next.n = 0;
            }
        }
    }
    LOLA_SYNC();
    // Last: the scalars, and the window's rotation (prev <- cur, cur <- the old prev, empty).
    LOLA_FOR_THREADS(t, 1) {
        if (mode == kRotateOnly) h.n_evicted += n_p;
        h.n_folded = s.n_folded;
        h.log_scale = s.log_scale;
        const PairsView old = h.prev;
        h.prev = h.cur;
        h.cur = old;
        h.cur.n = 0;
    }
}

inline void boundary_emulated(const StateArgs &a, int64_t n_state_heads) {
    emulate_launch<BoundaryShared>(n_state_heads, [&a](int64_t b, BoundaryShared &s) { boundary_block(b, a, s); });
}

inline void append_emulated(const AppendArgs &a, int64_t n_state_heads) {
    struct None {};
    emulate_launch<None>(n_state_heads, [&a](int64_t b, None &) { append_block(b, a); });
}

}  // namespace lola::cuda::k
