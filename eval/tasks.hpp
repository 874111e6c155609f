// tasks.hpp: the evaluation tasks of `lola eval` as prompt generators and answer scorers, pure
// functions of a tokenizer, a length, a needle depth and a seed (docs/EVAL.md defines each).
//
// - passkey: the pass-key test (Mohtashami & Jaggi 2023): a five-digit key in repeated filler.
// - niah_prose, niah_multikey, niah_multivalue, niah_multiquery: RULER's needle tasks (Hsieh et
//   al. 2024) with "special magic numbers" (seven digits) for word keys in real prose.
// - mqar: multi-query associative recall (Arora et al. 2023, Zoology) at the model level: a list
//   of "The code for KEY is NNNN." pairs, then queries, one per needle depth.
//
// A prompt is `prefix` followed by one query per scored question; each query is asked from the
// state after the prefix (the runner clones the context), so one prefill answers every query.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace lola_eval {

// Text to token ids (no special tokens); the runner passes the model's tokenizer.
using Tokenizer = std::function<std::vector<int32_t>(const std::string &)>;

// Token span [begin, end) of a needle in the prefix.
using Span = std::pair<int64_t, int64_t>;

struct Query {
    std::vector<int32_t> tokens;        // appended after the prefix
    double depth = 0;                   // where its answer sits, 0..1 of the haystack
    std::vector<std::string> expected;  // the values a correct answer contains
    int32_t answer_tokens = 12;         // greedy tokens generated for the answer
};

struct Prompt {
    std::vector<int32_t> prefix;  // begins with the beginning-of-sequence token when the model has one
    std::vector<Span> needles;    // where the needles are in the prefix (target first)
    std::vector<std::string> distractors;  // values in the prompt that answer no query
    std::vector<Query> queries;
};

// Prose for the niah_ tasks, as tokens, with where its sentences end (a needle goes in between).
struct Haystack {
    std::vector<int32_t> tokens;
    std::vector<bool> sentence_end;  // [tokens.size()]: the token ends a sentence
};

struct TaskInput {
    Tokenizer tokenize;
    std::vector<int32_t> bos;        // prepended to every prefix ({} if the model has none)
    int64_t length = 1024;           // prompt tokens, prefix + query, about (never above)
    std::vector<double> depths;      // one prompt per depth, or for mqar one query per depth
    uint64_t seed = 1;
    const Haystack *haystack = nullptr;  // the niah_ tasks' prose, cycled as needed
};

// The task names, in the report's order.
const std::vector<std::string> &task_names();
bool is_needle_task(const std::string &task);  // every task but perplexity and cost

// The prompts of `task` for input.depths: one per depth (mqar: one prompt, one query per depth).
// Throws std::invalid_argument for an unknown task, a missing haystack, or a length too short
// to hold the needles and the question (the message says which).
std::vector<Prompt> make_prompts(const std::string &task, const TaskInput &input);

// Every maximal run of ASCII digits in `answer`, in order.
std::vector<std::string> numbers_in(const std::string &answer);

// Score of an answer in [0, 1]: single-value queries score 1 when the first number of the
// answer is the expected value (a distractor first scores 0); multi-value queries score the
// fraction of expected values among the answer's numbers.
double score_answer(const Query &query, const std::string &answer);

// A 64-bit mix (splitmix64) to derive the seed of each trial from the run's seed.
uint64_t mix_seed(uint64_t a, uint64_t b);

}  // namespace lola_eval
