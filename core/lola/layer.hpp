// layer.hpp: one multi-head LoLA attention layer with GQA (spec, "Models and heads").
//
// Shapes are token-major: q [T][n_heads][d], k and v [T][n_kv_heads][d], y [T][n_heads][d],
// precomputed features fq, fk [T][n_heads][F]. Query head h reads KV head h / (n_heads /
// n_kv_heads). The layer keeps one state per query head when phi differs per query head
// (hedgehog, precomputed) and one per KV head when phi is shared (performer, elu1, relu): the
// results are identical to the expanded form (config.expand_kv), at a fraction of the memory.
//
// Templated on the scalar: double for exactness tests, float for users (the C API).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "base/isa.hpp"
#include "lola/config.hpp"
#include "lola/feature_map.hpp"
#include "lola/head.hpp"
#include "lola/head_state.hpp"
#include "base/thread_pool.hpp"

namespace lola {

template <class T>
class Layer {
public:
    // Validates; throws Error. With `pool`, the layer runs its heads on that pool (shared with
    // the caller, who keeps it alive longer than the layer) instead of making its own of
    // config.n_threads threads.
    explicit Layer(const LayerConfig &config, ThreadPool *pool = nullptr);
    Layer(const Layer &other);                     // deep copy of parameters and state
    Layer(const Layer &other, ThreadPool *pool);   // the same, running on `pool`
    Layer &operator=(const Layer &) = delete;
    ~Layer();

    const LayerConfig &config() const { return config_; }
    int n_state_heads() const { return static_cast<int>(states_.size()); }
    int state_head_of(int query_head) const;
    const HeadState<T> &state(int state_head) const { return states_[state_head]; }
    const HeadParams<T> &params(int state_head) const { return params_[state_head]; }
    int64_t n_tokens() const { return n_tokens_; }
    size_t bytes() const;  // cache state held, all heads

    // Feeds n tokens (see the shapes above; fq/fk only for precomputed features, y may be null).
    // Validates everything before changing anything: on an exception the layer is unchanged.
    void feed(int64_t n, const T *q, const T *k, const T *v, const T *fq, const T *fk, T *y,
              Path path = Path::automatic);

    void reset();

    // The instruction-set level of the float layer's attention kernels (lola/simd/kernels.hpp):
    // by default the best this CPU runs; Isa::scalar runs the reference loops. Every level gives
    // the same bits. Throws Error (unsupported) for a level not available here; a double layer
    // always runs the reference.
    void set_isa(Isa isa);
    Isa isa() const { return isa_; }

    // State blob (state_blob.cpp): versioned, checksummed; restore validates the whole blob
    // before touching the layer.
    std::vector<unsigned char> save() const;
    size_t save_size() const;  // == save().size(), without building the blob
    void restore(const unsigned char *data, size_t size);

    // Replaces every state head's state and the token count: for a backend that keeps the
    // state in its own layout and hands it back for cache queries and save. The caller keeps
    // the states consistent with this layer's config (one per state head, shapes as
    // make_state's); a wrong count throws Error (internal) and changes nothing.
    void adopt_states(std::vector<HeadState<T>> states, int64_t n_tokens);

private:
    void init_states();
    HeadState<T> make_state() const;  // empty, with the capacities the layer needs reserved
    void reserve_scratch(int64_t extra_tokens);
    void attach_pool(ThreadPool *pool);  // before any change, so feeds never allocate
    void run_segment(const Segment<T> &io, int n, Path path);

    LayerConfig config_;
    FeatureMap<T> phi_;
    std::vector<HeadParams<T>> params_;  // per state head
    std::vector<HeadState<T>> states_;
    std::vector<Scratch<T>> scratch_;    // per worker
    std::unique_ptr<ThreadPool> own_pool_;
    ThreadPool *pool_ = nullptr;
    int64_t n_tokens_ = 0;
    Isa isa_ = Isa::scalar;
};

extern template class Layer<float>;
extern template class Layer<double>;

}  // namespace lola
