// state_slots.hpp: a CPU head state (lola::HeadState) laid out as the CUDA kernels keep it
// (k_lola_state.hpp): fixed-capacity arrays in host memory behind one HeadView, for emulated
// launches. Not copyable: the view points into it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "cuda/k_lola_state.hpp"
#include "lola/head_state.hpp"

namespace lola_test {

struct Slots {
    std::vector<int64_t> pos;
    std::vector<float> k, v, fk, fk_log, score;
    Slots(int cap, int d, int F)
        : pos(static_cast<size_t>(cap > 0 ? cap : 1)), k(pos.size() * static_cast<size_t>(d)), v(k.size()),
          fk(pos.size() * static_cast<size_t>(F > 0 ? F : 1)), fk_log(pos.size()), score(pos.size()) {}
    // Copies `p` in; the view of it.
    lola::cuda::k::PairsView load(const lola::Pairs<float> &p) {
        std::copy(p.pos.begin(), p.pos.end(), pos.begin());
        std::copy(p.k.begin(), p.k.end(), k.begin());
        std::copy(p.v.begin(), p.v.end(), v.begin());
        std::copy(p.fk.begin(), p.fk.end(), fk.begin());
        std::copy(p.fk_log.begin(), p.fk_log.end(), fk_log.begin());
        std::copy(p.score.begin(), p.score.end(), score.begin());
        return {pos.data(), k.data(), v.data(), fk.data(), fk_log.data(), score.data(), p.size()};
    }
};

struct StateSlots {
    Slots g, g_next, prev, cur;
    std::vector<float> H, s;
    lola::cuda::k::HeadView view;

    StateSlots(const lola::HeadState<float> &st, int capacity, int chunk, int d, int F, int kv_head)
        : g(capacity, d, F), g_next(capacity, d, F), prev(chunk, d, F), cur(chunk, d, F),
          H(static_cast<size_t>(F > 0 ? F * d : 1)), s(static_cast<size_t>(F > 0 ? F : 1)) {
        view.g = g.load(st.sparse);
        view.g_next = g_next.load(lola::Pairs<float>{});
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
    StateSlots(const StateSlots &) = delete;
    StateSlots &operator=(const StateSlots &) = delete;
};

}  // namespace lola_test
