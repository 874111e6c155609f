// bench_layer.cpp: the cost of one attention layer at long contexts, on the CPU.
//
// One layer of 9 query heads sharing 3 KV heads (GQA, groups of 3), head_dim 64, float, one
// thread, for three kinds of attention:
//   lola    sliding window C = 64, sparse cache lambda = 64, performer features F = 64, SRE scoring
//   window  the sliding window alone, C = 64
//   full    softmax over every cached token
// at context lengths N = 1K .. 64K. Two benchmarks per (kind, N):
//   decode/<kind>/<N>   time to feed ONE token with outputs to a layer holding N tokens: the
//                       per-token decode cost (the Time column is microseconds per token)
//   prefill/<kind>/<N>  time to feed a block of 512 tokens with outputs to a layer holding N
//                       tokens (tok/s is the prefill throughput)
// Counters: tok/s (tokens per second of wall time) and cache_MiB (lola_layer_info.bytes of the
// layer at context N: the capacity its state vectors hold, which is what it costs in memory).
//
// The layer is liblola's public one (lola.h through the C++ owners of lola.hpp), so the figures
// are what a caller of the library gets, argument checks included.
//
// The context is built once per (kind, N), untimed, on first use, by feeding N random tokens
// without outputs (y = nullptr), and kept as a saved layer that every benchmark at that (kind, N)
// copies.
// Decode restores its working layer from the saved one (timing paused) every 64 tokens and feeds
// it one untimed warm-up token, so the context stays within [N + 1, N + 65] and every 64 timed
// tokens cross exactly one chunk boundary (N is a multiple of C). Prefill restores it before
// every iteration (timing paused); for full attention its timed feed includes one reallocation
// of the KV cache (a copy has no spare capacity), under 1% of the block's time.
//
// Queries, keys and values are uniform in [-1, 1) from a fixed-seed generator. Output is Google
// Benchmark's alone (console table, or JSON with --benchmark_format=json / --benchmark_out). On a
// shared machine run repetitions interleaved and read the "min" aggregate (docs/BENCHMARKS.md):
//   bench_layer --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true
//               --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "lola.hpp"

namespace {

using lolapp::Attention;
using lolapp::Layer;

constexpr int kHeads = 9;
constexpr int kKvHeads = 3;
constexpr int kDim = 64;
constexpr int kChunk = 64;            // C
constexpr int kSparseCapacity = 64;   // lambda
constexpr int kFeatureDim = 64;       // F
constexpr int64_t kPrefillBlock = 512;
constexpr int64_t kDecodeRestore = kChunk;  // decode tokens between restores of the context
constexpr int64_t kSetupBlock = 4096;       // tokens per feed while building a context
constexpr int64_t kMinContext = int64_t{1} << 10;
constexpr int64_t kMaxContext = int64_t{1} << 16;

lolapp::LayerParams make_params(Attention attention) {
    lolapp::LayerParams p;
    p.heads(kHeads, kKvHeads, kDim).n_threads(1);
    p.attention()
        .attention(attention)
        .chunk_size(kChunk)
        .sparse_capacity(kSparseCapacity)
        .feature_map(lolapp::FeatureMap::performer)
        .feature_dim(kFeatureDim)
        .scoring(lolapp::Scoring::sre);
    return p;
}

// splitmix64: fast, and the same stream on every platform.
class Random {
public:
    explicit Random(uint64_t seed) : state_(seed) {}
    float uniform() {  // [-1, 1)
        uint64_t z = (state_ += 0x9E3779B97F4A7C15u);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
        z ^= z >> 31;
        return static_cast<float>(static_cast<double>(z >> 40) * 0x1p-23 - 1.0);
    }

private:
    uint64_t state_;
};

// n tokens of q [n][kHeads][kDim], k and v [n][kKvHeads][kDim].
struct Tokens {
    std::vector<float> q, k, v;

    Tokens(int64_t n, Random &rng)
        : q(static_cast<size_t>(n) * kHeads * kDim),
          k(static_cast<size_t>(n) * kKvHeads * kDim),
          v(static_cast<size_t>(n) * kKvHeads * kDim) {
        refill(rng);
    }
    void refill(Random &rng) {
        for (std::vector<float> *x : {&q, &k, &v})
            for (float &e : *x) e = rng.uniform();
    }
    const float *q_at(int64_t t) const { return q.data() + static_cast<size_t>(t) * kHeads * kDim; }
    const float *k_at(int64_t t) const {
        return k.data() + static_cast<size_t>(t) * kKvHeads * kDim;
    }
    const float *v_at(int64_t t) const {
        return v.data() + static_cast<size_t>(t) * kKvHeads * kDim;
    }
};

// The layer at context N for one kind, built on first use and kept for the whole run (all of
// them together hold about 200 MiB, nearly all of it full attention), so that benchmarks may
// run in any order (--benchmark_enable_random_interleaving) without rebuilding contexts.
const Layer &context(Attention attention, int64_t n) {
    static std::map<std::pair<Attention, int64_t>, std::unique_ptr<Layer>> cache;
    std::unique_ptr<Layer> &held = cache[{attention, n}];
    if (held) return *held;
    auto layer = std::make_unique<Layer>(make_params(attention));
    Random rng(0x5EED0000u + static_cast<uint64_t>(n));
    Tokens block(kSetupBlock, rng);
    for (int64_t done = 0; done < n;) {
        const int64_t len = std::min(kSetupBlock, n - done);
        layer->feed(len, block.q.data(), static_cast<size_t>(len) * kHeads * kDim, block.k.data(),
                    static_cast<size_t>(len) * kKvHeads * kDim, block.v.data(),
                    static_cast<size_t>(len) * kKvHeads * kDim, nullptr, 0);
        done += len;
        if (done < n) block.refill(rng);
    }
    held = std::move(layer);
    return *held;
}

// A "min" aggregate next to mean/median/stddev/cv when repetitions are asked for: on a shared
// machine the noise only ever adds time, so the fastest repetition is the steadiest estimate.
double minimum(const std::vector<double> &v) {
    return v.empty() ? 0.0 : *std::min_element(v.begin(), v.end());
}

double mib(const Layer &layer) { return static_cast<double>(layer.info().bytes) / (1024.0 * 1024.0); }

// Feeds n tokens (q [n][kHeads][kDim], k and v [n][kKvHeads][kDim]) with outputs into y.
void feed(Layer &layer, int64_t n, const float *q, const float *k, const float *v, float *y) {
    const size_t nq = static_cast<size_t>(n) * kHeads * kDim, nkv = static_cast<size_t>(n) * kKvHeads * kDim;
    layer.feed(n, q, nq, k, nkv, v, nkv, y, nq);
}

void bm_decode(benchmark::State &state, Attention attention, int64_t n) {
    const Layer &saved = context(attention, n);
    Random rng(0xDEC0DEu);
    const Tokens tokens(kDecodeRestore + 1, rng);  // one warm-up token, then one per timed step
    std::vector<float> y(static_cast<size_t>(kHeads) * kDim);
    std::unique_ptr<Layer> layer;
    // A copy holds no spare capacity, so its first feed reallocates (for full attention: the
    // whole KV cache), which steady decoding does only every ~N/2 tokens. Feed it untimed.
    auto restore = [&] {
        layer.reset();
        layer = std::make_unique<Layer>(saved.clone());
        feed(*layer, 1, tokens.q_at(0), tokens.k_at(0), tokens.v_at(0), y.data());
    };
    restore();
    int64_t step = 0;
    for (auto _ : state) {
        if (step == kDecodeRestore) {
            state.PauseTiming();
            restore();
            step = 0;
            state.ResumeTiming();
        }
        ++step;
        feed(*layer, 1, tokens.q_at(step), tokens.k_at(step), tokens.v_at(step), y.data());
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
    }
    state.counters["tok/s"] =
        benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
    state.counters["cache_MiB"] = mib(saved);
}

void bm_prefill(benchmark::State &state, Attention attention, int64_t n) {
    const Layer &saved = context(attention, n);
    Random rng(0x9EF111u);
    const Tokens tokens(kPrefillBlock, rng);
    std::vector<float> y(static_cast<size_t>(kPrefillBlock) * kHeads * kDim);
    std::unique_ptr<Layer> layer;
    for (auto _ : state) {
        state.PauseTiming();
        layer.reset();
        layer = std::make_unique<Layer>(saved.clone());
        state.ResumeTiming();
        feed(*layer, kPrefillBlock, tokens.q.data(), tokens.k.data(), tokens.v.data(), y.data());
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
    }
    state.counters["tok/s"] =
        benchmark::Counter(static_cast<double>(state.iterations() * kPrefillBlock),
                           benchmark::Counter::kIsRate);
    state.counters["cache_MiB"] = mib(saved);
}

void register_all() {
    const struct {
        Attention attention;
        const char *name;
    } kinds[] = {{Attention::lola, "lola"}, {Attention::window, "window"}, {Attention::full, "full"}};
    for (const auto &kind : kinds) {
        // Google Benchmark's default MinTime (0.5 s) bounds the run: a full-attention prefill
        // at 64K takes about 10 s and runs once; the whole program takes about a minute on 2 cores.
        for (int64_t n = kMinContext; n <= kMaxContext; n *= 2) {
            const std::string suffix = std::string(kind.name) + "/" + std::to_string(n);
            benchmark::RegisterBenchmark(("decode/" + suffix).c_str(), bm_decode, kind.attention, n)
                ->Unit(benchmark::kMicrosecond)
                ->UseRealTime()
                ->ComputeStatistics("min", minimum);
            benchmark::RegisterBenchmark(("prefill/" + suffix).c_str(), bm_prefill, kind.attention,
                                         n)
                ->Unit(benchmark::kMicrosecond)
                ->UseRealTime()
                ->ComputeStatistics("min", minimum);
        }
    }
}

// The cases are registered before main runs; Google Benchmark's own main does the rest.
const bool registered = (register_all(), true);

}  // namespace

BENCHMARK_MAIN();
