// thread_pool.cpp: see thread_pool.hpp.
#include "base/thread_pool.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace lola {

namespace {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#else
    std::this_thread::yield();
#endif
}

constexpr uint32_t kClosed = 0xffffffffu;  // the index while run() sets a job up

// How deep the calling thread is in pool jobs: a run() from inside one runs serially.
thread_local int tl_depth = 0;

inline uint32_t job_of(uint64_t claim) { return static_cast<uint32_t>(claim >> 32); }
inline uint32_t index_of(uint64_t claim) { return static_cast<uint32_t>(claim); }
inline uint64_t claim_word(uint32_t job, uint32_t index) { return (static_cast<uint64_t>(job) << 32) | index; }

}  // namespace

ThreadPool::ThreadPool(int n_threads) {
    for (int w = 1; w < n_threads; ++w) workers_.emplace_back([this, w] { work(w); });
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_.store(true);
    }
    wake_.notify_all();
    for (std::thread &t : workers_) t.join();
}

void ThreadPool::drain(int worker, uint32_t job) {
    uint64_t c = claim_.load();
    for (;;) {
        // Claim the next index of `job`, if that is still the current job and any is left. A
        // CAS can only succeed on a word run() stored after it published n_ and fn_ for it.
        if (job_of(c) != job) return;
        if (index_of(c) == kClosed) {  // being set up: it opens in a few instructions
            cpu_relax();
            c = claim_.load();
            continue;
        }
        if (index_of(c) >= static_cast<uint32_t>(n_.load(std::memory_order_relaxed))) return;
        if (!claim_.compare_exchange_weak(c, c + 1)) continue;
        ++tl_depth;
        try {
            (*fn_.load(std::memory_order_relaxed))(worker, static_cast<int>(index_of(c)));
        } catch (...) {
            std::lock_guard<std::mutex> lock(mutex_);
            if (!error_) error_ = std::current_exception();
        }
        --tl_depth;
        done_.fetch_add(1);
        c = claim_.load();
    }
}

bool ThreadPool::wait_for_job(uint32_t seen) {
    const auto until = std::chrono::steady_clock::now() + kSpin;
    for (int spins = 0;; ++spins) {
        if (stop_.load(std::memory_order_relaxed)) return false;
        if (job_of(claim_.load()) != seen) return true;
        cpu_relax();
        if ((spins & 63) == 63 && std::chrono::steady_clock::now() >= until) break;
    }
    std::unique_lock<std::mutex> lock(mutex_);
    sleepers_.fetch_add(1);
    // run() publishes the job before it reads sleepers_, and this thread counts itself asleep
    // before it reads the job (both sequentially consistent): one of them sees the other.
    wake_.wait(lock, [&] { return stop_.load() || job_of(claim_.load()) != seen; });
    sleepers_.fetch_sub(1);
    return !stop_.load();
}

void ThreadPool::work(int worker) {
    uint32_t seen = 0;
    while (wait_for_job(seen)) {
        seen = job_of(claim_.load());
        drain(worker, seen);
    }
}

void ThreadPool::run(int n, const std::function<void(int, int)> &fn) {
    if (workers_.empty() || n <= 1 || tl_depth > 0) {
        for (int i = 0; i < n; ++i) fn(0, i);
        return;
    }
    // The previous job is complete (run returned only then). Close the claim word under the new
    // job number first, so that a worker still looking at the old job cannot claim anything
    // while n_ and fn_ change, then open it at index 0.
    const uint32_t job = job_of(claim_.load()) + 1;
    claim_.store(claim_word(job, kClosed));
    fn_.store(&fn, std::memory_order_relaxed);
    n_.store(n, std::memory_order_relaxed);
    done_.store(0);
    claim_.store(claim_word(job, 0));
    if (sleepers_.load() > 0) {
        std::lock_guard<std::mutex> lock(mutex_);
        wake_.notify_all();
    }
    drain(0, job);
    while (done_.load() < n) cpu_relax();  // the last indices, taken by workers, are finishing
    std::exception_ptr error;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        error = error_;
        error_ = nullptr;
    }
    if (error) std::rethrow_exception(error);
}

}  // namespace lola
