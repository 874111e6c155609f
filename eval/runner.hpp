// runner.hpp: runs an evaluation suite on one model through liblola's C API (lola.hpp) and
// returns the report (eval/REPORT_SCHEMA.md): every trial of every needle task for every
// variant at every length and depth, the lambda sweep, perplexity, the cost of each variant and
// a cache-residency snapshot. Deterministic for a fixed seed, apart from the timings in "cost"
// and "seconds". Used by `lola eval` (cli/cmd_eval.cpp) and Python's lola.eval.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lola.hpp"

namespace lola_eval {

using Report = nlohmann::ordered_json;

struct Config {
    std::string model_path;
    lolapp::ModelParams model;      // device
    lolapp::ContextParams context;  // threads, feature map, mixing, gate, and C, lambda (model default)
    std::vector<std::string> tasks;     // task_names() subset; empty: all
    std::vector<std::string> variants;  // variant_names() subset; empty: all
    std::vector<int64_t> lengths = {1024, 2048};
    std::vector<double> depths = {0.0, 0.25, 0.5, 0.75, 1.0};
    int32_t trials = 1;
    uint64_t seed = 1;
    std::vector<int32_t> lambdas = {16, 64, 256};  // the budget sweep; empty: none
    std::string sweep_task = "passkey";
    int64_t sweep_length = 0;        // 0: the largest of `lengths`
    std::vector<int64_t> cost_lengths;  // empty: `lengths`
    int32_t decode_tokens = 32;      // timed decode steps of the cost task
    std::string haystack;            // prose of the niah_ tasks (a text file)
    std::string text;                // perplexity text; empty: the haystack
    int32_t perplexity_windows = 4;  // most windows of each length scored
    bool residency = true;
    std::string command;  // how the run was started, for the report
};

struct Progress {
    int64_t done = 0, total = 0;  // tokens processed (prompts, answers, scored text)
    double elapsed = 0, eta = 0;  // seconds
    std::string what;             // "niah_prose 2048 · LoLA"
};
// Called after every step of at most a few hundred tokens; return false to stop the run
// (run() then throws lolapp::Error with LOLA_ERR_ABORTED).
using ProgressFn = std::function<bool(const Progress &)>;

// The default haystack and perplexity text: prose every Debian system has (the GPL's text),
// or "" when it is absent.
std::string default_text();

// The settings of a Config from a JSON object whose keys are Config's field names (tasks,
// variants, lengths, depths, trials, seed, lambdas, sweep_task, sweep_length, cost_lengths,
// decode_tokens, haystack, text, perplexity_windows, residency, command), each optional, into
// `config` (its model path and parameters are left as they are). std::invalid_argument names an
// unknown key or a value of the wrong type. (Python's lola.eval passes its keywords this way.)
void apply_settings(Config &config, const std::string &json);

// Runs the suite. Throws std::invalid_argument for a bad configuration (the message says what)
// and lolapp::Error for what liblola refuses (the model file, a parameter).
Report run(const Config &config, const ProgressFn &progress = {});

// The Markdown summary of a report: per task accuracy by variant and length, the sweep, the
// perplexity and cost tables, what the sparse cache held, links to `plots` (file names beside
// the summary) and the command.
std::string summary_markdown(const Report &report, const std::vector<std::string> &plots = {});

}  // namespace lola_eval
