// The exact tier's element-wise ops (core/cuda/k_elementwise.hpp) as emulated launches, bit for
// bit against the CPU reference (cpu/ops.hpp, quant::dequantize_row) on awkward sizes.
#include "cuda/k_elementwise.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "cpu/ops.hpp"
#include "quant/quant.hpp"
#include "random_blocks.hpp"

namespace {

namespace q = lola::quant;
namespace k = lola::cuda::k;

void expect_bitwise(const std::vector<float> &got, const std::vector<float> &want, const std::string &what) {
    ASSERT_EQ(got.size(), want.size()) << what;
    for (size_t i = 0; i < want.size(); ++i)
        ASSERT_EQ(std::memcmp(&got[i], &want[i], 4), 0)
            << what << ": first difference at " << i << " (" << got[i] << " vs " << want[i] << ")";
}

std::vector<float> normal_vector(size_t n, float scale, std::mt19937_64 &rng) {
    std::normal_distribution<float> normal(0.f, scale);
    std::vector<float> v(n);
    for (float &x : v) x = normal(rng);
    return v;
}

TEST(EmulatedElementwise, EmbedEveryType) {
    std::mt19937_64 rng(1);
    for (uint32_t type : {q::F32, q::F16, q::BF16, q::Q8_0, q::Q4_0, q::Q4_1, q::Q5_0, q::Q5_1,
                          q::Q4_K, q::Q5_K, q::Q6_K}) {
        const int64_t E = q::block_size(type) == 256 ? 512 : 96, vocab = 11;
        const size_t rb = q::row_bytes(type, E);
        std::vector<uint8_t> table(rb * vocab);
        lola_test::fill_random_blocks(type, table.data(), static_cast<uint64_t>(vocab * E), 1.f, rng);
        const std::vector<int32_t> tokens = {3, 0, 10, 3, 7};
        std::vector<float> want(tokens.size() * E), got(want.size());
        for (size_t t = 0; t < tokens.size(); ++t)
            q::dequantize_row(type, table.data() + rb * static_cast<size_t>(tokens[t]), want.data() + t * E, E);
        k::EmbedArgs a;
        a.type = type;
        a.table = table.data();
        a.row_bytes = rb;
        a.n_embd = E;
        a.tokens = tokens.data();
        a.x = got.data();
        k::embed_emulated(a, static_cast<int64_t>(tokens.size()));
        expect_bitwise(got, want, std::string("embed ") + q::type_name(type));
    }
}

TEST(EmulatedElementwise, RmsNorm) {
    std::mt19937_64 rng(2);
    for (int64_t E : {1, 17, 31, 32, 33, 576, 2049})
        for (int64_t n : {1, 3}) {
            std::vector<float> x = normal_vector(static_cast<size_t>(n * E), 3.f, rng);
            x[0] = 1e8f;  // a range that makes the order of the sum matter
            const std::vector<float> w = normal_vector(static_cast<size_t>(E), 1.f, rng);
            std::vector<float> want(x.size()), got(x.size());
            lola::cpu::rms_norm(x.data(), w.data(), 1e-5f, n, E, want.data());
            k::rms_norm_emulated(k::RmsNormArgs{x.data(), w.data(), 1e-5f, E, got.data()}, n);
            expect_bitwise(got, want, "rms_norm E=" + std::to_string(E) + " n=" + std::to_string(n));
        }
}

TEST(EmulatedElementwise, Rope) {
    std::mt19937_64 rng(3);
    for (int64_t d : {2, 8, 64, 128})
        for (int64_t heads : {1, 3, 9}) {
            const int64_t n = 5, pos0 = 99'995;
            const std::vector<float> inv_freq = lola::cpu::rope_inv_freq(10000.f, 1.f, {}, d);
            std::vector<float> table(static_cast<size_t>(n * d));
            lola::cpu::rope_table(pos0, n, inv_freq, table.data());
            std::vector<float> want = normal_vector(static_cast<size_t>(n * heads * d), 1.f, rng), got = want;
            lola::cpu::rope_apply(want.data(), n, heads, d, table.data());
            k::rope_emulated(k::RopeArgs{got.data(), heads, d, table.data()}, n);
            expect_bitwise(got, want, "rope d=" + std::to_string(d) + " heads=" + std::to_string(heads));
        }
}

TEST(EmulatedElementwise, SwigluAndAdd) {
    std::mt19937_64 rng(4);
    for (int64_t n : {1, 255, 256, 257, 1536 * 3}) {
        std::vector<float> gate = normal_vector(static_cast<size_t>(n), 4.f, rng);
        const std::vector<float> up = normal_vector(static_cast<size_t>(n), 1.f, rng);
        std::vector<float> want = gate, got = gate;
        lola::cpu::swiglu(want.data(), up.data(), static_cast<size_t>(n));
        k::swiglu_emulated(k::SwigluArgs{got.data(), up.data(), n});
        expect_bitwise(got, want, "swiglu n=" + std::to_string(n));

        lola::cpu::add(want.data(), up.data(), static_cast<size_t>(n));
        k::add_emulated(k::AddArgs{got.data(), up.data(), n});
        expect_bitwise(got, want, "add n=" + std::to_string(n));
    }
}

}  // namespace
