// dequant.hpp's two forms of every format, block<...> (the CPU reference) and element<...>
// (what a GPU thread computes for the elements it owns), agree bit for bit on every element
// of random blocks, NaN and infinite scales included (compared as bit patterns).
#include "quant/dequant.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

namespace {

using namespace lola::quant;

struct Form {
    const char *name;
    int elems, bytes;
    void (*block)(const uint8_t *, float *);
    float (*element)(const uint8_t *, int);
};

const Form kForms[] = {
    {"Q8_0", 32, 34, dq::blk_q8_0, dq::el_q8_0},     {"Q4_0", 32, 18, dq::blk_q4_0, dq::el_q4_0},
    {"Q4_1", 32, 20, dq::blk_q4_1, dq::el_q4_1},     {"Q5_0", 32, 22, dq::blk_q5_0, dq::el_q5_0},
    {"Q5_1", 32, 24, dq::blk_q5_1, dq::el_q5_1},     {"Q4_K", 256, 144, dq::blk_q4_k, dq::el_q4_k},
    {"Q5_K", 256, 176, dq::blk_q5_k, dq::el_q5_k},   {"Q6_K", 256, 210, dq::blk_q6_k, dq::el_q6_k},
};

uint32_t bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}

TEST(DequantForms, ElementEqualsBlockOnEveryElement) {
    std::mt19937 rng(20261203);
    std::uniform_int_distribution<int> byte(0, 255);
    for (const Form &f : kForms) {
        std::vector<uint8_t> b(static_cast<size_t>(f.bytes));
        std::vector<float> y(static_cast<size_t>(f.elems));
        int nonfinite = 0;
        for (int trial = 0; trial < 400; ++trial) {
            for (auto &v : b) v = static_cast<uint8_t>(byte(rng));
            f.block(b.data(), y.data());
            for (int i = 0; i < f.elems; ++i) {
                const float e = f.element(b.data(), i);
                ASSERT_EQ(bits(e), bits(y[static_cast<size_t>(i)]))
                    << f.name << " trial " << trial << " element " << i;
                nonfinite += !std::isfinite(e);
            }
        }
        // Random bytes give some NaN and infinite scales: the forms must agree there too.
        EXPECT_GT(nonfinite, 0) << f.name;
    }
}

TEST(DequantForms, HalfConversionIsExactForEveryHalf) {
    for (uint32_t h = 0; h < 65536; ++h) {
        const float f = dq::fp16_to_fp32(static_cast<uint16_t>(h));
        const uint32_t e = (h >> 10) & 31, m = h & 1023, s = h >> 15;
        if (e == 31) {
            ASSERT_TRUE(m ? std::isnan(f) : std::isinf(f)) << h;
            continue;
        }
        const double v = (e ? std::ldexp(1024.0 + m, static_cast<int>(e) - 25) : std::ldexp(double(m), -24));
        ASSERT_EQ(f, static_cast<float>(s ? -v : v)) << h;
    }
}

}  // namespace
