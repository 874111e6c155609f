// test_vectors.cpp: every reference vector file (tests/vectors/, and $LOLA_VECTORS_DIR through
// VectorsDir.ExtraVectorsReproduced) must be
// reproduced: outputs y to 1e-9 on the double path and the final state (positions in G, window,
// folded; H; s), for several splits of the sequence into calls, with the layer computing the
// hedgehog features itself and with the features passed in precomputed.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "layer_check.hpp"
#include "vector_case.hpp"

using namespace lola_test;

namespace {

constexpr double kDoubleTol = 1e-9;

// Float path. Inputs are rounded to float (relative error 6e-8) and every dot product,
// exponential and division adds about one float ulp (1.2e-7 relative); the outputs are
// normalised combinations of values of size ~1, so errors of a few 1e-7 are expected (measured
// on the shipped vectors: at most 3.1e-7). The tolerance 1e-5 leaves a 30x margin for other
// cases while still catching any algorithmic slip (a wrong selection, fold or gate changes
// outputs by 1e-3 or more). The float selection must match exactly: scores are far from ties.
constexpr double kFloatTol = 1e-5;

std::string case_label(const testing::TestParamInfo<std::string> &info) {
    std::string s = std::filesystem::path(info.param).stem().string();
    for (char &ch : s)
        if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
    return s + "_" + std::to_string(info.index);
}

template <class T>
void expect_final_state(const lola::Layer<T> &layer, const VectorCase &c, double tol) {
    ASSERT_EQ(layer.n_state_heads(), c.n_heads);
    for (int h = 0; h < c.n_heads; ++h) {
        SCOPED_TRACE("head " + std::to_string(h));
        const FinalHeadState &want = c.final_state[h];
        const Positions got = positions_of(layer, h);
        EXPECT_EQ(std::vector<long long>(got.sparse.begin(), got.sparse.end()), want.sparse);
        EXPECT_EQ(std::vector<long long>(got.window.begin(), got.window.end()), want.window);
        EXPECT_EQ(std::vector<long long>(got.folded_or_evicted.begin(), got.folded_or_evicted.end()),
                  want.folded);
        const lola::HeadState<T> &st = layer.state(h);
        EXPECT_EQ(st.n_folded, static_cast<int64_t>(want.folded.size()));
        ASSERT_EQ(st.has_linear, want.has_linear);
        if (want.has_linear) {
            // the layer keeps H, s scaled by exp(log_scale); hedgehog has log_scale 0
            const double scale = std::exp(static_cast<double>(st.log_scale));
            std::vector<double> H(st.H.begin(), st.H.end()), s(st.s.begin(), st.s.end());
            for (double &x : H) x *= scale;
            for (double &x : s) x *= scale;
            EXPECT_LE(max_abs_diff(H, want.H), tol * 100) << "H";
            EXPECT_LE(max_abs_diff(s, want.s), tol * 100) << "s";
        }
    }
}

class Vectors : public testing::TestWithParam<std::string> {
protected:
    void SetUp() override { c_ = load_vector_case(GetParam()); }
    bool has_weights() const { return c_.feature_map_kind == "hedgehog"; }
    VectorCase c_;
};

TEST_P(Vectors, GatesMatch) {
    const lola::LayerConfig cfg = lola::validated(c_.config(lola::FeatureMapKind::hedgehog));
    for (int h = 0; h < c_.n_heads; ++h)
        EXPECT_NEAR(1.0 / (1.0 + std::exp(-cfg.window_factors[h])), c_.gate[h], 1e-15);
}

TEST_P(Vectors, HedgehogFeaturesMatch) {
    if (!has_weights()) GTEST_SKIP() << "no hedgehog weights: covered by the precomputed tests";
    const lola::LayerConfig cfg = lola::validated(c_.config(lola::FeatureMapKind::hedgehog));
    lola::FeatureMap<double> phi(cfg);
    std::vector<double> out(c_.feature_dim);
    const size_t d = c_.head_dim, F = c_.feature_dim;
    double worst = 0;
    for (int t = 0; t < c_.L; ++t)
        for (int h = 0; h < c_.n_heads; ++h) {
            const size_t row = static_cast<size_t>(t) * c_.n_heads + h;
            EXPECT_EQ(phi.apply(h, true, &c_.q[row * d], out.data()), 0.0);
            for (size_t f = 0; f < F; ++f) worst = std::max(worst, std::abs(out[f] - c_.fq[row * F + f]));
            phi.apply(h, false, &c_.k[row * d], out.data());
            for (size_t f = 0; f < F; ++f) worst = std::max(worst, std::abs(out[f] - c_.fk[row * F + f]));
        }
    EXPECT_LE(worst, 1e-12);
}

void run_double(const VectorCase &c, lola::FeatureMapKind map, const std::vector<int> &split,
                lola::Path path) {
    lola::Layer<double> layer(c.config(map));
    const bool pre = map == lola::FeatureMapKind::precomputed;
    const std::vector<double> y = feed_split<double>(
        layer, c.q, c.k, c.v, pre ? &c.fq : nullptr, pre ? &c.fk : nullptr, split, path,
        [](const lola::Layer<double> &l) { check_invariants(l); });
    EXPECT_LE(max_abs_diff(y, c.y), kDoubleTol);
    expect_final_state(layer, c, kDoubleTol);
}

TEST_P(Vectors, DoubleOneCall) {
    if (!has_weights()) GTEST_SKIP() << "no hedgehog weights: covered by the precomputed tests";
    run_double(c_, lola::FeatureMapKind::hedgehog, one_call(c_.L), lola::Path::automatic);
}
TEST_P(Vectors, DoubleTokenByToken) {
    if (!has_weights()) GTEST_SKIP() << "no hedgehog weights: covered by the precomputed tests";
    run_double(c_, lola::FeatureMapKind::hedgehog, token_by_token(c_.L), lola::Path::automatic);
}
TEST_P(Vectors, DoubleRandomSplits) {
    if (!has_weights()) GTEST_SKIP() << "no hedgehog weights: covered by the precomputed tests";
    for (uint64_t seed = 1; seed <= 4; ++seed) {
        SCOPED_TRACE("split seed " + std::to_string(seed));
        run_double(c_, lola::FeatureMapKind::hedgehog, random_split(c_.L, seed, 2 * c_.chunk + 3),
                   lola::Path::automatic);
    }
}
TEST_P(Vectors, DoubleReferenceTokenPathOneCall) {
    if (!has_weights()) GTEST_SKIP() << "no hedgehog weights: covered by the precomputed tests";
    run_double(c_, lola::FeatureMapKind::hedgehog, one_call(c_.L), lola::Path::token);
}
TEST_P(Vectors, DoublePrecomputedFeatures) {
    run_double(c_, lola::FeatureMapKind::precomputed, one_call(c_.L), lola::Path::automatic);
    run_double(c_, lola::FeatureMapKind::precomputed, random_split(c_.L, 9, c_.chunk), lola::Path::automatic);
    run_double(c_, lola::FeatureMapKind::precomputed, token_by_token(c_.L), lola::Path::automatic);
}

TEST_P(Vectors, FloatPrecomputedFeatures) {
    lola::Layer<float> layer(c_.config(lola::FeatureMapKind::precomputed));
    const std::vector<float> fq = cast<float>(c_.fq), fk = cast<float>(c_.fk);
    const std::vector<float> y = feed_split<float>(layer, cast<float>(c_.q), cast<float>(c_.k),
                                                   cast<float>(c_.v), &fq, &fk, one_call(c_.L));
    double worst = 0;
    for (size_t i = 0; i < y.size(); ++i)
        worst = std::max(worst, std::abs(y[i] - c_.y[i]) / (1.0 + std::abs(c_.y[i])));
    EXPECT_LE(worst, kFloatTol);
    expect_final_state(layer, c_, 1e-5);
}


TEST_P(Vectors, FloatWithinTolerance) {
    if (!has_weights()) GTEST_SKIP() << "no hedgehog weights: covered by the precomputed tests";
    for (const std::vector<int> &split : {one_call(c_.L), token_by_token(c_.L)}) {
        lola::Layer<float> layer(c_.config(lola::FeatureMapKind::hedgehog));
        const std::vector<float> y = feed_split<float>(layer, cast<float>(c_.q), cast<float>(c_.k),
                                                       cast<float>(c_.v), nullptr, nullptr, split);
        double worst = 0;
        for (size_t i = 0; i < y.size(); ++i)
            worst = std::max(worst, std::abs(y[i] - c_.y[i]) / (1.0 + std::abs(c_.y[i])));
        EXPECT_LE(worst, kFloatTol);
        std::ostringstream msg;
        msg << worst;
        RecordProperty("float_max_rel_error", msg.str());
        expect_final_state(layer, c_, 1e-5);
    }
}

INSTANTIATE_TEST_SUITE_P(Files, Vectors, testing::ValuesIn(vector_files()), case_label);

// The cases of $LOLA_VECTORS_DIR, read when the test runs (so `LOLA_VECTORS_DIR=... ctest`
// works: ctest's test list is fixed at build time, this test's contents are not): each is
// reproduced on the double path, precomputed features and (with weights) hedgehog, one call and
// token by token, and on the float path within kFloatTol.
TEST(VectorsDir, ExtraVectorsReproduced) {
    const char *extra = std::getenv("LOLA_VECTORS_DIR");
    if (!extra || !*extra) GTEST_SKIP() << "LOLA_VECTORS_DIR not set";
    ASSERT_TRUE(std::filesystem::is_directory(extra)) << extra << " is not a directory";
    const std::vector<std::string> files = json_files_in(extra);
    ASSERT_FALSE(files.empty()) << "no .json vector files in " << extra;
    for (const std::string &file : files) {
        SCOPED_TRACE(file);
        const VectorCase c = load_vector_case(file);
        run_double(c, lola::FeatureMapKind::precomputed, one_call(c.L), lola::Path::automatic);
        run_double(c, lola::FeatureMapKind::precomputed, token_by_token(c.L), lola::Path::automatic);
        if (c.feature_map_kind == "hedgehog") {
            run_double(c, lola::FeatureMapKind::hedgehog, one_call(c.L), lola::Path::automatic);
            run_double(c, lola::FeatureMapKind::hedgehog, random_split(c.L, 3, 2 * c.chunk + 3),
                       lola::Path::automatic);
        }
        lola::Layer<float> layer(c.config(lola::FeatureMapKind::precomputed));
        const std::vector<float> fq = cast<float>(c.fq), fk = cast<float>(c.fk);
        const std::vector<float> y = feed_split<float>(layer, cast<float>(c.q), cast<float>(c.k),
                                                       cast<float>(c.v), &fq, &fk, one_call(c.L));
        double worst = 0;
        for (size_t i = 0; i < y.size(); ++i)
            worst = std::max(worst, std::abs(y[i] - c.y[i]) / (1.0 + std::abs(c.y[i])));
        EXPECT_LE(worst, kFloatTol);
    }
}

TEST(VectorsDir, ShippedVectorsPresent) {
    EXPECT_GE(vector_files().size(), 7u);
}

}  // namespace
