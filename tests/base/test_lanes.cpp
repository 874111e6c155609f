// The fixed orders a GPU backend must reproduce: halving_sum's tree, rms_norm's 32 lanes, and
// RoPE's host-built table. Each expectation is written out independently of the code under test,
// on inputs where another order gives other bits.
#include "base/lanes.hpp"
#include "cpu/ops.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

namespace {

TEST(Lanes, HalvingSumIsTheButterflyOrder) {
    // Magnitudes far apart, so that every other association loses or keeps other bits.
    const double a[8] = {1e17, 3.0, -1e17, 5.0, 7.0, 1e-3, 11.0, -7.0};
    double lanes[8];
    std::memcpy(lanes, a, sizeof a);
    const double want = ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]));
    const double sequential = ((((((a[0] + a[1]) + a[2]) + a[3]) + a[4]) + a[5]) + a[6]) + a[7];
    ASSERT_NE(want, sequential) << "the inputs must tell the orders apart";
    EXPECT_EQ(lola::halving_sum<8>(lanes), want);
}

TEST(Lanes, RmsNormSumsSquaresInThirtyTwoLanes) {
    const int64_t E = 70;  // not a multiple of 32: lanes 0..5 get three elements
    std::vector<float> x(E), w(E, 1.0f), out(E);
    for (int64_t i = 0; i < E; ++i) x[i] = (i % 5 == 0) ? 1e8f : 1.0f + 0.37f * static_cast<float>(i);
    double lanes[32] = {};
    for (int64_t i = 0; i < E; ++i) lanes[i % 32] += static_cast<double>(x[i]) * x[i];
    for (int width = 16; width > 0; width /= 2)
        for (int l = 0; l < width; ++l) lanes[l] += lanes[l + width];
    double sequential = 0;
    for (int64_t i = 0; i < E; ++i) sequential += static_cast<double>(x[i]) * x[i];
    ASSERT_NE(lanes[0], sequential) << "the inputs must tell the orders apart";
    EXPECT_EQ(lola::cpu::sum_squares(x.data(), E), lanes[0]);

    // rms_norm scales by that sum.
    const float eps = 1e-5f;
    lola::cpu::rms_norm(x.data(), w.data(), eps, 1, E, out.data());
    const float scale = static_cast<float>(1.0 / std::sqrt(lanes[0] / static_cast<double>(E) + eps));
    for (int64_t i = 0; i < E; ++i) ASSERT_EQ(out[i], x[i] * scale * w[i]) << "element " << i;
}

TEST(Lanes, RopeRotatesByTheHostTable) {
    const std::vector<float> inv_freq = lola::cpu::rope_inv_freq(10000.0f, 1.0f, {}, 8);
    const int64_t n = 3, heads = 2, d = 8, pos0 = 100'000;
    std::vector<float> table(static_cast<size_t>(n) * 4 * 2);
    lola::cpu::rope_table(pos0, n, inv_freq, table.data());
    std::vector<float> x(static_cast<size_t>(n * heads * d)), y;
    for (size_t i = 0; i < x.size(); ++i) x[i] = 0.1f * static_cast<float>(i) - 1.0f;
    y = x;
    lola::cpu::rope(y.data(), n, heads, d, pos0, inv_freq);
    for (int64_t t = 0; t < n; ++t)
        for (int64_t i = 0; i < d / 2; ++i) {
            const double angle = static_cast<double>(pos0 + t) * inv_freq[static_cast<size_t>(i)];
            const float c = static_cast<float>(std::cos(angle)), s = static_cast<float>(std::sin(angle));
            ASSERT_EQ(table[static_cast<size_t>((t * 4 + i) * 2)], c);
            ASSERT_EQ(table[static_cast<size_t>((t * 4 + i) * 2 + 1)], s);
            for (int64_t h = 0; h < heads; ++h) {
                const size_t at = static_cast<size_t>((t * heads + h) * d + 2 * i);
                EXPECT_EQ(y[at], x[at] * c - x[at + 1] * s);
                EXPECT_EQ(y[at + 1], x[at] * s + x[at + 1] * c);
            }
        }
}

}  // namespace
