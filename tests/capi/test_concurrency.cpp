// test_concurrency.cpp: the threading contract of lola.h under load, built with the tsan preset
// (ThreadSanitizer) as well as in the normal suite. Many threads, each with its own contexts on
// one shared model (some with their own worker threads), clones, save/restore between contexts,
// models loaded and freed concurrently (freed before their contexts), an abort requested from
// another thread, and thread-local error messages. Every thread's results must equal those of a
// sequential run of the same work.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "capi_check.hpp"
#include "lola.h"
#include "tiny_llama.hpp"

namespace {

constexpr int kThreads = 8;

class Concurrency : public testing::Test {
protected:
    static void SetUpTestSuite() {
        path_ = new std::string((std::filesystem::temp_directory_path() /
                                 ("lola_concurrency_" + std::to_string(::getpid()) + ".gguf")).string());
        lola_test::TinyLlama{}.write(*path_);
    }
    static void TearDownTestSuite() {
        std::filesystem::remove(*path_);
        delete path_;
    }
    void SetUp() override { model_ = load(); }
    void TearDown() override { lola_model_free(model_); }

    static lola_model *load() {
        lola_model_params mp;
        lola_model_params_init(&mp);
        lola_model *m = nullptr;
        EXPECT_EQ(lola_model_load(path_->c_str(), &mp, &m), LOLA_OK) << lola_last_error_message();
        return m;
    }
    static lola_context *context(lola_model *m, int variant) {
        lola_test::ContextSpec cp;
        cp.a.attention = variant % 3 == 2 ? LOLA_ATTENTION_FULL : LOLA_ATTENTION_LOLA;
        cp.a.chunk_size = 4 + variant % 3;
        cp.a.sparse_capacity = 3;
        cp.a.feature_map = variant % 2 ? LOLA_FEATURE_MAP_ELU1 : LOLA_FEATURE_MAP_PERFORMER;
        cp.p.n_threads = 1 + variant % 2;  // some contexts run their own workers
        cp.p.batch_size = 8;
        lola_context *c = nullptr;
        EXPECT_EQ(lola_context_create(m, &cp.p, &c), LOLA_OK) << lola_last_error_message();
        return c;
    }
    static std::vector<int32_t> sequence(int n, int salt) {
        std::vector<int32_t> t;
        for (int i = 0; i < n; ++i) t.push_back(static_cast<int32_t>((i * 31 + 7 + salt * 13) % 97));
        return t;
    }
    static void append_logits(const lola_context *c, std::vector<float> &out) {
        std::vector<float> l(97);
        EXPECT_EQ(lola_context_copy_logits(c, -1, l.data(), l.size()), LOLA_OK) << lola_last_error_message();
        out.insert(out.end(), l.begin(), l.end());
    }

    // One thread's work: feed two contexts, clone one, move a saved state into a third context,
    // continue all of them. Returns every logit row read, in order.
    static std::vector<float> work(lola_model *m, int i) {
        std::vector<float> out;
        lola_context *a = context(m, i), *b = context(m, i + 1);
        const std::vector<int32_t> s1 = sequence(19 + i, i), s2 = sequence(7, i + 3);
        EXPECT_EQ(lola_context_feed(a, s1.data(), s1.size(), 0, nullptr), LOLA_OK);
        EXPECT_EQ(lola_context_feed(b, s2.data(), s2.size(), 0, nullptr), LOLA_OK);
        lola_context *clone = nullptr;
        EXPECT_EQ(lola_context_clone(a, &clone), LOLA_OK);
        size_t size = 0, written = 0;
        EXPECT_EQ(lola_context_state_size(a, &size), LOLA_OK);
        std::vector<unsigned char> blob(size);
        EXPECT_EQ(lola_context_state_save(a, blob.data(), blob.size(), &written), LOLA_OK);
        lola_context *restored = context(m, i);
        EXPECT_EQ(lola_context_state_restore(restored, blob.data(), written), LOLA_OK) << lola_last_error_message();
        for (lola_context *c : {a, b, clone, restored}) {
            EXPECT_EQ(lola_context_feed(c, s2.data(), s2.size(), 0, nullptr), LOLA_OK);
            append_logits(c, out);
        }
        for (lola_context *c : {a, b, clone, restored}) lola_context_free(c);
        return out;
    }

    static std::string *path_;
    lola_model *model_ = nullptr;
};
std::string *Concurrency::path_ = nullptr;

template <class Fn>
void on_threads(int n, Fn fn) {
    std::vector<std::thread> threads;
    for (int i = 0; i < n; ++i) threads.emplace_back(fn, i);
    for (std::thread &t : threads) t.join();
}

TEST_F(Concurrency, ManyThreadsOwnContextsOnOneModel) {
    std::vector<std::vector<float>> serial(kThreads), parallel(kThreads);
    for (int i = 0; i < kThreads; ++i) serial[i] = work(model_, i);
    on_threads(kThreads, [&](int i) { parallel[i] = work(model_, i); });
    for (int i = 0; i < kThreads; ++i) {
        ASSERT_EQ(serial[i].size(), 4u * 97u);
        EXPECT_EQ(serial[i], parallel[i]) << "thread " << i;
    }
}

// Models loaded and freed on several threads at once; each model handle is freed while its
// contexts still run (they hold the model), and the contexts are freed on another thread.
TEST_F(Concurrency, ConcurrentLoadsAndFrees) {
    const std::vector<float> expected = work(model_, 1);
    std::vector<lola_context *> handed_over(kThreads, nullptr);
    std::vector<std::vector<float>> got(kThreads);
    on_threads(kThreads, [&](int i) {
        for (int rep = 0; rep < 3; ++rep) {
            lola_model *m = load();
            if (rep == 2) {
                handed_over[i] = context(m, i);
                lola_model_free(m);
                continue;
            }
            got[i] = work(m, 1);
            lola_model_free(m);
        }
    });
    for (int i = 0; i < kThreads; ++i) EXPECT_EQ(got[i], expected) << "thread " << i;
    const std::vector<int32_t> s = sequence(9, 2);
    on_threads(kThreads, [&](int i) {  // used and freed on threads other than their creators'
        lola_context *c = handed_over[(i + 1) % kThreads];
        EXPECT_EQ(lola_context_feed(c, s.data(), s.size(), 0, nullptr), LOLA_OK);
        lola_context_free(c);
    });
}

// An abort flag set from another thread stops a long feed between steps; the tokens before
// that point were fed, and the context continues exactly as if the feed had been split there.
TEST_F(Concurrency, AbortRequestedFromAnotherThread) {
    lola_context *c = context(model_, 0);
    std::atomic<bool> stop{false};
    std::atomic<int> polls{0};
    struct Flags {
        std::atomic<bool> *stop;
        std::atomic<int> *polls;
    } flags{&stop, &polls};
    ASSERT_EQ(lola_context_set_abort_callback(c, [](void *u) {
        const Flags *f = static_cast<const Flags *>(u);
        if (f->polls->fetch_add(1) + 1 == 3)  // wait here for the other thread: deterministic
            while (!f->stop->load()) std::this_thread::yield();
        return f->stop->load();
    }, &flags), LOLA_OK);
    const std::vector<int32_t> s = sequence(2000, 5);
    std::thread stopper([&] {
        while (polls.load() < 3) std::this_thread::yield();
        stop.store(true);
    });
    size_t fed = 0;
    const lola_status st = lola_context_feed(c, s.data(), s.size(), 0, &fed);
    stopper.join();
    ASSERT_EQ(st, LOLA_ERR_ABORTED) << lola_last_error_message();
    ASSERT_GT(fed, 0u);
    ASSERT_LT(fed, s.size());
    ASSERT_EQ(fed % 8, 0u);  // whole forward steps of batch_size 8
    ASSERT_EQ(lola_context_set_abort_callback(c, nullptr, nullptr), LOLA_OK);
    const std::vector<int32_t> rest(s.begin() + static_cast<long>(fed), s.begin() + static_cast<long>(fed) + 5);
    ASSERT_EQ(lola_context_feed(c, rest.data(), rest.size(), 0, nullptr), LOLA_OK);
    lola_context *straight = context(model_, 0);
    const std::vector<int32_t> prefix(s.begin(), s.begin() + static_cast<long>(fed) + 5);
    ASSERT_EQ(lola_context_feed(straight, prefix.data(), prefix.size(), 0, nullptr), LOLA_OK);
    std::vector<float> a, b;
    append_logits(c, a);
    append_logits(straight, b);
    EXPECT_EQ(a, b);
    lola_context_free(c);
    lola_context_free(straight);
}

// Failing calls on many threads at once: each thread reads its own message; the log callback
// may be replaced while loads log from other threads.
TEST_F(Concurrency, ErrorMessagesAndLogCallback) {
    std::atomic<int> logged{0};
    on_threads(kThreads, [&](int i) {
        for (int rep = 0; rep < 20; ++rep) {
            if (i == 0) {
                lola_set_log_callback([](int32_t, const char *, void *u) { static_cast<std::atomic<int> *>(u)->fetch_add(1); },
                                      &logged);
                continue;
            }
            lola_context *c = context(model_, i);
            const int32_t bad = 1000 + i;
            EXPECT_EQ(lola_context_feed(c, &bad, 1, 0, nullptr), LOLA_ERR_INVALID_ARGUMENT);
            EXPECT_NE(std::string(lola_last_error_message()).find(std::to_string(bad)), std::string::npos)
                << lola_last_error_message();
            lola_context_free(c);
            lola_model_free(load());
        }
    });
    lola_set_log_callback(nullptr, nullptr);
}

}  // namespace
