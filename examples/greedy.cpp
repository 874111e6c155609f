// greedy.cpp: the C API through lola.hpp's C++ owners: load a model, feed a prompt, continue it
// greedily, and show what the LoLA caches of one layer hold.
//
//   ./build/examples/greedy MODEL.gguf "The capital of France is" [N]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "lola.hpp"

int main(int argc, char **argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s MODEL.gguf PROMPT [N]\n", argv[0]);
        return 2;
    }
    const int n = argc > 3 ? std::atoi(argv[3]) : 16;
    try {
        const lola::api::Model model(argv[1]);
        lola::api::ContextParams params;
        params.threads(2).attention.chunk_size(16).sparse_capacity(8);  // small caches, to see them fill
        lola::api::Context ctx(model, params);  // the context keeps the model alive
        std::vector<int32_t> tokens = model.tokenize(argv[2], LOLA_TOKENIZE_ADD_SPECIAL);
        ctx.feed(tokens);
        std::string text = argv[2];
        for (int i = 0; i < n; ++i) {
            const std::vector<float> logits = ctx.logits();
            const int32_t next = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
            if (model.is_eog(next)) break;
            text += model.piece(next);
            ctx.feed({next});
        }
        std::printf("%s\n", text.c_str());
        const lola_head_state s = ctx.head_state(0, 0);
        std::printf("layer 0, head 0: %lld in the window, %lld in the sparse cache, %lld folded\n",
                    static_cast<long long>(s.n_window), static_cast<long long>(s.n_sparse),
                    static_cast<long long>(s.n_folded));
        return 0;
    } catch (const lola::api::Error &e) {
        std::fprintf(stderr, "greedy: %s\n", e.what());
        return 1;
    }
}
