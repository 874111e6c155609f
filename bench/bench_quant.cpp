// bench_quant.cpp: quantized matrix products (core/quant) at SmolLM2-135M-like shapes.
//
// For each weight type (Q4_1, Q8_0, Q4_K, Q6_K, F16), shape rows x cols, kernel level this CPU
// runs (scalar, avx2, avx512) and thread count (1, 2):
//   matvec/<type>/<rows>x<cols>/<isa>/threads:<n>      decode: y = W x, one token
//   matmul8/... and matmul64/...                       prefill: Y = X W^T for 8 and 64 tokens
// Shapes: 576x576 (attention q/o projections, hidden 576), 1536x576 (MLP gate/up) and 576x1536
// (MLP down). K-quant rows must be whole super-blocks of 256, so Q4_K and Q6_K only run at
// 576x1536 (576 columns are not a multiple of 256; llama.cpp stores such tensors in other
// types too). The GFLOP/s counter counts 2 * rows * cols * tokens per call; times are wall
// clock (the pool's threads work while the caller does). Weights are random blocks with sane
// scales, activations uniform in [-1, 1). On a shared machine run with repetitions and read
// the fastest, e.g.
//   bench_quant --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
//   bench_quant --benchmark_filter='Q4_K.*avx2'
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "base/thread_pool.hpp"
#include "quant/matmul.hpp"
#include "quant/quant.hpp"

namespace {

namespace q = lola::quant;

void put_half(std::vector<uint8_t> &v, size_t off, float f) {
    const uint16_t h = q::fp32_to_fp16(f);
    v[off] = static_cast<uint8_t>(h & 0xFF);
    v[off + 1] = static_cast<uint8_t>(h >> 8);
}

// rows * cols random elements of `type`: random quant bytes, fp16 scales of a realistic size.
std::vector<uint8_t> random_weights(uint32_t type, int64_t rows, int64_t cols) {
    std::mt19937_64 rng(0xB10C5u + type);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    std::vector<uint8_t> v(q::row_bytes(type, cols) * static_cast<size_t>(rows));
    for (uint8_t &b : v) b = static_cast<uint8_t>(rng());
    const auto ts = static_cast<size_t>(q::type_size(type));
    const size_t blocks = v.size() / ts;
    for (size_t i = 0; i < blocks; ++i) {
        const size_t o = i * ts;
        switch (type) {
        case q::F16: put_half(v, o, 0.05f * u(rng)); break;
        case q::Q8_0: put_half(v, o, 0.001f * u(rng)); break;
        case q::Q4_1:
            put_half(v, o, 0.01f * u(rng));
            put_half(v, o + 2, 0.05f * u(rng));
            break;
        case q::Q4_K:
            put_half(v, o, 0.001f * u(rng));
            put_half(v, o + 2, 0.001f * u(rng));
            break;
        case q::Q6_K: put_half(v, o + 208, 0.001f * u(rng)); break;
        default: break;
        }
    }
    return v;
}

const std::vector<uint8_t> &weights(uint32_t type, int64_t rows, int64_t cols) {
    static std::map<std::tuple<uint32_t, int64_t, int64_t>, std::vector<uint8_t>> cache;
    std::vector<uint8_t> &w = cache[{type, rows, cols}];
    if (w.empty()) w = random_weights(type, rows, cols);
    return w;
}

// A "min" aggregate next to mean/median/stddev when repetitions are asked for: on a shared
// machine noise only adds time, so the fastest repetition is the steadiest estimate.
double minimum(const std::vector<double> &v) {
    return v.empty() ? 0.0 : *std::min_element(v.begin(), v.end());
}

lola::ThreadPool *pool(int threads) {
    static std::map<int, std::unique_ptr<lola::ThreadPool>> pools;
    std::unique_ptr<lola::ThreadPool> &p = pools[threads];
    if (!p) p = std::make_unique<lola::ThreadPool>(threads);
    return p.get();
}

void run(benchmark::State &state, uint32_t type, int64_t rows, int64_t cols, int64_t tokens,
         q::Isa isa, int threads) {
    const std::vector<uint8_t> &W = weights(type, rows, cols);
    std::mt19937_64 rng(42);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    std::vector<float> X(static_cast<size_t>(tokens * cols));
    for (float &x : X) x = u(rng);
    std::vector<float> Y(static_cast<size_t>(tokens * rows));
    lola::ThreadPool *p = pool(threads);
    for (auto _ : state) {
        if (tokens == 1)
            q::matvec(type, W.data(), rows, cols, X.data(), Y.data(), p, isa);
        else
            q::matmul(type, W.data(), rows, cols, X.data(), tokens, Y.data(), p, isa);
        benchmark::DoNotOptimize(Y.data());
        benchmark::ClobberMemory();
    }
    state.counters["GFLOP/s"] = benchmark::Counter(
        2e-9 * static_cast<double>(rows * cols * tokens), benchmark::Counter::kIsIterationInvariantRate);
    state.counters["wMiB"] = static_cast<double>(W.size()) / (1024.0 * 1024.0);
}

void register_all() {
    const uint32_t types[] = {q::Q4_1, q::Q8_0, q::Q4_K, q::Q6_K, q::F16};
    const std::pair<int64_t, int64_t> shapes[] = {{576, 576}, {1536, 576}, {576, 1536}};
    const q::Isa isas[] = {q::Isa::scalar, q::Isa::avx2, q::Isa::avx512};
    for (uint32_t type : types)
        for (const auto &shape : shapes) {
            const int64_t rows = shape.first, cols = shape.second;  // (lambdas can't capture
                                                                    // bindings in C++17)
            if (cols % q::block_size(type) != 0) continue;
            for (int64_t tokens : {1, 8, 64})
                for (q::Isa isa : isas) {
                    if (!q::isa_available(isa)) continue;
                    for (int threads : {1, 2}) {
                        const std::string name =
                            std::string(tokens == 1 ? "matvec" : "matmul" + std::to_string(tokens)) +
                            "/" + q::type_name(type) + "/" + std::to_string(rows) + "x" +
                            std::to_string(cols) + "/" + q::isa_name(isa) +
                            "/threads:" + std::to_string(threads);
                        benchmark::RegisterBenchmark(
                            name.c_str(),
                            [=](benchmark::State &s) { run(s, type, rows, cols, tokens, isa, threads); })
                            ->UseRealTime()
                            ->ComputeStatistics("min", minimum)
                            ->Unit(benchmark::kMicrosecond);
                    }
                }
        }
}

}  // namespace

int main(int argc, char **argv) {
    register_all();
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
