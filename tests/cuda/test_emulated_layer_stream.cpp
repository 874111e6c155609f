// A whole LoLA layer streamed through the CUDA kernels as emulated launches, token by token:
// key features, append, query features, decode, and the boundary whenever W_cur fills, on the
// device-layout state (k_lola_state.hpp) alone. Every output equals Layer<float>::feed's, bit
// for bit, over many boundaries, for both mixings, the feature maps, GQA, the window
// baseline, and a 100,000-token run.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "cuda/k_feature_map.hpp"
#include "cuda/k_lola_decode.hpp"
#include "cuda/k_lola_state.hpp"
#include "layer_check.hpp"
#include "lola/layer.hpp"
#include "state_slots.hpp"

namespace {

namespace k = lola::cuda::k;
using lola::Attention;
using lola::FeatureMapKind;
using lola::LayerConfig;
using lola::Mixing;

int kernel_kind(FeatureMapKind m) {
    switch (m) {
    case FeatureMapKind::hedgehog: return k::kHedgehog;
    case FeatureMapKind::performer: return k::kPerformer;
    case FeatureMapKind::elu1: return k::kElu1;
    default: return k::kRelu;
    }
}

void stream(LayerConfig c, int n_tokens, uint64_t seed) {
    std::mt19937_64 rng(seed);
    if (c.feature_map == FeatureMapKind::hedgehog) {
        const size_t n = lola::hedgehog_weight_count(lola::validated_shapes(c));
        std::normal_distribution<double> w(0.0, 0.3);
        c.hedgehog_q.resize(n);
        c.hedgehog_k.resize(n);
        for (double &x : c.hedgehog_q) x = w(rng);
        for (double &x : c.hedgehog_k) x = w(rng);
    }
    c.window_factors.assign(static_cast<size_t>(c.n_heads), 0.0);
    for (int h = 0; h < c.n_heads; ++h) c.window_factors[static_cast<size_t>(h)] = 0.5 * h - 0.7;
    lola::Layer<float> layer(c);
    const int H = c.n_heads, KV = c.n_kv_heads, d = c.head_dim, C = c.chunk, lambda = c.sparse_capacity;
    const int n_states = layer.n_state_heads();
    const lola::HeadParams<float> &p0 = layer.params(0);
    const int nq = p0.n_query_heads, F = p0.F;
    const bool linear = p0.linear;

    // The kernels' state, empty, and the per-state constants.
    std::vector<std::unique_ptr<lola_test::StateSlots>> slots;
    std::vector<k::HeadView *> views;
    std::vector<int32_t> kv_of_state, key_map_head, query_map_head(static_cast<size_t>(H));
    std::vector<float> gates;
    for (int sh = 0; sh < n_states; ++sh) {
        const lola::HeadParams<float> &p = layer.params(sh);
        slots.push_back(std::make_unique<lola_test::StateSlots>(layer.state(sh), lambda, C, d, F, p.kv_head));
        kv_of_state.push_back(p.kv_head);
        key_map_head.push_back(p.first_query_head);
        for (int j = 0; j < nq; ++j) gates.push_back(p.gate[static_cast<size_t>(j)]);
    }
    for (int h = 0; h < H; ++h) query_map_head[static_cast<size_t>(h)] = h;
    // One contiguous HeadView array, as the device keeps them.
    std::vector<k::HeadView> heads;
    for (auto &sl : slots) heads.push_back(sl->view);
    const auto phi = linear ? layer.params(0).phi->view() : lola::FeatureMap<float>::View{};

    std::vector<float> fk(static_cast<size_t>(n_states * (F > 0 ? F : 1))), fk_log(static_cast<size_t>(n_states));
    std::vector<float> fq(static_cast<size_t>(H * (F > 0 ? F : 1))), q_log(static_cast<size_t>(H));
    std::vector<float> y_cpu(static_cast<size_t>(H * d)), y_gpu(y_cpu.size());
    std::vector<k::DecodeHead> dheads(static_cast<size_t>(n_states));
    k::DecodeArgs da;
    da.d = d;
    da.F = F;
    da.n_query_heads = nq;
    da.scale = p0.scale;
    da.eps = p0.eps;
    da.log_eps = p0.log_eps;
    da.linear = linear;
    da.mixing = static_cast<int>(c.mixing);
    da.max_pairs = lambda + 2 * C;
    std::vector<float> dscratch(static_cast<size_t>(n_states * k::decode_scratch_floats(da)));
    da.scratch = dscratch.data();
    da.heads = dheads.data();
    k::StateArgs sa;
    sa.heads = heads.data();
    sa.d = d;
    sa.F = F;
    sa.chunk = C;
    sa.capacity = lambda;
    sa.attention = static_cast<int>(c.attention);
    sa.scoring = static_cast<int>(c.scoring);
    sa.seed = c.seed;
    sa.eps = p0.eps;
    std::vector<float> sscratch(static_cast<size_t>(n_states * k::state_scratch_floats(sa)));
    sa.scratch = sscratch.data();

    std::normal_distribution<float> normal(0.f, 1.f);
    std::vector<float> q(static_cast<size_t>(H * d)), kk(static_cast<size_t>(KV * d)), v(kk.size());
    for (int t = 0; t < n_tokens; ++t) {
        for (float &x : q) x = normal(rng);
        for (float &x : kk) x = normal(rng);
        for (float &x : v) x = normal(rng);
        layer.feed(1, q.data(), kk.data(), v.data(), nullptr, nullptr, y_cpu.data());

        if (linear) {  // key features of each state, query features of each query head
            k::FeatureArgs fa;
            fa.kind = kernel_kind(c.feature_map);
            fa.d = d;
            fa.F = F;
            fa.x = kk.data();
            fa.x_stride = d;
            fa.x_index = kv_of_state.data();
            fa.map_head = key_map_head.data();
            fa.w = phi.wk;
            fa.omega = phi.omega;
            fa.x_scale = phi.x_scale;
            fa.log_norm = phi.log_norm;
            fa.f = fk.data();
            fa.c = fk_log.data();
            k::feature_emulated(fa, n_states);
            fa.x = q.data();
            fa.x_index = nullptr;
            fa.map_head = query_map_head.data();
            fa.w = phi.wq;
            fa.f = fq.data();
            fa.c = q_log.data();
            k::feature_emulated(fa, H);
        }
        k::AppendArgs aa;
        aa.heads = heads.data();
        aa.d = d;
        aa.F = F;
        aa.pos = t;
        aa.k = kk.data();
        aa.v = v.data();
        aa.kv_of_head = kv_of_state.data();
        aa.fk = linear ? fk.data() : nullptr;
        aa.fk_log = fk_log.data();
        k::append_emulated(aa, n_states);
        for (int sh = 0; sh < n_states; ++sh) {
            const int q0 = layer.params(sh).first_query_head;
            k::DecodeHead &h = dheads[static_cast<size_t>(sh)];
            h.state = &heads[static_cast<size_t>(sh)];
            h.q = q.data() + static_cast<size_t>(q0) * d;
            h.fq = fq.data() + static_cast<size_t>(q0) * (F > 0 ? F : 1);
            h.q_log = q_log.data() + q0;
            h.gate = gates.data() + static_cast<size_t>(sh * nq);
            h.y = y_gpu.data() + static_cast<size_t>(q0) * d;
        }
        k::lola_decode_emulated(da, n_states);
        if (heads[0].cur.n == C) k::boundary_emulated(sa, n_states);

        if (std::memcmp(y_gpu.data(), y_cpu.data(), y_cpu.size() * 4) != 0) {
            size_t i = 0;
            while (std::memcmp(&y_gpu[i], &y_cpu[i], 4) == 0) ++i;
            FAIL() << lola::to_string(c.attention) << " " << lola::to_string(c.feature_map) << " mixing "
                   << static_cast<int>(c.mixing) << ": token " << t << ", output " << i << " differs ("
                   << y_gpu[i] << " vs " << y_cpu[i] << ")";
        }
    }
    // The counters agree at the end too.
    for (int sh = 0; sh < n_states; ++sh) {
        const lola::HeadState<float> &st = layer.state(sh);
        EXPECT_EQ(heads[static_cast<size_t>(sh)].n_folded, st.n_folded);
        EXPECT_EQ(heads[static_cast<size_t>(sh)].g.n, st.sparse.size());
        EXPECT_EQ(heads[static_cast<size_t>(sh)].n_evicted, st.n_evicted);
    }
}

LayerConfig config(int H, int KV, int d, int C, int lambda, FeatureMapKind map, Mixing mixing = Mixing::lola) {
    LayerConfig c = lola_test::make_config(H, KV, d, C, lambda, map);
    c.mixing = mixing;
    return c;
}

TEST(EmulatedLayerStream, ManyBoundariesEveryMapBothMixings) {
    for (Mixing mix : {Mixing::lola, Mixing::lolcats})
        for (FeatureMapKind map : {FeatureMapKind::performer, FeatureMapKind::hedgehog,
                                   FeatureMapKind::elu1, FeatureMapKind::relu})
            stream(config(4, 2, 16, 4, 6, map, mix), 150, 1);
}

TEST(EmulatedLayerStream, AwkwardShapesAndTheWindowBaseline) {
    stream(config(3, 1, 17, 3, 0, FeatureMapKind::performer), 100, 2);  // lambda 0
    stream(config(1, 1, 1, 1, 1, FeatureMapKind::performer), 60, 3);    // d 1, C 1
    LayerConfig w = config(4, 2, 8, 4, 0, FeatureMapKind::performer);
    w.attention = Attention::window;
    stream(w, 50, 4);
}

TEST(EmulatedLayerStream, HundredThousandTokens) {
    // A long stream at a small head: the state's log-scale grows and rescales many times.
    stream(config(2, 1, 8, 16, 16, FeatureMapKind::performer), 100'000, 5);
}

}  // namespace
