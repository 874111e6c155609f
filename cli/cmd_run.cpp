// cmd_run.cpp: `lola run -m MODEL -p PROMPT`: streams the model's continuation; with a chat
// template (instruct models) the prompt is sent as a user message unless --raw.
#include <cstdio>
#include <string>

#include "common.hpp"

namespace cli {

namespace {

// The prompt's tokens: the chat template's rendering (which writes its own BOS, so only its
// special tokens are parsed) or, with no known template or --raw, the text as a plain
// completion (BOS added where the vocabulary asks for it).
std::vector<int32_t> prompt_tokens(const lolapp::Model &model, const std::string &system,
                                   const std::string &user, bool raw) {
    if (!raw) {
        std::vector<lolapp::ChatMessage> messages;
        if (!system.empty()) messages.push_back({"system", system});
        messages.push_back({"user", user});
        std::string text;
        try {
            text = model.apply_chat_template(messages, true);
        } catch (const lolapp::Error &e) {
            if (e.status() != LOLA_ERR_UNSUPPORTED)  // UNSUPPORTED: no known template
                throw Failure(std::string("chat template: ") + e.what());
        }
        if (!text.empty())
            return checked("tokenize", [&] { return model.tokenize(text, LOLA_TOKENIZE_PARSE_SPECIAL); });
    }
    return tokenize(model, user, true);
}

bool print_piece(int32_t, std::string_view piece) {
    std::fwrite(piece.data(), 1, piece.size(), stdout);
    std::fflush(stdout);
    return true;
}

}  // namespace

int cmd_run(Args &args) {
    const std::string path = args.require("m");
    const std::string prompt = args.require("p");
    const std::string system = args.get("system", "");
    const bool raw = args.flag("raw");
    const long long max_tokens = args.get_int("n", 256);
    const bool stats = args.flag("stats");
    const lolapp::ContextParams cp = context_params(args);
    const lolapp::ModelParams mp = model_params(args);
    const lolapp::SamplerParams sp = sampler_params(args);
    args.finish();
    if (max_tokens < 0) throw Failure("-n must be >= 0", 2);

    const lolapp::Model model = load_model(path, mp);
    lolapp::Context ctx = new_context(model, cp);
    const std::vector<int32_t> tokens = prompt_tokens(model, system, prompt, raw);
    if (tokens.empty()) throw Failure("the prompt is empty", 2);
    feed(ctx, tokens);
    lolapp::Sampler sampler = checked("sampler", [&] { return lolapp::Sampler(sp); });
    checked("sampler", [&] { sampler.accept(tokens); });
    size_t generated = 0;
    try {
        generated = ctx.generate(sampler, static_cast<size_t>(max_tokens), print_piece);
    } catch (const lolapp::Error &e) {
        std::printf("\n");
        std::fflush(stdout);
        throw Failure(std::string("generation: ") + e.what());
    }
    std::printf("\n");
    std::fflush(stdout);
    if (stats) {
        const lola_context_info i = checked("context info", [&] { return ctx.info(); });
        std::fprintf(stderr, "[%zu prompt tokens, %zu generated; cache %.1f KiB: %lld window, %lld "
                             "sparse, %lld folded pairs over all layers and heads]\n",
                     tokens.size(), generated, static_cast<double>(i.state_bytes) / 1024.0,
                     static_cast<long long>(i.n_window), static_cast<long long>(i.n_sparse),
                     static_cast<long long>(i.n_folded));
    }
    return 0;
}

}  // namespace cli
