// emulated_attention.hpp: one LoLA attention layer computed by the CUDA kernels' bodies as
// emulated launches, token by token (key features, append, query features, decode, and the
// boundary when W_cur fills; full attention: a W_cur that grows by doubling), on the kernels'
// state layout (host_state.hpp). The host Layer it holds gives the parameters and, on demand,
// the device-neutral view of the state (for cache queries and save) and loads blobs.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "backend/backend.hpp"
#include "base/error.hpp"
#include "cuda/host_state.hpp"
#include "cuda/k_feature_map.hpp"
#include "cuda/k_lola_decode.hpp"
#include "cuda/k_lola_state.hpp"
#include "lola/layer.hpp"

namespace lola::cuda {

class EmulatedAttention {
public:
    explicit EmulatedAttention(const LayerConfig &config) : mirror_(config) { load_from_mirror(); }

    // Feeds n tokens (q [n][H][d], k, v [n][KV][d]) with outputs y [n][H][d], in runs that stay
    // inside one chunk (the chunked prefill; a run of 1 is the decode): features of every token
    // of the run, its pairs appended, then one attention launch for the whole run, and the
    // boundary when W_cur is full.
    void feed(int64_t n, const float *q, const float *kk, const float *v, float *y) {
        const LayerConfig &c = mirror_.config();
        const int H = c.n_heads, KV = c.n_kv_heads, d = c.head_dim;
        const size_t F1 = F_ > 0 ? static_cast<size_t>(F_) : 1u;
        for (int64_t t0 = 0; t0 < n;) {
            int64_t len = std::min<int64_t>(n - t0, kMaxRun);
            if (!full_) len = std::min<int64_t>(len, c.chunk - views_[0].cur.n);
            if (full_ && views_[0].cur.n + len > window_capacity_) {  // full attention: W_cur grows
                (void)layer();  // the state as it is, into the mirror
                while (window_capacity_ < views_[0].cur.n + len) window_capacity_ *= 2;
                load_from_mirror();
            }
            const int run = static_cast<int>(len);
            if (linear_) {
                for (int j = 0; j < run; ++j)
                    for (int sh = 0; sh < n_states_; ++sh)
                        key_index_[static_cast<size_t>(j * n_states_ + sh)] =
                            static_cast<int32_t>((t0 + j) * KV) + kv_of_state_[static_cast<size_t>(sh)];
                fa_.x = kk;
                fa_.x_index = key_index_.data();
                fa_.map_head = key_map_head_.data();
                fa_.w = phi_.wk;
                fa_.f = fk_.data();
                fa_.c = fk_log_.data();
                k::feature_emulated(fa_, static_cast<int64_t>(run) * n_states_);
                fa_.x = q + t0 * H * d;
                fa_.x_index = nullptr;
                fa_.map_head = query_map_head_.data();
                fa_.w = phi_.wq;
                fa_.f = fq_.data();
                fa_.c = q_log_.data();
                k::feature_emulated(fa_, static_cast<int64_t>(run) * H);
            }
            for (int j = 0; j < run; ++j) {
                aa_.pos = n_tokens_ + j;
                aa_.k = kk + (t0 + j) * KV * d;
                aa_.v = v + (t0 + j) * KV * d;
                aa_.fk = linear_ ? fk_.data() + static_cast<size_t>(j * n_states_) * F1 : nullptr;
                aa_.fk_log = fk_log_.data() + static_cast<size_t>(j * n_states_);
                k::append_emulated(aa_, n_states_);
            }
            for (int sh = 0; sh < n_states_; ++sh) {
                k::DecodeHead &h = dheads_[static_cast<size_t>(sh)];
                const int64_t q0 = first_query_head_[static_cast<size_t>(sh)];
                h.q = q + t0 * H * d + q0 * d;
                h.y = y ? y + t0 * H * d + q0 * d : discard_.data() + q0 * d;
            }
            da_.n_tokens = run;
            k::lola_decode_emulated(da_, n_states_);
            n_tokens_ += run;
            t0 += run;
            if (!full_ && views_[0].cur.n == c.chunk) k::boundary_emulated(sa_, n_states_);
        }
        mirror_current_ = false;
    }

    const Layer<float> &layer() const {
        if (!mirror_current_) {
            std::vector<HeadState<float>> states;
            for (int sh = 0; sh < n_states_; ++sh)
                states.push_back(HostState::export_state(views_[static_cast<size_t>(sh)], d_, F_, pairs_F_));
            mirror_.adopt_states(std::move(states), n_tokens_);
            mirror_current_ = true;
        }
        return mirror_;
    }
    // Replaces the state by a blob's (Layer::restore validates it whole first: a bad blob
    // changes nothing).
    void restore(const backend::Bytes &blob) {
        mirror_.restore(blob.data, blob.size);
        load_from_mirror();
    }
    void reset() {
        mirror_.reset();
        load_from_mirror();
    }
    int64_t n_tokens() const { return n_tokens_; }

private:
    // (Re)builds the kernels' state and arguments from the mirror's state.
    void load_from_mirror() {
        const LayerConfig &c = mirror_.config();
        const HeadParams<float> &p0 = mirror_.params(0);
        // Full attention keeps every pair in W_cur (no boundary), which grows by doubling: the
        // only attention whose feeds allocate.
        full_ = c.attention == Attention::full;
        if (!full_) window_capacity_ = c.chunk;
        while (full_ && window_capacity_ < mirror_.state(0).cur.size() + 1) window_capacity_ *= 2;
        n_states_ = mirror_.n_state_heads();
        d_ = c.head_dim;
        F_ = p0.F;
        linear_ = p0.linear;
        pairs_F_ = linear_ ? F_ : 0;
        n_tokens_ = mirror_.n_tokens();
        states_.clear();
        views_.clear();
        kv_of_state_.clear();
        key_map_head_.clear();
        first_query_head_.clear();
        gates_.clear();
        for (int sh = 0; sh < n_states_; ++sh) {
            const HeadParams<float> &p = mirror_.params(sh);
            states_.push_back(std::make_unique<HostState>(mirror_.state(sh), c.sparse_capacity, window_capacity_, d_, F_, p.kv_head));
            views_.push_back(states_.back()->view);
            kv_of_state_.push_back(p.kv_head);
            key_map_head_.push_back(p.first_query_head);
            first_query_head_.push_back(p.first_query_head);
            for (int j = 0; j < p.n_query_heads; ++j) gates_.push_back(p.gate[static_cast<size_t>(j)]);
        }
        // Per run of up to kMaxRun tokens: vector b of the query features is token b / H's
        // head b % H; of the key features, token b / n_states's state b % n_states.
        const size_t run = static_cast<size_t>(kMaxRun);
        query_map_head_.resize(run * static_cast<size_t>(c.n_heads));
        for (size_t b = 0; b < query_map_head_.size(); ++b)
            query_map_head_[b] = static_cast<int32_t>(b % static_cast<size_t>(c.n_heads));
        std::vector<int32_t> key_heads(key_map_head_);
        key_map_head_.clear();
        for (size_t j = 0; j < run; ++j) key_map_head_.insert(key_map_head_.end(), key_heads.begin(), key_heads.end());
        key_index_.assign(run * static_cast<size_t>(n_states_), 0);
        const size_t F1 = F_ > 0 ? static_cast<size_t>(F_) : 1u;
        fk_.assign(run * static_cast<size_t>(n_states_) * F1, 0.f);
        fk_log_.assign(run * static_cast<size_t>(n_states_), 0.f);
        fq_.assign(run * static_cast<size_t>(c.n_heads) * F1, 0.f);
        q_log_.assign(run * static_cast<size_t>(c.n_heads), 0.f);
        discard_.assign(run * static_cast<size_t>(c.n_heads) * static_cast<size_t>(d_), 0.f);

        if (linear_) {
            phi_ = p0.phi->view();
            fa_ = k::FeatureArgs{};
            fa_.kind = feature_kind(c.feature_map);
            if (fa_.kind < 0)
                fail(Status::unsupported, "the CUDA backend computes its feature maps; precomputed features are not supported");
            fa_.d = d_;
            fa_.F = F_;
            fa_.x_stride = d_;
            fa_.omega = phi_.omega;
            fa_.x_scale = phi_.x_scale;
            fa_.log_norm = phi_.log_norm;
        }
        aa_ = k::AppendArgs{views_.data(), d_, F_, 0, nullptr, nullptr, kv_of_state_.data(),
                            linear_ ? fk_.data() : nullptr, fk_log_.data()};

        dheads_.assign(static_cast<size_t>(n_states_), k::DecodeHead{});
        for (int sh = 0; sh < n_states_; ++sh) {
            k::DecodeHead &h = dheads_[static_cast<size_t>(sh)];
            const size_t q0 = static_cast<size_t>(first_query_head_[static_cast<size_t>(sh)]);
            h.state = &views_[static_cast<size_t>(sh)];
            h.fq = fq_.data() + q0 * F1;
            h.q_log = q_log_.data() + q0;
            h.gate = gates_.data() + static_cast<size_t>(sh) * static_cast<size_t>(p0.n_query_heads);
        }
        da_ = k::DecodeArgs{dheads_.data(), d_, F_, p0.n_query_heads, p0.scale, p0.eps, p0.log_eps, linear_,
                            static_cast<int>(c.mixing), nullptr,
                            full_ ? window_capacity_ : c.sparse_capacity + 2 * c.chunk};
        da_.q_stride = static_cast<int64_t>(c.n_heads) * d_;
        da_.fq_stride = static_cast<int64_t>(c.n_heads) * static_cast<int64_t>(F1);
        da_.qlog_stride = c.n_heads;
        da_.y_stride = static_cast<int64_t>(c.n_heads) * d_;
        dscratch_.assign(run * static_cast<size_t>(n_states_) * static_cast<size_t>(k::decode_scratch_floats(da_)), 0.f);
        da_.scratch = dscratch_.data();
        sa_ = k::StateArgs{views_.data(), d_, F_, c.chunk, c.sparse_capacity,
                           c.attention == Attention::window ? k::kWindow : k::kLola,
                           static_cast<int>(c.scoring), c.seed, p0.eps, nullptr};
        sscratch_.assign(static_cast<size_t>(n_states_) * static_cast<size_t>(k::state_scratch_floats(sa_)), 0.f);
        sa_.scratch = sscratch_.data();
        mirror_current_ = true;
    }

    mutable Layer<float> mirror_;
    mutable bool mirror_current_ = true;
    int n_states_ = 0, d_ = 0, F_ = 0, pairs_F_ = 0;
    int window_capacity_ = 64;  // W_prev's and W_cur's (full attention: W_cur's, growing)
    bool linear_ = false, full_ = false;
    int64_t n_tokens_ = 0;
    std::vector<std::unique_ptr<HostState>> states_;
    std::vector<k::HeadView> views_;  // the kernels' state (one contiguous array, as on a device)
    static constexpr int kMaxRun = 64;  // tokens per attention launch (a run within one chunk)
    std::vector<int32_t> kv_of_state_, key_map_head_, query_map_head_, first_query_head_, key_index_;
    std::vector<float> gates_, fk_, fk_log_, fq_, q_log_, discard_, dscratch_, sscratch_;
    FeatureMap<float>::View phi_{};
    k::FeatureArgs fa_;
    k::AppendArgs aa_;
    std::vector<k::DecodeHead> dheads_;
    k::DecodeArgs da_;
    k::StateArgs sa_;
};

}  // namespace lola::cuda
