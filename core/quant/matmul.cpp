// matmul.cpp: matvec and matmul over a ThreadPool, through the kernels of one level (see
// matmul.hpp); refuses a type without kernels there rather than calling a null one.
#include "quant/matmul.hpp"

#include <algorithm>
#include <functional>
#include <string>

#include "base/error.hpp"
#include "base/thread_pool.hpp"
#include "quant/kernels.hpp"

namespace lola::quant {

namespace {

constexpr int64_t kRowAlign = 16;     // task row ranges: multiples of 16 rows (64 B of y)
constexpr int64_t kMinTaskRows = 32;  // below that a task is not worth a hand-off
constexpr int kTasksPerThread = 4;    // for balance when threads run at different speeds
constexpr int64_t kRowBlock = 16;     // matmul: rows kept in L1 while token groups pass

struct Plan {
    int64_t chunk;  // rows per task
    int tasks;
};

Plan plan(int64_t rows, const ThreadPool *pool) {
    const int threads = pool ? pool->size() : 1;
    if (threads <= 1 || rows <= kMinTaskRows) return {std::max<int64_t>(rows, 1), 1};
    int64_t chunk = (rows + threads * kTasksPerThread - 1) / (threads * kTasksPerThread);
    chunk = std::max(kMinTaskRows, (chunk + kRowAlign - 1) / kRowAlign * kRowAlign);
    return {chunk, static_cast<int>((rows + chunk - 1) / chunk)};
}

size_t validate(const char *what, uint32_t type, const void *W, int64_t rows, int64_t cols,
                const float *x, int64_t n_tokens, const float *y, Isa isa) {
    if (rows < 0 || cols < 0 || n_tokens < 0)
        fail(Status::invalid_argument, std::string(what) + ": negative size");
    const size_t bytes = row_bytes(type, cols);  // checks the type and the block multiple
    if (!isa_available(isa))
        fail(Status::unsupported,
             std::string(what) + ": level " + isa_name(isa) + " is not available");
    if (!dot_fn(type, isa) || !dot_multi_fn(type, isa))  // a supported type without kernels
        fail(Status::unsupported, std::string(what) + ": no " + isa_name(isa) + " kernel for " +
                                      type_name(type));
    if (rows > 0 && n_tokens > 0 && (!y || (cols > 0 && (!W || !x))))
        fail(Status::null_pointer, std::string(what) + ": null buffer");
    return bytes;
}

void run_tasks(ThreadPool *pool, int tasks, const std::function<void(int, int)> &fn) {
    if (pool && tasks > 1)
        pool->run(tasks, fn);
    else
        for (int i = 0; i < tasks; ++i) fn(0, i);
}

}  // namespace

void matvec(uint32_t type, const void *W, int64_t rows, int64_t cols, const float *x, float *y,
            ThreadPool *pool, Isa isa) {
    const size_t bytes = validate("matvec", type, W, rows, cols, x, 1, y, isa);
    if (rows == 0) return;
    if (cols == 0) {
        std::fill(y, y + rows, 0.0f);
        return;
    }
    const DotFn dot = dot_fn(type, isa);
    const auto *w = static_cast<const uint8_t *>(W);
    const Plan p = plan(rows, pool);
    run_tasks(pool, p.tasks, [&](int, int task) {
        const int64_t r0 = task * p.chunk, r1 = std::min(rows, r0 + p.chunk);
        for (int64_t r = r0; r < r1; ++r) y[r] = dot(w + static_cast<size_t>(r) * bytes, x, cols);
    });
}

void matmul(uint32_t type, const void *W, int64_t rows, int64_t cols, const float *X,
            int64_t n_tokens, float *Y, ThreadPool *pool, Isa isa) {
    const size_t bytes = validate("matmul", type, W, rows, cols, X, n_tokens, Y, isa);
    if (rows == 0 || n_tokens == 0) return;
    if (cols == 0) {
        std::fill(Y, Y + rows * n_tokens, 0.0f);
        return;
    }
    if (n_tokens == 1) {
        matvec(type, W, rows, cols, X, Y, pool, isa);
        return;
    }
    const DotMultiFn multi = dot_multi_fn(type, isa);
    const int group = max_tokens(type, isa);
    const auto *w = static_cast<const uint8_t *>(W);
    const Plan p = plan(rows, pool);
    run_tasks(pool, p.tasks, [&](int, int task) {
        const int64_t r0 = task * p.chunk, r1 = std::min(rows, r0 + p.chunk);
        float out[detail::kMaxGroup];
        for (int64_t rb = r0; rb < r1; rb += kRowBlock) {
            const int64_t re = std::min(r1, rb + kRowBlock);
            for (int64_t t0 = 0; t0 < n_tokens; t0 += group) {
                const int nt = static_cast<int>(std::min<int64_t>(group, n_tokens - t0));
                const float *xg = X + t0 * cols;
                for (int64_t r = rb; r < re; ++r) {
                    multi(w + static_cast<size_t>(r) * bytes, xg, cols, nt, out, cols);
                    for (int t = 0; t < nt; ++t) Y[(t0 + t) * rows + r] = out[t];
                }
            }
        }
    });
}

void matvec(uint32_t type, const void *W, int64_t rows, int64_t cols, const float *x, float *y,
            ThreadPool *pool) {
    matvec(type, W, rows, cols, x, y, pool, active_isa_level());
}

void matmul(uint32_t type, const void *W, int64_t rows, int64_t cols, const float *X,
            int64_t n_tokens, float *Y, ThreadPool *pool) {
    matmul(type, W, rows, cols, X, n_tokens, Y, pool, active_isa_level());
}

}  // namespace lola::quant
