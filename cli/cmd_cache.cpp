// cmd_cache.cpp: `lola cache -m MODEL -p PROMPT`: after the prompt, which prompt tokens each
// layer's sparse cache kept (over all heads of the layer), highlighted in the text.
#include <unistd.h>

#include <cstdio>
#include <set>

#include "common.hpp"

namespace cli {

int cmd_cache(Args &args) {
    const std::string path = args.require("m");
    const std::string prompt = args.require("p");
    const long long only_layer = args.get_int("layer", -1);
    const bool color = !args.flag("no-color") && isatty(1);
    lolapp::ContextParams cp = context_params(args);
    const lolapp::ModelParams mp = model_params(args);
    args.finish();
    if (cp.attention().attention() != lolapp::Attention::lola)
        throw Failure("lola cache needs --attention lola", 2);

    const lolapp::Model model = load_model(path, mp);
    cp.attention(resolved(cp.attention(), model));  // the model's C, lambda
    const int32_t chunk = cp.attention().chunk_size(), sparse = cp.attention().sparse_capacity();
    lolapp::Context ctx = new_context(model, cp);
    const std::vector<int32_t> tokens = tokenize(model, prompt, true);
    if (tokens.empty()) throw Failure("the prompt is empty", 2);
    feed(ctx, tokens);
    const lola_model_info info = checked("model info", [&] { return model.info(); });
    std::vector<std::string> pieces;
    for (int32_t t : tokens) pieces.push_back(piece(model, t));
    const char *on = color ? "\x1b[1;30;43m" : "[";
    const char *off = color ? "\x1b[0m" : "]";
    std::printf("%zu prompt tokens; chunk %d, sparse capacity %d: tokens before position %zu have "
                "left the window. Kept in the sparse cache, %s:\n\n",
                tokens.size(), chunk, sparse,
                tokens.size() - tokens.size() % static_cast<size_t>(chunk) -
                    (tokens.size() >= static_cast<size_t>(chunk) ? static_cast<size_t>(chunk) : 0),
                color ? "highlighted" : "in [brackets]");
    for (int32_t layer = 0; layer < info.n_layer; ++layer) {
        if (only_layer >= 0 && layer != only_layer) continue;
        std::set<int64_t> kept;
        for (int32_t head = 0; head < info.n_head; ++head) {
            const std::vector<int64_t> pos =
                checked("positions", [&] { return ctx.positions(layer, head, lolapp::Memory::sparse); });
            kept.insert(pos.begin(), pos.end());
        }
        std::printf("layer %d (%zu distinct tokens over %d heads):\n", layer, kept.size(), info.n_head);
        for (size_t i = 0; i < pieces.size(); ++i) {
            const bool k = kept.count(static_cast<int64_t>(i)) != 0;
            std::printf("%s%s%s", k ? on : "", pieces[i].c_str(), k ? off : "");
        }
        std::printf("\n\n");
    }
    return 0;
}

}  // namespace cli
