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
#include "decode_case.hpp"
#include "layer_check.hpp"
#include "lola/layer.hpp"

namespace {

namespace k = lola::cuda::k;
using lola::Attention;
using lola::FeatureMapKind;
using lola::LayerConfig;
using lola::Mixing;

// Feeds `before` tokens to a layer, then compares the attention of one more token, CPU vs
// emulated kernel, on every state head.
void check(const LayerConfig &c, int before, uint64_t seed) {
    lola_test::DecodeCase t(c, before, seed);
    k::lola_decode_emulated(t.args, t.n_states);
    const std::string what = std::string(lola::to_string(c.attention)) + " " +
                             lola::to_string(c.feature_map) + " d=" + std::to_string(c.head_dim) +
                             " C=" + std::to_string(c.chunk) + " lambda=" + std::to_string(c.sparse_capacity) +
                             " mixing=" + std::to_string(static_cast<int>(c.mixing)) + " after " +
                             std::to_string(before) + " tokens";
    for (size_t i = 0; i < t.want.size(); ++i)
        ASSERT_EQ(std::memcmp(&t.got[i], &t.want[i], 4), 0)
            << what << ": first difference at " << i << " (" << t.got[i] << " vs " << t.want[i] << ")";
}

LayerConfig config(int H, int KV, int d, int C, int lambda, FeatureMapKind map, Mixing mixing) {
    return lola_test::make_config(H, KV, d, C, lambda, map, mixing);
}

TEST(EmulatedLolaDecode, EveryStageOfTheCache) {
    // C = 3, lambda = 5: the window alone, the first boundary, G filling, G full, many folds.
    for (int before : {0, 2, 5, 6, 8, 11, 17, 40})
        check(config(4, 2, 17, 3, 5, FeatureMapKind::performer, Mixing::lola), before, 100 + before);
}

TEST(EmulatedLolaDecode, MixingModesAndFeatureMaps) {
    for (Mixing mix : {Mixing::lola, Mixing::lolcats})
        for (FeatureMapKind map : lola_test::kComputedFeatureMaps)
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
