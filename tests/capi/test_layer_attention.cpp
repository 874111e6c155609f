// test_layer_attention.cpp: per-layer attention kinds (lola_context_params.layer_attention) on
// the tiny two-layer model: kinds that all name one attention equal that attention bitwise, a
// hybrid keeps full attention only in its full layer (cache state per layer) and computes
// something else than either pure model, its state round-trips and is refused by a context of
// other kinds, an old caller's struct still works, and every bad array is refused.
#include <gtest/gtest.h>

#include <cstddef>
#include <vector>

#include "capi_check.hpp"
#include "lola.h"
#include "tiny_model_test.hpp"

using namespace lola_test;

namespace {

struct LayerAttention : TinyModelTest {
    std::vector<int32_t> text(int n) const {
        std::vector<int32_t> t;
        for (int i = 0; i < n; ++i) t.push_back(static_cast<int32_t>((i * 29 + 5) % 97));
        return t;
    }
    ContextSpec spec(int32_t attention) const {
        ContextSpec cs;
        cs.a.attention = attention;
        cs.a.chunk_size = 4;
        cs.a.sparse_capacity = 3;
        return cs;
    }
    lola_context *create(const ContextSpec &cs) {
        lola_context *ctx = nullptr;
        EXPECT_EQ(lola_context_create(model_, &cs.p, &ctx), LOLA_OK) << lola_last_error_message();
        return ctx;
    }
    // Every logit of `tokens` fed to a fresh context of `cs`.
    std::vector<float> logits(const ContextSpec &cs, const std::vector<int32_t> &tokens) {
        lola_context *ctx = create(cs);
        std::vector<float> out;
        if (!ctx) return out;
        EXPECT_EQ(lola_context_feed(ctx, tokens.data(), tokens.size(), LOLA_FEED_ALL_LOGITS, nullptr), LOLA_OK);
        const float *l = nullptr;
        size_t rows = 0, vocab = 0;
        EXPECT_EQ(lola_context_logits(ctx, &l, &rows, &vocab), LOLA_OK);
        out.assign(l, l + rows * vocab);
        lola_context_free(ctx);
        return out;
    }
    lola_head_state head(const lola_context *ctx, int32_t layer) const {
        lola_head_state s{};
        s.struct_size = sizeof s;
        EXPECT_EQ(lola_context_get_head_state(ctx, layer, 0, &s), LOLA_OK);
        return s;
    }
};

TEST_F(LayerAttention, KindsThatAllNameOneAttentionEqualIt) {
    const std::vector<int32_t> t = text(60);
    for (int32_t attention : {LOLA_ATTENTION_LOLA, LOLA_ATTENTION_FULL, LOLA_ATTENTION_WINDOW}) {
        const ContextSpec plain = spec(attention);
        const std::vector<float> want = logits(plain, t);
        ASSERT_FALSE(want.empty());
        // The same kind named per layer, and LOLA_MODEL_DEFAULT (attention->attention).
        for (int32_t entry : {attention, static_cast<int32_t>(LOLA_MODEL_DEFAULT)}) {
            const int32_t kinds[2] = {entry, entry};
            ContextSpec cs = spec(attention);
            cs.p.layer_attention = kinds;
            cs.p.n_layer_attention = 2;
            EXPECT_EQ(logits(cs, t), want) << "attention " << attention << ", entry " << entry;
        }
        // All layers full through the array, whatever attention->attention says.
        const int32_t full[2] = {LOLA_ATTENTION_FULL, LOLA_ATTENTION_FULL};
        ContextSpec cs = spec(LOLA_ATTENTION_LOLA);
        cs.p.layer_attention = full;
        cs.p.n_layer_attention = 2;
        if (attention == LOLA_ATTENTION_FULL) {
            EXPECT_EQ(logits(cs, t), want);
        }
    }
}

TEST_F(LayerAttention, AHybridKeepsFullAttentionOnlyInItsFullLayers) {
    const std::vector<int32_t> t = text(60);
    const int32_t kinds[2] = {LOLA_ATTENTION_FULL, LOLA_MODEL_DEFAULT};
    ContextSpec cs = spec(LOLA_ATTENTION_LOLA);
    cs.p.layer_attention = kinds;
    cs.p.n_layer_attention = 2;
    lola_context *ctx = create(cs);
    ASSERT_NE(ctx, nullptr);
    ASSERT_EQ(lola_context_feed(ctx, t.data(), t.size(), 0, nullptr), LOLA_OK);
    const lola_head_state full = head(ctx, 0), lola = head(ctx, 1);
    EXPECT_EQ(full.n_window, 60);  // every pair kept
    EXPECT_EQ(full.n_folded + full.n_sparse + full.n_evicted, 0);
    EXPECT_LE(lola.n_window, 8);   // 2C
    EXPECT_EQ(lola.n_sparse, 3);
    EXPECT_GT(lola.n_folded, 0);
    lola_context_free(ctx);

    const std::vector<float> hybrid = logits(cs, t);
    EXPECT_NE(hybrid, logits(spec(LOLA_ATTENTION_LOLA), t));
    EXPECT_NE(hybrid, logits(spec(LOLA_ATTENTION_FULL), t));
}

TEST_F(LayerAttention, StateRoundTripsAndOtherKindsRefuseIt) {
    const std::vector<int32_t> t = text(40), more = text(7);
    const int32_t kinds[2] = {LOLA_MODEL_DEFAULT, LOLA_ATTENTION_FULL};
    ContextSpec cs = spec(LOLA_ATTENTION_LOLA);
    cs.p.layer_attention = kinds;
    cs.p.n_layer_attention = 2;
    lola_context *a = create(cs), *b = create(cs), *plain = create(spec(LOLA_ATTENTION_LOLA));
    ASSERT_TRUE(a && b && plain);
    ASSERT_EQ(lola_context_feed(a, t.data(), t.size(), 0, nullptr), LOLA_OK);
    size_t size = 0, written = 0;
    ASSERT_EQ(lola_context_state_size(a, &size), LOLA_OK);
    std::vector<unsigned char> blob(size);
    ASSERT_EQ(lola_context_state_save(a, blob.data(), blob.size(), &written), LOLA_OK);
    ASSERT_EQ(lola_context_state_restore(b, blob.data(), written), LOLA_OK) << lola_last_error_message();
    EXPECT_EQ(lola_context_state_restore(plain, blob.data(), written), LOLA_ERR_INCOMPATIBLE);
    std::vector<float> la(97), lb(97);
    ASSERT_EQ(lola_context_feed(a, more.data(), more.size(), 0, nullptr), LOLA_OK);
    ASSERT_EQ(lola_context_feed(b, more.data(), more.size(), 0, nullptr), LOLA_OK);
    ASSERT_EQ(lola_context_copy_logits(a, -1, la.data(), la.size()), LOLA_OK);
    ASSERT_EQ(lola_context_copy_logits(b, -1, lb.data(), lb.size()), LOLA_OK);
    EXPECT_EQ(la, lb);
    lola_context_free(a);
    lola_context_free(b);
    lola_context_free(plain);
}

TEST_F(LayerAttention, ACallerOfTheFirstStructSizeGetsOneKindForAll) {
    const std::vector<int32_t> t = text(30);
    ContextSpec cs = spec(LOLA_ATTENTION_LOLA);
    const std::vector<float> want = logits(cs, t);
    // Garbage where the appended fields would be: an old caller's struct ends before them.
    cs.p.layer_attention = reinterpret_cast<const int32_t *>(0x1);
    cs.p.n_layer_attention = 12345;
    cs.p.struct_size = offsetof(lola_context_params, layer_attention);
    EXPECT_EQ(logits(cs, t), want);
}

TEST_F(LayerAttention, BadArraysAreRefused) {
    const int32_t one[1] = {LOLA_ATTENTION_FULL};
    const int32_t three[3] = {LOLA_ATTENTION_FULL, LOLA_ATTENTION_FULL, LOLA_ATTENTION_FULL};
    const int32_t bad[2] = {LOLA_ATTENTION_FULL, 7};
    const int32_t negative[2] = {-2, LOLA_ATTENTION_LOLA};
    struct Case {
        const int32_t *kinds;
        size_t n;
        lola_status want;
        const char *says;
    };
    for (const Case &c : {Case{one, 1, LOLA_ERR_INVALID_ARGUMENT, "n_layer_attention is 1; the model has 2"},
                          Case{three, 3, LOLA_ERR_INVALID_ARGUMENT, "n_layer_attention is 3"},
                          Case{bad, 2, LOLA_ERR_INVALID_ARGUMENT, "layer_attention[1] is 7"},
                          Case{negative, 2, LOLA_ERR_INVALID_ARGUMENT, "layer_attention[0] is -2"},
                          Case{nullptr, 2, LOLA_ERR_NULL_POINTER, "layer_attention is NULL"}}) {
        ContextSpec cs = spec(LOLA_ATTENTION_LOLA);
        cs.p.layer_attention = c.kinds;
        cs.p.n_layer_attention = c.n;
        lola_context *ctx = reinterpret_cast<lola_context *>(0x1);
        EXPECT_EQ(lola_context_create(model_, &cs.p, &ctx), c.want) << c.says;
        EXPECT_EQ(ctx, nullptr);
        EXPECT_NE(std::string(lola_last_error_message()).find(c.says), std::string::npos)
            << lola_last_error_message();
    }
}

}  // namespace
