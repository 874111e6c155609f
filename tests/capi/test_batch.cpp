// test_batch.cpp: batched decode (lola_batch_*) on tiny random Llamas of several weight types:
// many contexts with different attention settings, prompts and positions, decoded together for
// 40 steps (chunk boundaries, folds), are bitwise equal, logits and state blobs, to the same
// contexts decoded one by one; a batch smaller than its capacity; and every refusal (NULL,
// another model, the same context twice, a token out of range, n out of range) names the context
// and changes none of them.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "capi_check.hpp"
#include "lola.h"
#include "tiny_llama.hpp"
#include "tiny_model_test.hpp"

using namespace lola_test;

namespace {

constexpr size_t kVocab = 97;

struct Spec {
    int32_t attention, chunk, lambda, feature_map;
    int prompt;  // prompt tokens
};

const Spec kSpecs[] = {
    {LOLA_ATTENTION_LOLA, 4, 3, LOLA_FEATURE_MAP_ELU1, 5},
    {LOLA_ATTENTION_LOLA, 3, 2, LOLA_FEATURE_MAP_PERFORMER, 17},
    {LOLA_ATTENTION_FULL, 4, 0, LOLA_FEATURE_MAP_ELU1, 9},
    {LOLA_ATTENTION_WINDOW, 5, 0, LOLA_FEATURE_MAP_ELU1, 1},
    {LOLA_ATTENTION_LOLA, 8, 0, LOLA_FEATURE_MAP_RELU, 30},
};

lola_model *load(uint32_t type, const std::string &name) {
    TinyLlama t;
    t.matrix_type = type;
    t.n_embd = 64;
    t.n_ff = 96;
    t.seed = 5 + type;
    const std::string path = t.write(temp_path(name));
    lola_model_params mp;
    EXPECT_EQ(lola_model_params_init(&mp), LOLA_OK);
    lola_model *m = nullptr;
    EXPECT_EQ(lola_model_load(path.c_str(), &mp, &m), LOLA_OK) << lola_last_error_message();
    return m;
}

lola_context *context(lola_model *m, const Spec &s) {
    ContextSpec cp;
    cp.a.attention = s.attention;
    cp.a.chunk_size = s.chunk;
    cp.a.sparse_capacity = s.lambda;
    cp.a.feature_map = s.feature_map;
    lola_context *ctx = nullptr;
    EXPECT_EQ(lola_context_create(m, &cp.p, &ctx), LOLA_OK) << lola_last_error_message();
    std::vector<int32_t> prompt;
    for (int i = 0; i < s.prompt; ++i) prompt.push_back(static_cast<int32_t>((i * 29 + s.prompt * 7) % 97));
    EXPECT_EQ(lola_context_feed(ctx, prompt.data(), prompt.size(), 0, nullptr), LOLA_OK) << lola_last_error_message();
    return ctx;
}

std::vector<float> logits(lola_context *ctx) {
    std::vector<float> out(kVocab);
    EXPECT_EQ(lola_context_copy_logits(ctx, -1, out.data(), out.size()), LOLA_OK) << lola_last_error_message();
    return out;
}

std::vector<unsigned char> state(lola_context *ctx) {
    size_t n = 0;
    EXPECT_EQ(lola_context_state_size(ctx, &n), LOLA_OK);
    std::vector<unsigned char> blob(n);
    EXPECT_EQ(lola_context_state_save(ctx, blob.data(), blob.size(), &n), LOLA_OK) << lola_last_error_message();
    blob.resize(n);
    return blob;
}

int32_t argmax(const std::vector<float> &l) {
    return static_cast<int32_t>(std::max_element(l.begin(), l.end()) - l.begin());
}

lola_context_info checked_info(lola_context *ctx) {
    lola_context_info i{};
    i.struct_size = sizeof i;
    EXPECT_EQ(lola_context_get_info(ctx, &i), LOLA_OK);
    return i;
}

bool bitwise_equal(const std::vector<float> &a, const std::vector<float> &b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

class BatchByType : public testing::TestWithParam<uint32_t> {};

TEST_P(BatchByType, BatchedDecodeIsBitwiseEqualToOneByOne) {
    lola_model *m = load(GetParam(), "batch_" + std::to_string(GetParam()) + ".gguf");
    ASSERT_NE(m, nullptr);
    const size_t n = std::size(kSpecs);
    std::vector<lola_context *> batched, single;
    for (const Spec &s : kSpecs) {
        batched.push_back(context(m, s));
        single.push_back(context(m, s));
    }
    lola_batch *batch = nullptr;
    ASSERT_EQ(lola_batch_create(m, static_cast<int32_t>(n + 2), 2, &batch), LOLA_OK) << lola_last_error_message();
    for (int step = 0; step < 40; ++step) {
        // Greedy continuations, each context on its own; every fourth step only some of them.
        const size_t count = step % 4 == 3 ? n - 2 : n;
        std::vector<int32_t> tokens;
        for (size_t i = 0; i < count; ++i) tokens.push_back(argmax(logits(single[i])));
        ASSERT_EQ(lola_batch_decode(batch, batched.data(), tokens.data(), count), LOLA_OK) << lola_last_error_message();
        for (size_t i = 0; i < count; ++i)
            ASSERT_EQ(lola_context_feed(single[i], &tokens[i], 1, 0, nullptr), LOLA_OK);
        for (size_t i = 0; i < n; ++i) {
            ASSERT_TRUE(bitwise_equal(logits(batched[i]), logits(single[i]))) << "step " << step << ", context " << i;
            lola_context_info a = checked_info(batched[i]), b = checked_info(single[i]);
            ASSERT_EQ(a.n_past, b.n_past);
        }
    }
    for (size_t i = 0; i < n; ++i) EXPECT_EQ(state(batched[i]), state(single[i])) << "context " << i;
    lola_batch_free(batch);
    for (size_t i = 0; i < n; ++i) {
        lola_context_free(batched[i]);
        lola_context_free(single[i]);
    }
    lola_model_free(m);
}

INSTANTIATE_TEST_SUITE_P(Types, BatchByType, testing::Values(0u /* F32 */, 8u /* Q8_0 */, 3u /* Q4_1 */));

struct BatchErrors : TinyModelTest {};

TEST_F(BatchErrors, EveryRefusalNamesTheContextAndChangesNone) {
    std::vector<lola_context *> ctxs;
    for (const Spec &s : kSpecs) ctxs.push_back(context(model_, s));
    std::vector<std::vector<unsigned char>> before;
    std::vector<std::vector<float>> logits_before;
    for (lola_context *c : ctxs) {
        before.push_back(state(c));
        logits_before.push_back(logits(c));
    }
    lola_batch *batch = nullptr;
    ASSERT_EQ(lola_batch_create(model_, 4, 1, &batch), LOLA_OK);
    std::vector<int32_t> tokens = {1, 2, 3, 4};

    auto refused = [&](lola_context *const *c, const int32_t *t, size_t n, lola_status want, const char *text) {
        EXPECT_EQ(lola_batch_decode(batch, c, t, n), want);
        EXPECT_NE(std::string(lola_last_error_message()).find(text), std::string::npos) << lola_last_error_message();
    };
    std::vector<int32_t> bad = {1, 2, 97, 4};
    refused(ctxs.data(), bad.data(), 4, LOLA_ERR_INVALID_ARGUMENT, "contexts[2]: token 97 is out of range");
    bad = {1, -1, 3, 4};
    refused(ctxs.data(), bad.data(), 4, LOLA_ERR_INVALID_ARGUMENT, "contexts[1]: token -1");
    std::vector<lola_context *> twice = {ctxs[0], ctxs[1], ctxs[0]};
    refused(twice.data(), tokens.data(), 3, LOLA_ERR_INVALID_ARGUMENT, "contexts[2] appears twice");
    std::vector<lola_context *> with_null = {ctxs[0], nullptr};
    refused(with_null.data(), tokens.data(), 2, LOLA_ERR_NULL_HANDLE, "contexts[1] is NULL");
    refused(ctxs.data(), tokens.data(), 5, LOLA_ERR_INVALID_ARGUMENT, "n must be in [1, 4]");
    refused(ctxs.data(), tokens.data(), 0, LOLA_ERR_INVALID_ARGUMENT, "n must be in [1, 4]");
    refused(nullptr, tokens.data(), 1, LOLA_ERR_NULL_POINTER, "contexts is NULL");
    refused(ctxs.data(), nullptr, 1, LOLA_ERR_NULL_POINTER, "tokens is NULL");
    EXPECT_EQ(lola_batch_decode(nullptr, ctxs.data(), tokens.data(), 1), LOLA_ERR_NULL_HANDLE);

    lola_model *other = load(0, "batch_other.gguf");
    lola_context *stranger = context(other, kSpecs[0]);
    std::vector<lola_context *> mixed = {ctxs[0], stranger};
    refused(mixed.data(), tokens.data(), 2, LOLA_ERR_INVALID_ARGUMENT, "contexts[1] is a context of another model");

    for (size_t i = 0; i < ctxs.size(); ++i) {
        EXPECT_EQ(state(ctxs[i]), before[i]) << "context " << i << " changed";
        EXPECT_TRUE(bitwise_equal(logits(ctxs[i]), logits_before[i])) << "context " << i;
    }
    lola_batch *b = nullptr;
    EXPECT_EQ(lola_batch_create(model_, 0, 1, &b), LOLA_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(b, nullptr);
    EXPECT_EQ(lola_batch_create(model_, 4, 0, &b), LOLA_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(lola_batch_create(nullptr, 4, 1, &b), LOLA_ERR_NULL_HANDLE);
    EXPECT_EQ(lola_batch_create(model_, 4, 1, nullptr), LOLA_ERR_NULL_POINTER);
    lola_batch_free(nullptr);

    lola_context_free(stranger);
    lola_model_free(other);
    lola_batch_free(batch);
    for (lola_context *c : ctxs) lola_context_free(c);
}

}  // namespace
