// thread_pool.hpp: a small fixed pool that runs parallel_for over the heads of a layer and the
// row blocks of a matrix product. Workers live as long as the pool; run() blocks until every
// index is done. Not reentrant: one run() at a time (a context is used by one thread at a time).
//
// A decode step hands the pool a few hundred short jobs (tens of microseconds each), so waking
// a worker must cost far less than a job: after a job a worker spins (with a pause instruction)
// for up to kSpin before it sleeps on a condition variable, and run() only takes the lock to
// notify when some worker is asleep. Indices are claimed from one atomic word holding the job's
// sequence number and the next index, so a worker that wakes late can never claim an index of
// a job that is not the current one.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace lola {

class ThreadPool {
public:
    // How long an idle worker spins before it sleeps.
    // Long enough for the gaps between the ops of one decode step (a few microseconds), short
    // enough that the idle workers of many contexts fed in turn do not crowd the cores.
    static constexpr std::chrono::microseconds kSpin{50};

    explicit ThreadPool(int n_threads);  // n_threads - 1 workers; the caller is the last one
    ~ThreadPool();
    ThreadPool(const ThreadPool &) = delete;
    ThreadPool &operator=(const ThreadPool &) = delete;

    int size() const { return static_cast<int>(workers_.size()) + 1; }

    // Calls fn(worker, i) for every i in [0, n), worker in [0, size()). The first exception
    // thrown by fn is rethrown here after all indices are done. Called from inside a job of
    // any pool (a nested parallel loop), it runs every index on the calling thread, as worker 0.
    void run(int n, const std::function<void(int, int)> &fn);

private:
    void work(int worker);
    void drain(int worker, uint32_t job);
    bool wait_for_job(uint32_t seen);  // false when the pool stops

    std::vector<std::thread> workers_;
    // [job sequence number : 32][next index : 32]; the index kClosed while run() sets a job up
    std::atomic<uint64_t> claim_{0};
    std::atomic<int> done_{0};        // indices of the current job finished
    std::atomic<int> sleepers_{0};    // workers blocked on wake_
    std::atomic<bool> stop_{false};
    std::atomic<const std::function<void(int, int)> *> fn_{nullptr};
    std::atomic<int> n_{0};
    std::mutex mutex_;                // wake_, error_
    std::condition_variable wake_;
    std::exception_ptr error_;
};

}  // namespace lola
