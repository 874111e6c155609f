// test_lola_hpp.cpp: lola.hpp, the header-only C++ owners over lola.h: failures throw
// lola::api::Error with the status and liblola's message; owners free their handles and move;
// one AttentionParams serves a layer and a context; save/restore round trips.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "lola.hpp"
#include "tiny_llama.hpp"

namespace {

std::string tiny_model_path() {
    static const std::string path = [] {
        lola_test::TinyLlama t;
        return t.write(::testing::TempDir() + "lola_hpp_tiny.gguf");
    }();
    return path;
}

TEST(LolaHpp, FailuresThrowTheStatusAndMessage) {
    try {
        lola::api::Model m("/nonexistent/model.gguf");
        FAIL() << "loaded a missing file";
    } catch (const lola::api::Error &e) {
        EXPECT_EQ(e.status(), LOLA_ERR_IO);
        EXPECT_NE(e.message().find("/nonexistent/model.gguf"), std::string::npos) << e.message();
        EXPECT_NE(std::string(e.what()).find("LOLA_ERR_IO"), std::string::npos);
    }
    const lola::api::Model model(tiny_model_path());
    lola::api::Context ctx(model);
    try {
        ctx.feed({1, 2, 100000});
        FAIL() << "fed an out-of-range token";
    } catch (const lola::api::Error &e) {
        EXPECT_EQ(e.status(), LOLA_ERR_INVALID_ARGUMENT);
    }
    EXPECT_EQ(ctx.info().n_past, 0);  // nothing was fed
    lola::api::ContextParams bad;
    bad.attention.chunk_size(-5);
    EXPECT_THROW(lola::api::Context(model, bad), lola::api::Error);
}

TEST(LolaHpp, OneAttentionBuilderForLayersAndContexts) {
    lola::api::AttentionParams a;
    a.chunk_size(4).sparse_capacity(3).feature_map(LOLA_FEATURE_MAP_ELU1);
    lola::api::LayerParams lp;
    lp.shape(2, 1, 8).attention = a;
    lola::api::Layer layer(lp);
    EXPECT_EQ(layer.info().chunk_size, 4);
    EXPECT_EQ(layer.info().sparse_capacity, 3);
    lola::api::ContextParams cp;
    cp.attention = a;
    const lola::api::Model model(tiny_model_path());
    lola::api::Context ctx(model, cp);
    ctx.feed({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
    EXPECT_LE(ctx.head_state(0, 0).n_sparse, 3);
    EXPECT_GT(ctx.head_state(0, 0).n_sparse + ctx.head_state(0, 0).n_folded, 0);
    const lola::api::AttentionParams resolved = model.resolve(lola::api::AttentionParams());
    EXPECT_EQ(resolved.c.chunk_size, 64);  // the library's default: the tiny model has no lola.*
}

TEST(LolaHpp, MoveSaveRestoreAndClone) {
    const lola::api::Model model(tiny_model_path());
    lola::api::Context a(model);
    a.feed({5, 6, 7});
    const std::vector<unsigned char> blob = a.save();
    lola::api::Context b = a.clone();
    b.feed({8});
    lola::api::Context moved = std::move(a);
    EXPECT_EQ(a.get(), nullptr);  // NOLINT(bugprone-use-after-move): the moved-from owner is empty
    moved.feed({8});
    EXPECT_EQ(moved.logits(), b.logits());
    moved.restore(blob);
    moved.feed({8});
    EXPECT_EQ(moved.logits(), b.logits());
    EXPECT_THROW(moved.restore(std::vector<unsigned char>(blob.begin(), blob.end() - 1)), lola::api::Error);
    const std::vector<int64_t> window = moved.positions(0, 0, LOLA_MEMORY_WINDOW);
    EXPECT_EQ(window.size(), 4u);
}

TEST(LolaHpp, OwnersFreeTheirHandles) {
    // Many create/free cycles; under the asan preset LeakSanitizer fails this on any leak.
    const lola::api::Model model(tiny_model_path());
    for (int i = 0; i < 50; ++i) {
        lola::api::Context c(model);
        c.feed({1});
        lola::api::Sampler s;
        s.accept({1, 2});
        EXPECT_GE(s.sample(c.logits()), 0);
    }
}

}  // namespace
