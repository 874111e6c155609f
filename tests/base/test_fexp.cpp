// fexp against the correctly rounded e^x: within 1 ulp for every float tested, the same as the
// libm value for almost all of them, and exact at the special values.
//
// By default every 61st float of the finite, nonzero-result range is checked (about 37
// million, a second); LOLA_FEXP_STRIDE=1 checks all 2.2 billion (a minute on one core):
//   LOLA_FEXP_STRIDE=1 ./build/tests/test_fexp
#include "base/fexp.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>

namespace {

uint32_t bits_of(float f) {
    uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    return u;
}

float float_of(uint32_t u) {
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
}

// Distance in units in the last place between two finite floats of the same sign.
int64_t ulps(float a, float b) {
    return std::llabs(static_cast<int64_t>(bits_of(a)) - static_cast<int64_t>(bits_of(b)));
}

uint32_t stride() {
    const char *s = std::getenv("LOLA_FEXP_STRIDE");
    const long v = s ? std::strtol(s, nullptr, 10) : 61;
    return v >= 1 ? static_cast<uint32_t>(v) : 61;
}

struct Sweep {
    int64_t checked = 0, differ = 0, worst = 0;
    float worst_x = 0;
};

// Every stride-th float from `from` towards larger magnitude up to `to` (bit patterns).
void sweep(uint32_t from, uint32_t to, uint32_t step, Sweep &s) {
    for (uint64_t u = from; u <= to; u += step) {
        const float x = float_of(static_cast<uint32_t>(u));
        const float want = static_cast<float>(std::exp(static_cast<double>(x)));
        const float got = lola::fexp(x);
        if (want == 0.0f || std::isinf(want)) continue;
        ++s.checked;
        const int64_t d = ulps(got, want);
        if (d) ++s.differ;
        if (d > s.worst) {
            s.worst = d;
            s.worst_x = x;
        }
    }
}

TEST(Fexp, WithinOneUlpOverTheWholeRange) {
    const uint32_t step = stride();
    Sweep s;
    sweep(0x00000000u, bits_of(89.0f), step, s);         // +0 .. 89
    sweep(0x80000000u, bits_of(-104.0f), step, s);       // -0 .. -104
    EXPECT_LE(s.worst, 1) << "worst at x = " << s.worst_x;
    EXPECT_LT(s.differ, s.checked / 1000) << "fexp should be the correctly rounded value almost always";
    EXPECT_GT(s.checked, 2'000'000'000 / static_cast<int64_t>(step));
    std::printf("fexp: %lld floats checked (stride %u), %lld differ by 1 ulp, worst %lld ulp\n",
                static_cast<long long>(s.checked), step, static_cast<long long>(s.differ),
                static_cast<long long>(s.worst));
}

TEST(Fexp, DenseWhereTheLayersUseIt) {
    // Softmax and the feature maps evaluate e^x for x <= 0 near 0 most of all: every float of
    // [-20, -1/64] and of [1/64, 2] (145 million), whatever the stride.
    Sweep s;
    sweep(bits_of(0.015625f), bits_of(2.0f), 1, s);
    sweep(bits_of(-0.015625f), bits_of(-20.0f), 1, s);
    EXPECT_GT(s.checked, 140'000'000);
    EXPECT_LE(s.worst, 1) << "worst at x = " << s.worst_x;
}

TEST(Fexp, SpecialValues) {
    const float inf = std::numeric_limits<float>::infinity();
    EXPECT_EQ(lola::fexp(0.0f), 1.0f);
    EXPECT_EQ(lola::fexp(-0.0f), 1.0f);
    EXPECT_EQ(lola::fexp(inf), inf);
    EXPECT_EQ(lola::fexp(-inf), 0.0f);
    EXPECT_TRUE(std::isnan(lola::fexp(std::numeric_limits<float>::quiet_NaN())));
    EXPECT_EQ(lola::fexp(89.0f), inf);
    EXPECT_EQ(lola::fexp(1000.0f), inf);
    EXPECT_EQ(lola::fexp(-104.0f), 0.0f);
    EXPECT_EQ(lola::fexp(-1000.0f), 0.0f);
    EXPECT_EQ(lola::fexp(1.0f), 2.71828182845904523536f);
    // The largest finite and the smallest subnormal results.
    EXPECT_EQ(lola::fexp(88.72283f), static_cast<float>(std::exp(static_cast<double>(88.72283f))));
    EXPECT_GT(lola::fexp(-103.0f), 0.0f);
    EXPECT_EQ(lola::fexp(-103.0f), static_cast<float>(std::exp(-103.0)));
}

}  // namespace
