// layer.cpp: the multi-head layer: maps query heads to state heads (GQA), validates inputs,
// splits a feed into segments that end at chunk boundaries, and runs the heads in parallel.
#include "lola/layer.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <type_traits>

#include <unistd.h>

#include "base/error.hpp"
#include "lola/simd/kernels.hpp"

namespace lola {

namespace {

constexpr int kFullSegment = 64;  // full attention has no chunks; bound the scratch instead

// Refuses, before anything is allocated, a layer whose state memories at capacity, linear state
// and per-worker scratch (what creation reserves) exceed the machine's physical memory. Computed
// in double so that extreme parameters cannot overflow.
void require_fits(const LayerConfig &c, size_t scalar, int workers) {
    const double d = c.head_dim, F = c.feature_dim, C = c.chunk, lambda = c.sparse_capacity;
    const double states = state_per_query_head(c) ? c.n_heads : c.n_kv_heads;
    const double pairs = c.attention == Attention::full ? 1 : lambda + 2 * C;
    const double seg = c.attention == Attention::full ? kFullSegment : C;
    const double per_state = pairs * (2 * d + F + 3) + F * d + F;
    const double scratch = seg * (pairs + d + F + 2) + (pairs + seg) * (d + 2) + lambda * (2 * d + F + 3);
    const double bytes = static_cast<double>(scalar) * (states * per_state + std::max(workers, 1) * scratch);
    const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
    if (pages <= 0 || page <= 0) return;
    const double memory = static_cast<double>(pages) * static_cast<double>(page);
    if (bytes > memory)
        fail(Status::out_of_memory, "the layer would reserve about " + std::to_string(static_cast<uint64_t>(bytes)) +
                                        " bytes (head_dim " + std::to_string(c.head_dim) + ", chunk_size " +
                                        std::to_string(c.chunk) + ", sparse_capacity " +
                                        std::to_string(c.sparse_capacity) + "), more than the " +
                                        std::to_string(static_cast<uint64_t>(memory)) +
                                        " bytes of memory of this machine");
}

template <class T>
void require_finite(const T *x, size_t n, const char *name) {
    for (size_t i = 0; i < n; ++i)
        if (!std::isfinite(x[i]))
            fail(Status::non_finite, std::string(name) + "[" + std::to_string(i) +
                                         "] is not finite; nothing was fed");
}

}  // namespace

template <class T>
void Layer<T>::attach_pool(ThreadPool *pool) {
    if (pool) {
        pool_ = pool;
    } else {
        own_pool_ = std::make_unique<ThreadPool>(config_.n_threads);
        pool_ = own_pool_.get();
    }
    scratch_.resize(pool_->size());
    reserve_scratch(0);
}

template <class T>
Layer<T>::Layer(const LayerConfig &config, ThreadPool *pool)
    // require_fits runs before phi_ (a performer map alone is feature_dim x head_dim) is built.
    : config_(validated(config)), phi_((require_fits(config_, sizeof(T), pool ? pool->size() : config_.n_threads), config_)) {
    if constexpr (std::is_same_v<T, float>) isa_ = simd::best_isa();
    init_states();
    attach_pool(pool);
}

template <class T>
Layer<T>::Layer(const Layer &other, ThreadPool *pool)
    : config_(other.config_), phi_(other.phi_), n_tokens_(other.n_tokens_), isa_(other.isa_) {
    init_states();  // params_ point at this object's config and map; capacities reserved
    for (size_t i = 0; i < states_.size(); ++i) states_[i] = other.states_[i];
    attach_pool(pool);
}

template <class T>
Layer<T>::Layer(const Layer &other) : Layer(other, nullptr) {}

template <class T>
Layer<T>::~Layer() = default;

template <class T>
void Layer<T>::init_states() {
    const LayerConfig &c = config_;
    const bool per_query = state_per_query_head(c);
    const int group = c.n_heads / c.n_kv_heads;
    const int n_state = per_query ? c.n_heads : c.n_kv_heads;
    params_.assign(n_state, HeadParams<T>{});
    states_.assign(n_state, HeadState<T>{});
    for (int sh = 0; sh < n_state; ++sh) {
        HeadParams<T> &p = params_[sh];
        p.config = &config_;
        p.phi = c.feature_map == FeatureMapKind::precomputed ? nullptr : &phi_;
        p.d = c.head_dim;
        p.F = c.feature_dim;
        p.chunk = c.chunk;
        p.capacity = c.sparse_capacity;
        p.kv_head = per_query ? sh / group : sh;
        p.first_query_head = per_query ? sh : sh * group;
        p.n_query_heads = per_query ? 1 : group;
        p.linear = c.attention == Attention::lola;
        p.scale = static_cast<T>(c.softmax_scale);
        p.eps = static_cast<T>(c.eps);
        p.log_eps = c.eps > 0 ? static_cast<T>(std::log(c.eps))
                              : -std::numeric_limits<T>::infinity();
        if constexpr (std::is_same_v<T, float>) p.kernels = simd::kernels(isa_);
        p.gate.resize(p.n_query_heads);
        for (int j = 0; j < p.n_query_heads; ++j)
            p.gate[j] = static_cast<T>(
                1.0 / (1.0 + std::exp(-c.window_factors[p.first_query_head + j])));

        states_[sh] = make_state();
    }
}

template <class T>
void Layer<T>::set_isa(Isa isa) {
    if (isa != Isa::scalar && !simd::kernels(isa))
        fail(Status::unsupported, std::string("the attention kernels have no level ") + isa_name(isa) +
                                      " on this CPU or in this build");
    if constexpr (!std::is_same_v<T, float>) return;
    isa_ = isa;
    for (HeadParams<T> &p : params_) p.kernels = simd::kernels(isa);
}

template <class T>
void Layer<T>::adopt_states(std::vector<HeadState<T>> states, int64_t n_tokens) {
    if (states.size() != states_.size() || n_tokens < 0)
        fail(Status::internal, "adopt_states: " + std::to_string(states.size()) + " states for " +
                                   std::to_string(states_.size()) + " state heads");
    states_ = std::move(states);
    n_tokens_ = n_tokens;
}

template <class T>
HeadState<T> Layer<T>::make_state() const {
    const LayerConfig &c = config_;
    HeadState<T> st;
    for (Pairs<T> *mem : {&st.sparse, &st.prev, &st.cur}) {
        mem->d = c.head_dim;
        mem->F = c.attention == Attention::lola ? c.feature_dim : 0;
    }
    if (c.attention != Attention::full) {
        st.sparse.reserve(static_cast<size_t>(c.sparse_capacity));
        st.prev.reserve(static_cast<size_t>(c.chunk));
        st.cur.reserve(static_cast<size_t>(c.chunk));
    }
    return st;
}

template <class T>
void Layer<T>::reserve_scratch(int64_t extra_tokens) {
    const LayerConfig &c = config_;
    const size_t seg = c.attention == Attention::full
                           ? static_cast<size_t>(std::clamp<int64_t>(extra_tokens, 1, kFullSegment))
                           : static_cast<size_t>(c.chunk);
    const size_t cols = c.attention == Attention::full
                            ? static_cast<size_t>(n_tokens_ + extra_tokens)
                            : static_cast<size_t>(c.sparse_capacity) + 2 * c.chunk;
    const size_t pairs = static_cast<size_t>(c.sparse_capacity) + c.chunk;
    const size_t d = c.head_dim, F = c.feature_dim;
    // The SIMD token step (token_step_simd.cpp) has one row per query head of a state.
    const size_t rows = std::max(seg, static_cast<size_t>(params_.empty() ? 1 : params_[0].n_query_heads));
    for (Scratch<T> &sc : scratch_) {
        reserve_geometric(sc.scores, rows * cols);
        reserve_geometric(sc.num, rows * d);
        reserve_geometric(sc.feat, rows * F);
        reserve_geometric(sc.lin, std::max(rows, pairs) * d);
        reserve_geometric(sc.fqlog, rows);
        reserve_geometric(sc.weights, rows);
        reserve_geometric(sc.tmp, std::max(seg, pairs));
        reserve_geometric(sc.order, pairs);
        sc.spare.d = c.head_dim;
        sc.spare.F = c.attention == Attention::lola ? c.feature_dim : 0;
        sc.spare.reserve(static_cast<size_t>(c.sparse_capacity));
    }
}

template <class T>
int Layer<T>::state_head_of(int query_head) const {
    if (state_per_query_head(config_)) return query_head;
    return query_head / (config_.n_heads / config_.n_kv_heads);
}

template <class T>
size_t Layer<T>::bytes() const {
    size_t total = 0;
    for (const HeadState<T> &st : states_) total += st.bytes();
    return total;
}

template <class T>
void Layer<T>::reset() {
    init_states();
    n_tokens_ = 0;
}

template <class T>
void Layer<T>::run_segment(const Segment<T> &base, int n, Path path) {
    const LayerConfig &c = config_;
    const size_t d = c.head_dim, F = c.feature_dim;
    auto head_segment = [&](const HeadParams<T> &p) {
        Segment<T> seg = base;
        seg.n = n;
        seg.q = base.q + p.first_query_head * d;
        seg.k = base.k + p.kv_head * d;
        seg.v = base.v + p.kv_head * d;
        if (base.fq) seg.fq = base.fq + p.first_query_head * F;
        if (base.fk) seg.fk = base.fk + p.first_query_head * F;
        if (base.y) seg.y = base.y + p.first_query_head * d;
        return seg;
    };
    const bool chunked = path == Path::chunk || (path == Path::automatic && n > 1);
    const int group = params_[0].n_query_heads;
    if (chunked && base.y && group > 1 && pool_->size() > 1) {
        // A prefill segment: one job per query head, so that a few state heads (3 KV heads of
        // SmolLM2 on 2 threads) do not leave a thread idle; appends and boundaries per state.
        pool_->run(n_state_heads(), [&](int worker, int sh) {
            append_segment(params_[sh], states_[sh], head_segment(params_[sh]), scratch_[worker]);
        });
        pool_->run(n_state_heads() * group, [&](int worker, int task) {
            const int sh = task / group;
            attend_chunk(params_[sh], states_[sh], head_segment(params_[sh]), scratch_[worker], task % group, 1);
        });
        if (c.attention != Attention::full)
            pool_->run(n_state_heads(), [&](int worker, int sh) {
                if (states_[sh].cur.size() == c.chunk) boundary(params_[sh], states_[sh], scratch_[worker]);
            });
        return;
    }
    pool_->run(n_state_heads(), [&](int worker, int sh) {
        const HeadParams<T> &p = params_[sh];
        HeadState<T> &st = states_[sh];
        const Segment<T> seg = head_segment(p);
        Scratch<T> &sc = scratch_[worker];
        append_segment(p, st, seg, sc);
        if (chunked) {
            attend_chunk(p, st, seg, sc);
        } else if constexpr (std::is_same_v<T, float>) {
            if (p.kernels)
                attend_token_simd(p, st, seg, sc);
            else
                attend_token(p, st, seg, sc);
        } else {
            attend_token(p, st, seg, sc);
        }
        if (c.attention != Attention::full && st.cur.size() == c.chunk) boundary(p, st, sc);
    });
}

template <class T>
void Layer<T>::feed(int64_t n, const T *q, const T *k, const T *v, const T *fq, const T *fk,
                    T *y, Path path) {
    const LayerConfig &c = config_;
    if (n <= 0) fail(Status::invalid_argument, "n_tokens must be >= 1, got " + std::to_string(n));
    if (!q || !k || !v) fail(Status::null_pointer, "q, k and v must not be NULL");
    const bool precomputed = c.feature_map == FeatureMapKind::precomputed;
    if (precomputed && (!fq || !fk))
        fail(Status::unsupported, "this layer takes precomputed features: pass fq and fk "
                                  "(lola_layer_feed_features)");
    if (!precomputed && (fq || fk))
        fail(Status::unsupported, std::string("features were passed to a layer whose feature map "
                                              "is ") + to_string(c.feature_map));
    const int64_t max_tokens = std::numeric_limits<int64_t>::max() / 4 /
                               (static_cast<int64_t>(c.n_heads) * std::max(c.head_dim, c.feature_dim));
    if (n > max_tokens || n_tokens_ > std::numeric_limits<int64_t>::max() - n)
        fail(Status::invalid_argument, "n_tokens is too large");
    const size_t H = c.n_heads, Hkv = c.n_kv_heads, d = c.head_dim, F = c.feature_dim;
    const size_t tokens = static_cast<size_t>(n);
    require_finite(q, tokens * H * d, "q");
    require_finite(k, tokens * Hkv * d, "k");
    require_finite(v, tokens * Hkv * d, "v");
    if (precomputed) {
        require_finite(fq, tokens * H * F, "fq");
        require_finite(fk, tokens * H * F, "fk");
    }
    // Reserve everything before the first change, so an allocation failure loses nothing.
    if (c.attention == Attention::full) {
        for (HeadState<T> &st : states_) st.cur.reserve(static_cast<size_t>(n_tokens_ + n));
        reserve_scratch(n);
    }

    Segment<T> base;
    base.q_stride = H * d;
    base.kv_stride = Hkv * d;
    base.fq_stride = H * F;
    base.fk_stride = H * F;
    base.y_stride = H * d;
    int64_t done = 0;
    while (done < n) {
        const int room = c.attention == Attention::full ? kFullSegment
                                                        : c.chunk - states_[0].cur.size();
        const int len = static_cast<int>(std::min<int64_t>(room, n - done));
        const size_t t0 = static_cast<size_t>(done);
        base.pos0 = n_tokens_;
        base.q = q + t0 * H * d;
        base.k = k + t0 * Hkv * d;
        base.v = v + t0 * Hkv * d;
        base.fq = fq ? fq + t0 * H * F : nullptr;
        base.fk = fk ? fk + t0 * H * F : nullptr;
        base.y = y ? y + t0 * H * d : nullptr;
        run_segment(base, len, path);
        done += len;
        n_tokens_ += len;
    }
}

template class Layer<float>;
template class Layer<double>;

}  // namespace lola
