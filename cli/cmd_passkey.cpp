// cmd_passkey.cpp: `lola passkey`: the classic pass-key retrieval test (a number hidden in
// filler text, asked for at the end) over context lengths and needle depths, for full
// attention, window only, window + linear state (lambda = 0), LoLA (the model's or its
// adapter's feature maps) and LoLA with performer features, at the same cache size.
//
// The cache budget is LoLA's: lambda + 2C pairs per head. The window baselines get a chunk of
// (lambda + 2C) / 2 so their window holds as many pairs. Answers are greedy continuations of
// "... What is the pass key? The pass key is"; a trial passes when the first number in the
// answer is the key. The prompts, the scoring and the variants are those of `lola eval`'s
// passkey task (eval/), which runs this test with more variants and writes a report.
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "common.hpp"
#include "tasks.hpp"
#include "variants.hpp"

namespace cli {

int cmd_passkey(Args &args) {
    const std::string path = args.require("m");
    const std::vector<long long> lengths = int_list("lengths", args.get("lengths", "1024,2048"));
    const std::vector<double> depths = float_list("depths", args.get("depths", "0.2,0.5,0.8"));
    const long long trials = args.get_int("trials", 2);
    const std::vector<int32_t> full_layers = layer_list(args, "full-layers");
    const bool only_lola = args.flag("lola-only");
    const std::vector<std::string> names =
        only_lola ? std::vector<std::string>{"lola"}
                  : word_list("variants", args.get("variants", "full,window,linear,lola,performer"));
    lolapp::ContextParams base = context_params(args);
    const lolapp::ModelParams mp = model_params(args);
    args.finish();
    if (lengths.empty() || depths.empty() || trials < 1) throw Failure("nothing to run", 2);

    const lolapp::Model model = load_model(path, mp);
    base.attention(resolved(base.attention(), model));  // the model's C, lambda
    const int32_t chunk = base.attention().chunk_size(), sparse = base.attention().sparse_capacity();
    const int32_t budget = sparse + 2 * chunk;
    const int32_t n_layer = model.info().n_layer;
    std::vector<lola_eval::Variant> variants;
    for (const std::string &name : names) {
        try {
            variants.push_back(lola_eval::make_variant(name, chunk, sparse, full_layers));
            (void)lola_eval::context_params(variants.back(), base, n_layer);  // a layer past the model's
        } catch (const std::invalid_argument &e) {
            throw Failure(std::string("--variants: ") + e.what(), 2);
        }
    }
    const std::vector<int32_t> bos = tokenize(model, "", true);
    const lola_eval::Tokenizer tokenizer = [&](const std::string &s) { return tokenize(model, s, false); };
    const bool tty = isatty(2);
    std::printf("pass-key retrieval: %s; cache budget %d pairs per head (LoLA: chunk %d, sparse %d)\n\n",
                path.c_str(), budget, chunk, sparse);
    std::printf("| context | depth | %s |\n", [&] {
        std::string h;
        for (const lola_eval::Variant &v : variants) h += (h.empty() ? "" : " | ") + v.label;
        return h;
    }().c_str());
    std::printf("|---:|---:|%s\n", [&] {
        std::string h;
        for (size_t i = 0; i < variants.size(); ++i) h += "---:|";
        return h;
    }().c_str());
    std::vector<int> total_ok(variants.size(), 0);
    std::vector<double> cache_kib(variants.size(), 0);
    int total = 0;
    const auto start = std::chrono::steady_clock::now();
    for (long long length : lengths) {
        for (double depth : depths) {
            std::vector<int> ok(variants.size(), 0);
            for (long long trial = 0; trial < trials; ++trial) {
                const lola_eval::TaskInput in{tokenizer, bos, length, {depth},
                                              lola_eval::mix_seed(
                                                  lola_eval::mix_seed(0x5EED, static_cast<uint64_t>(length) * 1000 +
                                                                                  static_cast<uint64_t>(depth * 999)),
                                                  static_cast<uint64_t>(trial)), nullptr};
                const lola_eval::Prompt prompt = [&] {
                    try {
                        return lola_eval::make_prompts("passkey", in).front();
                    } catch (const std::invalid_argument &e) {
                        throw Failure(e.what(), 2);
                    }
                }();
                const lola_eval::Query &question = prompt.queries.front();
                for (size_t v = 0; v < variants.size(); ++v) {
                    if (tty) {
                        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
                        std::fprintf(stderr, "\r\x1b[K[%5.0fs] context %lld, depth %.2f, trial %lld/%lld: %s",
                                     secs, length, depth, trial + 1, trials, variants[v].label.c_str());
                    }
                    lolapp::Context ctx = new_context(model, lola_eval::context_params(variants[v], base, n_layer));
                    feed(ctx, prompt.prefix);
                    feed(ctx, question.tokens);
                    const lola_context_info info = checked("context info", [&] { return ctx.info(); });
                    cache_kib[v] = std::max(cache_kib[v], static_cast<double>(info.state_bytes) / 1024.0);
                    std::vector<int32_t> answer;
                    for (int32_t step = 0; step < question.answer_tokens; ++step) {
                        const int32_t t = argmax(last_logits(ctx));
                        if (model.is_eog(t)) break;
                        answer.push_back(t);
                        feed(ctx, {t});
                    }
                    ok[v] += lola_eval::score_answer(question, detokenize(model, answer)) == 1.0;
                }
            }
            if (tty) std::fprintf(stderr, "\r\x1b[K");
            std::printf("| %lld | %.2f |", length, depth);
            for (size_t v = 0; v < variants.size(); ++v) {
                std::printf(" %d/%lld |", ok[v], trials);
                total_ok[v] += ok[v];
            }
            std::printf("\n");
            std::fflush(stdout);
            total += static_cast<int>(trials);
        }
    }
    std::printf("| **all** | |");
    for (size_t v = 0; v < variants.size(); ++v)
        std::printf(" **%.0f%%** |", 100.0 * total_ok[v] / total);
    std::printf("\n| cache KiB (largest) | |");
    for (size_t v = 0; v < variants.size(); ++v) std::printf(" %.0f |", cache_kib[v]);
    std::printf("\n");
    return 0;
}

}  // namespace cli
