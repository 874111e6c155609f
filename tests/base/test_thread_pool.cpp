// test_thread_pool.cpp: base/thread_pool.hpp, linked into test_concurrency so that the tsan
// stage of CI runs it (suite ConcurrencyPool): every index of every job runs exactly once over many
// short jobs back to back (the claim word keeps a late worker out of the next job), jobs after
// the workers went to sleep, an exception rethrown with every index still done and the pool
// usable afterwards, and a nested run from inside a job running serially on the calling thread.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "base/thread_pool.hpp"

namespace {

TEST(ConcurrencyPool, ThreadPoolRunsEveryIndexOnceOverManyJobs) {
    for (int threads : {2, 3, 4}) {
        lola::ThreadPool pool(threads);
        std::vector<std::atomic<int>> hits(64);
        for (int job = 0; job < 20000; ++job) {
            const int n = 1 + job % 64;
            for (int i = 0; i < n; ++i) hits[static_cast<size_t>(i)].store(0);
            pool.run(n, [&](int worker, int i) {
                ASSERT_GE(worker, 0);
                ASSERT_LT(worker, threads);
                hits[static_cast<size_t>(i)].fetch_add(1);
            });
            for (int i = 0; i < n; ++i) ASSERT_EQ(hits[static_cast<size_t>(i)].load(), 1) << "job " << job << " index " << i;
        }
    }
}

TEST(ConcurrencyPool, ThreadPoolWakesSleepingWorkers) {
    lola::ThreadPool pool(2);
    for (int job = 0; job < 5; ++job) {
        std::this_thread::sleep_for(lola::ThreadPool::kSpin * 4);  // the worker is asleep now
        std::atomic<int> sum{0};
        std::atomic<bool> other{false};
        pool.run(200, [&](int worker, int i) {
            if (worker != 0) other.store(true);
            std::this_thread::sleep_for(std::chrono::microseconds(20));
            sum.fetch_add(i);
        });
        EXPECT_EQ(sum.load(), 199 * 200 / 2);
        // 200 jobs of 20 us give a woken worker ample time to take some
        EXPECT_TRUE(other.load()) << "job " << job << ": the worker never woke";
    }
}

TEST(ConcurrencyPool, ThreadPoolRethrowsAfterAllIndicesAndStaysUsable) {
    lola::ThreadPool pool(3);
    std::atomic<int> done{0};
    EXPECT_THROW(pool.run(50,
                          [&](int, int i) {
                              done.fetch_add(1);
                              if (i == 7) throw std::runtime_error("index 7");
                          }),
                 std::runtime_error);
    EXPECT_EQ(done.load(), 50);
    std::atomic<int> again{0};
    pool.run(10, [&](int, int) { again.fetch_add(1); });
    EXPECT_EQ(again.load(), 10);
}

TEST(ConcurrencyPool, ThreadPoolNestedRunIsSerialOnTheCallingThread) {
    lola::ThreadPool outer(2), inner(2);
    std::atomic<int> total{0};
    outer.run(8, [&](int, int) {
        const std::thread::id me = std::this_thread::get_id();
        int count = 0;
        inner.run(16, [&](int worker, int) {
            EXPECT_EQ(worker, 0);
            EXPECT_EQ(std::this_thread::get_id(), me);
            ++count;  // no atomics needed: the same thread
        });
        outer.run(4, [&](int, int) { ++count; });  // the same pool, nested: also serial
        EXPECT_EQ(count, 20);
        total.fetch_add(count);
    });
    EXPECT_EQ(total.load(), 160);
}

}  // namespace
