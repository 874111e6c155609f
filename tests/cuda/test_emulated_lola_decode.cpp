// The exact tier's LoLA decode attention (core/cuda/k_lola_decode.hpp) as an emulated launch,
// bit for bit against the CPU reference (attend_token) on states a real layer built: a
// sparse cache that is empty, filling and full, a linear state before and after the first
// fold, both mixing modes, GQA groups sharing a state, every feature map, awkward d and C.
#include "cuda/k_lola_decode.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "lola/head.hpp"
#include "layer_check.hpp"
#include "lola/layer.hpp"

namespace {

namespace k = lola::cuda::k;
using lola::Attention;
using lola::FeatureMapKind;
using lola::LayerConfig;
using lola::Mixing;

std::vector<float> normal_vector(size_t n, std::mt19937_64 &rng) {
    std::normal_distribution<float> normal(0.f, 1.f);
    std::vector<float> v(n);
    for (float &x : v) x = normal(rng);
    return v;
}

// Feeds `before` tokens to a layer, then compares the attention of one more token, CPU vs
// emulated kernel, on every state head.
void check(LayerConfig c, int before, uint64_t seed) {
    std::mt19937_64 rng(seed);
    const int H = c.n_heads, KV = c.n_kv_heads, d = c.head_dim;
    if (c.feature_map == FeatureMapKind::hedgehog) {
        const LayerConfig shapes = lola::validated_shapes(c);
        const size_t n = lola::hedgehog_weight_count(shapes);
        std::normal_distribution<double> w(0.0, 0.3);
        c.hedgehog_q.resize(n);
        c.hedgehog_k.resize(n);
        for (double &x : c.hedgehog_q) x = w(rng);
        for (double &x : c.hedgehog_k) x = w(rng);
    }
    c.window_factors.resize(static_cast<size_t>(H));
    for (int h = 0; h < H; ++h) c.window_factors[static_cast<size_t>(h)] = 0.7 * h - 1.0;
    lola::Layer<float> layer(c);
    if (before > 0) {
        const std::vector<float> q = normal_vector(static_cast<size_t>(before * H * d), rng);
        const std::vector<float> kk = normal_vector(static_cast<size_t>(before * KV * d), rng);
        const std::vector<float> v = normal_vector(static_cast<size_t>(before * KV * d), rng);
        layer.feed(before, q.data(), kk.data(), v.data(), nullptr, nullptr, nullptr);
    }
    const std::vector<float> q = normal_vector(static_cast<size_t>(H * d), rng);
    const std::vector<float> kk = normal_vector(static_cast<size_t>(KV * d), rng);
    const std::vector<float> v = normal_vector(static_cast<size_t>(KV * d), rng);

    const int n_states = layer.n_state_heads();
    std::vector<lola::HeadState<float>> states;
    std::vector<k::DecodeHead> heads(static_cast<size_t>(n_states));
    const lola::HeadParams<float> &p0 = layer.params(0);
    const int nq = p0.n_query_heads, F = p0.F;
    const size_t n_out = static_cast<size_t>(n_states) * static_cast<size_t>(nq) * static_cast<size_t>(d);
    std::vector<float> want(n_out), got(n_out);
    std::fill(got.begin(), got.end(), -7.f);  // what the kernel never writes shows
    const size_t F1 = F > 0 ? static_cast<size_t>(F) : 1u, n_q = static_cast<size_t>(n_states) * static_cast<size_t>(nq);
    std::vector<float> fq(n_q * F1), qlog(n_q);
    states.reserve(static_cast<size_t>(n_states));
    for (int sh = 0; sh < n_states; ++sh) {
        const lola::HeadParams<float> &p = layer.params(sh);
        states.push_back(layer.state(sh));
        lola::HeadState<float> &st = states.back();
        lola::Segment<float> seg;
        seg.n = 1;
        seg.pos0 = before;
        seg.q = q.data() + static_cast<size_t>(p.first_query_head) * d;
        seg.q_stride = static_cast<size_t>(H * d);
        seg.k = kk.data() + static_cast<size_t>(p.kv_head) * d;
        seg.v = v.data() + static_cast<size_t>(p.kv_head) * d;
        seg.kv_stride = static_cast<size_t>(KV * d);
        seg.y = want.data() + static_cast<size_t>(sh * nq * d);
        seg.y_stride = static_cast<size_t>(nq * d);
        lola::Scratch<float> scratch;
        lola::append_segment(p, st, seg, scratch);
        lola::attend_token(p, st, seg, scratch);

        k::DecodeHead &h = heads[static_cast<size_t>(sh)];
        const lola::Pairs<float> *mems[3] = {&st.sparse, &st.prev, &st.cur};
        for (int w = 0; w < 3; ++w) h.mem[w] = {mems[w]->k.data(), mems[w]->v.data(), mems[w]->size()};
        h.H = st.H.data();
        h.s = st.s.data();
        h.log_scale = st.log_scale;
        h.has_linear = st.has_linear;
        h.n_folded = st.n_folded;
        h.q = seg.q;
        if (p.linear && st.has_linear) {
            for (int j = 0; j < nq; ++j) {
                float *f = fq.data() + static_cast<size_t>((sh * nq + j) * F);
                qlog[static_cast<size_t>(sh * nq + j)] =
                    lola::query_features(p, p.first_query_head + j, seg.q + static_cast<size_t>(j) * d, static_cast<const float *>(nullptr), f);
            }
        }
        h.fq = fq.data() + static_cast<size_t>(sh * nq) * F1;
        h.q_log = qlog.data() + static_cast<size_t>(sh * nq);
        h.gate = p.gate.data();
        h.y = got.data() + static_cast<size_t>(sh * nq * d);
    }
    k::DecodeArgs a;
    a.heads = heads.data();
    a.d = d;
    a.F = F;
    a.n_query_heads = nq;
    a.scale = p0.scale;
    a.eps = p0.eps;
    a.log_eps = p0.log_eps;
    a.linear = p0.linear;
    a.mixing = static_cast<int>(c.mixing);
    a.max_pairs = c.sparse_capacity + 2 * c.chunk;
    std::vector<float> scratch(static_cast<size_t>(n_states * k::decode_scratch_floats(a)));
    a.scratch = scratch.data();
    k::lola_decode_emulated(a, n_states);

    const std::string what = std::string(lola::to_string(c.attention)) + " " +
                             lola::to_string(c.feature_map) + " d=" + std::to_string(d) +
                             " C=" + std::to_string(c.chunk) + " lambda=" + std::to_string(c.sparse_capacity) +
                             " mixing=" + std::to_string(static_cast<int>(c.mixing)) + " after " +
                             std::to_string(before) + " tokens";
    for (size_t i = 0; i < want.size(); ++i)
        ASSERT_EQ(std::memcmp(&got[i], &want[i], 4), 0)
            << what << ": first difference at " << i << " (" << got[i] << " vs " << want[i] << ")";
}

LayerConfig config(int H, int KV, int d, int C, int lambda, FeatureMapKind map, Mixing mixing) {
    LayerConfig c = lola_test::make_config(H, KV, d, C, lambda, map);
    c.mixing = mixing;
    return c;
}

TEST(EmulatedLolaDecode, EveryStageOfTheCache) {
    // C = 3, lambda = 5: the window alone, the first boundary, G filling, G full, many folds.
    for (int before : {0, 2, 5, 6, 8, 11, 17, 40})
        check(config(4, 2, 17, 3, 5, FeatureMapKind::performer, Mixing::lola), before, 100 + before);
}

TEST(EmulatedLolaDecode, MixingModesAndFeatureMaps) {
    for (Mixing mix : {Mixing::lola, Mixing::lolcats})
        for (FeatureMapKind map : {FeatureMapKind::performer, FeatureMapKind::hedgehog,
                                   FeatureMapKind::elu1, FeatureMapKind::relu})
            check(config(6, 3, 16, 4, 6, map, mix), 37, 7);
}

TEST(EmulatedLolaDecode, AwkwardShapes) {
    check(config(1, 1, 1, 1, 0, FeatureMapKind::performer, Mixing::lola), 9, 1);     // d 1, C 1, lambda 0
    check(config(9, 3, 64, 64, 64, FeatureMapKind::performer, Mixing::lola), 300, 2); // SmolLM2's
    check(config(2, 1, 64, 16, 400, FeatureMapKind::performer, Mixing::lola), 700, 3); // lambda 400, filling
}

TEST(EmulatedLolaDecode, BaselinesWithoutALinearState) {
    LayerConfig w = config(4, 2, 16, 4, 0, FeatureMapKind::performer, Mixing::lola);
    w.attention = Attention::window;
    check(w, 23, 5);
}

}  // namespace
