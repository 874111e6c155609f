// boundary.cpp: the chunk-boundary update (spec, "Chunk boundary" and "Self-recall error").
//
//   first boundary:           H = 0, s = 0 (the state now exists); W_prev = W_cur
//   lambda == 0:              fold W_prev
//   |G| + C <= lambda:        score W_prev, append it to G (G keeps its old scores)
//   otherwise:                score G and W_prev against the current (H, s); keep the top
//                             lambda of [G, W_prev] by a stable descending sort (older wins
//                             ties); fold the rest
//
// (The spec's "G never filled before" case is the same rule: with G empty, lambda >= C means
// |G| + C <= lambda.) All scores of one boundary are taken before anything is folded. G stays in
// ascending position order. Window-only attention drops W_prev instead of folding it.
#include <algorithm>
#include <cmath>
#include <limits>

#include "lola/head.hpp"
#include "lola/math.hpp"
#include "base/random.hpp"

namespace lola {

namespace {

// Scores of pairs [0, n) of `mem` into out[0..n) with the configured policy.
template <class T>
void score_pairs(const HeadParams<T> &p, const HeadState<T> &st, const Pairs<T> &mem,
                 Scratch<T> &sc, T *out) {
    const int n = mem.size(), d = p.d, F = p.F;
    switch (p.config->scoring) {
        case Scoring::recency:
            for (int i = 0; i < n; ++i) out[i] = static_cast<T>(mem.pos[i]);
            return;
        case Scoring::random:
            for (int i = 0; i < n; ++i)
                out[i] = static_cast<T>(hash_uniform(p.config->seed, static_cast<uint64_t>(p.kv_head),
                                                     static_cast<uint64_t>(mem.pos[i])));
            return;
        case Scoring::value_norm:
            for (int i = 0; i < n; ++i) out[i] = std::sqrt(dot(mem.value(i), mem.value(i), d));
            return;
        case Scoring::sre:
            break;
    }
    // SRE = || v - phi^T H / (phi^T s + eps) ||, phi = exp(c) f, H = exp(L) H^:
    //     = || v - f^T H^ / (f^T s^ + eps exp(-(c + L))) ||; while nothing is folded, ||v||.
    if (st.n_folded == 0) {
        for (int i = 0; i < n; ++i) out[i] = std::sqrt(dot(mem.value(i), mem.value(i), d));
        return;
    }
    sc.lin.assign(static_cast<size_t>(n) * d, T(0));
    gemm_nn_acc(n, F, d, mem.fk.data(), size_t(F), st.H.data(), size_t(d), sc.lin.data(),
                size_t(d));
    for (int i = 0; i < n; ++i) {
        const T den = dot(mem.feature(i), st.s.data(), F) +
                      p.eps * exp_of(-(mem.fk_log[i] + st.log_scale));
        const T *recall = sc.lin.data() + static_cast<size_t>(i) * d;
        const T *v = mem.value(i);
        T acc = 0;
        for (int e = 0; e < d; ++e) {
            const T r = den != 0 ? recall[e] / den : T(0);
            acc += (v[e] - r) * (v[e] - r);
        }
        out[i] = std::sqrt(acc);
    }
}

// Folds the pairs `which` of `mem` into (H, s), rescaling the state to the largest log-scale.
template <class T>
void fold(const HeadParams<T> &p, HeadState<T> &st, const Pairs<T> &mem,
          const std::vector<int> &which) {
    if (which.empty()) return;
    const int d = p.d, F = p.F;
    T c_max = -std::numeric_limits<T>::infinity();
    for (int i : which) c_max = std::max(c_max, mem.fk_log[i]);
    if (st.n_folded == 0) {
        st.log_scale = c_max;
    } else if (c_max > st.log_scale) {
        const T r = exp_of(st.log_scale - c_max);
        for (T &h : st.H) h *= r;
        for (T &x : st.s) x *= r;
        st.log_scale = c_max;
    }
    for (int i : which) {
        const T w = exp_of(mem.fk_log[i] - st.log_scale);  // 1 for non-performer maps
        const T *f = mem.feature(i);
        const T *v = mem.value(i);
        for (int a = 0; a < F; ++a) {
            const T fa = w * f[a];
            axpy(fa, v, st.H.data() + static_cast<size_t>(a) * d, d);
            st.s[a] += fa;
        }
    }
    st.n_folded += static_cast<int64_t>(which.size());
}

template <class T>
void all_indices(int n, std::vector<int> &out) {
    out.resize(n);
    for (int i = 0; i < n; ++i) out[i] = i;
}

}  // namespace

template <class T>
void boundary(const HeadParams<T> &p, HeadState<T> &st, Scratch<T> &sc) {
    auto rotate_window = [&] {
        st.prev.clear();
        std::swap(st.prev, st.cur);
    };
    if (p.config->attention == Attention::window) {
        st.n_evicted += st.prev.size();
        rotate_window();
        return;
    }
    if (!st.has_linear) {  // first boundary: the (empty) linear state comes into existence
        st.H.assign(static_cast<size_t>(p.F) * p.d, T(0));
        st.s.assign(p.F, T(0));
        st.log_scale = 0;
        st.has_linear = true;
        rotate_window();
        return;
    }
    const int lambda = p.capacity;
    const int n_g = st.sparse.size(), n_p = st.prev.size();
    std::vector<int> &order = sc.order;
    if (lambda == 0) {
        all_indices<T>(n_p, order);
        fold(p, st, st.prev, order);
        rotate_window();
        return;
    }
    std::vector<T> &scores = sc.tmp;  // [G, W_prev]
    scores.assign(static_cast<size_t>(n_g) + n_p, T(0));
    score_pairs(p, st, st.prev, sc, scores.data() + n_g);
    if (n_g + n_p <= lambda) {  // room left: append W_prev, G keeps its scores
        for (int i = 0; i < n_p; ++i) st.sparse.push_from(st.prev, i, scores[n_g + i]);
        rotate_window();
        return;
    }
    score_pairs(p, st, st.sparse, sc, scores.data());
    // stable descending sort of [G, W_prev]; NaN ranks last
    all_indices<T>(n_g + n_p, order);
    auto key = [&](int i) {
        const T s = scores[i];
        return std::isnan(s) ? -std::numeric_limits<T>::infinity() : s;
    };
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return key(a) > key(b); });
    std::vector<int> kept(order.begin(), order.begin() + lambda);
    std::vector<int> dropped(order.begin() + lambda, order.end());
    std::sort(kept.begin(), kept.end());
    std::sort(dropped.begin(), dropped.end());
    // fold what leaves, from G first, then W_prev (all scored above against the old state)
    std::vector<int> fold_g, fold_p;
    for (int i : dropped) (i < n_g ? fold_g : fold_p).push_back(i < n_g ? i : i - n_g);
    fold(p, st, st.sparse, fold_g);
    fold(p, st, st.prev, fold_p);
    // the new G, in position order
    Pairs<T> &next = sc.spare;  // reused buffer: no allocation once warm
    next.d = st.sparse.d;
    next.F = st.sparse.F;
    next.clear();
    next.reserve(static_cast<size_t>(lambda));
    for (int i : kept) {
        if (i < n_g)
            next.push_from(st.sparse, i, scores[i]);
        else
            next.push_from(st.prev, i - n_g, scores[i]);
    }
    std::swap(st.sparse, next);
    rotate_window();
}

template void boundary(const HeadParams<float> &, HeadState<float> &, Scratch<float> &);
template void boundary(const HeadParams<double> &, HeadState<double> &, Scratch<double> &);

}  // namespace lola
