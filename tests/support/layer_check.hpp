// layer_check.hpp: helpers shared by the core tests: random inputs, feeding a layer with a given
// split of the sequence into calls, reading the positions each memory holds, the invariants.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <numeric>
#include <random>
#include <set>
#include <vector>

#include "lola/layer.hpp"

namespace lola_test {

// The feature maps a layer computes itself (every kind but precomputed).
constexpr lola::FeatureMapKind kComputedFeatureMaps[] = {lola::FeatureMapKind::performer, lola::FeatureMapKind::hedgehog,
                                                         lola::FeatureMapKind::elu1, lola::FeatureMapKind::relu};

// A layer config with the given shapes (everything else at its default).
inline lola::LayerConfig make_config(int H, int Hkv, int d, int C, int lambda,
                                     lola::FeatureMapKind map = lola::FeatureMapKind::elu1) {
    lola::LayerConfig c;
    c.n_heads = H;
    c.n_kv_heads = Hkv;
    c.head_dim = d;
    c.chunk = C;
    c.sparse_capacity = lambda;
    c.feature_map = map;
    return c;
}

// The same with a mixing mode.
inline lola::LayerConfig make_config(int H, int Hkv, int d, int C, int lambda, lola::FeatureMapKind map,
                                     lola::Mixing mixing) {
    lola::LayerConfig c = make_config(H, Hkv, d, C, lambda, map);
    c.mixing = mixing;
    return c;
}

// Random hedgehog maps (N(0, sd) weights) for a hedgehog config, sized as its shapes imply.
inline void random_hedgehog(lola::LayerConfig &c, std::mt19937_64 &rng, double sd = 0.3) {
    if (c.feature_map != lola::FeatureMapKind::hedgehog) return;
    const size_t n = lola::hedgehog_weight_count(lola::validated_shapes(c));
    std::normal_distribution<double> w(0.0, sd);
    c.hedgehog_q.resize(n);
    c.hedgehog_k.resize(n);
    for (double &x : c.hedgehog_q) x = w(rng);
    for (double &x : c.hedgehog_k) x = w(rng);
}

// Token-major random inputs for a config: q [L][H][d], k, v [L][Hkv][d], features [L][H][F].
struct Inputs {
    int L = 0;
    std::vector<double> q, k, v, fq, fk;
};

inline Inputs random_inputs(const lola::LayerConfig &c, int L, uint64_t seed, double scale = 1.0) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal(0.0, scale);
    std::uniform_real_distribution<double> uniform(0.01, 1.0);
    Inputs in;
    in.L = L;
    const int F = c.feature_dim > 0 ? c.feature_dim : c.head_dim;
    in.q.resize(static_cast<size_t>(L) * c.n_heads * c.head_dim);
    in.k.resize(static_cast<size_t>(L) * c.n_kv_heads * c.head_dim);
    in.v.resize(in.k.size());
    in.fq.resize(static_cast<size_t>(L) * c.n_heads * F);
    in.fk.resize(in.fq.size());
    for (auto *vec : {&in.q, &in.k, &in.v})
        for (double &x : *vec) x = normal(rng);
    for (auto *vec : {&in.fq, &in.fk})
        for (double &x : *vec) x = uniform(rng);
    return in;
}

template <class T>
std::vector<T> cast(const std::vector<double> &v) {
    return std::vector<T>(v.begin(), v.end());
}

// Feeds the tokens in calls of the given lengths (summing to L); returns y [L][H][d].
template <class T>
std::vector<T> feed_split(lola::Layer<T> &layer, const std::vector<T> &q, const std::vector<T> &k,
                          const std::vector<T> &v, const std::vector<T> *fq,
                          const std::vector<T> *fk, const std::vector<int> &split,
                          lola::Path path = lola::Path::automatic,
                          const std::function<void(const lola::Layer<T> &)> &after_call = {}) {
    const lola::LayerConfig &c = layer.config();
    const size_t qs = static_cast<size_t>(c.n_heads) * c.head_dim;
    const size_t ks = static_cast<size_t>(c.n_kv_heads) * c.head_dim;
    const size_t fs = static_cast<size_t>(c.n_heads) * c.feature_dim;
    const size_t L = q.size() / qs;
    std::vector<T> y(L * qs, T(-7777));
    size_t t = 0;
    for (int n : split) {
        layer.feed(n, q.data() + t * qs, k.data() + t * ks, v.data() + t * ks,
                   fq ? fq->data() + t * fs : nullptr, fk ? fk->data() + t * fs : nullptr,
                   y.data() + t * qs, path);
        t += static_cast<size_t>(n);
        if (after_call) after_call(layer);
    }
    EXPECT_EQ(t, L) << "split does not cover the sequence";
    return y;
}

inline std::vector<int> one_call(int L) { return {L}; }
inline std::vector<int> token_by_token(int L) { return std::vector<int>(L, 1); }
inline std::vector<int> random_split(int L, uint64_t seed, int max_len) {
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<int> len(1, max_len);
    std::vector<int> out;
    for (int left = L; left > 0;) {
        const int n = std::min(left, len(rng));
        out.push_back(n);
        left -= n;
    }
    return out;
}

struct Positions {
    std::vector<int64_t> sparse, window, folded_or_evicted;
};

// Positions per memory of state head sh; everything not held is folded (or evicted).
template <class T>
Positions positions_of(const lola::Layer<T> &layer, int sh) {
    const lola::HeadState<T> &st = layer.state(sh);
    Positions p;
    p.sparse = st.sparse.pos;
    p.window = st.prev.pos;
    p.window.insert(p.window.end(), st.cur.pos.begin(), st.cur.pos.end());
    std::set<int64_t> held(p.sparse.begin(), p.sparse.end());
    held.insert(p.window.begin(), p.window.end());
    for (int64_t i = 0; i < layer.n_tokens(); ++i)
        if (!held.count(i)) p.folded_or_evicted.push_back(i);
    return p;
}

// The invariants that hold after every call: each past position in exactly one memory, the
// counters agree with the lists, |G| <= lambda, G and the window in ascending order.
template <class T>
void check_invariants(const lola::Layer<T> &layer) {
    const lola::LayerConfig &c = layer.config();
    for (int sh = 0; sh < layer.n_state_heads(); ++sh) {
        const lola::HeadState<T> &st = layer.state(sh);
        ASSERT_LE(st.sparse.size(), c.sparse_capacity) << "head " << sh;
        std::vector<int64_t> all = st.sparse.pos;
        all.insert(all.end(), st.prev.pos.begin(), st.prev.pos.end());
        all.insert(all.end(), st.cur.pos.begin(), st.cur.pos.end());
        ASSERT_TRUE(std::is_sorted(st.sparse.pos.begin(), st.sparse.pos.end()));
        std::set<int64_t> unique(all.begin(), all.end());
        ASSERT_EQ(unique.size(), all.size()) << "a position is in two memories, head " << sh;
        for (int64_t p : all) ASSERT_TRUE(p >= 0 && p < layer.n_tokens());
        ASSERT_EQ(static_cast<int64_t>(all.size()) + st.n_folded + st.n_evicted, layer.n_tokens())
            << "positions not accounted for, head " << sh;
        if (c.attention != lola::Attention::full) {
            ASSERT_EQ(st.cur.size(), layer.n_tokens() % c.chunk);
            ASSERT_LE(st.prev.size(), c.chunk);
        }
        if (c.attention != lola::Attention::lola) {
            ASSERT_EQ(st.n_folded, 0);
        }
        if (c.attention != lola::Attention::window) {
            ASSERT_EQ(st.n_evicted, 0);
        }
    }
}

// Max |a - b|.
template <class A, class B>
double max_abs_diff(const std::vector<A> &a, const std::vector<B> &b) {
    EXPECT_EQ(a.size(), b.size());
    double m = 0;
    for (size_t i = 0; i < std::min(a.size(), b.size()); ++i)
        m = std::max(m, std::abs(static_cast<double>(a[i]) - static_cast<double>(b[i])));
    return m;
}

}  // namespace lola_test
