// common.hpp: what the `lola` subcommands share: argument parsing, the LoLA and sampling
// options, and the liblola calls they make, over lola.hpp (the C++ owners of lola.h; the CLI
// uses liblola through its C API only). Every lolapp::Error becomes a Failure that names what
// the command was doing: "lola: <doing>: <liblola's message> (<LOLA_ERR_...>)".
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "lola.hpp"

namespace cli {

// A usage or runtime error: printed as "lola: <message>" with exit status 1 (2 for usage).
struct Failure : std::runtime_error {
    Failure(const std::string &message, int status_code = 1)
        : std::runtime_error(message), code(status_code) {}
    int code;
};

// Runs f(); a failed liblola call in it becomes Failure("<doing>: <message> (<status>)").
template <class F>
auto checked(const std::string &doing, F &&f) -> decltype(f()) {
    try {
        return f();
    } catch (const lolapp::Error &e) {
        throw Failure(doing + ": " + e.what());
    }
}

// `a` as one shell word: as is when it holds only safe characters, else in single quotes.
std::string shell_quoted(const std::string &a);

// --name value / --flag arguments after the subcommand.
class Args {
public:
    Args(int argc, char **argv, int first);
    bool flag(const std::string &name);                 // --name present (consumed)
    std::string get(const std::string &name, const std::string &fallback);
    std::string require(const std::string &name);
    long long get_int(const std::string &name, long long fallback);
    double get_float(const std::string &name, double fallback);
    void finish() const;  // Failure(usage) for anything not consumed
    // The command line as given ("lola <command> <args>"), each argument shell-quoted as needed.
    const std::string &command_line() const { return command_line_; }

private:
    std::string command_line_;
    std::map<std::string, std::string> values_;
    std::map<std::string, bool> used_;
};

// Comma-separated lists of an option's value: Failure(usage) naming the option for an item
// that is not a number (or, for words, an empty item).
std::vector<long long> int_list(const std::string &option, const std::string &value);
std::vector<double> float_list(const std::string &option, const std::string &value);
std::vector<std::string> word_list(const std::string &option, const std::string &value);
// The layer indices of a list option (e.g. --full-layers); empty when the option is absent.
// Each is clamped to [-1, 2^20], so a range check against the model names the bad value.
std::vector<int32_t> layer_list(Args &args, const std::string &option);

// The LoLA options every command takes (--attention, --chunk, --sparse, --feature-map,
// --feature-dim, --mixing, --scoring, --lola-seed, --gate-logit, --threads, --batch), as the
// context's parameters and the attention settings they hold; and their help.
lolapp::ContextParams context_params(Args &args);
const char *context_options_help();

// Sampling options (--temp, --top-k, --top-p, --min-p, --repeat-penalty, --repeat-last-n, --seed).
lolapp::SamplerParams sampler_params(Args &args);
const char *sampler_options_help();

// --device cpu|cuda|cuda:N (usage error otherwise).
lolapp::ModelParams model_params(Args &args);
const char *model_options_help();
lolapp::Model load_model(const std::string &path, const lolapp::ModelParams &params);
lolapp::Context new_context(const lolapp::Model &model, const lolapp::ContextParams &params);
// The attention settings with the model's values for LOLA_MODEL_DEFAULT (its C and lambda).
lolapp::AttentionParams resolved(const lolapp::AttentionParams &a, const lolapp::Model &model);
void feed(lolapp::Context &ctx, const std::vector<int32_t> &tokens);
std::vector<float> last_logits(const lolapp::Context &ctx);

std::vector<int32_t> tokenize(const lolapp::Model &model, const std::string &text, bool special);
std::string detokenize(const lolapp::Model &model, const std::vector<int32_t> &tokens);
std::string piece(const lolapp::Model &model, int32_t token);

int argmax(const std::vector<float> &logits);

int cmd_info(Args &args);
int cmd_run(Args &args);
int cmd_passkey(Args &args);
int cmd_cache(Args &args);
int cmd_eval(Args &args);
int cmd_perplexity(Args &args);

}  // namespace cli
