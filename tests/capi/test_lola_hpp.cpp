// test_lola_hpp.cpp: lola.hpp, the header-only C++ owners over lola.h (namespace lolapp), on the
// bindings' tiny model with its ASCII vocabulary (tests/support/vocab_llama.hpp, which includes
// core headers: lolapp and the core's lola:: live side by side in this file, as the header
// promises). Checks: failures throw lolapp::Error with liblola's status and message (a NULL
// model path, out-of-range tokens, structs used wrongly, arrays of the wrong size) and leave the
// object as it was; the owners free (the model file is unmapped when its last owner goes; the
// asan preset's LeakSanitizer covers the rest); moves hand the handle over and leave NULL; state
// save/restore and clone round trips; one AttentionParams builder configures a layer and a
// context alike; the std::function callbacks (abort, generate) and what they throw.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "lola.hpp"
#include "base/error.hpp"  // the core's lola::Error, beside lolapp::Error
#include "vocab_llama.hpp"

namespace {

// Owners are move-only; parameters are values.
static_assert(!std::is_copy_constructible_v<lolapp::Model> && !std::is_copy_assignable_v<lolapp::Model>);
static_assert(!std::is_copy_constructible_v<lolapp::Context> && !std::is_copy_assignable_v<lolapp::Context>);
static_assert(!std::is_copy_constructible_v<lolapp::Layer> && !std::is_copy_constructible_v<lolapp::Sampler>);
static_assert(std::is_nothrow_move_constructible_v<lolapp::Model> &&
              std::is_nothrow_move_assignable_v<lolapp::Model>);
static_assert(std::is_nothrow_move_constructible_v<lolapp::Context> &&
              std::is_nothrow_move_assignable_v<lolapp::Context>);
static_assert(std::is_nothrow_move_constructible_v<lolapp::Layer> &&
              std::is_nothrow_move_constructible_v<lolapp::Sampler>);
static_assert(std::is_copy_constructible_v<lolapp::ContextParams> &&
              std::is_copy_constructible_v<lolapp::LayerParams> &&
              std::is_copy_constructible_v<lolapp::AttentionParams>);
// The two Error types are distinct: the core's is lola::Error.
static_assert(!std::is_same_v<lolapp::Error, lola::Error>);

constexpr int32_t kVocab = 97, kEos = 96;

const std::string &model_path() {
    static const std::string path = lola_test::write_vocab_llama(
        ::testing::TempDir() + "lola_hpp_" + std::to_string(::getpid()) + ".gguf",
        lola_test::ascii_vocab_text, lola_test::ascii_vocab_eos);
    return path;
}

// Removes the model file when the tests are over.
struct RemoveModel : ::testing::Environment {
    void TearDown() override { std::remove(model_path().c_str()); }
};
[[maybe_unused]] ::testing::Environment *const remove_model =
    ::testing::AddGlobalTestEnvironment(new RemoveModel);

std::vector<int32_t> sequence(int n, int salt = 0) {
    std::vector<int32_t> t;
    for (int i = 0; i < n; ++i) t.push_back(static_cast<int32_t>((i * 31 + 7 + salt * 13) % (kVocab - 1)));
    return t;
}

// Runs f, which must throw lolapp::Error; returns it.
template <class F>
lolapp::Error error_of(F &&f) {
    try {
        f();
    } catch (const lolapp::Error &e) {
        return e;
    }
    ADD_FAILURE() << "no lolapp::Error thrown";
    return lolapp::Error(LOLA_OK, "");
}

bool contains(const std::string &text, const std::string &part) { return text.find(part) != std::string::npos; }

// How many mappings of `path` this process holds.
int mappings_of(const std::string &path) {
    std::ifstream maps("/proc/self/maps");
    int n = 0;
    for (std::string line; std::getline(maps, line);)
        if (line.size() >= path.size() && line.compare(line.size() - path.size(), path.size(), path) == 0) ++n;
    return n;
}

lolapp::ContextParams small_context(int32_t chunk = 4, int32_t lambda = 3) {
    lolapp::ContextParams p;
    p.attention().chunk_size(chunk).sparse_capacity(lambda).feature_map(lolapp::FeatureMap::elu1);
    return p;
}

// A GQA layer (4 query heads, 2 KV heads, d = 8) and its random inputs for T tokens.
struct LayerInputs {
    std::vector<float> q, k, v;
    LayerInputs(int T, uint32_t seed) {
        uint32_t s = seed;
        auto next = [&s] {
            s = s * 1664525u + 1013904223u;
            return static_cast<float>(s >> 8) / 16777216.0f - 0.5f;
        };
        for (int i = 0; i < T * 4 * 8; ++i) q.push_back(next());
        for (int i = 0; i < T * 2 * 8; ++i) k.push_back(next());
        for (int i = 0; i < T * 2 * 8; ++i) v.push_back(next());
    }
};

lolapp::LayerParams gqa_layer(const lolapp::AttentionParams &a) {
    lolapp::LayerParams p;
    p.heads(4, 2, 8).attention(a);
    return p;
}

// ---- errors: the status and liblola's message -----------------------------------------------

TEST(LolaHppErrors, NullModelPath) {
    const lolapp::Error e = error_of([] { lolapp::Model m(static_cast<const char *>(nullptr)); });
    EXPECT_EQ(e.status(), LOLA_ERR_NULL_POINTER);
    EXPECT_TRUE(contains(e.message(), "path")) << e.message();
    EXPECT_STREQ(e.status_name(), "LOLA_ERR_NULL_POINTER");
    EXPECT_EQ(std::string(e.what()), e.message() + " (LOLA_ERR_NULL_POINTER)");
}

TEST(LolaHppErrors, MissingFileNamesIt) {
    const lolapp::Error e = error_of([] { lolapp::Model m(std::string("/nonexistent/lola_hpp.gguf")); });
    EXPECT_EQ(e.status(), LOLA_ERR_IO);
    EXPECT_TRUE(contains(e.message(), "/nonexistent/lola_hpp.gguf")) << e.message();
    EXPECT_EQ(error_of([] { lolapp::describe_file("/nonexistent/lola_hpp.gguf"); }).status(), LOLA_ERR_IO);
}

TEST(LolaHppErrors, CheckTurnsAStatusIntoTheLastMessage) {
    EXPECT_NO_THROW(lolapp::check(LOLA_OK));
    const lola_status s = lola_context_reset(nullptr);  // a direct C call that fails
    const lolapp::Error e = error_of([s] { lolapp::check(s); });
    EXPECT_EQ(e.status(), LOLA_ERR_NULL_HANDLE);
    EXPECT_TRUE(contains(e.message(), "ctx")) << e.message();
}

TEST(LolaHppErrors, OutOfRangeTokensChangeNothing) {
    const lolapp::Model model(model_path());
    lolapp::Context ctx(model, small_context());
    ctx.feed({1, 2, 3});
    const std::vector<float> before = ctx.logits();
    const lolapp::Error e = error_of([&] { ctx.feed({4, kVocab, 5}); });
    EXPECT_EQ(e.status(), LOLA_ERR_INVALID_ARGUMENT);
    EXPECT_TRUE(contains(e.message(), std::to_string(kVocab))) << e.message();
    EXPECT_EQ(ctx.info().n_past, 3);  // nothing was fed
    EXPECT_EQ(ctx.logits(), before);  // and the logits are kept
    EXPECT_EQ(error_of([&] { ctx.feed({-1}); }).status(), LOLA_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(error_of([&] { model.detokenize({1, kVocab}); }).status(), LOLA_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(error_of([&] { model.token_to_piece(kVocab + 5); }).status(), LOLA_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(error_of([&] { ctx.logits(7); }).status(), LOLA_ERR_INVALID_ARGUMENT);  // no row 7
}

TEST(LolaHppErrors, StructsUsedWrongly) {
    const lolapp::Model model(model_path());
    // A struct_size no header published: refused by require_struct, with the sizes it accepts.
    lolapp::ContextParams cp;
    cp.c_struct().struct_size = 3;
    lolapp::Error e = error_of([&] { lolapp::Context c(model, cp); });
    EXPECT_EQ(e.status(), LOLA_ERR_VERSION_MISMATCH);
    EXPECT_TRUE(contains(e.message(), "struct_size is 3")) << e.message();
    EXPECT_TRUE(contains(e.message(), std::to_string(sizeof(lola_context_params)))) << e.message();

    lolapp::ContextParams ca;
    ca.attention().c_struct().struct_size = sizeof(lola_attention_params) + 8;
    e = error_of([&] { lolapp::Context c(model, ca); });
    EXPECT_EQ(e.status(), LOLA_ERR_VERSION_MISMATCH);
    EXPECT_TRUE(contains(e.message(), "lola_attention_params")) << e.message();

    lolapp::LayerParams lp = gqa_layer(lolapp::AttentionParams());
    lp.c_struct().struct_size = 1;
    EXPECT_EQ(error_of([&] { lolapp::Layer l(lp); }).status(), LOLA_ERR_VERSION_MISMATCH);

    // A layer-only setting in a context, and values out of range.
    lolapp::ContextParams precomputed;
    precomputed.attention().feature_map(lolapp::FeatureMap::precomputed);
    e = error_of([&] { lolapp::Context c(model, precomputed); });
    EXPECT_EQ(e.status(), LOLA_ERR_INVALID_ARGUMENT);
    EXPECT_FALSE(e.message().empty());
    EXPECT_EQ(error_of([&] { lolapp::Context c(model, small_context(-5)); }).status(), LOLA_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(error_of([] { lolapp::Layer l(lolapp::LayerParams().heads(3, 2, 8)); }).status(),
              LOLA_ERR_INVALID_ARGUMENT);  // 3 query heads over 2 KV heads
    EXPECT_EQ(error_of([] { lolapp::Sampler s(lolapp::SamplerParams().temperature(std::nanf(""))); }).status(),
              LOLA_ERR_INVALID_ARGUMENT);

    // The feed of a layer that needs precomputed features, and the other way round.
    lolapp::Layer plain(gqa_layer(lolapp::AttentionParams().feature_map(lolapp::FeatureMap::elu1)));
    const LayerInputs in(2, 1);
    EXPECT_EQ(error_of([&] { plain.feed_features(in.q, in.k, in.v, in.q, in.q); }).status(), LOLA_ERR_UNSUPPORTED);
}

TEST(LolaHppErrors, ArraysOfTheWrongSize) {
    // Checked by lola.hpp (the C API reads as many floats as the shapes imply from a pointer).
    lolapp::LayerParams lp = gqa_layer(lolapp::AttentionParams());
    lp.window_factors({0.0f, 1.0f, 2.0f});
    lolapp::Error e = error_of([&] { lolapp::Layer l(lp); });
    EXPECT_EQ(e.status(), LOLA_ERR_SIZE_MISMATCH);
    EXPECT_TRUE(contains(e.message(), "n_heads is 4")) << e.message();
    EXPECT_NO_THROW(lolapp::Layer(lp.window_factors({0.0f, 1.0f, 2.0f, 3.0f})));

    lolapp::LayerParams hh = gqa_layer(lolapp::AttentionParams().feature_map(lolapp::FeatureMap::hedgehog).feature_dim(8));
    hh.hedgehog(std::vector<float>(4 * 8 * 4, 0.1f), std::vector<float>(4 * 8 * 4 - 1, 0.1f));
    EXPECT_EQ(error_of([&] { lolapp::Layer l(hh); }).status(), LOLA_ERR_SIZE_MISMATCH);
    hh.hedgehog(std::vector<float>(4 * 8 * 4, 0.1f), std::vector<float>(4 * 8 * 4, 0.2f));
    EXPECT_EQ(lolapp::Layer(hh).info().feature_dim, 8);
    // With feature_dim 0 and AUTO, the weights' length gives F (here 2 * 3) and picks hedgehog.
    lolapp::LayerParams inferred = gqa_layer(lolapp::AttentionParams());
    inferred.hedgehog(std::vector<float>(4 * 8 * 3, 0.1f), std::vector<float>(4 * 8 * 3, 0.2f));
    EXPECT_EQ(lolapp::Layer(inferred).info().feature_dim, 6);
    // Hedgehog weights for another feature map: refused by liblola, which reads nothing.
    lolapp::LayerParams other = gqa_layer(lolapp::AttentionParams().feature_map(lolapp::FeatureMap::elu1));
    other.hedgehog({1.0f}, {1.0f});
    EXPECT_EQ(error_of([&] { lolapp::Layer l(other); }).status(), LOLA_ERR_INVALID_ARGUMENT);

    // Checked by liblola: lengths against the shapes.
    lolapp::Layer layer(gqa_layer(lolapp::AttentionParams().feature_map(lolapp::FeatureMap::elu1)));
    LayerInputs in(3, 2);
    in.k.pop_back();
    e = error_of([&] { layer.feed(in.q, in.k, in.v); });
    EXPECT_EQ(e.status(), LOLA_ERR_SIZE_MISMATCH);
    EXPECT_TRUE(contains(e.message(), "k_len")) << e.message();
    in.q.pop_back();  // no longer a whole number of tokens
    EXPECT_EQ(error_of([&] { layer.feed(in.q, in.k, in.v); }).status(), LOLA_ERR_SIZE_MISMATCH);
    EXPECT_EQ(error_of([&] { layer.feed({}, {}, {}); }).status(), LOLA_ERR_INVALID_ARGUMENT);  // T = 0
    EXPECT_EQ(layer.info().n_tokens, 0);
}

// ---- owners: freeing and moving -------------------------------------------------------------

TEST(LolaHppOwners, TheModelGoesWithItsLastOwner) {
    const std::string &path = model_path();
    ASSERT_EQ(mappings_of(path), 0);
    std::optional<lolapp::Context> ctx;
    {
        const lolapp::Model model(path);
        EXPECT_GT(mappings_of(path), 0);
        ctx.emplace(model, small_context());
    }  // the Model object is gone; the context keeps the model
    EXPECT_GT(mappings_of(path), 0);
    ctx->feed(sequence(6));
    EXPECT_EQ(ctx->logits().size(), static_cast<size_t>(kVocab));
    ctx.reset();
    EXPECT_EQ(mappings_of(path), 0);  // freed by the last owner's destructor
    {
        lolapp::Model a(path);
        lolapp::Model b(path);
        EXPECT_EQ(mappings_of(path) > 0, true);
        a = std::move(b);  // the model a held is freed here
        lolapp::Model c = std::move(a);
        EXPECT_GT(mappings_of(path), 0);
    }
    EXPECT_EQ(mappings_of(path), 0);
}

TEST(LolaHppOwners, ManyObjectsComeAndGo) {
    // Under the asan preset LeakSanitizer fails this for any handle or buffer left behind.
    for (int i = 0; i < 20; ++i) {
        const lolapp::Model model(model_path());
        lolapp::Context ctx(model, small_context());
        ctx.feed(sequence(5, i));
        lolapp::Context copy = ctx.clone();
        lolapp::Sampler sampler;
        sampler.accept({1, 2});
        EXPECT_GE(sampler.sample(copy.logits()), 0);
        lolapp::Layer layer(gqa_layer(lolapp::AttentionParams()));
        const LayerInputs in(5, static_cast<uint32_t>(i));
        layer.update(in.q, in.k, in.v);
        lolapp::Layer other = layer.clone();
        EXPECT_EQ(other.info().n_tokens, 5);
        ctx.set_abort_callback([] { return false; });
    }
}

TEST(LolaHppOwners, MovesHandTheHandleOver) {
    const lolapp::Model model(model_path());
    lolapp::Context a(model, small_context());
    a.feed(sequence(7));
    lola_context *raw = a.get();
    lolapp::Context b = std::move(a);
    EXPECT_EQ(b.get(), raw);
    EXPECT_EQ(a.get(), nullptr);  // NOLINT(bugprone-use-after-move): the moved-from owner is empty
    EXPECT_FALSE(a);
    EXPECT_TRUE(b);
    EXPECT_EQ(b.info().n_past, 7);
    // A call on the moved-from owner is liblola's NULL_HANDLE, not a crash.
    EXPECT_EQ(error_of([&] { a.feed({1}); }).status(), LOLA_ERR_NULL_HANDLE);
    EXPECT_EQ(error_of([&] { a.info(); }).status(), LOLA_ERR_NULL_HANDLE);

    lolapp::Context c(model, small_context());
    c = std::move(b);  // c's own context is freed, b's taken over
    EXPECT_EQ(c.get(), raw);
    EXPECT_EQ(c.info().n_past, 7);
    c.feed({3});
    EXPECT_EQ(c.info().n_past, 8);

    // release() and adopt() cross to the C API and back.
    lola_context *released = c.release();
    EXPECT_FALSE(c);
    lola_context_info info{};
    info.struct_size = sizeof info;
    ASSERT_EQ(lola_context_get_info(released, &info), LOLA_OK);
    EXPECT_EQ(info.n_past, 8);
    lolapp::Context adopted = lolapp::Context::adopt(released);
    EXPECT_EQ(adopted.info().n_past, 8);

    lolapp::Model m2(model_path());
    lolapp::Model m3 = std::move(m2);
    EXPECT_EQ(error_of([&] { m2.tokenize("a"); }).status(), LOLA_ERR_NULL_HANDLE);  // NOLINT
    EXPECT_FALSE(m2.is_eog(kEos));                                                 // NOLINT
    EXPECT_TRUE(m3.is_eog(kEos));

    lolapp::Layer l1(gqa_layer(lolapp::AttentionParams()));
    lolapp::Layer l2 = std::move(l1);
    const LayerInputs in(2, 3);
    EXPECT_EQ(l2.feed(in.q, in.k, in.v).size(), in.q.size());  // the shapes moved along
    EXPECT_EQ(error_of([&] { l1.feed(in.q, in.k, in.v); }).status(), LOLA_ERR_NULL_HANDLE);  // NOLINT

    lolapp::Sampler s1;
    lolapp::Sampler s2 = std::move(s1);
    EXPECT_EQ(error_of([&] { s1.accept({1}); }).status(), LOLA_ERR_NULL_HANDLE);  // NOLINT
    EXPECT_NO_THROW(s2.accept({1}));
}

TEST(LolaHppOwners, AnAbortCallbackMovesWithItsContext) {
    const lolapp::Model model(model_path());
    lolapp::ContextParams p = small_context();
    p.batch_size(2);
    lolapp::Context a(model, p);
    int polls = 0;
    a.set_abort_callback([&polls] { return ++polls >= 2; });
    lolapp::Context b = std::move(a);  // the callback's storage does not move
    const lolapp::Error e = error_of([&] { b.feed(sequence(10)); });
    EXPECT_EQ(e.status(), LOLA_ERR_ABORTED);
    EXPECT_EQ(polls, 2);
    EXPECT_GT(b.info().n_past, 0);
    EXPECT_LT(b.info().n_past, 10);
}

// ---- state ----------------------------------------------------------------------------------

TEST(LolaHppState, ContextSaveRestoreRoundTrip) {
    const lolapp::Model model(model_path());
    lolapp::Context ctx(model, small_context());
    ctx.feed(sequence(13));
    const std::vector<uint8_t> blob = ctx.save_state();
    EXPECT_EQ(blob.size(), ctx.state_size());
    const std::vector<int64_t> sparse_before = ctx.positions(1, 2, lolapp::Memory::sparse);
    ctx.feed(sequence(9, 1));
    const std::vector<float> after = ctx.logits();

    // A damaged blob is refused and changes nothing.
    std::vector<uint8_t> bad = blob;
    bad[bad.size() / 2] ^= 0x5A;
    EXPECT_EQ(error_of([&] { ctx.restore_state(bad); }).status(), LOLA_ERR_CORRUPT_DATA);
    EXPECT_EQ(ctx.info().n_past, 22);
    EXPECT_EQ(ctx.logits(), after);

    ctx.restore_state(blob);
    EXPECT_EQ(ctx.info().n_past, 13);
    EXPECT_EQ(ctx.positions(1, 2, lolapp::Memory::sparse), sparse_before);
    EXPECT_EQ(error_of([&] { ctx.logits(); }).status(), LOLA_ERR_UNSUPPORTED);  // until the next feed
    ctx.feed(sequence(9, 1));
    EXPECT_EQ(ctx.logits(), after);

    // Into another context on the same model, and a clone: the same continuation.
    lolapp::Context other(model, small_context());
    other.restore_state(blob.data(), blob.size());
    lolapp::Context twin = other.clone();
    other.feed(sequence(9, 1));
    twin.feed(sequence(9, 1));
    EXPECT_EQ(other.logits(), after);
    EXPECT_EQ(twin.logits(), after);
    // Not into a context with other LoLA parameters.
    lolapp::Context different(model, small_context(8, 3));
    EXPECT_EQ(error_of([&] { different.restore_state(blob); }).status(), LOLA_ERR_INCOMPATIBLE);
}

TEST(LolaHppState, LayerSaveRestoreRoundTrip) {
    lolapp::Layer layer(gqa_layer(lolapp::AttentionParams().chunk_size(4).sparse_capacity(2)));
    const LayerInputs first(11, 5), second(6, 6);
    layer.update(first.q, first.k, first.v);
    const std::vector<uint8_t> blob = layer.save_state();
    const lolapp::SparseEntries entries = layer.sparse_entries(1);
    EXPECT_EQ(entries.positions.size(), entries.scores.size());
    EXPECT_EQ(entries.positions, layer.positions(1, lolapp::Memory::sparse));
    const std::vector<float> y = layer.feed(second.q, second.k, second.v);

    layer.restore_state(blob);
    lolapp::Layer copy = layer.clone();  // the same state, and shapes of its own
    EXPECT_EQ(copy.feed(second.q, second.k, second.v), y);
    EXPECT_EQ(layer.info().n_tokens, 11);
    EXPECT_EQ(layer.sparse_entries(1).positions, entries.positions);
    EXPECT_EQ(layer.sparse_entries(1).scores, entries.scores);
    EXPECT_EQ(layer.feed(second.q, second.k, second.v), y);

    std::vector<uint8_t> truncated(blob.begin(), blob.end() - 1);
    EXPECT_EQ(error_of([&] { layer.restore_state(truncated); }).status(), LOLA_ERR_CORRUPT_DATA);
    EXPECT_EQ(layer.info().n_tokens, 17);
    layer.reset();
    EXPECT_EQ(layer.info().n_tokens, 0);
}

// ---- one attention builder, for layers and contexts -----------------------------------------

TEST(LolaHppAttention, OneBuilderForALayerAndAContext) {
    lolapp::AttentionParams a;
    EXPECT_EQ(a.chunk_size(), lolapp::model_default);
    EXPECT_EQ(a.feature_map(), lolapp::FeatureMap::automatic);
    EXPECT_EQ(a.mixing(), lolapp::Mixing::model_default);
    a.chunk_size(4).sparse_capacity(3).feature_map(lolapp::FeatureMap::elu1).scoring(lolapp::Scoring::recency);

    lolapp::Layer layer(gqa_layer(a));
    const lola_layer_info li = layer.info();
    EXPECT_EQ(li.chunk_size, 4);
    EXPECT_EQ(li.sparse_capacity, 3);
    EXPECT_EQ(li.feature_dim, 8);  // elu1: head_dim
    EXPECT_EQ(li.attention, LOLA_ATTENTION_LOLA);

    const lolapp::Model model(model_path());
    lolapp::ContextParams cp;
    cp.attention(a);
    lolapp::Context ctx(model, cp);
    ctx.feed(sequence(23));
    for (int32_t layer_index = 0; layer_index < 2; ++layer_index) {
        const lola_head_state hs = ctx.head_state(layer_index, 0);
        EXPECT_EQ(hs.n_sparse, 3);                        // lambda = 3
        EXPECT_EQ(hs.n_window, 4 + 23 % 4);               // previous chunk + current partial one
        EXPECT_EQ(hs.n_folded, 23 - 3 - (4 + 23 % 4));
        // recency scoring: the sparse cache holds the newest positions that left the window
        const int64_t left = 23 - hs.n_window;
        EXPECT_EQ(ctx.positions(layer_index, 0, lolapp::Memory::sparse),
                  (std::vector<int64_t>{left - 3, left - 2, left - 1}));
    }
    // The same builder, another attention: both objects follow it.
    a.attention(lolapp::Attention::full);
    EXPECT_EQ(lolapp::Layer(gqa_layer(a)).info().attention, LOLA_ATTENTION_FULL);
    lolapp::Context full(model, lolapp::ContextParams().attention(a));
    full.feed(sequence(23));
    EXPECT_EQ(full.head_state(0, 0).n_window, 23);

    // model_default resolved: the library's values for a layer, the model's for a context (the
    // tiny model carries no lola.* metadata, so the same).
    const lolapp::AttentionParams layer_values = lolapp::AttentionParams().resolved();
    EXPECT_EQ(layer_values.chunk_size(), 64);
    EXPECT_EQ(layer_values.sparse_capacity(), 64);
    EXPECT_EQ(layer_values.mixing(), lolapp::Mixing::lola);
    EXPECT_EQ(lolapp::AttentionParams().resolved(model).chunk_size(), 64);
    EXPECT_EQ(lolapp::AttentionParams().chunk_size(9).resolved(model).chunk_size(), 9);
    lolapp::ContextParams gate;
    EXPECT_FALSE(gate.gate_logit().has_value());
    EXPECT_EQ(gate.gate_logit(1.5f).gate_logit(), 1.5f);
    EXPECT_FALSE(gate.gate_logit(std::nullopt).gate_logit().has_value());
}

// ---- callbacks, text, logits ----------------------------------------------------------------

struct Stop : std::runtime_error {
    Stop() : std::runtime_error("stop") {}
};

TEST(LolaHppCallbacks, AbortCallback) {
    const lolapp::Model model(model_path());
    lolapp::ContextParams p = small_context();
    p.batch_size(3);
    lolapp::Context ctx(model, p);
    std::atomic<bool> stop{true};
    ctx.set_abort_callback([&stop] { return stop.load(); });
    EXPECT_EQ(error_of([&] { ctx.feed(sequence(12)); }).status(), LOLA_ERR_ABORTED);
    const int64_t fed = ctx.info().n_past;
    EXPECT_LT(fed, 12);
    EXPECT_EQ(error_of([&] { ctx.logits(); }).status(), LOLA_ERR_UNSUPPORTED);
    stop = false;
    ctx.feed(sequence(12));
    EXPECT_EQ(ctx.info().n_past, fed + 12);

    // What the callback throws comes back out of feed, with its own type.
    ctx.set_abort_callback([]() -> bool { throw Stop(); });
    EXPECT_THROW(ctx.feed(sequence(6)), Stop);
    ctx.set_abort_callback({});  // removed
    EXPECT_NO_THROW(ctx.feed(sequence(6)));
}

TEST(LolaHppCallbacks, GenerateStreamsTheGreedyTokens) {
    const lolapp::Model model(model_path());
    lolapp::Context ctx(model, small_context());
    ctx.feed(model.tokenize("ab"));
    lolapp::Context manual = ctx.clone();

    lolapp::Sampler greedy(lolapp::SamplerParams().temperature(0.0f));
    std::vector<int32_t> tokens;
    std::string text;
    const size_t n = ctx.generate(greedy, 6, [&](int32_t t, std::string_view piece) {
        tokens.push_back(t);
        text.append(piece);
        return true;
    });
    EXPECT_EQ(n, tokens.size());
    EXPECT_EQ(text, model.detokenize(tokens));
    // The same as argmax step by step (lowest id on ties), stopping at an end of generation.
    std::vector<int32_t> expected;
    for (size_t i = 0; i < 6; ++i) {
        const std::vector<float> l = manual.logits();
        const int32_t t = static_cast<int32_t>(std::max_element(l.begin(), l.end()) - l.begin());
        if (model.is_eog(t)) break;
        expected.push_back(t);
        manual.feed({t});
    }
    EXPECT_EQ(tokens, expected);
    EXPECT_EQ(ctx.logits(), manual.logits());

    // Returning false stops after that token; an exception stops and comes back out.
    lolapp::Context again = manual.clone();
    EXPECT_EQ(again.generate(greedy, 5, [](int32_t, std::string_view) { return false; }), 1u);
    EXPECT_THROW(again.generate(greedy, 5, [](int32_t, std::string_view) -> bool { throw Stop(); }), Stop);
    EXPECT_EQ(again.generate(greedy, 0), 0u);
}

TEST(LolaHppText, TokenizeDetokenizeAndSpecialTokens) {
    const lolapp::Model model(model_path());
    const std::string text = "Hi there!\nbye";
    const std::vector<int32_t> tokens = model.tokenize(text);
    EXPECT_EQ(tokens.size(), text.size());  // one token per character in this vocabulary
    EXPECT_EQ(tokens[0], 'H' - 33);
    EXPECT_EQ(tokens[2], 94);  // the space
    EXPECT_EQ(model.detokenize(tokens), text);
    EXPECT_EQ(model.token_to_piece(tokens[1]), "i");
    EXPECT_TRUE(model.tokenize("").empty());
    EXPECT_EQ(model.detokenize(std::vector<int32_t>{}), "");
    const lola_special_tokens s = model.special_tokens();
    EXPECT_EQ(s.eos, kEos);
    EXPECT_TRUE(model.is_eog(kEos));
    EXPECT_FALSE(model.is_eog(0));
    EXPECT_EQ(model.token_to_piece(kEos), "");  // specials are skipped without the flag
    EXPECT_EQ(model.token_to_piece(kEos, LOLA_DETOKENIZE_SPECIAL), "<|endoftext|>");
    EXPECT_EQ(model.tokenize("<|endoftext|>", LOLA_TOKENIZE_PARSE_SPECIAL), std::vector<int32_t>{kEos});
    // The tiny model names no chat template liblola knows.
    EXPECT_EQ(error_of([&] { model.apply_chat_template({{"user", "hi"}}); }).status(), LOLA_ERR_UNSUPPORTED);
    const lola_model_info info = model.info();
    EXPECT_EQ(info.n_vocab, kVocab);
    EXPECT_STREQ(info.architecture, "llama");
    EXPECT_TRUE(contains(lolapp::describe_file(model_path()), "llama"));
}

TEST(LolaHppText, LogitsCopiesAndViews) {
    const lolapp::Model model(model_path());
    lolapp::Context ctx(model, small_context());
    EXPECT_EQ(error_of([&] { ctx.logits_view(); }).status(), LOLA_ERR_UNSUPPORTED);  // nothing fed
    ctx.feed_all_logits(sequence(5));
    const lolapp::LogitsView view = ctx.logits_view();
    ASSERT_EQ(view.n_rows, 5u);
    ASSERT_EQ(view.n_vocab, static_cast<size_t>(kVocab));
    EXPECT_EQ(ctx.logits(0), std::vector<float>(view.row(0), view.row(0) + kVocab));
    EXPECT_EQ(ctx.logits(), std::vector<float>(view.last(), view.last() + kVocab));
    EXPECT_EQ(ctx.logits(-1), ctx.logits(4));
    ctx.feed({1});
    EXPECT_EQ(ctx.logits_view().n_rows, 1u);
    EXPECT_EQ(lolapp::abi_version(), LOLA_ABI_VERSION);
    EXPECT_NO_THROW(lolapp::check_abi_version());
    EXPECT_FALSE(std::string(lolapp::version()).empty());
}

}  // namespace

// ---- batched decode ------------------------------------------------------------------------------

TEST(LolaHppBatch, DecodeEqualsFeedingEachContextAlone) {
    const lolapp::Model model(model_path());
    std::vector<lolapp::Context> batched, single;
    for (int i = 0; i < 3; ++i) {
        for (auto *list : {&batched, &single}) {
            list->emplace_back(model, small_context());
            list->back().feed({1 + i, 2, 3 + 2 * i});
        }
    }
    lolapp::Batch batch(model, 3);
    std::vector<lolapp::Context *> ptrs = {&batched[0], &batched[1], &batched[2]};
    for (int step = 0; step < 12; ++step) {
        const std::vector<int32_t> tokens = {step % 90, (step * 3) % 90, (step * 5 + 1) % 90};
        batch.decode(ptrs, tokens);
        for (int i = 0; i < 3; ++i) {
            single[static_cast<size_t>(i)].feed({tokens[static_cast<size_t>(i)]});
            EXPECT_EQ(batched[static_cast<size_t>(i)].logits(), single[static_cast<size_t>(i)].logits());
        }
    }
    const lolapp::Error e = error_of([&] { batch.decode(ptrs, {1, 2, kVocab}); });
    EXPECT_EQ(e.status(), LOLA_ERR_INVALID_ARGUMENT);
    EXPECT_TRUE(contains(e.message(), "contexts[2]")) << e.message();
    EXPECT_EQ(error_of([&] { batch.decode(ptrs, {1}); }).status(), LOLA_ERR_SIZE_MISMATCH);
    EXPECT_EQ(batched[0].save_state(), single[0].save_state());
}
