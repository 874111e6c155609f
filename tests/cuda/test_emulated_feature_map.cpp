// The exact tier's feature maps (core/cuda/k_feature_map.hpp) as emulated launches, bit for
// bit against FeatureMap<float>::apply for every kind, queries and keys, several heads, awkward
// d and F, inputs large enough that the performer's log-scale matters.
#include "cuda/k_feature_map.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "cuda/host_state.hpp"
#include "layer_check.hpp"
#include "lola/feature_map.hpp"

namespace {

namespace k = lola::cuda::k;
using lola::FeatureMapKind;

void check(FeatureMapKind map, int H, int d, int F, float scale, uint64_t seed) {
    std::mt19937_64 rng(seed);
    lola::LayerConfig c = lola_test::make_config(H, H, d, 4, 4, map);
    c.feature_dim = F;
    lola_test::random_hedgehog(c, rng, 0.5);
    c = lola::validated(c);
    const lola::FeatureMap<float> phi(c);
    const auto v = phi.view();
    const int n = 2 * H;  // every head, as a query and as a key
    std::normal_distribution<float> normal(0.f, scale);
    std::vector<float> x(static_cast<size_t>(n * d));
    for (float &e : x) e = normal(rng);
    for (bool is_query : {true, false}) {
        std::vector<float> want(static_cast<size_t>(n * v.F)), got(want.size());
        std::vector<float> want_c(static_cast<size_t>(n)), got_c(want_c.size());
        std::vector<int32_t> heads(static_cast<size_t>(n));
        for (int b = 0; b < n; ++b) {
            heads[static_cast<size_t>(b)] = b % H;
            want_c[static_cast<size_t>(b)] = phi.apply(b % H, is_query, x.data() + b * d, want.data() + b * v.F);
        }
        k::FeatureArgs a;
        a.kind = lola::cuda::feature_kind(map);
        a.d = d;
        a.F = v.F;
        a.x = x.data();
        a.x_stride = d;
        a.map_head = heads.data();
        a.w = is_query ? v.wq : v.wk;
        a.omega = v.omega;
        a.x_scale = v.x_scale;
        a.log_norm = v.log_norm;
        a.f = got.data();
        a.c = got_c.data();
        k::feature_emulated(a, n);
        const std::string what = std::string(lola::to_string(map)) + (is_query ? " query" : " key") +
                                 " d=" + std::to_string(d) + " F=" + std::to_string(v.F);
        for (size_t i = 0; i < want.size(); ++i)
            ASSERT_EQ(std::memcmp(&got[i], &want[i], 4), 0) << what << ": feature " << i;
        for (size_t i = 0; i < want_c.size(); ++i)
            ASSERT_EQ(std::memcmp(&got_c[i], &want_c[i], 4), 0) << what << ": log-scale " << i;
    }
}

TEST(EmulatedFeatureMap, EveryKind) {
    check(FeatureMapKind::performer, 3, 64, 64, 1.f, 1);
    check(FeatureMapKind::performer, 2, 17, 33, 6.f, 2);  // large inputs: c far from 0
    check(FeatureMapKind::performer, 1, 1, 1, 1.f, 3);
    check(FeatureMapKind::hedgehog, 3, 16, 32, 1.f, 4);
    check(FeatureMapKind::hedgehog, 2, 5, 2, 3.f, 5);
    check(FeatureMapKind::elu1, 2, 17, 17, 2.f, 6);
    check(FeatureMapKind::relu, 2, 17, 17, 2.f, 7);
}

}  // namespace
