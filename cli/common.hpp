// common.hpp: what the `lola` subcommands share: argument parsing, the LoLA and sampling
// options; the C API through its C++ owners of lola.hpp (the CLI uses liblola through lola.h only).
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "lola.h"
#include "lola.hpp"

namespace cli {

// A usage or runtime error: printed as "lola: <message>" with exit status 1 (2 for usage).
struct Failure : std::runtime_error {
    Failure(const std::string &message, int status_code = 1)
        : std::runtime_error(message), code(status_code) {}
    int code;
};

// Throws Failure with liblola's message when s is not LOLA_OK.
void check(lola_status s, const std::string &what);

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

private:
    std::map<std::string, std::string> values_;
    std::map<std::string, bool> used_;
};

// The C API's objects, owned (capi/lola.hpp): a failed call throws lola::api::Error, which
// main() prints like a Failure with exit status 1.
using Model = lola::api::Model;
using Context = lola::api::Context;
using ContextParams = lola::api::ContextParams;

// The LoLA options every command takes (--attention, --chunk, --sparse, --feature-map,
// --feature-dim, --mixing, --scoring, --seed, --threads, --batch); prints their help.
ContextParams context_params(Args &args);
const char *context_options_help();

// Sampling options (--temp, --top-k, --top-p, --min-p, --repeat-penalty, --repeat-last-n, --seed).
lola_sampler_params sampler_params(Args &args);
const char *sampler_options_help();

std::vector<int32_t> tokenize(const Model &model, const std::string &text, bool special);
std::string detokenize(const Model &model, const std::vector<int32_t> &tokens);
std::string piece(const Model &model, int32_t token);

int argmax(const std::vector<float> &logits);

int cmd_info(Args &args);
int cmd_run(Args &args);
int cmd_passkey(Args &args);
int cmd_cache(Args &args);

}  // namespace cli
