// head_state.hpp: the memories of one attention head (spec, "Per-head state"): the sparse
// cache G, the window (W_prev, W_cur) and the linear state (H, s), plus the per-layer constants
// every head algorithm reads.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "lola/config.hpp"
#include "lola/feature_map.hpp"

namespace lola {

namespace simd {
struct Kernels;
}

// Ensures capacity for n elements, growing geometrically so that repeated small requests (full
// attention, one token at a time) reallocate O(log n) times, not every call.
template <class V>
void reserve_geometric(std::vector<V> &vec, size_t n) {
    if (n > vec.capacity()) vec.reserve(std::max(n, vec.capacity() + vec.capacity() / 2));
}

// A set of cached key/value pairs in structure-of-arrays form, in insertion order (which is
// ascending position order everywhere in the layer).
template <class T>
struct Pairs {
    int d = 0;  // head dim
    int F = 0;  // feature dim of the cached phi_k (0 when phi_k is not needed)
    std::vector<int64_t> pos;
    std::vector<T> k, v;     // [n][d]
    std::vector<T> fk;       // [n][F] scaled key features f, phi_k = exp(fk_log) * f
    std::vector<T> fk_log;   // [n]
    std::vector<T> score;    // [n] latest selection score (sparse cache only)

    int size() const { return static_cast<int>(pos.size()); }
    const T *key(int i) const { return k.data() + static_cast<size_t>(i) * d; }
    const T *value(int i) const { return v.data() + static_cast<size_t>(i) * d; }
    const T *feature(int i) const { return fk.data() + static_cast<size_t>(i) * F; }

    void reserve(size_t n) {
        reserve_geometric(pos, n);
        reserve_geometric(k, n * d);
        reserve_geometric(v, n * d);
        reserve_geometric(fk, n * F);
        reserve_geometric(fk_log, n);
        reserve_geometric(score, n);
    }
    void clear() {
        pos.clear();
        k.clear();
        v.clear();
        fk.clear();
        fk_log.clear();
        score.clear();
    }
    // Appends a pair; `f` may be null when F == 0.
    void push(int64_t p, const T *key_in, const T *value_in, const T *f, T f_log, T s) {
        pos.push_back(p);
        k.insert(k.end(), key_in, key_in + d);
        v.insert(v.end(), value_in, value_in + d);
        if (F > 0) fk.insert(fk.end(), f, f + F);
        fk_log.push_back(f_log);
        score.push_back(s);
    }
    void push_from(const Pairs &src, int i, T s) {
        push(src.pos[i], src.key(i), src.value(i), F > 0 ? src.feature(i) : nullptr,
             src.fk_log[i], s);
    }
    size_t bytes() const {
        return pos.capacity() * sizeof(int64_t) +
               (k.capacity() + v.capacity() + fk.capacity() + fk_log.capacity() +
                score.capacity()) * sizeof(T);
    }
};

template <class T>
struct HeadState {
    Pairs<T> sparse;  // G: at most lambda pairs
    Pairs<T> prev;    // W_prev: the previous complete chunk
    Pairs<T> cur;     // W_cur: the current partial chunk (for full attention: every pair)
    std::vector<T> H;  // [F][d] scaled: true H = exp(log_scale) * H
    std::vector<T> s;  // [F]    scaled likewise
    T log_scale = 0;
    bool has_linear = false;  // H, s exist (after the first chunk boundary)
    int64_t n_folded = 0;
    int64_t n_evicted = 0;

    size_t bytes() const {
        return sparse.bytes() + prev.bytes() + cur.bytes() +
               (H.capacity() + s.capacity()) * sizeof(T);
    }
};

// Constants of one state head, derived from the validated config.
template <class T>
struct HeadParams {
    const LayerConfig *config = nullptr;
    const FeatureMap<T> *phi = nullptr;  // null for precomputed features
    int d = 0, F = 0, chunk = 0, capacity = 0;
    int kv_head = 0;           // the KV head this state reads keys and values from
    int first_query_head = 0;  // query heads first_query_head .. + n_query_heads - 1
    int n_query_heads = 1;     //   read this state
    bool linear = false;       // attention == lola: phi_k is cached and pairs are folded
    T scale = 0, eps = 0;
    T log_eps = 0;             // log(eps) (-inf for eps 0), computed once on the host
    std::vector<T> gate;       // [n_query_heads] g = sigmoid(window_factor)
    // The float path's SIMD kernels (lola/simd/kernels.hpp, the same bits), or null: the
    // reference loops of lola/math.hpp.
    const simd::Kernels *kernels = nullptr;
};

}  // namespace lola
