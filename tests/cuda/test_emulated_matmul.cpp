// The exact tier's quantized products (core/cuda/k_matvec_exact.hpp) as emulated launches,
// bit for bit against the CPU scalar kernels (quant::matvec / matmul through Isa::scalar), for
// every supported GGML type on awkward shapes: rows not a multiple of the 4 rows of a block,
// columns of one block and of many, token counts below, at and above a pass of 8.
#include "cuda/k_matvec_exact.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "quant/matmul.hpp"
#include "quant/quant.hpp"
#include "random_blocks.hpp"

namespace {

namespace q = lola::quant;
namespace k = lola::cuda::k;

const uint32_t kTypes[] = {q::F32, q::F16, q::BF16, q::Q8_0, q::Q4_0, q::Q4_1,
                           q::Q5_0, q::Q5_1, q::Q4_K, q::Q5_K, q::Q6_K};

struct Case {
    uint32_t type;
    int64_t rows, cols, tokens;
};

void check(const Case &c, std::mt19937_64 &rng) {
    const size_t row_bytes = q::row_bytes(c.type, c.cols);
    std::vector<uint8_t> w(row_bytes * static_cast<size_t>(c.rows));
    lola_test::fill_random_blocks(c.type, w.data(), static_cast<uint64_t>(c.rows * c.cols), 0.5f, rng);
    std::normal_distribution<float> normal(0.f, 1.f);
    std::vector<float> x(static_cast<size_t>(c.tokens * c.cols));
    for (float &v : x) v = normal(rng);
    std::vector<float> want(static_cast<size_t>(c.tokens * c.rows)), got(want.size(), -1.f);
    if (c.tokens == 1)
        q::matvec(c.type, w.data(), c.rows, c.cols, x.data(), want.data(), nullptr, q::Isa::scalar);
    else
        q::matmul(c.type, w.data(), c.rows, c.cols, x.data(), c.tokens, want.data(), nullptr, q::Isa::scalar);

    k::matmul_emulated(k::matmul_args(c.type, w.data(), row_bytes, c.rows, c.cols, x.data(), got.data()), c.tokens);

    const std::string what = std::string(q::type_name(c.type)) + " " + std::to_string(c.rows) + "x" +
                             std::to_string(c.cols) + ", " + std::to_string(c.tokens) + " tokens";
    for (size_t i = 0; i < want.size(); ++i) {
        uint32_t wb, gb;
        std::memcpy(&wb, &want[i], 4);
        std::memcpy(&gb, &got[i], 4);
        ASSERT_EQ(gb, wb) << what << ": first difference at token " << i / c.rows << ", row "
                          << i % c.rows << " (" << got[i] << " vs " << want[i] << ")";
    }
}

TEST(EmulatedMatmul, BitwiseEqualToTheScalarKernels) {
    std::mt19937_64 rng(7);
    int cases = 0;
    for (uint32_t type : kTypes) {
        const int64_t bs = q::block_size(type) == 1 ? 32 : q::block_size(type);
        for (int64_t rows : {1, 5, 33})
            for (int64_t blocks : {1, 3})
                for (int64_t tokens : {1, 7, 8, 17}) {
                    check({type, rows, bs * blocks, tokens}, rng);
                    ++cases;
                }
    }
    // Plain rows of a length no block size divides.
    for (uint32_t type : {q::F32, q::F16, q::BF16}) check({type, 3, 17, 5}, rng), ++cases;
    EXPECT_EQ(cases, 11 * 3 * 2 * 4 + 3);
}

TEST(EmulatedMatmul, ModelSizedRows) {
    // SmolLM2's shapes: 576 columns (Q4_1 projections), the 1536-wide down projection.
    std::mt19937_64 rng(11);
    check({q::Q4_1, 67, 576, 3}, rng);
    check({q::Q4_1, 9, 1536, 1}, rng);
    check({q::Q8_0, 41, 576, 9}, rng);
}

}  // namespace
