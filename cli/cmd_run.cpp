// cmd_run.cpp: `lola run -m MODEL -p PROMPT`: streams the model's continuation; with a chat
// template (instruct models) the prompt is sent as a user message unless --raw.
#include <cstdio>
#include <string>

#include "common.hpp"

namespace cli {

namespace {

std::string chat_prompt(const Model &model, const std::string &system, const std::string &user) {
    std::vector<lola_chat_message> messages;
    if (!system.empty()) messages.push_back({"system", system.c_str()});
    messages.push_back({"user", user.c_str()});
    size_t n = 0;
    const lola_status s = lola_chat_apply_template(model.get(), messages.data(), messages.size(), true,
                                                   nullptr, 0, &n);
    if (s == LOLA_ERR_UNSUPPORTED) return user;  // no known template: plain completion
    check(s, "chat template");
    std::string text(n + 1, '\0');
    check(lola_chat_apply_template(model.get(), messages.data(), messages.size(), true, text.data(),
                                   text.size(), &n),
          "chat template");
    text.resize(n);
    return text;
}

bool print_piece(int32_t, const char *piece, size_t len, void *) {
    if (piece) std::fwrite(piece, 1, len, stdout);
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
    ContextParams cp = context_params(args);
    lola_sampler_params sp = sampler_params(args);
    args.finish();
    if (max_tokens < 0) throw Failure("-n must be >= 0", 2);

    Model model(path);
    Context ctx(model, cp);
    const std::string text = raw ? prompt : chat_prompt(model, system, prompt);
    const std::vector<int32_t> tokens = tokenize(model, text, true);
    if (tokens.empty()) throw Failure("the prompt is empty", 2);
    ctx.feed(tokens);
    lola_sampler *sampler = nullptr;
    check(lola_sampler_create(&sp, &sampler), "sampler");
    check(lola_sampler_accept(sampler, tokens.data(), tokens.size()), "sampler");
    size_t generated = 0;
    const lola_status s = lola_generate(ctx.get(), sampler, static_cast<size_t>(max_tokens),
                                        print_piece, nullptr, &generated);
    lola_sampler_free(sampler);
    std::printf("\n");
    std::fflush(stdout);
    check(s, "generation");
    if (stats) {
        const lola_context_info i = ctx.info();
        std::fprintf(stderr, "[%zu prompt tokens, %zu generated; cache %.1f KiB: %lld window, %lld "
                             "sparse, %lld folded pairs over all layers and heads]\n",
                     tokens.size(), generated, static_cast<double>(i.state_bytes) / 1024.0,
                     static_cast<long long>(i.n_window), static_cast<long long>(i.n_sparse),
                     static_cast<long long>(i.n_folded));
    }
    return 0;
}

}  // namespace cli
