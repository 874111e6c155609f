// test_model_capi.cpp: models and contexts through the C API on a tiny random Llama GGUF:
// the threading contract (one model, many contexts, many threads), splits of a sequence,
// save/restore/clone, abort, lifetimes, bad input, and LoLA against full attention; and the
// attention settings of a context (lola_attention_params): its defaults, NULL, the model's lola.*
// metadata behind LOLA_MODEL_DEFAULT, AUTO with and without LoLA tensors, resolve, refusals.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "capi_check.hpp"
#include "lola.h"
#include "tiny_llama.hpp"
#include "tiny_model_test.hpp"

using namespace lola_test;

namespace {

struct Fixture : TinyModelTest {

    lola_context *context(int32_t attention = LOLA_ATTENTION_LOLA, int32_t chunk = 4, int32_t lambda = 3,
                          int32_t threads = 1, int32_t batch = 64) {
        lola_test::ContextSpec cp;
        cp.a.attention = attention;
        cp.a.chunk_size = chunk;
        cp.a.sparse_capacity = lambda;
        cp.a.feature_map = LOLA_FEATURE_MAP_ELU1;
        cp.p.n_threads = threads;
        cp.p.batch_size = batch;
        lola_context *ctx = nullptr;
        EXPECT_EQ(lola_context_create(model_, &cp.p, &ctx), LOLA_OK) << lola_last_error_message();
        return ctx;
    }

    static std::vector<float> last_logits(lola_context *ctx) {
        std::vector<float> out(97);
        EXPECT_EQ(lola_context_copy_logits(ctx, -1, out.data(), out.size()), LOLA_OK) << lola_last_error_message();
        return out;
    }

    static std::vector<int32_t> sequence(int n, int salt = 0) {
        std::vector<int32_t> t;
        for (int i = 0; i < n; ++i) t.push_back(static_cast<int32_t>((i * 31 + 7 + salt * 13) % 97));
        return t;
    }

};

double max_rel(const std::vector<float> &a, const std::vector<float> &b) {
    double m = 0, scale = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        m = std::max(m, static_cast<double>(std::abs(a[i] - b[i])));
        scale = std::max(scale, static_cast<double>(std::abs(b[i])));
    }
    return m / (scale + 1e-30);
}

TEST_F(Fixture, ModelInfo) {
    lola_model_info info;
    info.struct_size = sizeof info;
    ASSERT_EQ(lola_model_get_info(model_, &info), LOLA_OK);
    EXPECT_STREQ(info.architecture, "llama");
    EXPECT_STREQ(info.name, "tiny random llama");
    EXPECT_EQ(info.n_layer, 2);
    EXPECT_EQ(info.n_head, 4);
    EXPECT_EQ(info.n_head_kv, 2);
    EXPECT_EQ(info.head_dim, 8);
    EXPECT_EQ(info.n_vocab, 97);
    EXPECT_EQ(info.n_ctx_train, 4096);
    EXPECT_EQ(info.has_lola_tensors, 0);
    EXPECT_GT(info.weight_bytes, 0u);
}

TEST_F(Fixture, OneCallEqualsTokenByToken) {
    const std::vector<int32_t> seq = sequence(37);
    for (int32_t attention : {LOLA_ATTENTION_LOLA, LOLA_ATTENTION_FULL, LOLA_ATTENTION_WINDOW}) {
        lola_context *a = context(attention), *b = context(attention);
        ASSERT_EQ(lola_context_feed(a, seq.data(), seq.size(), 0, nullptr), LOLA_OK);
        for (int32_t t : seq) ASSERT_EQ(lola_context_feed(b, &t, 1, 0, nullptr), LOLA_OK);
        // prefill runs matrix-matrix products, decode matrix-vector ones: equal up to rounding
        EXPECT_LE(max_rel(last_logits(a), last_logits(b)), 1e-5) << "attention " << attention;
        lola_context_free(a);
        lola_context_free(b);
    }
}

TEST_F(Fixture, AllLogitsRowsMatchSeparateFeeds) {
    const std::vector<int32_t> seq = sequence(9);
    lola_context *a = context(), *b = context();
    ASSERT_EQ(lola_context_feed(a, seq.data(), seq.size(), LOLA_FEED_ALL_LOGITS, nullptr), LOLA_OK);
    const float *logits = nullptr;
    size_t rows = 0, vocab = 0;
    ASSERT_EQ(lola_context_logits(a, &logits, &rows, &vocab), LOLA_OK);
    ASSERT_EQ(rows, 9u);
    ASSERT_EQ(vocab, 97u);
    for (size_t t = 0; t < seq.size(); ++t) {
        ASSERT_EQ(lola_context_feed(b, &seq[t], 1, 0, nullptr), LOLA_OK);
        std::vector<float> row(logits + t * vocab, logits + (t + 1) * vocab);
        EXPECT_LE(max_rel(row, last_logits(b)), 1e-5) << "row " << t;
    }
    lola_context_free(a);
    lola_context_free(b);
}

TEST_F(Fixture, LolaWithLongWindowEqualsFullAttention) {
    const std::vector<int32_t> seq = sequence(30);
    lola_context *lola = context(LOLA_ATTENTION_LOLA, 64, 0), *full = context(LOLA_ATTENTION_FULL);
    ASSERT_EQ(lola_context_feed(lola, seq.data(), seq.size(), 0, nullptr), LOLA_OK);
    ASSERT_EQ(lola_context_feed(full, seq.data(), seq.size(), 0, nullptr), LOLA_OK);
    EXPECT_LE(max_rel(last_logits(lola), last_logits(full)), 1e-6);
    // and with a short window the two differ (the test can tell them apart)
    lola_context *short_window = context(LOLA_ATTENTION_LOLA, 4, 0);
    ASSERT_EQ(lola_context_feed(short_window, seq.data(), seq.size(), 0, nullptr), LOLA_OK);
    EXPECT_GT(max_rel(last_logits(short_window), last_logits(full)), 1e-4);
    lola_context_free(lola);
    lola_context_free(full);
    lola_context_free(short_window);
}

TEST_F(Fixture, SaveRestoreContinueEqualsContinuing) {
    const std::vector<int32_t> first = sequence(13), second = sequence(11, 1);
    lola_context *a = context(), *b = context();
    ASSERT_EQ(lola_context_feed(a, first.data(), first.size(), 0, nullptr), LOLA_OK);
    size_t size = 0, written = 0;
    ASSERT_EQ(lola_context_state_size(a, &size), LOLA_OK);
    std::vector<unsigned char> blob(size);
    ASSERT_EQ(lola_context_state_save(a, blob.data(), blob.size(), &written), LOLA_OK);
    ASSERT_EQ(lola_context_state_restore(b, blob.data(), blob.size()), LOLA_OK) << lola_last_error_message();
    const float *none = nullptr;
    EXPECT_EQ(lola_context_logits(b, &none, nullptr, nullptr), LOLA_ERR_UNSUPPORTED);
    ASSERT_EQ(lola_context_feed(a, second.data(), second.size(), 0, nullptr), LOLA_OK);
    ASSERT_EQ(lola_context_feed(b, second.data(), second.size(), 0, nullptr), LOLA_OK);
    EXPECT_EQ(last_logits(a), last_logits(b));
    // a corrupted blob is refused and changes nothing
    lola_context *c = context();
    std::vector<unsigned char> bad = blob;
    bad[bad.size() / 2] ^= 0x10;
    EXPECT_NE(lola_context_state_restore(c, bad.data(), bad.size()), LOLA_OK);
    EXPECT_EQ(lola_context_state_restore(c, blob.data(), blob.size() - 1), LOLA_ERR_CORRUPT_DATA);
    lola_context_info info;
    info.struct_size = sizeof info;
    ASSERT_EQ(lola_context_get_info(c, &info), LOLA_OK);
    EXPECT_EQ(info.n_past, 0);
    // a blob from a context with other LoLA parameters is refused
    lola_context *other = context(LOLA_ATTENTION_LOLA, 8, 3);
    EXPECT_EQ(lola_context_state_restore(other, blob.data(), blob.size()), LOLA_ERR_INCOMPATIBLE);
    lola_context_free(a);
    lola_context_free(b);
    lola_context_free(c);
    lola_context_free(other);
}

TEST_F(Fixture, CloneIsIndependent) {
    const std::vector<int32_t> seq = sequence(10), more = sequence(5, 2);
    lola_context *a = context();
    ASSERT_EQ(lola_context_feed(a, seq.data(), seq.size(), 0, nullptr), LOLA_OK);
    lola_context *b = nullptr;
    ASSERT_EQ(lola_context_clone(a, &b), LOLA_OK);
    EXPECT_EQ(last_logits(a), last_logits(b));
    ASSERT_EQ(lola_context_feed(b, more.data(), more.size(), 0, nullptr), LOLA_OK);
    ASSERT_EQ(lola_context_feed(a, more.data(), more.size(), 0, nullptr), LOLA_OK);
    EXPECT_EQ(last_logits(a), last_logits(b));
    lola_context_info ia, ib;
    ia.struct_size = ib.struct_size = sizeof ia;
    lola_context_get_info(a, &ia);
    lola_context_get_info(b, &ib);
    EXPECT_EQ(ia.n_past, 15);
    EXPECT_EQ(ib.n_past, 15);
    lola_context_free(a);
    lola_context_free(b);
}

TEST_F(Fixture, CacheStateQueries) {
    const std::vector<int32_t> seq = sequence(23);
    lola_context *ctx = context(LOLA_ATTENTION_LOLA, 4, 3);
    ASSERT_EQ(lola_context_feed(ctx, seq.data(), seq.size(), 0, nullptr), LOLA_OK);
    lola_context_info info;
    info.struct_size = sizeof info;
    ASSERT_EQ(lola_context_get_info(ctx, &info), LOLA_OK);
    EXPECT_EQ(info.n_past, 23);
    EXPECT_EQ(info.n_layer, 2);
    EXPECT_EQ(info.n_window + info.n_sparse + info.n_folded, 23 * 2 * 4);  // per layer and query head
    EXPECT_EQ(info.n_sparse, 3 * 2 * 4);
    lola_head_state hs;
    hs.struct_size = sizeof hs;
    ASSERT_EQ(lola_context_get_head_state(ctx, 1, 3, &hs), LOLA_OK);
    EXPECT_EQ(hs.n_window, 7);
    EXPECT_EQ(hs.n_sparse, 3);
    EXPECT_EQ(hs.n_folded, 13);
    size_t n = 0;
    std::vector<int64_t> pos(3);
    std::vector<float> scores(3);
    ASSERT_EQ(lola_context_get_positions(ctx, 1, 3, LOLA_MEMORY_SPARSE, pos.data(), scores.data(), 3, &n), LOLA_OK);
    EXPECT_EQ(n, 3u);
    for (int64_t p : pos) EXPECT_LT(p, 16);
    EXPECT_EQ(lola_context_get_head_state(ctx, 2, 0, &hs), LOLA_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(lola_context_get_head_state(ctx, 0, 4, &hs), LOLA_ERR_INVALID_ARGUMENT);
    lola_context_free(ctx);
}

// lola_context_logits' promise: the buffer stays at its address across feeds, resets and
// restores, and moves only to grow for more rows than any earlier feed; the values are the new
// ones (a reused buffer leaves nothing of the previous feed behind).
TEST_F(Fixture, LogitsBufferIsReusedAndMovesOnlyToGrow) {
    lola_context *ctx = context(), *fresh = context();
    const std::vector<int32_t> seq = sequence(12);
    auto pointer = [](lola_context *c, size_t want_rows) {
        const float *p = nullptr;
        size_t rows = 0, vocab = 0;
        EXPECT_EQ(lola_context_logits(c, &p, &rows, &vocab), LOLA_OK);
        EXPECT_EQ(rows, want_rows);
        return p;
    };
    ASSERT_EQ(lola_context_feed(ctx, seq.data(), 5, 0, nullptr), LOLA_OK);
    const float *first = pointer(ctx, 1);
    ASSERT_EQ(lola_context_feed(ctx, seq.data() + 5, 1, 0, nullptr), LOLA_OK);
    EXPECT_EQ(pointer(ctx, 1), first);
    ASSERT_EQ(lola_context_reset(ctx), LOLA_OK);
    ASSERT_EQ(lola_context_feed(ctx, seq.data(), 6, 0, nullptr), LOLA_OK);
    EXPECT_EQ(pointer(ctx, 1), first);
    ASSERT_EQ(lola_context_feed(fresh, seq.data(), 6, 0, nullptr), LOLA_OK);
    EXPECT_EQ(last_logits(ctx), last_logits(fresh));

    ASSERT_EQ(lola_context_feed(ctx, seq.data() + 6, 3, LOLA_FEED_ALL_LOGITS, nullptr), LOLA_OK);
    const float *grown = pointer(ctx, 3);  // may have moved: 3 rows need more room
    ASSERT_EQ(lola_context_feed(ctx, seq.data() + 9, 1, 0, nullptr), LOLA_OK);
    EXPECT_EQ(pointer(ctx, 1), grown);
    ASSERT_EQ(lola_context_feed(ctx, seq.data() + 10, 2, LOLA_FEED_ALL_LOGITS, nullptr), LOLA_OK);
    EXPECT_EQ(pointer(ctx, 2), grown);
    ASSERT_EQ(lola_context_feed(fresh, seq.data() + 6, 6, 0, nullptr), LOLA_OK);
    EXPECT_EQ(last_logits(ctx), last_logits(fresh));
    lola_context_free(fresh);
    lola_context_free(ctx);
}

TEST_F(Fixture, BadTokensFeedNothing) {
    lola_context *ctx = context();
    const std::vector<int32_t> seq = sequence(5);
    ASSERT_EQ(lola_context_feed(ctx, seq.data(), seq.size(), 0, nullptr), LOLA_OK);
    const std::vector<float> before = last_logits(ctx);
    for (int32_t bad : {-1, 97, 1 << 30}) {
        std::vector<int32_t> tokens = {3, 4, bad, 5};
        EXPECT_EQ(lola_context_feed(ctx, tokens.data(), tokens.size(), 0, nullptr), LOLA_ERR_INVALID_ARGUMENT);
        EXPECT_NE(std::string(lola_last_error_message()).find("out of range"), std::string::npos);
    }
    EXPECT_EQ(lola_context_feed(ctx, seq.data(), 0, 0, nullptr), LOLA_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(lola_context_feed(ctx, nullptr, 3, 0, nullptr), LOLA_ERR_NULL_POINTER);
    EXPECT_EQ(lola_context_feed(ctx, seq.data(), 1, 8, nullptr), LOLA_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(lola_context_feed(nullptr, seq.data(), 1, 0, nullptr), LOLA_ERR_NULL_HANDLE);
    lola_context_info info;
    info.struct_size = sizeof info;
    ASSERT_EQ(lola_context_get_info(ctx, &info), LOLA_OK);
    EXPECT_EQ(info.n_past, 5);
    EXPECT_EQ(last_logits(ctx), before);  // the refused batches kept the logits readable
    lola_context_free(ctx);
}

TEST_F(Fixture, AbortStopsBetweenSteps) {
    lola_context *ctx = context(LOLA_ATTENTION_LOLA, 4, 3, 1, 8);
    std::atomic<int> calls{0};
    auto fn = [](void *user) -> bool { return ++*static_cast<std::atomic<int> *>(user) >= 2; };
    ASSERT_EQ(lola_context_set_abort_callback(ctx, fn, &calls), LOLA_OK);
    const std::vector<int32_t> seq = sequence(40);
    size_t fed = 0;
    EXPECT_EQ(lola_context_feed(ctx, seq.data(), seq.size(), 0, &fed), LOLA_ERR_ABORTED);
    EXPECT_EQ(fed, 16u);  // two steps of 8 before the second poll said stop
    const float *logits = nullptr;
    EXPECT_EQ(lola_context_logits(ctx, &logits, nullptr, nullptr), LOLA_ERR_UNSUPPORTED);
    ASSERT_EQ(lola_context_set_abort_callback(ctx, nullptr, nullptr), LOLA_OK);
    EXPECT_EQ(lola_context_feed(ctx, seq.data() + fed, seq.size() - fed, 0, nullptr), LOLA_OK);
    lola_context *straight = context(LOLA_ATTENTION_LOLA, 4, 3, 1, 8);
    ASSERT_EQ(lola_context_feed(straight, seq.data(), seq.size(), 0, nullptr), LOLA_OK);
    EXPECT_EQ(last_logits(ctx), last_logits(straight));
    lola_context_free(ctx);
    lola_context_free(straight);
}

TEST_F(Fixture, ContextOutlivesModelHandle) {
    lola_context *ctx = context();
    lola_model_free(model_);
    model_ = nullptr;
    const std::vector<int32_t> seq = sequence(12);
    EXPECT_EQ(lola_context_feed(ctx, seq.data(), seq.size(), 0, nullptr), LOLA_OK);
    lola_context_free(ctx);
}

// The threading contract: one model shared by several contexts on several threads, each
// thread's results equal to a serial run (and each context may itself use worker threads).
TEST_F(Fixture, OneModelManyContextsManyThreads) {
    constexpr int kThreads = 4;
    auto run = [&](int i) {
        lola_context *a = context(LOLA_ATTENTION_LOLA, 4, 3, 1 + i % 2);
        lola_context *b = context(LOLA_ATTENTION_FULL, 4, 3, 1);
        std::vector<float> out;
        for (int rep = 0; rep < 3; ++rep) {
            const std::vector<int32_t> seq = sequence(20 + i, i + rep);
            EXPECT_EQ(lola_context_feed(a, seq.data(), seq.size(), 0, nullptr), LOLA_OK);
            EXPECT_EQ(lola_context_feed(b, seq.data(), seq.size(), 0, nullptr), LOLA_OK);
            for (lola_context *c : {a, b}) {
                const std::vector<float> l = last_logits(c);
                out.insert(out.end(), l.begin(), l.end());
            }
        }
        lola_context_free(a);
        lola_context_free(b);
        return out;
    };
    std::vector<std::vector<float>> serial(kThreads), parallel(kThreads);
    for (int i = 0; i < kThreads; ++i) serial[i] = run(i);
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) threads.emplace_back([&, i] { parallel[i] = run(i); });
    for (std::thread &t : threads) t.join();
    for (int i = 0; i < kThreads; ++i) EXPECT_EQ(serial[i], parallel[i]) << "thread " << i;
}

TEST(ModelLoad, BadFilesAndParams) {
    lola_model_params mp;
    lola_model_params_init(&mp);
    lola_model *m = reinterpret_cast<lola_model *>(0x1);
    EXPECT_EQ(lola_model_load("/nonexistent/model.gguf", &mp, &m), LOLA_ERR_IO);
    EXPECT_EQ(m, nullptr);
    EXPECT_NE(std::string(lola_last_error_message()).find("/nonexistent/model.gguf"), std::string::npos);

    std::vector<uint8_t> bytes = TinyLlama{}.bytes();
    const std::string path = temp_path("bad.gguf");
    auto write = [&](const std::vector<uint8_t> &b) {
        std::ofstream f(path, std::ios::binary);
        f.write(reinterpret_cast<const char *>(b.data()), static_cast<std::streamsize>(b.size()));
    };
    write(std::vector<uint8_t>(bytes.begin(), bytes.begin() + static_cast<long>(bytes.size() / 2)));
    EXPECT_EQ(lola_model_load(path.c_str(), &mp, &m), LOLA_ERR_CORRUPT_DATA);
    EXPECT_EQ(m, nullptr);
    bytes[0] = 'X';
    write(bytes);
    EXPECT_EQ(lola_model_load(path.c_str(), &mp, &m), LOLA_ERR_CORRUPT_DATA);

    write(TinyLlama{}.bytes());
    mp.memory_budget = 1000;
    EXPECT_EQ(lola_model_load(path.c_str(), &mp, &m), LOLA_ERR_OUT_OF_MEMORY);
    EXPECT_NE(std::string(lola_last_error_message()).find("budget"), std::string::npos);
    mp.memory_budget = 0;
    mp.device = LOLA_DEVICE_CUDA;
    EXPECT_EQ(lola_model_load(path.c_str(), &mp, &m), LOLA_ERR_UNSUPPORTED);
    EXPECT_NE(std::string(lola_last_error_message()).find("CUDA device 0"), std::string::npos)
        << lola_last_error_message();
    EXPECT_EQ(m, nullptr);
    mp.device_index = -1;
    EXPECT_EQ(lola_model_load(path.c_str(), &mp, &m), LOLA_ERR_INVALID_ARGUMENT);
    mp.device_index = 0;
    mp.device = 7;
    EXPECT_EQ(lola_model_load(path.c_str(), &mp, &m), LOLA_ERR_INVALID_ARGUMENT);
    mp.device = LOLA_DEVICE_CPU;
    mp.struct_size = 8;
    EXPECT_EQ(lola_model_load(path.c_str(), &mp, &m), LOLA_ERR_VERSION_MISMATCH);
    lola_model_params_init(&mp);
    ASSERT_EQ(lola_model_load(path.c_str(), &mp, &m), LOLA_OK);
    lola_test::ContextSpec cp;
    cp.a.feature_map = LOLA_FEATURE_MAP_HEDGEHOG;  // needs LoLA tensors the file lacks
    lola_context *ctx = nullptr;
    EXPECT_EQ(lola_context_create(m, &cp.p, &ctx), LOLA_ERR_INVALID_ARGUMENT);
    cp.a.feature_map = LOLA_FEATURE_MAP_PRECOMPUTED;
    EXPECT_EQ(lola_context_create(m, &cp.p, &ctx), LOLA_ERR_INVALID_ARGUMENT);
    cp.p.n_threads = 0;
    EXPECT_EQ(lola_context_create(m, &cp.p, &ctx), LOLA_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(ctx, nullptr);
    lola_model_free(m);
    std::filesystem::remove(path);
}

TEST(ModelLoad, LogCallbackSeesTheLoad) {
    const std::string path = TinyLlama{}.write(temp_path("log.gguf"));
    std::vector<std::string> messages;
    lola_set_log_callback(
        [](int32_t, const char *msg, void *user) { static_cast<std::vector<std::string> *>(user)->push_back(msg); },
        &messages);
    lola_model_params mp;
    lola_model_params_init(&mp);
    lola_model *m = nullptr;
    ASSERT_EQ(lola_model_load(path.c_str(), &mp, &m), LOLA_OK);
    lola_set_log_callback(nullptr, nullptr);
    ASSERT_FALSE(messages.empty());
    EXPECT_NE(messages[0].find("llama"), std::string::npos);
    lola_model_free(m);
    std::filesystem::remove(path);
}

// ---- ABI 2: a context's memory settings in lola_attention_params ----------------------------

// A model loaded from a TinyLlama written to a temporary file (removed again at the end).
struct LoadedModel {
    std::string path;
    lola_model *m = nullptr;
    explicit LoadedModel(const TinyLlama &t, const std::string &name) : path(temp_path(name)) {
        t.write(path);
        lola_model_params mp;
        lola_model_params_init(&mp);
        EXPECT_EQ(lola_model_load(path.c_str(), &mp, &m), LOLA_OK) << lola_last_error_message();
    }
    LoadedModel(const LoadedModel &) = delete;
    LoadedModel &operator=(const LoadedModel &) = delete;
    ~LoadedModel() {
        lola_model_free(m);
        std::filesystem::remove(path);
    }
};

// A plain model whose lola.* metadata (what lola-convert writes) says C = 8, lambda = 5, mode B.
TinyLlama with_lola_metadata() {
    TinyLlama t;
    t.extra_kv = [](GgufBuilder &g) {
        g.kv_u32("lola.chunk_size", 8).kv_u32("lola.sparse_capacity", 5).kv_str("lola.mixing", "lolcats");
    };
    return t;
}

// A model with LoLA tensors: hedgehog maps of F = 6 (not head_dim, which performer would take).
TinyLlama with_lola_tensors() {
    TinyLlama t;
    t.lola_feature_dim = 6;
    return t;
}

// Feeds the first `n` tokens of a fixed sequence into a new context made with `cp` on `m`;
// returns its last logits, its info and the state of layer 0, head 0.
struct ContextRun {
    std::vector<float> logits;
    lola_context_info info{};
    lola_head_state head{};
};
ContextRun run_context(lola_model *m, const lola_context_params *cp, int n) {
    ContextRun r;
    lola_context *ctx = nullptr;
    EXPECT_EQ(lola_context_create(m, cp, &ctx), LOLA_OK) << lola_last_error_message();
    if (!ctx) return r;
    std::vector<int32_t> seq;
    for (int i = 0; i < n; ++i) seq.push_back(static_cast<int32_t>((i * 31 + 7) % 97));
    EXPECT_EQ(lola_context_feed(ctx, seq.data(), seq.size(), 0, nullptr), LOLA_OK) << lola_last_error_message();
    r.logits.resize(97);
    EXPECT_EQ(lola_context_copy_logits(ctx, -1, r.logits.data(), r.logits.size()), LOLA_OK);
    r.info.struct_size = sizeof r.info;
    EXPECT_EQ(lola_context_get_info(ctx, &r.info), LOLA_OK);
    r.head.struct_size = sizeof r.head;
    EXPECT_EQ(lola_context_get_head_state(ctx, 0, 0, &r.head), LOLA_OK);
    lola_context_free(ctx);
    return r;
}

TEST(ContextAttention, InitDefaults) {
    lola_attention_params a;
    std::memset(&a, 0x5A, sizeof a);
    ASSERT_EQ(lola_attention_params_init(&a), LOLA_OK);
    EXPECT_EQ(a.struct_size, sizeof a);
    EXPECT_EQ(a.attention, LOLA_ATTENTION_LOLA);
    EXPECT_EQ(a.chunk_size, LOLA_MODEL_DEFAULT);
    EXPECT_EQ(a.sparse_capacity, LOLA_MODEL_DEFAULT);
    EXPECT_EQ(a.feature_map, LOLA_FEATURE_MAP_AUTO);
    EXPECT_EQ(a.feature_dim, 0);
    EXPECT_EQ(a.mixing, LOLA_MODEL_DEFAULT);
    EXPECT_EQ(a.scoring, LOLA_SCORING_SRE);
    EXPECT_EQ(a.performer_orthogonal, 0);
    EXPECT_EQ(a.seed, 0x4C6F4C41u);
    EXPECT_FLOAT_EQ(a.eps, 1e-6f);
    EXPECT_EQ(lola_attention_params_init(nullptr), LOLA_ERR_NULL_POINTER);

    lola_context_params cp;
    std::memset(&cp, 0x5A, sizeof cp);
    ASSERT_EQ(lola_context_params_init(&cp), LOLA_OK);
    EXPECT_EQ(cp.struct_size, sizeof cp);
    EXPECT_EQ(cp.attention, nullptr);
    EXPECT_EQ(cp.n_threads, 1);
    EXPECT_EQ(cp.batch_size, 64);
    EXPECT_TRUE(std::isnan(cp.gate_logit));
    lola_layer_params lp;
    std::memset(&lp, 0x5A, sizeof lp);
    ASSERT_EQ(lola_layer_params_init(&lp), LOLA_OK);
    EXPECT_EQ(lp.attention, nullptr);
}

TEST(ContextAttention, ResolveWithAModel) {
    LoadedModel plain(TinyLlama{}, "resolve_plain.gguf"), meta(with_lola_metadata(), "resolve_meta.gguf");
    ASSERT_TRUE(plain.m && meta.m);
    auto resolved = [](const lola_model *m) {
        lola_attention_params a;
        lola_attention_params_init(&a);
        EXPECT_EQ(lola_attention_params_resolve(m, &a), LOLA_OK) << lola_last_error_message();
        return a;
    };
    // No lola.* metadata: the library's values, as for a standalone layer.
    lola_attention_params a = resolved(plain.m);
    EXPECT_EQ(a.chunk_size, 64);
    EXPECT_EQ(a.sparse_capacity, 64);
    EXPECT_EQ(a.mixing, LOLA_MIXING_LOLA);
    // The metadata's values; model NULL still means a standalone layer's.
    a = resolved(meta.m);
    EXPECT_EQ(a.chunk_size, 8);
    EXPECT_EQ(a.sparse_capacity, 5);
    EXPECT_EQ(a.mixing, LOLA_MIXING_LOLCATS);
    EXPECT_EQ(a.feature_map, LOLA_FEATURE_MAP_AUTO);  // not a LOLA_MODEL_DEFAULT field: kept
    a = resolved(nullptr);
    EXPECT_EQ(a.chunk_size, 64);
    EXPECT_EQ(a.sparse_capacity, 64);
    EXPECT_EQ(a.mixing, LOLA_MIXING_LOLA);

    // Fields that do not hold LOLA_MODEL_DEFAULT are left exactly as they are.
    lola_attention_params set;
    lola_attention_params_init(&set);
    set.attention = LOLA_ATTENTION_WINDOW;
    set.chunk_size = 3;
    set.feature_map = LOLA_FEATURE_MAP_RELU;
    set.feature_dim = 8;
    set.scoring = LOLA_SCORING_RANDOM;
    set.performer_orthogonal = 1;
    set.seed = 99;
    set.eps = 1e-3f;
    lola_attention_params got = set;
    ASSERT_EQ(lola_attention_params_resolve(meta.m, &got), LOLA_OK);
    EXPECT_EQ(got.chunk_size, 3);
    EXPECT_EQ(got.sparse_capacity, 5);
    EXPECT_EQ(got.mixing, LOLA_MIXING_LOLCATS);
    got.sparse_capacity = set.sparse_capacity;
    got.mixing = set.mixing;
    EXPECT_EQ(std::memcmp(&got, &set, sizeof got), 0) << "resolve changed another field";
    // Out-of-range values are for the create functions to refuse; resolve keeps them too.
    got = set;
    got.chunk_size = -7;
    ASSERT_EQ(lola_attention_params_resolve(meta.m, &got), LOLA_OK);
    EXPECT_EQ(got.chunk_size, -7);

    EXPECT_EQ(lola_attention_params_resolve(meta.m, nullptr), LOLA_ERR_NULL_POINTER);
    lola_attention_params bad = set;
    bad.struct_size = sizeof bad - 4;
    EXPECT_EQ(lola_attention_params_resolve(meta.m, &bad), LOLA_ERR_VERSION_MISMATCH);
    EXPECT_NE(std::string(lola_last_error_message()).find("lola_attention_params"), std::string::npos);
}

// LOLA_MODEL_DEFAULT in a context means the model's lola.* metadata: the context runs with
// C = 8, lambda = 5, mode B exactly as if they were written out, and not with the library's.
TEST(ContextAttention, ModelDefaultsComeFromTheMetadata) {
    LoadedModel meta(with_lola_metadata(), "defaults_meta.gguf");
    ASSERT_TRUE(meta.m);
    ContextSpec by_default;
    by_default.a.feature_map = LOLA_FEATURE_MAP_ELU1;
    ContextSpec written = by_default;
    written.a.chunk_size = 8;
    written.a.sparse_capacity = 5;
    written.a.mixing = LOLA_MIXING_LOLCATS;
    ContextSpec library = by_default;
    library.a.chunk_size = 64;
    library.a.sparse_capacity = 64;
    library.a.mixing = LOLA_MIXING_LOLA;

    const ContextRun d = run_context(meta.m, &by_default.p, 37), w = run_context(meta.m, &written.p, 37),
              l = run_context(meta.m, &library.p, 37);
    EXPECT_EQ(d.head.n_window, 8 + 5);  // W_prev (C) + 37 mod C tokens of W_cur
    EXPECT_EQ(d.head.n_sparse, 5);
    EXPECT_EQ(d.head.n_folded, 37 - 13 - 5);
    EXPECT_EQ(d.logits, w.logits);
    EXPECT_EQ(l.head.n_window, 37);  // everything still in a 64-token window
    EXPECT_NE(d.logits, l.logits);

    // Each metadata value on its own: mode B against mode A at the same C and lambda.
    ContextSpec mode_a = written;
    mode_a.a.mixing = LOLA_MIXING_LOLA;
    EXPECT_NE(run_context(meta.m, &mode_a.p, 37).logits, d.logits);
}

// attention NULL is every default of lola_attention_params_init: on a plain model that is
// C = lambda = 64, mode A and (AUTO without LoLA tensors) performer.
TEST(ContextAttention, NullAttentionIsEveryDefault) {
    LoadedModel plain(TinyLlama{}, "null_attention.gguf");
    ASSERT_TRUE(plain.m);
    lola_context_params null_attention;
    lola_context_params_init(&null_attention);
    ASSERT_EQ(null_attention.attention, nullptr);
    ContextSpec init;  // the defaults, through a pointer
    ContextSpec explicit_performer;
    explicit_performer.a.chunk_size = 64;
    explicit_performer.a.sparse_capacity = 64;
    explicit_performer.a.mixing = LOLA_MIXING_LOLA;
    explicit_performer.a.feature_map = LOLA_FEATURE_MAP_PERFORMER;
    ContextSpec elu1 = explicit_performer;
    elu1.a.feature_map = LOLA_FEATURE_MAP_ELU1;

    // 300 tokens: past W_prev + W_cur + lambda, so the linear state (the feature map) counts.
    const int n = 300;
    const ContextRun a = run_context(plain.m, &null_attention, n), b = run_context(plain.m, &init.p, n),
              c = run_context(plain.m, &explicit_performer.p, n), e = run_context(plain.m, &elu1.p, n);
    EXPECT_GT(a.head.n_folded, 0);
    EXPECT_EQ(a.head.n_sparse, 64);
    EXPECT_EQ(a.head.n_window, 64 + n % 64);
    EXPECT_EQ(a.logits, b.logits);
    EXPECT_EQ(a.logits, c.logits);
    EXPECT_NE(a.logits, e.logits);
    EXPECT_EQ(a.info.n_state_heads, 2);  // performer: one state per KV head
}

// AUTO: hedgehog (with the file's F and gates) on a model with LoLA tensors, performer on one
// without; an explicit choice overrides it either way (hedgehog needs the tensors).
TEST(ContextAttention, AutoPicksHedgehogOnlyWithLolaTensors) {
    LoadedModel lola(with_lola_tensors(), "auto_lola.gguf"), plain(TinyLlama{}, "auto_plain.gguf");
    ASSERT_TRUE(lola.m && plain.m);
    lola_model_info mi;
    mi.struct_size = sizeof mi;
    ASSERT_EQ(lola_model_get_info(lola.m, &mi), LOLA_OK);
    EXPECT_EQ(mi.has_lola_tensors, 1);

    ContextSpec automatic;
    automatic.a.chunk_size = 4;
    automatic.a.sparse_capacity = 3;
    ASSERT_EQ(automatic.a.feature_map, LOLA_FEATURE_MAP_AUTO);
    ContextSpec hedgehog = automatic, performer = automatic;
    hedgehog.a.feature_map = LOLA_FEATURE_MAP_HEDGEHOG;
    performer.a.feature_map = LOLA_FEATURE_MAP_PERFORMER;

    const ContextRun auto_lola = run_context(lola.m, &automatic.p, 40), hh = run_context(lola.m, &hedgehog.p, 40),
              perf_lola = run_context(lola.m, &performer.p, 40);
    EXPECT_EQ(auto_lola.info.n_state_heads, 4);  // hedgehog: a state per query head
    EXPECT_EQ(auto_lola.logits, hh.logits);
    EXPECT_EQ(perf_lola.info.n_state_heads, 2);
    EXPECT_NE(auto_lola.logits, perf_lola.logits);

    const ContextRun auto_plain = run_context(plain.m, &automatic.p, 40), perf_plain = run_context(plain.m, &performer.p, 40);
    EXPECT_EQ(auto_plain.info.n_state_heads, 2);
    EXPECT_EQ(auto_plain.logits, perf_plain.logits);
    lola_context *ctx = reinterpret_cast<lola_context *>(0x1);
    EXPECT_EQ(lola_context_create(plain.m, &hedgehog.p, &ctx), LOLA_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(lola_last_error_message()).find("LoLA tensors"), std::string::npos)
        << lola_last_error_message();
    EXPECT_EQ(ctx, nullptr);
}

TEST(ContextAttention, BadSettingsAreRefused) {
    LoadedModel plain(TinyLlama{}, "bad_plain.gguf"), lola(with_lola_tensors(), "bad_lola.gguf");
    ASSERT_TRUE(plain.m && lola.m);
    auto expect_refused = [](lola_model *m, const ContextSpec &spec, lola_status want, const char *in_message) {
        lola_context *ctx = reinterpret_cast<lola_context *>(0x1);
        EXPECT_EQ(lola_context_create(m, &spec.p, &ctx), want) << lola_last_error_message();
        EXPECT_EQ(ctx, nullptr);
        EXPECT_NE(std::string(lola_last_error_message()).find(in_message), std::string::npos)
            << lola_last_error_message();
    };
    for (lola_model *m : {plain.m, lola.m}) {
        SCOPED_TRACE(m == plain.m ? "plain model" : "model with LoLA tensors");
        ContextSpec s;
        s.a.feature_map = LOLA_FEATURE_MAP_PRECOMPUTED;  // standalone layers only
        expect_refused(m, s, LOLA_ERR_INVALID_ARGUMENT, "precomputed");
        s = ContextSpec();
        s.a.chunk_size = 0;
        expect_refused(m, s, LOLA_ERR_INVALID_ARGUMENT, "chunk");
        s.a.chunk_size = -2;  // -1 is LOLA_MODEL_DEFAULT
        expect_refused(m, s, LOLA_ERR_INVALID_ARGUMENT, "chunk");
        s = ContextSpec();
        s.a.sparse_capacity = -2;
        expect_refused(m, s, LOLA_ERR_INVALID_ARGUMENT, "sparse");
        s = ContextSpec();
        s.a.feature_map = -2;  // -1 is AUTO
        expect_refused(m, s, LOLA_ERR_INVALID_ARGUMENT, "feature_map");
        s = ContextSpec();
        s.a.attention = 3;
        expect_refused(m, s, LOLA_ERR_INVALID_ARGUMENT, "attention");
        s = ContextSpec();
        s.a.mixing = 2;
        expect_refused(m, s, LOLA_ERR_INVALID_ARGUMENT, "mixing");
        s = ContextSpec();
        s.a.scoring = 4;
        expect_refused(m, s, LOLA_ERR_INVALID_ARGUMENT, "scoring");
        s = ContextSpec();
        s.a.eps = -1;
        expect_refused(m, s, LOLA_ERR_INVALID_ARGUMENT, "eps");
        s = ContextSpec();
        s.a.feature_map = LOLA_FEATURE_MAP_ELU1;
        s.a.feature_dim = 5;  // elu1 needs F = head_dim
        expect_refused(m, s, LOLA_ERR_INVALID_ARGUMENT, "feature_dim");
        s = ContextSpec();
        s.a.struct_size = sizeof s.a + 8;
        expect_refused(m, s, LOLA_ERR_VERSION_MISMATCH, "lola_attention_params");
        s.a.struct_size = 0;
        expect_refused(m, s, LOLA_ERR_VERSION_MISMATCH, "lola_attention_params");
    }
}

// The attention settings are read during lola_context_create only: the struct may change or go
// away afterwards without the context noticing (as for a layer).
TEST(ContextAttention, AttentionIsReadDuringCreateOnly) {
    LoadedModel plain(TinyLlama{}, "read_once.gguf");
    ASSERT_TRUE(plain.m);
    ContextSpec spec;
    spec.a.chunk_size = 4;
    spec.a.sparse_capacity = 3;
    spec.a.feature_map = LOLA_FEATURE_MAP_ELU1;
    const ContextRun reference = run_context(plain.m, &spec.p, 30);

    auto *a = new lola_attention_params(spec.a);
    lola_context_params cp = spec.p;
    cp.attention = a;
    lola_context *ctx = nullptr;
    ASSERT_EQ(lola_context_create(plain.m, &cp, &ctx), LOLA_OK);
    std::memset(static_cast<void *>(a), 0xFF, sizeof *a);  // garbage the context must not read
    delete a;
    std::vector<int32_t> seq;
    for (int i = 0; i < 30; ++i) seq.push_back(static_cast<int32_t>((i * 31 + 7) % 97));
    ASSERT_EQ(lola_context_feed(ctx, seq.data(), seq.size(), 0, nullptr), LOLA_OK);
    std::vector<float> logits(97);
    ASSERT_EQ(lola_context_copy_logits(ctx, -1, logits.data(), logits.size()), LOLA_OK);
    EXPECT_EQ(logits, reference.logits);
    lola_context *copy = nullptr;
    ASSERT_EQ(lola_context_clone(ctx, &copy), LOLA_OK);  // the clone needs no params either
    lola_context_free(copy);
    lola_context_free(ctx);
}

// One lola_attention_params serves a standalone layer and a context alike.
TEST(ContextAttention, OneStructForLayersAndContexts) {
    LoadedModel plain(TinyLlama{}, "shared_struct.gguf");
    ASSERT_TRUE(plain.m);
    lola_attention_params a;
    lola_attention_params_init(&a);
    a.chunk_size = 4;
    a.sparse_capacity = 3;
    a.feature_map = LOLA_FEATURE_MAP_ELU1;
    lola_layer_params lp;
    lola_layer_params_init(&lp);
    lp.n_heads = 4;
    lp.n_kv_heads = 2;
    lp.head_dim = 8;
    lp.attention = &a;
    lola_context_params cp;
    lola_context_params_init(&cp);
    cp.attention = &a;
    lola_layer *layer = nullptr;
    ASSERT_EQ(lola_layer_create(&lp, &layer), LOLA_OK) << lola_last_error_message();
    const ContextRun r = run_context(plain.m, &cp, 23);
    lola_layer_info li;
    li.struct_size = sizeof li;
    ASSERT_EQ(lola_layer_get_info(layer, &li), LOLA_OK);
    EXPECT_EQ(li.chunk_size, 4);
    EXPECT_EQ(li.sparse_capacity, 3);
    EXPECT_EQ(r.head.n_window, 4 + 23 % 4);
    EXPECT_EQ(r.head.n_sparse, 3);
    EXPECT_EQ(li.n_state_heads, r.info.n_state_heads);  // same heads, same feature map
    lola_layer_free(layer);
}


TEST(Devices, CountsAndRefusals) {
    int32_t n = -1;
    ASSERT_EQ(lola_device_count(LOLA_DEVICE_CPU, &n), LOLA_OK);
    EXPECT_EQ(n, 1);
    // CUDA: the driver's answer (0 on a machine without a driver or a GPU, as in CI).
    ASSERT_EQ(lola_device_count(LOLA_DEVICE_CUDA, &n), LOLA_OK);
    EXPECT_GE(n, 0);
    int32_t again = -1;
    ASSERT_EQ(lola_device_count(LOLA_DEVICE_CUDA, &again), LOLA_OK);
    EXPECT_EQ(again, n);
    EXPECT_EQ(lola_device_count(LOLA_DEVICE_CUDA, nullptr), LOLA_ERR_NULL_POINTER);
    int32_t bad = -1;
    EXPECT_EQ(lola_device_count(2, &bad), LOLA_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(bad, 0);
    EXPECT_NE(std::string(lola_last_error_message()).find("LOLA_DEVICE_CPU"), std::string::npos);
}

}  // namespace
