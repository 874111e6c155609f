// sampler.hpp: picks the next token from a row of logits: repetition penalty, top-k, top-p,
// min-p, temperature, then a draw from a portable seeded generator (xoshiro256**), so that the
// same seed gives the same tokens on every platform and standard library.
//
// The exact procedure of sample(logits, V):
//  0. Every logit must be a number: a NaN fails with Status::non_finite (nothing changes).
//     +inf and -inf are allowed and treated as limits (see the weights below).
//  1. Repetition penalty (repeat_penalty != 1, penalty_last_n > 0): every distinct token id of
//     the last penalty_last_n accepted or sampled tokens that lies in [0, V) has its logit l
//     replaced, once, by l / penalty when l > 0 and by l * penalty otherwise (llama.cpp's
//     convention). Computed in double, so nothing overflows.
//  2. Greedy (temperature <= 0): the token with the largest penalized logit; among equal
//     largest logits, the lowest id. Steps 3-7 are skipped and the generator is not used.
//  3. Top-k (0 < top_k < V): keep the top_k tokens of the order "larger logit first, then
//     lower id", a strict total order, so ties at the cut keep the lower ids.
//  4. Weights at temperature 1: with m the largest logit kept, w = exp(l - m), and w = 1 for
//     every token whose logit equals m (so one or several +inf logits share all the mass, and
//     logits that are all -inf are all equally likely). p = w / sum(w) over the kept tokens.
//  5. Top-p (top_p < 1): keep the shortest prefix of the kept tokens, in the order of step 3,
//     whose cumulative weight reaches top_p * sum(w) (at least one token).
//  6. Min-p (min_p > 0): drop the kept tokens with p < min_p * max p, i.e. w < min_p (the top
//     token, w = 1, always stays).
//  7. Temperature: the final weights of the kept tokens are exp((l - m) / temperature) (1 where
//     l equals m); with u a uniform double in [0, 1) from the generator (one 64-bit draw), the
//     result is the first kept token, in ascending id order, whose cumulative final weight
//     exceeds u * sum(final weights).
// Every sample (greedy or not) is then appended to the history.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace lola::text {

struct SamplerParams {
    float temperature = 0.8f;  // <= 0: greedy
    int32_t top_k = 40;        // <= 0 (or >= vocabulary size): off
    float top_p = 0.95f;       // >= 0; >= 1: off
    float min_p = 0.05f;       // <= 0: off; at most 1
    float repeat_penalty = 1.f;  // > 0; 1: off
    int32_t penalty_last_n = 64;  // >= 0, at most kMaxPenaltyLastN; 0: off
    uint64_t seed = 0x4C6F4C41;
};

// The largest penalty_last_n accepted (the history ring is allocated at construction).
constexpr int32_t kMaxPenaltyLastN = 1 << 20;

// Throws Error(invalid_argument) naming the first parameter out of range: a NaN or infinite
// temperature, top_p or min_p that is NaN, top_p < 0, min_p > 1, repeat_penalty not finite
// and > 0, penalty_last_n < 0 or > kMaxPenaltyLastN.
void validate(const SamplerParams &params);

// xoshiro256** (Blackman and Vigna), seeded through SplitMix64. Portable and reproducible.
class Rng {
public:
    explicit Rng(uint64_t seed = 0) { reseed(seed); }
    void reseed(uint64_t seed);
    uint64_t next();
    double uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }

private:
    uint64_t s_[4];
};

class Sampler {
public:
    explicit Sampler(const SamplerParams &params);  // validates (throws Error)

    // Samples from logits[0..n_vocab) as the header comment describes and records the token.
    // Throws Error(non_finite) for a NaN logit and Error(invalid_argument) for n_vocab 0 or
    // above INT32_MAX; on failure the sampler is unchanged.
    int32_t sample(const float *logits, size_t n_vocab);

    // Appends tokens to the history (the repetition penalty's window). Ids must be >= 0
    // (Error(invalid_argument) otherwise, nothing recorded); ids outside a later call's
    // vocabulary are ignored by that call.
    void accept(const int32_t *tokens, size_t n);
    void accept(int32_t token);

    // Clears the history and reseeds the generator.
    void reset(uint64_t seed);

    const SamplerParams &params() const { return params_; }
    // The history, oldest first (at most penalty_last_n tokens).
    std::vector<int32_t> history() const;

private:
    struct Candidate {
        double logit;
        double w;  // weight at temperature 1 (steps 4-6)
        int32_t id;
    };
    int32_t draw(size_t n_vocab, double max_logit);

    SamplerParams params_;
    Rng rng_;
    std::vector<int32_t> ring_;  // [penalty_last_n]
    size_t ring_next_ = 0, ring_count_ = 0;
    // Scratch, reused between calls.
    std::vector<double> work_;
    std::vector<Candidate> cand_;
    std::vector<int32_t> seen_;
    std::vector<double> weight_;
};

}  // namespace lola::text
