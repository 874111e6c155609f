// settings.cpp: Config's settings from JSON (runner.hpp's apply_settings), for the bindings.
#include <stdexcept>

#include "runner.hpp"

namespace lola_eval {

namespace {

template <class T>
void take(const nlohmann::json &j, const char *key, T &out) {
    try {
        out = j.get<T>();
    } catch (const nlohmann::json::exception &) {
        throw std::invalid_argument(std::string("eval setting '") + key + "' has the wrong type: " + j.dump());
    }
}

}  // namespace

void apply_settings(Config &c, const std::string &text) {
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception &e) {
        throw std::invalid_argument(std::string("eval settings are not JSON: ") + e.what());
    }
    if (!j.is_object()) throw std::invalid_argument("eval settings must be a JSON object");
    for (const auto &[key, v] : j.items()) {
        const char *k = key.c_str();
        if (key == "tasks") take(v, k, c.tasks);
        else if (key == "variants") take(v, k, c.variants);
        else if (key == "lengths") take(v, k, c.lengths);
        else if (key == "depths") take(v, k, c.depths);
        else if (key == "trials") take(v, k, c.trials);
        else if (key == "seed") take(v, k, c.seed);
        else if (key == "lambdas") take(v, k, c.lambdas);
        else if (key == "sweep_task") take(v, k, c.sweep_task);
        else if (key == "sweep_length") take(v, k, c.sweep_length);
        else if (key == "cost_lengths") take(v, k, c.cost_lengths);
        else if (key == "decode_tokens") take(v, k, c.decode_tokens);
        else if (key == "haystack") take(v, k, c.haystack);
        else if (key == "text") take(v, k, c.text);
        else if (key == "perplexity_windows") take(v, k, c.perplexity_windows);
        else if (key == "residency") take(v, k, c.residency);
        else if (key == "command") take(v, k, c.command);
        else throw std::invalid_argument("unknown eval setting '" + key + "'");
    }
}

}  // namespace lola_eval
