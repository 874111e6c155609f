// host_state.hpp: the CUDA kernels' state layout (k_lola_state.hpp) in host memory, and its
// conversion from and to the CPU's lola::HeadState: what the emulated backend keeps, and what
// the tests compare. Not copyable: the view points into it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "cuda/k_feature_map.hpp"
#include "cuda/k_lola_state.hpp"
#include "lola/config.hpp"
#include "lola/head_state.hpp"

namespace lola::cuda {

// The kernels' code of a feature map (k_feature_map.hpp); -1 for precomputed features, which
// the CUDA backend does not take.
inline int feature_kind(FeatureMapKind m) {
    switch (m) {
    case FeatureMapKind::hedgehog: return k::kHedgehog;
    case FeatureMapKind::performer: return k::kPerformer;
    case FeatureMapKind::elu1: return k::kElu1;
    case FeatureMapKind::relu: return k::kRelu;
    case FeatureMapKind::precomputed: break;
    }
    return -1;
}

// Fixed-capacity arrays for one memory (G, W_prev or W_cur).
struct HostPairs {
    std::vector<int64_t> pos;
    std::vector<float> k, v, fk, fk_log, score;
    HostPairs(int cap, int d, int F)
        : pos(static_cast<size_t>(cap > 0 ? cap : 1)), k(pos.size() * static_cast<size_t>(d)), v(k.size()),
          fk(pos.size() * static_cast<size_t>(F > 0 ? F : 1)), fk_log(pos.size()), score(pos.size()) {}
    // Copies `p` in (p.size() <= the capacity); the view of it.
    k::PairsView load(const Pairs<float> &p) {
        std::copy(p.pos.begin(), p.pos.end(), pos.begin());
        std::copy(p.k.begin(), p.k.end(), k.begin());
        std::copy(p.v.begin(), p.v.end(), v.begin());
        std::copy(p.fk.begin(), p.fk.end(), fk.begin());
        std::copy(p.fk_log.begin(), p.fk_log.end(), fk_log.begin());
        std::copy(p.score.begin(), p.score.end(), score.begin());
        return {pos.data(), k.data(), v.data(), fk.data(), fk_log.data(), score.data(), p.size()};
    }
};

// The n pairs of a view as CPU Pairs (d and F as the CPU layer keeps them: F = 0 without a
// linear state).
inline Pairs<float> export_pairs(const k::PairsView &m, int d, int F) {
    Pairs<float> p;
    p.d = d;
    p.F = F;
    const size_t n = static_cast<size_t>(m.n);
    p.pos.assign(m.pos, m.pos + n);
    p.k.assign(m.k, m.k + n * static_cast<size_t>(d));
    p.v.assign(m.v, m.v + n * static_cast<size_t>(d));
    if (F > 0) p.fk.assign(m.fk, m.fk + n * static_cast<size_t>(F));
    p.fk_log.assign(m.fk_log, m.fk_log + n);
    p.score.assign(m.score, m.score + n);
    return p;
}

struct HostState {
    HostPairs g, g_next, prev, cur;
    std::vector<float> H, s;
    k::HeadView view;

    HostState(const HeadState<float> &st, int capacity, int chunk, int d, int F, int kv_head)
        : g(capacity, d, F), g_next(capacity, d, F), prev(chunk, d, F), cur(chunk, d, F),
          H(static_cast<size_t>(F > 0 ? F * d : 1)), s(static_cast<size_t>(F > 0 ? F : 1)) {
        view.g = g.load(st.sparse);
        view.g_next = g_next.load(Pairs<float>{});
        view.prev = prev.load(st.prev);
        view.cur = cur.load(st.cur);
        std::copy(st.H.begin(), st.H.end(), H.begin());
        std::copy(st.s.begin(), st.s.end(), s.begin());
        view.H = H.data();
        view.s = s.data();
        view.log_scale = st.log_scale;
        view.has_linear = st.has_linear;
        view.n_folded = st.n_folded;
        view.n_evicted = st.n_evicted;
        view.kv_head = kv_head;
    }
    HostState(const HostState &) = delete;
    HostState &operator=(const HostState &) = delete;

    // The CPU form of `v` (this state's view, wherever the kernels left it). pairs_F: the F of
    // the CPU's Pairs (0 without a linear state); F: the linear state's.
    static HeadState<float> export_state(const k::HeadView &v, int d, int F, int pairs_F) {
        HeadState<float> st;
        st.sparse = export_pairs(v.g, d, pairs_F);
        st.prev = export_pairs(v.prev, d, pairs_F);
        st.cur = export_pairs(v.cur, d, pairs_F);
        if (v.has_linear) {
            st.H.assign(v.H, v.H + static_cast<size_t>(F) * static_cast<size_t>(d));
            st.s.assign(v.s, v.s + static_cast<size_t>(F));
        }
        st.log_scale = v.log_scale;
        st.has_linear = v.has_linear;
        st.n_folded = v.n_folded;
        st.n_evicted = v.n_evicted;
        return st;
    }
};

}  // namespace lola::cuda
