// cmd_passkey.cpp: `lola passkey`: the classic pass-key retrieval test (a number hidden in
// filler text, asked for at the end) over context lengths and needle depths, for full
// attention, window only, window + linear state (lambda = 0) and LoLA at the same cache size.
//
// The cache budget is LoLA's: lambda + 2C pairs per head. The window baselines get a chunk of
// (lambda + 2C) / 2 so their window holds as many pairs. Answers are greedy continuations of
// "... What is the pass key? The pass key is"; a trial passes when the first number in the
// answer is the key.
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <sstream>

#include "common.hpp"

namespace cli {

namespace {

const char *kPreamble =
    "There is an important info hidden inside a lot of irrelevant text. Find it and memorize "
    "it. I will quiz you about the important information there.";
const char *kFiller = " The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.";
const char *kQuestion = " What is the pass key? The pass key is";

std::vector<long long> list(const std::string &s) {
    std::vector<long long> out;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, ',')) out.push_back(std::atoll(item.c_str()));
    return out;
}

std::vector<double> list_f(const std::string &s) {
    std::vector<double> out;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, ',')) out.push_back(std::atof(item.c_str()));
    return out;
}

std::string first_number(const std::string &text) {
    std::string n;
    for (char c : text) {
        if (std::isdigit(static_cast<unsigned char>(c))) {
            n += c;
        } else if (!n.empty()) {
            break;
        }
    }
    return n;
}

struct Variant {
    std::string name;
    lolapp::Attention attention;
    int32_t chunk, sparse;
};

}  // namespace

int cmd_passkey(Args &args) {
    const std::string path = args.require("m");
    const std::vector<long long> lengths = list(args.get("lengths", "1024,2048"));
    const std::vector<double> depths = list_f(args.get("depths", "0.2,0.5,0.8"));
    const long long trials = args.get_int("trials", 2);
    const bool only_lola = args.flag("lola-only");
    lolapp::ContextParams base = context_params(args);
    const lolapp::ModelParams mp = model_params(args);
    args.finish();
    if (lengths.empty() || depths.empty() || trials < 1) throw Failure("nothing to run", 2);

    const lolapp::Model model = load_model(path, mp);
    base.attention(resolved(base.attention(), model));  // the model's C, lambda
    const int32_t chunk = base.attention().chunk_size(), sparse = base.attention().sparse_capacity();
    const int32_t budget = sparse + 2 * chunk;
    std::vector<Variant> variants;
    if (!only_lola) {
        variants.push_back({"full attention", lolapp::Attention::full, chunk, 0});
        variants.push_back({"window only", lolapp::Attention::window, budget / 2, 0});
        variants.push_back({"window + linear (lambda=0)", lolapp::Attention::lola, budget / 2, 0});
    }
    variants.push_back({"LoLA", lolapp::Attention::lola, chunk, sparse});

    const std::vector<int32_t> preamble = tokenize(model, kPreamble, true);
    const std::vector<int32_t> filler = tokenize(model, kFiller, false);
    const std::vector<int32_t> question = tokenize(model, kQuestion, false);
    const bool tty = isatty(2);
    std::printf("pass-key retrieval: %s; cache budget %d pairs per head (LoLA: chunk %d, sparse %d)\n\n",
                path.c_str(), budget, chunk, sparse);
    std::printf("| context | depth | %s |\n", [&] {
        std::string h;
        for (const Variant &v : variants) h += (h.empty() ? "" : " | ") + v.name;
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
    uint64_t key_state = 0x5EED;
    for (long long length : lengths) {
        for (double depth : depths) {
            std::vector<int> ok(variants.size(), 0);
            for (long long trial = 0; trial < trials; ++trial) {
                key_state = key_state * 6364136223846793005ull + 1442695040888963407ull;
                const long long key = 10000 + static_cast<long long>((key_state >> 33) % 90000);
                const std::string needle = " The pass key is " + std::to_string(key) +
                                           ". Remember it. " + std::to_string(key) + " is the pass key.";
                const std::vector<int32_t> needle_tokens = tokenize(model, needle, false);
                const long long room = length - static_cast<long long>(preamble.size() + needle_tokens.size() + question.size());
                const long long reps = std::max<long long>(1, room / static_cast<long long>(filler.size()));
                const long long before = static_cast<long long>(depth * static_cast<double>(reps));
                std::vector<int32_t> prompt = preamble;
                for (long long r = 0; r < reps; ++r) {
                    if (r == before) prompt.insert(prompt.end(), needle_tokens.begin(), needle_tokens.end());
                    prompt.insert(prompt.end(), filler.begin(), filler.end());
                }
                if (before >= reps) prompt.insert(prompt.end(), needle_tokens.begin(), needle_tokens.end());
                prompt.insert(prompt.end(), question.begin(), question.end());
                for (size_t v = 0; v < variants.size(); ++v) {
                    if (tty) {
                        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
                        std::fprintf(stderr, "\r\x1b[K[%5.0fs] context %lld, depth %.2f, trial %lld/%lld: %s",
                                     secs, length, depth, trial + 1, trials, variants[v].name.c_str());
                    }
                    lolapp::ContextParams cp = base;
                    cp.attention()
                        .attention(variants[v].attention)
                        .chunk_size(variants[v].chunk)
                        .sparse_capacity(variants[v].sparse);
                    lolapp::Context ctx = new_context(model, cp);
                    feed(ctx, prompt);
                    const lola_context_info info = checked("context info", [&] { return ctx.info(); });
                    cache_kib[v] = std::max(cache_kib[v], static_cast<double>(info.state_bytes) / 1024.0);
                    std::vector<int32_t> answer;
                    for (int step = 0; step < 8; ++step) {
                        const int32_t t = argmax(last_logits(ctx));
                        if (model.is_eog(t)) break;
                        answer.push_back(t);
                        feed(ctx, {t});
                    }
                    ok[v] += first_number(detokenize(model, answer)) == std::to_string(key);
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
