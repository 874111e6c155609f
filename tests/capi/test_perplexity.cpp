// test_perplexity.cpp: lola_perplexity on the tiny model: equal to scoring the windows by hand
// through contexts (for LoLA and full attention, with the model's BOS replacing a window's first
// token when the vocabulary adds one), max_windows, and every refusal, after which the result
// struct is untouched.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "capi_check.hpp"
#include "lola.h"
#include "tiny_model_test.hpp"

using namespace lola_test;

namespace {

struct Perplexity : TinyModelTest {
    std::vector<int32_t> text(int n) const {
        std::vector<int32_t> t;
        for (int i = 0; i < n; ++i) t.push_back(static_cast<int32_t>((i * 37 + 11) % 97));
        return t;
    }
    // The mean NLL of windows scored by hand: each window on a fresh context, all logits kept.
    double by_hand(const std::vector<int32_t> &tokens, int64_t n_ctx, int64_t windows, const lola_context_params *p) {
        double nll = 0;
        int64_t n = 0;
        for (int64_t w = 0; w < windows; ++w) {
            lola_context *ctx = nullptr;
            EXPECT_EQ(lola_context_create(model_, p, &ctx), LOLA_OK);
            EXPECT_EQ(lola_context_feed(ctx, tokens.data() + w * n_ctx, static_cast<size_t>(n_ctx), LOLA_FEED_ALL_LOGITS, nullptr),
                      LOLA_OK);
            const float *logits = nullptr;
            size_t rows = 0, vocab = 0;
            EXPECT_EQ(lola_context_logits(ctx, &logits, &rows, &vocab), LOLA_OK);
            for (int64_t pos = n_ctx / 2 - 1; pos + 1 < n_ctx; ++pos) {
                const float *row = logits + pos * static_cast<int64_t>(vocab);
                double mx = row[0], sum = 0;
                for (size_t k = 0; k < vocab; ++k) mx = std::max(mx, static_cast<double>(row[k]));
                for (size_t k = 0; k < vocab; ++k) sum += std::exp(row[k] - mx);
                nll += std::log(sum) + mx - row[tokens[static_cast<size_t>(w * n_ctx + pos + 1)]];
                ++n;
            }
            lola_context_free(ctx);
        }
        return nll / static_cast<double>(n);
    }
};

TEST_F(Perplexity, EqualsTheWindowsScoredByHand) {
    const std::vector<int32_t> t = text(300);  // 4 windows of 70, 20 tokens left over
    for (int32_t attention : {LOLA_ATTENTION_LOLA, LOLA_ATTENTION_FULL}) {
        ContextSpec cs;
        cs.a.attention = attention;
        cs.a.chunk_size = 4;
        cs.a.sparse_capacity = 3;
        lola_perplexity_result r{};
        r.struct_size = sizeof r;
        ASSERT_EQ(lola_perplexity(model_, &cs.p, t.data(), t.size(), 70, 0, &r), LOLA_OK) << lola_last_error_message();
        EXPECT_EQ(r.n_windows, 4);
        EXPECT_EQ(r.n_scored, 4 * 35);
        EXPECT_NEAR(r.nll, by_hand(t, 70, 4, &cs.p), 1e-12);
        EXPECT_DOUBLE_EQ(r.perplexity, std::exp(r.nll));
        lola_perplexity_result two{};
        two.struct_size = sizeof two;
        ASSERT_EQ(lola_perplexity(model_, &cs.p, t.data(), t.size(), 70, 2, &two), LOLA_OK);
        EXPECT_EQ(two.n_windows, 2);
        EXPECT_NEAR(two.nll, by_hand(t, 70, 2, &cs.p), 1e-12);
    }
    lola_perplexity_result d{};  // params NULL: the defaults
    d.struct_size = sizeof d;
    EXPECT_EQ(lola_perplexity(model_, nullptr, t.data(), t.size(), 100, 1, &d), LOLA_OK);
    EXPECT_EQ(d.n_windows, 1);
}

TEST_F(Perplexity, RefusalsLeaveTheResultUntouched) {
    const std::vector<int32_t> t = text(64);
    lola_perplexity_result r;
    std::memset(&r, 0x5A, sizeof r);
    r.struct_size = sizeof r;
    const lola_perplexity_result before = r;
    auto untouched = [&] { EXPECT_EQ(std::memcmp(&r, &before, sizeof r), 0); };
    EXPECT_EQ(lola_perplexity(nullptr, nullptr, t.data(), t.size(), 32, 0, &r), LOLA_ERR_NULL_HANDLE);
    EXPECT_EQ(lola_perplexity(model_, nullptr, nullptr, t.size(), 32, 0, &r), LOLA_ERR_NULL_POINTER);
    EXPECT_EQ(lola_perplexity(model_, nullptr, t.data(), t.size(), 32, 0, nullptr), LOLA_ERR_NULL_POINTER);
    EXPECT_EQ(lola_perplexity(model_, nullptr, t.data(), t.size(), 1, 0, &r), LOLA_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(lola_perplexity(model_, nullptr, t.data(), t.size(), 32, -1, &r), LOLA_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(lola_perplexity(model_, nullptr, t.data(), t.size(), 65, 0, &r), LOLA_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(lola_last_error_message()).find("fewer than one window"), std::string::npos);
    std::vector<int32_t> bad = t;
    bad[40] = 97;
    EXPECT_EQ(lola_perplexity(model_, nullptr, bad.data(), bad.size(), 32, 0, &r), LOLA_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(lola_last_error_message()).find("tokens[40] = 97"), std::string::npos);
    ContextSpec cs;
    cs.a.chunk_size = 0;  // a bad context parameter: the context creation's status and message
    EXPECT_EQ(lola_perplexity(model_, &cs.p, t.data(), t.size(), 32, 0, &r), LOLA_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(lola_last_error_message()).find("lola_context_create"), std::string::npos);
    untouched();
    r.struct_size = 3;
    EXPECT_EQ(lola_perplexity(model_, nullptr, t.data(), t.size(), 32, 0, &r), LOLA_ERR_VERSION_MISMATCH);
}

}  // namespace
