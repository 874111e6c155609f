// A whole LoLA layer streamed through the CUDA kernels as emulated launches
// (cuda/emulated_attention.hpp), token by token: key features, append, query features,
// decode, and the boundary whenever W_cur fills, on the device-layout state alone. Every output
// equals Layer<float>::feed's, bit for bit, and so does the final state blob, over many
// boundaries, for both mixings, the feature maps, GQA, the window and full-attention
// baselines, and a 100,000-token run.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "cuda/emulated_attention.hpp"
#include "layer_check.hpp"
#include "lola/layer.hpp"

namespace {

using lola::Attention;
using lola::FeatureMapKind;
using lola::LayerConfig;
using lola::Mixing;

void stream(LayerConfig c, int n_tokens, uint64_t seed) {
    std::mt19937_64 rng(seed);
    lola_test::random_hedgehog(c, rng);
    c.window_factors.assign(static_cast<size_t>(c.n_heads), 0.0);
    for (int h = 0; h < c.n_heads; ++h) c.window_factors[static_cast<size_t>(h)] = 0.5 * h - 0.7;
    lola::Layer<float> layer(c);
    lola::cuda::EmulatedAttention kernels(c);
    const int H = c.n_heads, KV = c.n_kv_heads, d = c.head_dim;
    std::normal_distribution<float> normal(0.f, 1.f);
    std::vector<float> q(static_cast<size_t>(H * d)), kk(static_cast<size_t>(KV * d)), v(kk.size());
    std::vector<float> y_cpu(q.size()), y_gpu(q.size());
    for (int t = 0; t < n_tokens; ++t) {
        for (std::vector<float> *x : {&q, &kk, &v})
            for (float &e : *x) e = normal(rng);
        layer.feed(1, q.data(), kk.data(), v.data(), nullptr, nullptr, y_cpu.data());
        kernels.feed(1, q.data(), kk.data(), v.data(), y_gpu.data());
        if (std::memcmp(y_gpu.data(), y_cpu.data(), y_cpu.size() * 4) != 0) {
            size_t i = 0;
            while (std::memcmp(&y_gpu[i], &y_cpu[i], 4) == 0) ++i;
            FAIL() << lola::to_string(c.attention) << " " << lola::to_string(c.feature_map) << " mixing "
                   << static_cast<int>(c.mixing) << ": token " << t << ", output " << i << " differs ("
                   << y_gpu[i] << " vs " << y_cpu[i] << ")";
        }
    }
    // The whole state agrees at the end: the same blob, byte for byte.
    EXPECT_EQ(kernels.layer().save(), layer.save());
}

LayerConfig config(int H, int KV, int d, int C, int lambda, FeatureMapKind map, Mixing mixing = Mixing::lola) {
    return lola_test::make_config(H, KV, d, C, lambda, map, mixing);
}

TEST(EmulatedLayerStream, ManyBoundariesEveryMapBothMixings) {
    for (Mixing mix : {Mixing::lola, Mixing::lolcats})
        for (FeatureMapKind map : lola_test::kComputedFeatureMaps)
            stream(config(4, 2, 16, 4, 6, map, mix), 150, 1);
}

TEST(EmulatedLayerStream, AwkwardShapesAndTheWindowBaseline) {
    stream(config(3, 1, 17, 3, 0, FeatureMapKind::performer), 100, 2);  // lambda 0
    stream(config(1, 1, 1, 1, 1, FeatureMapKind::performer), 60, 3);    // d 1, C 1
    LayerConfig w = config(4, 2, 8, 4, 0, FeatureMapKind::performer);
    w.attention = Attention::window;
    stream(w, 50, 4);
    w.attention = Attention::full;  // W_cur grows past its first capacity (64)
    stream(w, 150, 5);
}

TEST(EmulatedLayerStream, HundredThousandTokens) {
    // A long stream at a small head: the state's log-scale grows and rescales many times.
    stream(config(2, 1, 8, 16, 16, FeatureMapKind::performer), 100'000, 5);
}

}  // namespace
