// test_attn_kernels.cpp: the attention (and SwiGLU) kernels of every SIMD level this machine
// runs (lola/simd/kernels.hpp) against the reference code they replace, bit for bit:
//   - each kernel on awkward sizes (rows 1-9, keys 1-67, dims 1-130) and strides, against
//     math.hpp's gemm_nt / gemm_nn_acc, fexp and the std::max fold, with special values (NaN,
//     infinities, signed zeros, overflow and underflow of e^x);
//   - a whole float layer at each level against the same layer at Isa::scalar (the reference
//     loops, one thread): outputs token by token, in random splits and in one call (the last
//     two on two threads), and the final state blob, for every
//     feature map, both mixings, GQA groups 1-4, d 1/17/64, C 1/3/64 and lambda 0/5/400, plus
//     full and window attention;
//   - set_isa refuses a level this machine lacks.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "base/fexp.hpp"
#include "cpu/ops.hpp"
#include "layer_check.hpp"
#include "lola/math.hpp"
#include "lola/primitives.hpp"
#include "lola/simd/kernels.hpp"

namespace {

using lola::Isa;
using lola::simd::Kernels;

std::vector<Isa> simd_levels() {
    std::vector<Isa> out;
    for (Isa isa : {Isa::avx2, Isa::avx512})
        if (lola::simd::kernels(isa)) out.push_back(isa);
    return out;
}

#define FOR_EACH_LEVEL(isa, kern)                                                   \
    if (simd_levels().empty()) GTEST_SKIP() << "no SIMD level runs on this machine"; \
    for (Isa isa : simd_levels())                                                   \
        if (const Kernels &kern = *lola::simd::kernels(isa); true)

bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

std::vector<float> random_floats(size_t n, std::mt19937_64 &rng, double scale = 1.0) {
    std::normal_distribution<double> normal(0.0, scale);
    std::vector<float> out(n);
    for (float &x : out) x = static_cast<float>(normal(rng));
    return out;
}

TEST(AttnKernels, ScoresEqualGemmNt) {
    std::mt19937_64 rng(1);
    FOR_EACH_LEVEL(isa, kern) {
        for (int m : {1, 2, 3, 4, 9})
            for (int n : {1, 2, 3, 4, 5, 7, 17, 67})
                for (int k : {1, 3, 7, 8, 9, 16, 17, 60, 64, 65, 130}) {
                    const size_t lda = k + 3, ldb = k + 1, ldc = n + 2;
                    const std::vector<float> A = random_floats(m * lda, rng), B = random_floats(n * ldb, rng, 3.0);
                    std::vector<float> want(m * ldc, -1.f), got(m * ldc, -1.f);
                    lola::gemm_nt(m, n, k, 0.125f, A.data(), lda, B.data(), ldb, want.data(), ldc);
                    kern.scores(m, n, k, 0.125f, A.data(), lda, B.data(), ldb, got.data(), ldc);
                    for (size_t i = 0; i < want.size(); ++i)
                        ASSERT_TRUE(same_bits(want[i], got[i]))
                            << lola::isa_name(isa) << " m=" << m << " n=" << n << " k=" << k << " at " << i
                            << ": " << want[i] << " vs " << got[i];
                }
    }
}

TEST(AttnKernels, AccumulateEqualsGemmNnAcc) {
    std::mt19937_64 rng(2);
    FOR_EACH_LEVEL(isa, kern) {
        for (int m : {1, 2, 3, 4, 5, 7, 9})
            for (int n : {1, 2, 5, 64, 67})
                for (int k : {1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 60, 64, 65, 100, 130}) {
                    const size_t ldp = n + 1, ldb = k + 2, ldc = k + 5;
                    const std::vector<float> P = random_floats(m * ldp, rng), B = random_floats(n * ldb, rng);
                    std::vector<float> want = random_floats(m * ldc, rng), got = want;
                    lola::gemm_nn_acc(m, n, k, P.data(), ldp, B.data(), ldb, want.data(), ldc);
                    kern.accumulate(m, n, k, P.data(), ldp, B.data(), ldb, got.data(), ldc);
                    for (size_t i = 0; i < want.size(); ++i)
                        ASSERT_TRUE(same_bits(want[i], got[i]))
                            << lola::isa_name(isa) << " m=" << m << " n=" << n << " k=" << k << " at " << i;
                }
    }
}

// Scores that exercise every branch of fexp: NaN, infinities, signed zeros, the clamps at
// 100 and -110, overflow to infinity, underflow to subnormals and zero, and a dense sweep.
std::vector<float> special_row() {
    const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
    std::vector<float> row = {0.f, -0.f, 1.f, -1.f, nan, inf, -inf, 88.7f, 88.73f, 89.f, 100.f, 150.f,
                              -87.3f, -103.f, -104.f, -110.f, -200.f, 1e-30f, -1e-30f, 0.5f, -0.5f,
                              0.34657359f, -0.34657359f, std::numeric_limits<float>::denorm_min()};
    for (int i = -2000; i <= 2000; i += 3) row.push_back(static_cast<float>(i) * 0.0573f);
    return row;
}

TEST(AttnKernels, ExpShiftEqualsFexp) {
    std::mt19937_64 rng(3);
    FOR_EACH_LEVEL(isa, kern) {
        const std::vector<float> special = special_row();
        for (float m : {0.f, -0.f, 1.5f, -3.25f, 40.f}) {
            for (size_t len : {size_t(1), size_t(5), size_t(15), size_t(16), size_t(17), size_t(33), special.size()}) {
                std::vector<float> want(special.begin(), special.begin() + static_cast<long>(len)), got = want;
                float z_want = 0;
                for (float &x : want) {
                    x = lola::fexp(x - m);
                    z_want += x;
                }
                kern.exp_shift(got.data(), static_cast<int>(len), m);
                float z_got = 0;
                lola::sums_in_order(got.data(), len, 1, static_cast<int>(len), 0, &z_got);
                for (size_t i = 0; i < len; ++i)
                    ASSERT_TRUE(same_bits(want[i], got[i]) || (std::isnan(want[i]) && std::isnan(got[i])))
                        << lola::isa_name(isa) << " m=" << m << " x=" << special[i] << ": " << want[i] << " vs " << got[i];
                ASSERT_TRUE(same_bits(z_want, z_got) || (std::isnan(z_want) && std::isnan(z_got)))
                    << lola::isa_name(isa) << " len=" << len << " m=" << m;
            }
        }
        // Typical scores minus their maximum.
        std::vector<float> row = random_floats(1000, rng, 4.0), want = row;
        float z_want = 0;
        for (float &x : want) z_want += (x = lola::fexp(x - 9.f));
        kern.exp_shift(row.data(), 1000, 9.f);
        float z_got = 0;
        lola::sums_in_order(row.data(), 1000, 1, 1000, 0, &z_got);
        for (size_t i = 0; i < row.size(); ++i) ASSERT_TRUE(same_bits(want[i], row[i])) << i;
        EXPECT_TRUE(same_bits(z_want, z_got));
    }
}

TEST(AttnKernels, SwigluEqualsTheReference) {
    std::mt19937_64 rng(6);
    FOR_EACH_LEVEL(isa, kern) {
        std::vector<float> gate = special_row();
        for (float x : random_floats(3000, rng, 6.0)) gate.push_back(x);
        const std::vector<float> up = random_floats(gate.size(), rng);
        for (size_t n : {size_t(1), size_t(7), size_t(16), size_t(31), gate.size()}) {
            std::vector<float> want(gate.begin(), gate.begin() + static_cast<long>(n)), got = want;
            lola::cpu::swiglu(want.data(), up.data(), n);
            kern.swiglu(got.data(), up.data(), n);
            for (size_t i = 0; i < n; ++i)
                ASSERT_TRUE(same_bits(want[i], got[i]) || (std::isnan(want[i]) && std::isnan(got[i])))
                    << lola::isa_name(isa) << " n=" << n << " g=" << gate[i] << ": " << want[i] << " vs " << got[i];
        }
    }
}

// Interleaved row sums equal each row summed alone, in order, for row lengths that stay, grow
// and (for a whole group) differ.
TEST(AttnKernels, SumsInOrderEqualSequentialSums) {
    std::mt19937_64 rng(7);
    for (int nrows : {1, 3, 8, 9, 20})
        for (int step : {0, 1, 3})
            for (int len0 : {0, 1, 5, 33}) {
                const int max_len = len0 + (nrows - 1) * step;
                const size_t ld = static_cast<size_t>(max_len) + 2;
                const std::vector<float> rows = random_floats(ld * static_cast<size_t>(nrows), rng, 5.0);
                std::vector<float> z(static_cast<size_t>(nrows));
                lola::sums_in_order(rows.data(), ld, nrows, len0, step, z.data());
                for (int r = 0; r < nrows; ++r) {
                    float want = 0;
                    for (int c = 0; c < len0 + r * step; ++c) want += rows[static_cast<size_t>(r) * ld + static_cast<size_t>(c)];
                    ASSERT_TRUE(same_bits(want, z[static_cast<size_t>(r)])) << nrows << " " << step << " " << len0 << " row " << r;
                }
            }
}

TEST(AttnKernels, RowMaxIsTheStdMaxFold) {
    std::mt19937_64 rng(4);
    const float nan = std::numeric_limits<float>::quiet_NaN();
    FOR_EACH_LEVEL(isa, kern) {
        for (int n : {0, 1, 7, 8, 9, 16, 17, 31, 100}) {
            for (int trial = 0; trial < 20; ++trial) {
                std::vector<float> row = random_floats(static_cast<size_t>(n), rng, 10.0);
                if (trial % 3 == 1 && n > 0) row[static_cast<size_t>(trial) % row.size()] = nan;
                if (trial % 5 == 2) std::fill(row.begin(), row.end(), nan);
                if (trial % 7 == 3 && n > 1) {  // a zero maximum of both signs
                    for (float &x : row) x = -std::fabs(x) - 1;
                    row[static_cast<size_t>(trial) % row.size()] = (trial & 8) ? 0.f : -0.f;
                    row[static_cast<size_t>(trial + 3) % row.size()] = (trial & 8) ? -0.f : 0.f;
                }
                float want = -std::numeric_limits<float>::infinity();
                for (float s : row) want = std::max(want, s);
                const float got = kern.row_max(row.data(), n);
                ASSERT_TRUE(same_bits(want, got) || (std::isnan(want) && std::isnan(got)))
                    << lola::isa_name(isa) << " n=" << n << " trial " << trial << ": " << want << " vs " << got;
            }
        }
    }
}

// ---- whole layers ------------------------------------------------------------------------------

struct LayerCase {
    std::string name;
    lola::LayerConfig config;
    int L;
};

std::vector<LayerCase> layer_cases() {
    using lola::FeatureMapKind;
    std::vector<LayerCase> out;
    std::mt19937_64 rng(5);
    auto add = [&](const std::string &name, lola::LayerConfig c, int L) {
        for (int h = 0; h < c.n_heads; ++h) c.window_factors.push_back(-1.0 + 0.45 * h);
        lola_test::random_hedgehog(c, rng);
        out.push_back({name, c, L});
    };
    for (FeatureMapKind map : lola_test::kComputedFeatureMaps)
        for (lola::Mixing mixing : {lola::Mixing::lola, lola::Mixing::lolcats}) {
            const std::string tag = std::string(lola::to_string(map)) + (mixing == lola::Mixing::lola ? "_A" : "_B");
            add(tag + "_gqa3_d64_c64_l64", lola_test::make_config(9, 3, 64, 64, 64, map, mixing), 300);
            add(tag + "_gqa2_d17_c3_l5", lola_test::make_config(4, 2, 17, 3, 5, map, mixing), 60);
            add(tag + "_gqa4_d1_c1_l0", lola_test::make_config(4, 1, 1, 1, 0, map, mixing), 25);
            add(tag + "_mha_d9_c5_l400", lola_test::make_config(2, 2, 9, 5, 400, map, mixing), 80);
        }
    lola::LayerConfig full = lola_test::make_config(9, 3, 64, 8, 4);
    full.attention = lola::Attention::full;
    add("full_gqa3_d64", full, 150);
    lola::LayerConfig window = lola_test::make_config(6, 2, 20, 7, 4);
    window.attention = lola::Attention::window;
    add("window_gqa3_d20", window, 90);
    return out;
}

TEST(AttnKernels, LayerAtEveryLevelEqualsTheReference) {
    if (simd_levels().empty()) GTEST_SKIP() << "no SIMD level runs on this machine";
    for (const LayerCase &lc : layer_cases()) {
        const lola_test::Inputs in = lola_test::random_inputs(lc.config, lc.L, 11, 1.5);
        const auto q = lola_test::cast<float>(in.q), k = lola_test::cast<float>(in.k), v = lola_test::cast<float>(in.v);
        lola::Layer<float> ref(lc.config);
        ref.set_isa(Isa::scalar);
        const std::vector<float> y_ref = lola_test::feed_split<float>(ref, q, k, v, nullptr, nullptr, lola_test::token_by_token(lc.L));
        const std::vector<unsigned char> blob_ref = ref.save();
        for (Isa isa : simd_levels())
            for (int split = 0; split < 3; ++split) {
                // splits 1 and 2 on two threads: the prefill's one job per query head
                lola::LayerConfig cfg = lc.config;
                cfg.n_threads = split == 0 ? 1 : 2;
                lola::Layer<float> fast(cfg);
                fast.set_isa(isa);
                ASSERT_EQ(fast.isa(), isa);
                const std::vector<int> calls = split == 0   ? lola_test::token_by_token(lc.L)
                                               : split == 1 ? lola_test::random_split(lc.L, 17, 9)
                                                            : lola_test::one_call(lc.L);
                // split 1 goes token by token through the SIMD token step even for runs
                const lola::Path path = split == 1 ? lola::Path::token : lola::Path::automatic;
                const std::vector<float> y = lola_test::feed_split<float>(fast, q, k, v, nullptr, nullptr, calls, path);
                ASSERT_EQ(y.size(), y_ref.size());
                for (size_t i = 0; i < y.size(); ++i)
                    ASSERT_TRUE(same_bits(y[i], y_ref[i]))
                        << lc.name << " " << lola::isa_name(isa) << " split " << split << " at " << i << ": "
                        << y_ref[i] << " vs " << y[i];
                EXPECT_EQ(fast.save(), blob_ref) << lc.name << " " << lola::isa_name(isa) << " split " << split;
            }
    }
}

TEST(AttnKernels, DefaultIsTheBestLevelAndCopiesKeepIt) {
    lola::Layer<float> layer(lola_test::make_config(2, 1, 8, 4, 4));
    EXPECT_EQ(layer.isa(), lola::simd::best_isa());
    layer.set_isa(Isa::scalar);
    lola::Layer<float> copy(layer);
    EXPECT_EQ(copy.isa(), Isa::scalar);
    lola::Layer<double> exact(lola_test::make_config(2, 1, 8, 4, 4));
    EXPECT_EQ(exact.isa(), Isa::scalar);
}

TEST(AttnKernels, SetIsaRefusesALevelThisMachineLacks) {
    lola::Layer<float> layer(lola_test::make_config(2, 1, 8, 4, 4));
    for (Isa isa : {Isa::avx2, Isa::avx512}) {
        if (lola::simd::kernels(isa)) continue;
        try {
            layer.set_isa(isa);
            FAIL() << "set_isa accepted " << lola::isa_name(isa);
        } catch (const lola::Error &e) {
            EXPECT_EQ(e.status(), lola::Status::unsupported);
        }
    }
    try {
        layer.set_isa(static_cast<Isa>(7));
        FAIL() << "set_isa accepted level 7";
    } catch (const lola::Error &e) {
        EXPECT_EQ(e.status(), lola::Status::unsupported);
    }
}

}  // namespace
