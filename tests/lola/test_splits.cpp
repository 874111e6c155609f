// test_splits.cpp: for every configuration (awkward lengths and head dims, lambda below and above
// C, every feature map, mixing mode, scoring policy and attention kind), feeding a sequence in any
// split of calls, and through the reference token path or the chunked prefill, gives the same
// outputs and the same final state, bit for bit; the invariants hold after every call.
#include <gtest/gtest.h>

#include <sstream>

#include "layer_check.hpp"

using namespace lola_test;
using lola::Attention;
using lola::FeatureMapKind;
using lola::LayerConfig;

namespace {

struct Case {
    std::string name;
    LayerConfig config;
    int L;
};

LayerConfig base(int H, int Hkv, int d, int C, int lambda, FeatureMapKind map) {
    LayerConfig c = make_config(H, Hkv, d, C, lambda, map);
    for (int h = 0; h < H; ++h) c.window_factors.push_back(-1.5 + 0.7 * h);
    if (map == FeatureMapKind::hedgehog) {
        c.feature_dim = 16;
        std::mt19937_64 rng(42);
        std::normal_distribution<double> n(0, 0.3);
        for (auto *w : {&c.hedgehog_q, &c.hedgehog_k}) {
            w->resize(static_cast<size_t>(H) * d * 8);
            for (double &x : *w) x = n(rng);
        }
    }
    if (map == FeatureMapKind::precomputed) c.feature_dim = 12;
    return c;
}

std::vector<Case> cases() {
    std::vector<Case> out;
    auto add = [&](const std::string &name, LayerConfig c, int L) { out.push_back({name, c, L}); };
    add("hedgehog_c8_l5_d60_L63", base(2, 2, 60, 8, 5, FeatureMapKind::hedgehog), 63);
    add("hedgehog_gqa_c16_l40_L101", base(4, 2, 12, 16, 40, FeatureMapKind::hedgehog), 101);
    add("performer_c8_l12_L77", base(3, 1, 16, 8, 12, FeatureMapKind::performer), 77);
    add("performer_c64_l64_d60_L500", base(2, 2, 60, 64, 64, FeatureMapKind::performer), 500);
    add("elu1_c5_l3_L63", base(2, 1, 10, 5, 3, FeatureMapKind::elu1), 63);
    add("relu_c4_l0_L41", base(2, 2, 8, 4, 0, FeatureMapKind::relu), 41);
    add("precomputed_c7_l9_L50", base(2, 1, 8, 7, 9, FeatureMapKind::precomputed), 50);
    add("c1_chunk_of_one", base(2, 1, 8, 1, 3, FeatureMapKind::elu1), 30);
    {
        LayerConfig c = base(3, 3, 9, 6, 10, FeatureMapKind::performer);
        c.mixing = lola::Mixing::lolcats;
        add("mode_b_performer", c, 70);
        c = base(2, 2, 8, 4, 6, FeatureMapKind::hedgehog);
        c.mixing = lola::Mixing::lolcats;
        add("mode_b_hedgehog", c, 45);
    }
    for (lola::Scoring s : {lola::Scoring::recency, lola::Scoring::random, lola::Scoring::value_norm}) {
        LayerConfig c = base(2, 1, 8, 4, 6, FeatureMapKind::elu1);
        c.scoring = s;
        add("scoring_" + std::to_string(static_cast<int>(s)), c, 57);
    }
    {
        LayerConfig c = base(4, 2, 8, 6, 0, FeatureMapKind::elu1);
        c.attention = Attention::full;
        add("full", c, 150);
        c.attention = Attention::window;
        add("window", c, 61);
    }
    {
        LayerConfig c = base(2, 2, 16, 8, 8, FeatureMapKind::performer);
        c.performer_orthogonal = true;
        c.n_threads = 3;
        add("threads_orthogonal", c, 90);
    }
    return out;
}

template <class T>
struct Outcome {
    std::vector<T> y;
    std::vector<unsigned char> blob;  // the whole final state, serialized
};

template <class T>
Outcome<T> run(const Case &c, const std::vector<int> &split, lola::Path path) {
    lola::Layer<T> layer(c.config);
    const Inputs in = random_inputs(layer.config(), c.L, 7);
    const bool pre = c.config.feature_map == FeatureMapKind::precomputed;
    const std::vector<T> fq = cast<T>(in.fq), fk = cast<T>(in.fk);
    Outcome<T> r;
    r.y = feed_split<T>(layer, cast<T>(in.q), cast<T>(in.k), cast<T>(in.v), pre ? &fq : nullptr,
                        pre ? &fk : nullptr, split, path,
                        [](const lola::Layer<T> &l) { check_invariants(l); });
    r.blob = layer.save();
    return r;
}

class Splits : public testing::TestWithParam<Case> {};

template <class T>
void check_all_splits(const Case &c) {
    const Outcome<T> ref = run<T>(c, token_by_token(c.L), lola::Path::token);
    for (T v : ref.y) ASSERT_TRUE(std::isfinite(v));
    std::vector<std::pair<std::string, std::pair<std::vector<int>, lola::Path>>> variants = {
        {"one call, chunked", {one_call(c.L), lola::Path::chunk}},
        {"one call, token path", {one_call(c.L), lola::Path::token}},
        {"token by token, chunked", {token_by_token(c.L), lola::Path::chunk}},
    };
    for (uint64_t seed = 1; seed <= 5; ++seed)
        variants.push_back({"random split " + std::to_string(seed),
                            {random_split(c.L, seed, 2 * c.config.chunk + 5), lola::Path::automatic}});
    for (const auto &v : variants) {
        SCOPED_TRACE(v.first);
        const Outcome<T> got = run<T>(c, v.second.first, v.second.second);
        ASSERT_EQ(got.y.size(), ref.y.size());
        for (size_t i = 0; i < got.y.size(); ++i)
            ASSERT_EQ(got.y[i], ref.y[i]) << "output element " << i << " differs";
        EXPECT_TRUE(got.blob == ref.blob) << "final state differs";
    }
}

TEST_P(Splits, DoubleBitIdentical) { check_all_splits<double>(GetParam()); }
TEST_P(Splits, FloatBitIdentical) { check_all_splits<float>(GetParam()); }

// The float path follows the double path closely on random data (a check that the float
// instantiation is not broken in a way the bit-identity tests cannot see).
TEST_P(Splits, FloatNearDouble) {
    const Case &c = GetParam();
    const Outcome<double> d = run<double>(c, one_call(c.L), lola::Path::automatic);
    const Outcome<float> f = run<float>(c, one_call(c.L), lola::Path::automatic);
    double worst = 0;
    for (size_t i = 0; i < d.y.size(); ++i)
        worst = std::max(worst, std::abs(d.y[i] - f.y[i]) / (1 + std::abs(d.y[i])));
    EXPECT_LE(worst, 1e-3);
}

INSTANTIATE_TEST_SUITE_P(Configs, Splits, testing::ValuesIn(cases()),
                         [](const testing::TestParamInfo<Case> &i) { return i.param.name; });

}  // namespace
