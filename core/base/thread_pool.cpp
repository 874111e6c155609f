// thread_pool.cpp: see thread_pool.hpp.
#include "base/thread_pool.hpp"

namespace lola {

ThreadPool::ThreadPool(int n_threads) {
    for (int w = 1; w < n_threads; ++w) workers_.emplace_back([this, w] { work(w); });
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_ = true;
    }
    wake_.notify_all();
    for (std::thread &t : workers_) t.join();
}

void ThreadPool::drain(int worker) {
    // Takes indices until none are left; called with the lock NOT held.
    for (;;) {
        int i;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (next_ >= n_) return;
            i = next_++;
        }
        try {
            (*fn_)(worker, i);
        } catch (...) {
            std::lock_guard<std::mutex> lock(mutex_);
            if (!error_) error_ = std::current_exception();
        }
    }
}

void ThreadPool::work(int worker) {
    uint64_t seen = 0;
    for (;;) {
        {
            std::unique_lock<std::mutex> lock(mutex_);
            wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
            if (stop_) return;
            seen = generation_;
            ++active_;
        }
        drain(worker);
        {
            std::lock_guard<std::mutex> lock(mutex_);
            --active_;
        }
        done_.notify_all();
    }
}

void ThreadPool::run(int n, const std::function<void(int, int)> &fn) {
    if (workers_.empty() || n <= 1) {
        for (int i = 0; i < n; ++i) fn(0, i);
        return;
    }
    {
        std::lock_guard<std::mutex> lock(mutex_);
        fn_ = &fn;
        n_ = n;
        next_ = 0;
        error_ = nullptr;
        ++generation_;
    }
    wake_.notify_all();
    drain(0);
    std::exception_ptr error;
    {
        std::unique_lock<std::mutex> lock(mutex_);
        done_.wait(lock, [&] { return active_ == 0 && next_ >= n_; });
        error = error_;
        fn_ = nullptr;
    }
    if (error) std::rethrow_exception(error);
}

}  // namespace lola
