// common.cpp: see common.hpp.
#include "common.hpp"

#include <algorithm>
#include <cctype>
#include <climits>
#include <cmath>
#include <cstdlib>

namespace cli {

namespace {

// An argument that is a value rather than an option: anything not starting with '-', "-"
// itself, and negative numbers.
bool is_value(const std::string &a) {
    if (a.empty() || a[0] != '-' || a.size() == 1) return true;
    return std::isdigit(static_cast<unsigned char>(a[1])) || a[1] == '.';
}

}  // namespace

std::string shell_quoted(const std::string &a) {
    const bool plain = !a.empty() && a.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                         "0123456789-_.,/:=+@%") == std::string::npos;
    if (plain) return a;
    std::string q = "'";
    for (char c : a) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

Args::Args(int argc, char **argv, int first) {
    command_line_ = "lola";
    for (int i = 1; i < argc; ++i) command_line_ += " " + shell_quoted(argv[i]);
    for (int i = first; i < argc; ++i) {
        std::string a = argv[i];
        if (a.rfind("--", 0) != 0 && !(a.size() == 2 && a[0] == '-'))
            throw Failure("unexpected argument '" + a + "'", 2);
        std::string name = a.size() == 2 ? a.substr(1) : a.substr(2);
        std::string value;
        if (const size_t eq = name.find('='); eq != std::string::npos) {
            value = name.substr(eq + 1);
            name = name.substr(0, eq);
        } else if (i + 1 < argc && is_value(argv[i + 1])) {
            value = argv[++i];
        } else {
            value = "\x01";  // a flag
        }
        values_[name] = value;
        used_[name] = false;
    }
}

bool Args::flag(const std::string &name) {
    auto it = values_.find(name);
    if (it == values_.end()) return false;
    used_[name] = true;
    if (it->second != "\x01") throw Failure("--" + name + " takes no value", 2);
    return true;
}

std::string Args::get(const std::string &name, const std::string &fallback) {
    auto it = values_.find(name);
    if (it == values_.end()) return fallback;
    used_[name] = true;
    if (it->second == "\x01") throw Failure("--" + name + " needs a value", 2);
    return it->second;
}

std::string Args::require(const std::string &name) {
    const std::string v = get(name, "\x02");
    if (v == "\x02") throw Failure("missing --" + name, 2);
    return v;
}

long long Args::get_int(const std::string &name, long long fallback) {
    const std::string v = get(name, "");
    if (v.empty()) return fallback;
    char *end = nullptr;
    const long long x = std::strtoll(v.c_str(), &end, 10);
    if (!end || *end) throw Failure("--" + name + " needs an integer, got '" + v + "'", 2);
    return x;
}

double Args::get_float(const std::string &name, double fallback) {
    const std::string v = get(name, "");
    if (v.empty()) return fallback;
    char *end = nullptr;
    const double x = std::strtod(v.c_str(), &end);
    if (!end || *end) throw Failure("--" + name + " needs a number, got '" + v + "'", 2);
    return x;
}

std::vector<std::string> word_list(const std::string &option, const std::string &value) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= value.size()) {
        const size_t comma = std::min(value.find(',', start), value.size());
        out.push_back(value.substr(start, comma - start));
        if (out.back().empty()) throw Failure("--" + option + ": empty item in '" + value + "'", 2);
        start = comma + 1;
    }
    return out;
}

std::vector<long long> int_list(const std::string &option, const std::string &value) {
    std::vector<long long> out;
    for (const std::string &item : word_list(option, value)) {
        char *end = nullptr;
        out.push_back(std::strtoll(item.c_str(), &end, 10));
        if (!end || *end) throw Failure("--" + option + ": '" + item + "' is not an integer", 2);
    }
    return out;
}

std::vector<int32_t> layer_list(Args &args, const std::string &option) {
    std::vector<int32_t> out;
    if (const std::string list = args.get(option, ""); !list.empty())
        for (long long l : int_list(option, list)) out.push_back(static_cast<int32_t>(std::clamp<long long>(l, -1, 1 << 20)));
    return out;
}

std::vector<double> float_list(const std::string &option, const std::string &value) {
    std::vector<double> out;
    for (const std::string &item : word_list(option, value)) {
        char *end = nullptr;
        out.push_back(std::strtod(item.c_str(), &end));
        if (!end || *end) throw Failure("--" + option + ": '" + item + "' is not a number", 2);
    }
    return out;
}

void Args::finish() const {
    for (const auto &[name, used] : used_)
        if (!used) throw Failure("unknown option --" + name, 2);
}

namespace {

template <class E>
E choice(const std::string &option, const std::string &value,
         const std::vector<std::pair<const char *, E>> &names) {
    for (const auto &[name, v] : names)
        if (value == name) return v;
    std::string all;
    for (const auto &n : names) all += std::string(all.empty() ? "" : ", ") + n.first;
    throw Failure("--" + option + " must be one of " + all + ", got '" + value + "'", 2);
}

}  // namespace

lolapp::ContextParams context_params(Args &args) {
    using lolapp::Attention, lolapp::FeatureMap, lolapp::Mixing, lolapp::Scoring;
    lolapp::ContextParams p = checked("context params", [] { return lolapp::ContextParams(); });
    lolapp::AttentionParams &a = p.attention();
    a.attention(choice<Attention>("attention", args.get("attention", "lola"),
                                  {{"lola", Attention::lola}, {"full", Attention::full},
                                   {"window", Attention::window}}));
    a.chunk_size(static_cast<int32_t>(args.get_int("chunk", a.chunk_size())));
    a.sparse_capacity(static_cast<int32_t>(args.get_int("sparse", a.sparse_capacity())));
    a.feature_map(choice<FeatureMap>("feature-map", args.get("feature-map", "auto"),
                                     {{"auto", FeatureMap::automatic}, {"hedgehog", FeatureMap::hedgehog},
                                      {"performer", FeatureMap::performer}, {"elu1", FeatureMap::elu1},
                                      {"relu", FeatureMap::relu}}));
    a.feature_dim(static_cast<int32_t>(args.get_int("feature-dim", 0)));
    a.mixing(choice<Mixing>("mixing", args.get("mixing", "a"), {{"a", Mixing::lola}, {"b", Mixing::lolcats}}));
    a.scoring(choice<Scoring>("scoring", args.get("scoring", "sre"),
                              {{"sre", Scoring::sre}, {"recency", Scoring::recency},
                               {"random", Scoring::random}, {"value-norm", Scoring::value_norm}}));
    a.seed(static_cast<uint64_t>(args.get_int("lola-seed", static_cast<long long>(a.seed()))));
    const double gate = args.get_float("gate-logit", std::nan(""));
    if (!std::isnan(gate)) p.gate_logit(static_cast<float>(gate));
    p.n_threads(static_cast<int32_t>(args.get_int("threads", 2)));
    p.batch_size(static_cast<int32_t>(args.get_int("batch", p.batch_size())));
    return p;
}

const char *context_options_help() {
    return "attention (LoLA and the baselines):\n"
           "  --attention lola|full|window  lola: window + sparse cache + linear state (default)\n"
           "  --chunk C            window unit: the window holds the last C..2C tokens (64)\n"
           "  --sparse LAMBDA      sparse cache entries per head; 0 = window + linear state (64)\n"
           "  --feature-map auto|hedgehog|performer|elu1|relu   (auto: hedgehog if the file has\n"
           "                       LoLA tensors, else performer, training-free)\n"
           "  --feature-dim F      features of the linear state (0 = the map's default)\n"
           "  --mixing a|b         a: LoLA's gated mix (default), b: LoLCATs'\n"
           "  --scoring sre|recency|random|value-norm   what the sparse cache keeps (sre)\n"
           "  --lola-seed N        performer projections and random scoring\n"
           "  --gate-logit W       weight of window + sparse cache against the linear state,\n"
           "                       g = sigmoid(W) for every head (default: the file's, else 0)\n"
           "  --threads N          worker threads (2)   --batch N  prefill tokens per step (64)\n";
}

lolapp::SamplerParams sampler_params(Args &args) {
    lolapp::SamplerParams p = checked("sampler params", [] { return lolapp::SamplerParams(); });
    p.temperature(static_cast<float>(args.get_float("temp", p.temperature())));
    p.top_k(static_cast<int32_t>(args.get_int("top-k", p.top_k())));
    p.top_p(static_cast<float>(args.get_float("top-p", p.top_p())));
    p.min_p(static_cast<float>(args.get_float("min-p", p.min_p())));
    p.repeat_penalty(static_cast<float>(args.get_float("repeat-penalty", p.repeat_penalty())));
    p.penalty_last_n(static_cast<int32_t>(args.get_int("repeat-last-n", p.penalty_last_n())));
    p.seed(static_cast<uint64_t>(args.get_int("seed", static_cast<long long>(p.seed()))));
    return p;
}

const char *sampler_options_help() {
    return "sampling:\n"
           "  --temp T (0.8; 0 = greedy)  --top-k K (40)  --top-p P (0.95)  --min-p P (0.05)\n"
           "  --repeat-penalty R (1.0)  --repeat-last-n N (64)  --seed N\n";
}

lolapp::ModelParams model_params(Args &args) {
    lolapp::ModelParams p = checked("model params", [] { return lolapp::ModelParams(); });
    const std::string device = args.get("device", "cpu");
    if (device == "cpu") {
        p.device(lolapp::Device::cpu);
    } else if (device == "cuda" || device.rfind("cuda:", 0) == 0) {
        long long index = 0;
        if (device.size() > 5) {
            char *end = nullptr;
            index = std::strtoll(device.c_str() + 5, &end, 10);
            if (!end || *end != '\0' || device.size() == 5 || index < 0 || index > INT32_MAX)
                throw Failure("--device: '" + device + "' is not cpu, cuda or cuda:N", 2);
        }
        p.device(lolapp::Device::cuda, static_cast<int32_t>(index));
    } else {
        throw Failure("--device: '" + device + "' is not cpu, cuda or cuda:N", 2);
    }
    p.adapter(args.get("adapter", ""));
    return p;
}

const char *model_options_help() {
    return "model:\n"
           "  --device cpu|cuda|cuda:N   where the model runs (cpu; the CUDA backend cannot run\n"
           "                       models yet: a CUDA device is refused with the reason)\n"
           "  --adapter FILE       a LoLA adapter (lola-linearize output) for this model: its\n"
           "                       feature maps, gates and C/lambda/mixing defaults\n";
}

lolapp::Model load_model(const std::string &path, const lolapp::ModelParams &params) {
    return checked("cannot load the model", [&] { return lolapp::Model(path, params); });
}

lolapp::Context new_context(const lolapp::Model &model, const lolapp::ContextParams &params) {
    return checked("cannot create a context", [&] { return lolapp::Context(model, params); });
}

lolapp::AttentionParams resolved(const lolapp::AttentionParams &a, const lolapp::Model &model) {
    return checked("context params", [&] { return a.resolved(model); });
}

void feed(lolapp::Context &ctx, const std::vector<int32_t> &tokens) {
    checked("feed", [&] { ctx.feed(tokens); });
}

std::vector<float> last_logits(const lolapp::Context &ctx) {
    return checked("logits", [&] { return ctx.logits(); });
}

std::vector<int32_t> tokenize(const lolapp::Model &model, const std::string &text, bool special) {
    const uint32_t flags = special ? (LOLA_TOKENIZE_ADD_SPECIAL | LOLA_TOKENIZE_PARSE_SPECIAL) : 0;
    return checked("tokenize", [&] { return model.tokenize(text, flags); });
}

std::string detokenize(const lolapp::Model &model, const std::vector<int32_t> &tokens) {
    return checked("detokenize", [&] { return model.detokenize(tokens); });
}

std::string piece(const lolapp::Model &model, int32_t token) {
    return checked("token to piece", [&] { return model.token_to_piece(token); });
}

int argmax(const std::vector<float> &logits) {
    return static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

}  // namespace cli
