// thread_pool.hpp: a small fixed pool that runs parallel_for over the heads of a layer.
// Workers live as long as the pool; run() blocks until every index is done. Not reentrant:
// one run() at a time (a layer is used by one thread at a time).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace lola {

class ThreadPool {
public:
    explicit ThreadPool(int n_threads);  // n_threads - 1 workers; the caller is the last one
    ~ThreadPool();
    ThreadPool(const ThreadPool &) = delete;
    ThreadPool &operator=(const ThreadPool &) = delete;

    int size() const { return static_cast<int>(workers_.size()) + 1; }

    // Calls fn(worker, i) for every i in [0, n), worker in [0, size()). The first exception
    // thrown by fn is rethrown here after all indices are done.
    void run(int n, const std::function<void(int, int)> &fn);

private:
    void work(int worker);
    void drain(int worker);

    std::vector<std::thread> workers_;
    std::mutex mutex_;
    std::condition_variable wake_, done_;
    const std::function<void(int, int)> *fn_ = nullptr;
    int n_ = 0, next_ = 0, active_ = 0;
    uint64_t generation_ = 0;
    bool stop_ = false;
    std::exception_ptr error_;
};

}  // namespace lola
