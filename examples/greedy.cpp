// greedy.cpp: the C API through lola.hpp, its header-only C++ owners. Loads a model, feeds a
// prompt, streams a greedy continuation, shows what one head's LoLA memory holds, then restores
// the state saved during the prompt and generates again: the same text, as greedy decoding is
// deterministic. Nothing needs freeing; every failure is a lolapp::Error carrying liblola's
// status and message.
//
//   ./build/examples/greedy MODEL.gguf "The capital of France is" [N]
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "lola.hpp"

namespace {

// Streams up to n greedy tokens to stdout and returns their text.
std::string continue_greedily(lolapp::Context &ctx, size_t n) {
    lolapp::Sampler greedy(lolapp::SamplerParams().temperature(0.0f));
    std::string text;
    ctx.generate(greedy, n, [&text](int32_t, std::string_view piece) {
        text.append(piece);
        std::fwrite(piece.data(), 1, piece.size(), stdout);
        std::fflush(stdout);
        return true;
    });
    std::printf("\n");
    return text;
}

}  // namespace

int main(int argc, char **argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s MODEL.gguf PROMPT [N]\n", argv[0]);
        return 2;
    }
    const long n = argc > 3 ? std::strtol(argv[3], nullptr, 10) : 32;
    if (n < 1 || n > 4096) {
        std::fprintf(stderr, "N must be in 1..4096\n");
        return 2;
    }
    try {
        const lolapp::Model model(argv[1]);
        lolapp::ContextParams params;
        params.n_threads(2).attention().chunk_size(8).sparse_capacity(4);  // small, to see them fill
        lolapp::Context ctx(model, params);  // holds its own reference on the model

        std::vector<int32_t> prompt = model.tokenize(argv[2], LOLA_TOKENIZE_ADD_SPECIAL);
        if (prompt.size() < 2) {
            std::fprintf(stderr, "the prompt needs at least two tokens\n");
            return 2;
        }
        const int32_t last = prompt.back();
        prompt.pop_back();
        ctx.feed(prompt);
        const std::vector<uint8_t> saved = ctx.save_state();  // a checksummed blob
        ctx.feed({last});                                     // now the logits of the whole prompt

        std::printf("%s", argv[2]);
        const std::string first = continue_greedily(ctx, static_cast<size_t>(n));
        const lola_head_state s = ctx.head_state(0, 0);
        std::printf("layer 0, head 0 after %lld tokens: %lld in the window, %lld in the sparse cache "
                    "(positions", static_cast<long long>(ctx.info().n_past),
                    static_cast<long long>(s.n_window), static_cast<long long>(s.n_sparse));
        for (int64_t p : ctx.positions(0, 0, lolapp::Memory::sparse)) std::printf(" %lld", static_cast<long long>(p));
        std::printf("), %lld folded into the linear state\n", static_cast<long long>(s.n_folded));

        ctx.restore_state(saved);  // back to the prompt without its last token
        ctx.feed({last});
        std::printf("again from the saved state (%zu bytes):\n%s", saved.size(), argv[2]);
        const std::string second = continue_greedily(ctx, static_cast<size_t>(n));
        if (second != first) {
            std::fprintf(stderr, "greedy: the replay differs from the first continuation\n");
            return 1;
        }
        return 0;
    } catch (const lolapp::Error &e) {
        std::fprintf(stderr, "greedy: %s\n", e.what());
        return 1;
    }
}
