// test_sampler.cpp: token sampling through the C API (lola_sampler_*, lola_generate) and the
// core's generator: greedy, seeding, the support each filter keeps (hand-made logits), the order
// of the filters, the draw against softmax, the repetition penalty, bad input, a brute-force
// reference on a 49152-token vocabulary, and streaming generation on a tiny random Llama.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <unistd.h>

#include "capi_check.hpp"
#include "lola.h"
#include "text/sampler.hpp"
#include "tiny_llama.hpp"
#include "random_vectors.hpp"
#include "tiny_model_test.hpp"
#include "vocab_llama.hpp"

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

lola_sampler_params params(float temperature = 1.f, int32_t top_k = 0, float top_p = 1.f,
                           float min_p = 0.f, uint64_t seed = 7) {
    lola_sampler_params p;
    EXPECT_EQ(lola_sampler_params_init(&p), LOLA_OK);
    p.temperature = temperature;
    p.top_k = top_k;
    p.top_p = top_p;
    p.min_p = min_p;
    p.seed = seed;
    return p;
}

struct Handle {
    explicit Handle(const lola_sampler_params &p) {
        EXPECT_EQ(lola_sampler_create(&p, &s), LOLA_OK) << lola_last_error_message();
    }
    ~Handle() { lola_sampler_free(s); }
    Handle(const Handle &) = delete;
    Handle &operator=(const Handle &) = delete;
    int32_t sample(const std::vector<float> &logits) {
        int32_t t = -1;
        EXPECT_EQ(lola_sampler_sample(s, logits.data(), logits.size(), &t), LOLA_OK) << lola_last_error_message();
        return t;
    }
    std::vector<int32_t> draws(const std::vector<float> &logits, int n) {
        std::vector<int32_t> out;
        for (int i = 0; i < n; ++i) out.push_back(sample(logits));
        return out;
    }
    lola_sampler *s = nullptr;
};

std::set<int32_t> support(const lola_sampler_params &p, const std::vector<float> &logits, int n = 4000) {
    Handle s(p);
    const std::vector<int32_t> d = s.draws(logits, n);
    return std::set<int32_t>(d.begin(), d.end());
}

// Logits whose softmax is exactly `probs` (up to rounding).
std::vector<float> log_probs(const std::vector<double> &probs) {
    std::vector<float> l;
    for (double p : probs) l.push_back(static_cast<float>(std::log(p)));
    return l;
}

std::vector<double> softmax(const std::vector<float> &l, double t = 1.0) {
    const double m = *std::max_element(l.begin(), l.end());
    std::vector<double> p;
    double s = 0;
    for (float x : l) {
        p.push_back(std::exp((x - m) / t));
        s += p.back();
    }
    for (double &x : p) x /= s;
    return p;
}

std::vector<float> random_logits(size_t n, uint64_t seed, float scale = 3.f) {
    return lola_test::normal_vector(n, seed, scale);
}

int32_t argmax(const std::vector<float> &l) {
    return static_cast<int32_t>(std::max_element(l.begin(), l.end()) - l.begin());  // first max
}

// ---------------------------------------------------------------------------------------------

TEST(SamplerRng, KnownAnswers) {
    // xoshiro256** seeded with SplitMix64, values from an independent implementation.
    struct Case {
        uint64_t seed;
        uint64_t out[4];
    };
    const Case cases[] = {
        {0, {0x99ec5f36cb75f2b4ull, 0xbf6e1f784956452aull, 0x1a5f849d4933e6e0ull, 0x6aa594f1262d2d2cull}},
        {0x4C6F4C41, {0xed0f28fa50180105ull, 0x104e456662c9b14dull, 0xc80c9441161d92efull, 0x836bec4cf90bc79cull}},
        {12345, {0xbe6a36374160d49bull, 0x214aaa0637a688c6ull, 0xf69d16de9954d388ull, 0x0c60048c4e96e033ull}},
    };
    for (const Case &c : cases) {
        lola::text::Rng rng(c.seed);
        for (uint64_t expected : c.out) EXPECT_EQ(rng.next(), expected);
    }
    lola::text::Rng rng(3);
    for (int i = 0; i < 10000; ++i) {
        const double u = rng.uniform();
        ASSERT_GE(u, 0.0);
        ASSERT_LT(u, 1.0);
    }
}

TEST(Sampler, ParamsInitDefaults) {
    lola_sampler_params p;
    std::memset(&p, 0xAB, sizeof p);
    ASSERT_EQ(lola_sampler_params_init(&p), LOLA_OK);
    EXPECT_EQ(p.struct_size, sizeof p);
    EXPECT_FLOAT_EQ(p.temperature, 0.8f);
    EXPECT_EQ(p.top_k, 40);
    EXPECT_FLOAT_EQ(p.top_p, 0.95f);
    EXPECT_FLOAT_EQ(p.min_p, 0.05f);
    EXPECT_FLOAT_EQ(p.repeat_penalty, 1.0f);
    EXPECT_EQ(p.penalty_last_n, 64);
    EXPECT_EQ(p.seed, 0x4C6F4C41u);
    EXPECT_EQ(lola_sampler_params_init(nullptr), LOLA_ERR_NULL_POINTER);
}

TEST(Sampler, GreedyIsArgmaxLowestIdOnTies) {
    for (float t : {0.f, -1.f}) {
        lola_sampler_params p = params(t, 40, 0.9f, 0.05f);
        Handle s(p);
        for (uint64_t seed = 0; seed < 20; ++seed) {
            const std::vector<float> l = random_logits(1000, seed);
            EXPECT_EQ(s.sample(l), argmax(l));
        }
        EXPECT_EQ(s.sample({1.f, 3.f, 2.f, 3.f, 3.f}), 1);
        EXPECT_EQ(s.sample({-kInf, -kInf, -kInf}), 0);
        EXPECT_EQ(s.sample({0.f, kInf, 5.f, kInf}), 1);
        EXPECT_EQ(s.sample({-kInf, -3.f, -kInf}), 1);
    }
}

TEST(Sampler, SameSeedSameSequenceDifferentSeedsDiffer) {
    const std::vector<float> l = random_logits(500, 1, 1.f);
    lola_sampler_params p;
    ASSERT_EQ(lola_sampler_params_init(&p), LOLA_OK);  // the defaults: every filter on
    p.seed = 42;
    Handle a(p), b(p);
    p.seed = 43;
    Handle c(p);
    const std::vector<int32_t> da = a.draws(l, 200), db = b.draws(l, 200), dc = c.draws(l, 200);
    EXPECT_EQ(da, db);
    EXPECT_NE(da, dc);
    EXPECT_GT(std::set<int32_t>(da.begin(), da.end()).size(), 5u);
}

TEST(Sampler, ResetReseedsAndClearsHistory) {
    const std::vector<float> l = random_logits(300, 2, 1.f);
    lola_sampler_params p = params(1.f, 0, 1.f, 0.f, 5);
    p.repeat_penalty = 1.3f;
    Handle a(p);
    const std::vector<int32_t> first = a.draws(l, 50);
    ASSERT_EQ(lola_sampler_reset(a.s, 5), LOLA_OK);
    EXPECT_EQ(a.draws(l, 50), first);
    ASSERT_EQ(lola_sampler_reset(a.s, 99), LOLA_OK);
    lola_sampler_params q = p;
    q.seed = 99;
    Handle b(q);
    EXPECT_EQ(a.draws(l, 50), b.draws(l, 50));
    EXPECT_EQ(lola_sampler_reset(nullptr, 1), LOLA_ERR_NULL_HANDLE);
}

TEST(Sampler, TopKOneIsGreedy) {
    Handle s(params(1.5f, 1, 1.f, 0.f, 3));
    for (uint64_t seed = 0; seed < 50; ++seed) {
        const std::vector<float> l = random_logits(200, seed, 0.1f);  // flat: sampling would wander
        EXPECT_EQ(s.sample(l), argmax(l));
    }
    EXPECT_EQ(s.sample({2.f, 5.f, 5.f, 1.f}), 1);  // ties at the cut keep the lower id
}

TEST(Sampler, DrawMatchesSoftmax) {
    const std::vector<float> l = {1.0f, 0.2f, -0.5f, 2.0f, 0.0f, -2.0f, 1.5f, 0.7f};
    for (double t : {1.0, 0.5, 2.0}) {
        Handle s(params(static_cast<float>(t), 0, 1.f, 0.f, 11));
        const int n = 20000;
        std::vector<int> count(l.size());
        for (int i = 0; i < n; ++i) ++count[static_cast<size_t>(s.sample(l))];
        const std::vector<double> p = softmax(l, t);
        double chi2 = 0, max_diff = 0;
        for (size_t i = 0; i < l.size(); ++i) {
            const double e = p[i] * n;
            chi2 += (count[i] - e) * (count[i] - e) / e;
            max_diff = std::max(max_diff, std::abs(count[i] / double(n) - p[i]));
        }
        EXPECT_LT(max_diff, 0.01) << "temperature " << t;
        EXPECT_LT(chi2, 24.3) << "temperature " << t;  // 7 degrees of freedom, p = 0.001
    }
}

// The documented draw: u from the generator, the first token in id order whose cumulative
// weight exceeds u * total.
TEST(Sampler, DrawIsTheInverseCdfInIdOrder) {
    const std::vector<float> l = random_logits(64, 9, 1.f);
    Handle s(params(0.7f, 0, 1.f, 0.f, 1234));
    lola::text::Rng rng(1234);
    const double m = *std::max_element(l.begin(), l.end());
    for (int i = 0; i < 1000; ++i) {
        std::vector<double> w;
        double total = 0;
        for (float x : l) {
            w.push_back(x == m ? 1.0 : std::exp((double(x) - m) / double(0.7f)));
            total += w.back();
        }
        const double r = rng.uniform() * total;
        double cum = 0;
        int32_t expected = -1;
        for (size_t j = 0; j < w.size() && expected < 0; ++j)
            if ((cum += w[j]) > r) expected = static_cast<int32_t>(j);
        ASSERT_EQ(s.sample(l), expected) << "draw " << i;
    }
}

TEST(Sampler, TopKSupport) {
    const std::vector<float> l = {0.f, 5.f, 1.f, 4.f, 3.f, 2.f};
    EXPECT_EQ(support(params(1.f, 3), l), (std::set<int32_t>{1, 3, 4}));
    EXPECT_EQ(support(params(1.f, 6), l).size(), 6u);
    EXPECT_EQ(support(params(1.f, 100), l).size(), 6u);  // k >= vocabulary: off
    EXPECT_EQ(support(params(1.f, 0), l).size(), 6u);
    EXPECT_EQ(support(params(1.f, -3), l).size(), 6u);
    // equal logits: the lower ids survive the cut
    EXPECT_EQ(support(params(1.f, 2), {1.f, 1.f, 1.f, 1.f}), (std::set<int32_t>{0, 1}));
    EXPECT_EQ(support(params(1.f, 3), {0.f, 2.f, 1.f, 2.f, 1.f}), (std::set<int32_t>{1, 2, 3}));
}

TEST(Sampler, TopPSupport) {
    // probabilities 0.5, 0.3, 0.15, 0.05 at ids 2, 0, 3, 1
    const std::vector<float> l = log_probs({0.3, 0.05, 0.5, 0.15});
    EXPECT_EQ(support(params(1.f, 0, 0.4f), l), (std::set<int32_t>{2}));
    EXPECT_EQ(support(params(1.f, 0, 0.75f), l), (std::set<int32_t>{2, 0}));
    EXPECT_EQ(support(params(1.f, 0, 0.81f), l), (std::set<int32_t>{2, 0, 3}));
    EXPECT_EQ(support(params(1.f, 0, 0.96f), l), (std::set<int32_t>{0, 1, 2, 3}));
    EXPECT_EQ(support(params(1.f, 0, 0.f), l), (std::set<int32_t>{2}));  // at least one token
    EXPECT_EQ(support(params(1.f, 0, 1.f), l).size(), 4u);
    EXPECT_EQ(support(params(1.f, 0, 1.5f), l).size(), 4u);  // > 1: off
}

TEST(Sampler, MinPSupport) {
    // probabilities 0.4, 0.3, 0.2, 0.06, 0.04
    const std::vector<float> l = log_probs({0.4, 0.3, 0.2, 0.06, 0.04});
    EXPECT_EQ(support(params(1.f, 0, 1.f, 0.6f), l), (std::set<int32_t>{0, 1}));     // >= 0.24
    EXPECT_EQ(support(params(1.f, 0, 1.f, 0.2f), l), (std::set<int32_t>{0, 1, 2}));  // >= 0.08
    EXPECT_EQ(support(params(1.f, 0, 1.f, 0.12f), l), (std::set<int32_t>{0, 1, 2, 3}));
    EXPECT_EQ(support(params(1.f, 0, 1.f, 1.f), l), (std::set<int32_t>{0}));
    EXPECT_EQ(support(params(1.f, 0, 1.f, -1.f), l).size(), 5u);
}

TEST(Sampler, FilterOrder) {
    const std::vector<float> l = log_probs({0.4, 0.3, 0.2, 0.06, 0.04});
    // top-k before top-p: after top_k = 2 the two renormalized are 0.571/0.429, so top_p = 0.5
    // keeps one (top-p first would keep two)
    EXPECT_EQ(support(params(1.f, 2, 0.5f), l), (std::set<int32_t>{0}));
    // top-p before min-p: top_p = 0.5 on the full distribution keeps {0, 1}; min_p = 0.6 keeps
    // both (min-p first, then top-p on the renormalized pair, would keep only 0)
    EXPECT_EQ(support(params(1.f, 0, 0.5f, 0.6f), l), (std::set<int32_t>{0, 1}));
    // temperature last: a hot temperature does not widen what the filters kept...
    EXPECT_EQ(support(params(100.f, 0, 1.f, 0.6f), l), (std::set<int32_t>{0, 1}));
    EXPECT_EQ(support(params(100.f, 0, 0.75f), l), (std::set<int32_t>{0, 1, 2}));
    // ...nor does a cold one narrow it
    EXPECT_EQ(support(params(0.05f, 3), {1.f, 1.f, 1.f, 0.f}), (std::set<int32_t>{0, 1, 2}));
    // but it reshapes the draw among them: at T = 100 the pair {0, 1} is nearly even
    Handle s(params(100.f, 0, 1.f, 0.6f, 3));
    int zeros = 0;
    for (int i = 0; i < 10000; ++i) zeros += s.sample(l) == 0;
    EXPECT_NEAR(zeros / 10000.0, 0.5, 0.02);
}

TEST(Sampler, InfiniteLogits) {
    EXPECT_EQ(support(params(1.f), {0.f, kInf, 100.f, -kInf}), (std::set<int32_t>{1}));
    EXPECT_EQ(support(params(1.f), {0.f, kInf, 100.f, kInf}), (std::set<int32_t>{1, 3}));
    // two +inf share the mass: p = 0.5 each
    EXPECT_EQ(support(params(1.f, 0, 0.6f, 0.5f), {0.f, kInf, 100.f, kInf}), (std::set<int32_t>{1, 3}));
    EXPECT_EQ(support(params(1.f, 0, 0.5f), {0.f, kInf, 100.f, kInf}), (std::set<int32_t>{1}));
    EXPECT_EQ(support(params(1.f, 1), {0.f, kInf, 100.f, kInf}), (std::set<int32_t>{1}));
    EXPECT_EQ(support(params(1.f), {-kInf, 0.f, -kInf}), (std::set<int32_t>{1}));
    EXPECT_EQ(support(params(1.f), {-kInf, -kInf, -kInf}).size(), 3u);  // equally likely
    EXPECT_EQ(support(params(1.f), {std::numeric_limits<float>::max(), -std::numeric_limits<float>::max()}),
              (std::set<int32_t>{0}));
}

TEST(Sampler, RepetitionPenalty) {
    lola_sampler_params p = params(0.f);
    p.repeat_penalty = 1.5f;
    p.penalty_last_n = 3;
    {
        // greedy samples enter the history: 2.0 -> 1.33 < 1.9; then 1.9 -> 1.27 < 1.33
        Handle s(p);
        const std::vector<float> l = {2.0f, 1.9f, -1.f, -1.05f};
        EXPECT_EQ(s.draws(l, 3), (std::vector<int32_t>{0, 1, 0}));
    }
    {
        // negative logits are multiplied: -1 -> -1.5 < -1.2
        Handle s(p);
        const int32_t hist[] = {0};
        ASSERT_EQ(lola_sampler_accept(s.s, hist, 1), LOLA_OK);
        EXPECT_EQ(s.sample({-1.f, -1.2f, -3.f}), 1);
    }
    {
        // a repeated token is penalized once
        Handle s(p);
        const int32_t hist[] = {0, 0, 0};
        ASSERT_EQ(lola_sampler_accept(s.s, hist, 3), LOLA_OK);
        EXPECT_EQ(s.sample({2.0f, 1.4f}), 1);  // 2/1.5 = 1.33 < 1.4
        ASSERT_EQ(lola_sampler_reset(s.s, 0), LOLA_OK);
        ASSERT_EQ(lola_sampler_accept(s.s, hist, 3), LOLA_OK);
        EXPECT_EQ(s.sample({2.0f, 1.3f}), 0);  // not 2/1.5^3 = 0.59
    }
    {
        // only the last penalty_last_n tokens count; ids outside the vocabulary are ignored
        Handle s(p);
        const int32_t hist[] = {0, 1000, 2, 3};
        ASSERT_EQ(lola_sampler_accept(s.s, hist, 4), LOLA_OK);
        EXPECT_EQ(s.sample({2.0f, 1.9f, 0.f, 0.f}), 0);
        const int32_t again[] = {0};
        ASSERT_EQ(lola_sampler_accept(s.s, again, 1), LOLA_OK);
        EXPECT_EQ(s.sample({2.0f, 1.9f, 0.f, 0.f}), 1);
    }
    {
        // penalty < 1 encourages repeats; penalty_last_n = 0 or penalty 1 is off
        lola_sampler_params q = p;
        q.repeat_penalty = 0.5f;
        Handle s(q);
        const int32_t hist[] = {1};
        ASSERT_EQ(lola_sampler_accept(s.s, hist, 1), LOLA_OK);
        EXPECT_EQ(s.sample({2.0f, 1.5f}), 1);
        q.repeat_penalty = 1.5f;
        q.penalty_last_n = 0;
        Handle off(q);
        ASSERT_EQ(lola_sampler_accept(off.s, hist, 1), LOLA_OK);
        EXPECT_EQ(off.sample({1.f, 1.5f}), 1);
    }
    {
        // with sampling: the penalized token's probability drops as computed
        lola_sampler_params q = params(1.f, 0, 1.f, 0.f, 8);
        q.repeat_penalty = 2.f;
        q.penalty_last_n = 1;
        Handle s(q);
        const std::vector<float> l = {2.f, 1.f};
        const int32_t hist[] = {0};
        int zeros = 0;
        for (int i = 0; i < 10000; ++i) {
            ASSERT_EQ(lola_sampler_accept(s.s, hist, 1), LOLA_OK);  // 0 is always the last token
            zeros += s.sample(l) == 0;
        }
        EXPECT_NEAR(zeros / 10000.0, 0.5, 0.02);  // logits 1 and 1
    }
}

TEST(Sampler, NonFiniteAndBadArguments) {
    Handle s(params(1.f, 0, 1.f, 0.f, 3));
    std::vector<float> l = {1.f, 2.f, std::nanf(""), 0.f};
    int32_t t = 77;
    EXPECT_EQ(lola_sampler_sample(s.s, l.data(), l.size(), &t), LOLA_ERR_NON_FINITE);
    EXPECT_NE(std::string(lola_last_error_message()).find("NaN"), std::string::npos);
    EXPECT_EQ(t, 77);
    // the failed call consumed nothing: the sequence is a fresh sampler's
    l[2] = 0.5f;
    Handle fresh(params(1.f, 0, 1.f, 0.f, 3));
    EXPECT_EQ(s.draws(l, 20), fresh.draws(l, 20));
    Handle greedy(params(0.f));
    l[1] = std::nanf("");
    EXPECT_EQ(lola_sampler_sample(greedy.s, l.data(), l.size(), &t), LOLA_ERR_NON_FINITE);

    EXPECT_EQ(lola_sampler_sample(nullptr, l.data(), l.size(), &t), LOLA_ERR_NULL_HANDLE);
    EXPECT_EQ(lola_sampler_sample(s.s, nullptr, 4, &t), LOLA_ERR_NULL_POINTER);
    EXPECT_EQ(lola_sampler_sample(s.s, l.data(), l.size(), nullptr), LOLA_ERR_NULL_POINTER);
    EXPECT_EQ(lola_sampler_sample(s.s, l.data(), 0, &t), LOLA_ERR_INVALID_ARGUMENT);
    const int32_t bad[] = {1, -2};
    EXPECT_EQ(lola_sampler_accept(s.s, bad, 2), LOLA_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(lola_sampler_accept(s.s, nullptr, 0), LOLA_OK);
    EXPECT_EQ(lola_sampler_accept(s.s, nullptr, 1), LOLA_ERR_NULL_POINTER);
    EXPECT_EQ(lola_sampler_accept(nullptr, bad, 1), LOLA_ERR_NULL_HANDLE);
    lola_sampler_free(nullptr);
}

TEST(Sampler, CreateValidatesParams) {
    lola_sampler *s = reinterpret_cast<lola_sampler *>(1);
    lola_sampler_params p = params();
    EXPECT_EQ(lola_sampler_create(nullptr, &s), LOLA_ERR_NULL_POINTER);
    EXPECT_EQ(s, nullptr);
    EXPECT_EQ(lola_sampler_create(&p, nullptr), LOLA_ERR_NULL_POINTER);
    const auto status = [](lola_sampler_params q) {
        lola_sampler *out = nullptr;
        const lola_status st = lola_sampler_create(&q, &out);
        EXPECT_EQ(st == LOLA_OK, out != nullptr);
        lola_sampler_free(out);
        return st;
    };
    lola_sampler_params q = p;
    q.struct_size = sizeof q - 8;
    EXPECT_EQ(status(q), LOLA_ERR_VERSION_MISMATCH);
    q = p, q.struct_size = sizeof q + 8;
    EXPECT_EQ(status(q), LOLA_ERR_VERSION_MISMATCH);
    q = p, q.penalty_last_n = -1;
    EXPECT_EQ(status(q), LOLA_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(lola_last_error_message()).find("penalty_last_n"), std::string::npos);
    q = p, q.penalty_last_n = lola::text::kMaxPenaltyLastN + 1;
    EXPECT_EQ(status(q), LOLA_ERR_INVALID_ARGUMENT);
    q = p, q.temperature = std::nanf("");
    EXPECT_EQ(status(q), LOLA_ERR_INVALID_ARGUMENT);
    q = p, q.temperature = kInf;
    EXPECT_EQ(status(q), LOLA_ERR_INVALID_ARGUMENT);
    q = p, q.top_p = -0.1f;
    EXPECT_EQ(status(q), LOLA_ERR_INVALID_ARGUMENT);
    q = p, q.top_p = std::nanf("");
    EXPECT_EQ(status(q), LOLA_ERR_INVALID_ARGUMENT);
    q = p, q.min_p = 1.5f;
    EXPECT_EQ(status(q), LOLA_ERR_INVALID_ARGUMENT);
    q = p, q.min_p = std::nanf("");
    EXPECT_EQ(status(q), LOLA_ERR_INVALID_ARGUMENT);
    q = p, q.repeat_penalty = 0.f;
    EXPECT_EQ(status(q), LOLA_ERR_INVALID_ARGUMENT);
    q = p, q.repeat_penalty = -1.f;
    EXPECT_EQ(status(q), LOLA_ERR_INVALID_ARGUMENT);
    q = p, q.repeat_penalty = kInf;
    EXPECT_EQ(status(q), LOLA_ERR_INVALID_ARGUMENT);
    // accepted: negative temperature (greedy), top_p > 1 and top_k <= 0 (off), min_p < 0 (off)
    q = p, q.temperature = -2.f, q.top_p = 3.f, q.top_k = -1, q.min_p = -1.f;
    EXPECT_EQ(status(q), LOLA_OK);
    q = p, q.top_p = kInf, q.penalty_last_n = 0;
    EXPECT_EQ(status(q), LOLA_OK);
}

// A straightforward implementation of the documented procedure (full sorts, no shortcuts),
// fed with the same generator: the sampler must pick the same tokens.
int32_t reference_sample(const lola::text::SamplerParams &p, std::vector<float> logits,
                         const std::vector<int32_t> &history, lola::text::Rng &rng) {
    const size_t V = logits.size();
    std::vector<double> l(logits.begin(), logits.end());
    std::set<int32_t> seen(history.begin(), history.end());
    if (p.repeat_penalty != 1.f)
        for (int32_t id : seen)
            if (static_cast<size_t>(id) < V)
                l[id] = l[id] > 0 ? l[id] / p.repeat_penalty : l[id] * double(p.repeat_penalty);
    std::vector<int32_t> order(V);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return l[a] > l[b]; });
    if (p.temperature <= 0) return order[0];
    if (p.top_k > 0 && static_cast<size_t>(p.top_k) < V) order.resize(static_cast<size_t>(p.top_k));
    const double m = l[order[0]];
    const auto w1 = [&](int32_t id) { return l[id] == m ? 1.0 : std::exp(l[id] - m); };
    if (p.top_p < 1) {
        double total = 0, cum = 0;
        for (int32_t id : order) total += w1(id);
        size_t keep = order.size();
        for (size_t j = 0; j < order.size(); ++j)
            if ((cum += w1(order[j])) >= double(p.top_p) * total) {
                keep = j + 1;
                break;
            }
        order.resize(keep);
    }
    if (p.min_p > 0)
        order.erase(std::remove_if(order.begin(), order.end(), [&](int32_t id) { return w1(id) < double(p.min_p); }),
                    order.end());
    std::sort(order.begin(), order.end());
    std::vector<double> w;
    double total = 0;
    for (int32_t id : order) {
        w.push_back(l[id] == m ? 1.0 : std::exp((l[id] - m) / double(p.temperature)));
        total += w.back();
    }
    const double r = rng.uniform() * total;
    double cum = 0;
    for (size_t j = 0; j < order.size(); ++j)
        if ((cum += w[j]) > r) return order[j];
    return order.back();
}

TEST(Sampler, MatchesReferenceOnLargeVocabulary) {
    const size_t V = 49152;
    struct Case {
        float temperature;
        int32_t top_k;
        float top_p, min_p, penalty;
    };
    const Case cases[] = {
        {0.8f, 40, 0.95f, 0.05f, 1.f},  // the defaults
        {1.0f, 0, 0.9f, 0.f, 1.f},      // top-p over the whole vocabulary (growing partial sorts)
        {1.3f, 0, 0.99f, 0.f, 1.1f},
        {1.0f, 0, 1.f, 0.01f, 1.f},     // min-p alone
        {0.7f, 1000, 0.5f, 0.f, 1.2f},  // top-k by the heap
        {1.1f, 5000, 0.97f, 0.02f, 1.f},  // top-k by nth_element
        {1.0f, 0, 1.f, 0.f, 1.f},       // no filter
        {0.f, 0, 1.f, 0.f, 1.3f},       // greedy with penalty
    };
    // sharp enough that the top-p prefixes stay in the hundreds or thousands
    std::vector<std::vector<float>> logits;
    for (uint64_t i = 0; i < 20; ++i) logits.push_back(random_logits(V, 1000 + i, 2.5f));
    for (const Case &c : cases) {
        lola::text::SamplerParams p;
        p.temperature = c.temperature;
        p.top_k = c.top_k;
        p.top_p = c.top_p;
        p.min_p = c.min_p;
        p.repeat_penalty = c.penalty;
        p.penalty_last_n = 16;
        p.seed = 77;
        lola::text::Sampler s(p);
        lola::text::Rng rng(77);
        std::vector<int32_t> history;
        std::set<int32_t> seen;
        for (size_t i = 0; i < logits.size(); ++i) {
            const std::vector<float> &l = logits[i];
            const int32_t expected = reference_sample(p, l, history, rng);
            const int32_t got = s.sample(l.data(), V);
            ASSERT_EQ(got, expected) << "case top_k " << c.top_k << " top_p " << c.top_p << " draw " << i;
            history.push_back(got);
            if (history.size() > 16) history.erase(history.begin());
            seen.insert(got);
        }
        if (c.temperature > 0) {
            EXPECT_GT(seen.size(), 10u);
        }
    }
}

TEST(Sampler, LargeVocabularyTopPSupportIsExact) {
    // 300 tokens scattered over a 49152 vocabulary carry almost all the mass; top_p cuts inside
    // them at a point far from any rounding, past the first sorted block of 64.
    const size_t V = 49152;
    std::mt19937_64 g(5);
    std::vector<float> l(V);
    for (float &x : l) x = -20.f + std::uniform_real_distribution<float>(0.f, 1.f)(g);
    std::vector<int32_t> ids(V);
    std::iota(ids.begin(), ids.end(), 0);
    std::shuffle(ids.begin(), ids.end(), g);
    for (int i = 0; i < 300; ++i) l[static_cast<size_t>(ids[i])] = 0.3f * static_cast<float>(i % 7);
    std::vector<int32_t> order(V);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return l[a] > l[b]; });
    const std::vector<double> p = softmax(l);
    double cum = 0;
    std::vector<double> cums;
    for (int32_t id : order) cums.push_back(cum += p[static_cast<size_t>(id)]);
    const size_t want = 150;  // keep the first 150 of the order
    const float top_p = static_cast<float>((cums[want - 2] + cums[want - 1]) / 2);
    const std::set<int32_t> expected(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(want));
    // a hot temperature (applied after the filters) makes the kept tokens about equally likely
    EXPECT_EQ(support(params(100.f, 0, top_p, 0.f, 4), l, 2000), expected);
    // the same cut through top-k (sorted once) instead of the growing blocks
    EXPECT_EQ(support(params(100.f, 2000, top_p, 0.f, 4), l, 2000), expected);
}

TEST(Sampler, LargeVocabularySpeed) {
    const size_t V = 49152;
    const std::vector<float> l = random_logits(V, 3, 2.f);
    for (const lola_sampler_params &p : {params(0.8f, 40, 0.95f, 0.05f), params(1.f, 0, 0.95f, 0.f),
                                         params(1.f, 0, 1.f, 0.f)}) {
        Handle s(p);
        const auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < 100; ++i) s.sample(l);
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / 100;
        std::printf("top_k %d top_p %.2f: %.3f ms per sample over %zu tokens\n", p.top_k,
                    static_cast<double>(p.top_p), ms, V);
        EXPECT_LT(ms, 50.0);  // generous: a token's forward pass costs far more
    }
}

// ---------------------------------------------------------------------------------------------
// lola_generate on the tiny random Llama (97 tokens, no tokenizer vocabulary)

using lola_test::temp_path;

struct SamplerGenerate : lola_test::TinyModelTest {

    lola_context *context() {
        lola_test::ContextSpec cp;
        cp.a.chunk_size = 4;
        cp.a.sparse_capacity = 3;
        cp.a.feature_map = LOLA_FEATURE_MAP_ELU1;
        lola_context *ctx = nullptr;
        EXPECT_EQ(lola_context_create(model_, &cp.p, &ctx), LOLA_OK) << lola_last_error_message();
        return ctx;
    }
    lola_context *prompted() {
        lola_context *ctx = context();
        EXPECT_EQ(lola_context_feed(ctx, prompt_.data(), prompt_.size(), 0, nullptr), LOLA_OK);
        return ctx;
    }

    struct Collected {
        std::vector<int32_t> tokens;
        std::vector<bool> null_piece;
        size_t stop_after = SIZE_MAX;
    };
    static bool collect(int32_t token, const char *piece, size_t len, void *user) {
        auto *c = static_cast<Collected *>(user);
        c->tokens.push_back(token);
        c->null_piece.push_back(piece == nullptr && len == 0);
        return c->tokens.size() < c->stop_after;
    }

    const std::vector<int32_t> prompt_ = {5, 17, 42, 3, 88, 61, 9};
};

TEST_F(SamplerGenerate, GreedyEqualsManualFeedAndArgmax) {
    lola_context *ctx = prompted();
    Handle s(params(0.f));
    Collected got;
    size_t n = 0;
    ASSERT_EQ(lola_generate(ctx, s.s, 12, collect, &got, &n), LOLA_OK) << lola_last_error_message();
    EXPECT_EQ(n, 12u);
    ASSERT_EQ(got.tokens.size(), 12u);
    for (bool b : got.null_piece) EXPECT_TRUE(b);  // no tokenizer: no text
    EXPECT_STREQ(lola_last_error_message(), "");

    lola_context *ref = prompted();
    std::vector<int32_t> manual;
    std::vector<float> logits(97);
    for (int i = 0; i < 12; ++i) {
        ASSERT_EQ(lola_context_copy_logits(ref, -1, logits.data(), logits.size()), LOLA_OK);
        manual.push_back(argmax(logits));
        ASSERT_EQ(lola_context_feed(ref, &manual.back(), 1, 0, nullptr), LOLA_OK);
    }
    EXPECT_EQ(got.tokens, manual);
    // both contexts are at the same point with the same logits
    lola_context_info a{}, b{};
    a.struct_size = b.struct_size = sizeof a;
    ASSERT_EQ(lola_context_get_info(ctx, &a), LOLA_OK);
    ASSERT_EQ(lola_context_get_info(ref, &b), LOLA_OK);
    EXPECT_EQ(a.n_past, static_cast<int64_t>(prompt_.size() + 12));
    EXPECT_EQ(a.n_past, b.n_past);
    std::vector<float> la(97), lb(97);
    ASSERT_EQ(lola_context_copy_logits(ctx, -1, la.data(), la.size()), LOLA_OK);
    ASSERT_EQ(lola_context_copy_logits(ref, -1, lb.data(), lb.size()), LOLA_OK);
    EXPECT_EQ(la, lb);

    // again: deterministic, and generation continues from where it stopped
    lola_context *again = prompted();
    Handle s2(params(0.f));
    Collected got2;
    ASSERT_EQ(lola_generate(again, s2.s, 5, collect, &got2, nullptr), LOLA_OK);
    ASSERT_EQ(lola_generate(again, s2.s, 7, collect, &got2, nullptr), LOLA_OK);
    EXPECT_EQ(got2.tokens, manual);
    // a prompt fed with every row of logits: generation samples from the last row
    lola_context *rows = context();
    ASSERT_EQ(lola_context_feed(rows, prompt_.data(), prompt_.size(), LOLA_FEED_ALL_LOGITS, nullptr), LOLA_OK);
    Handle s3(params(0.f));
    Collected got3;
    ASSERT_EQ(lola_generate(rows, s3.s, 12, collect, &got3, nullptr), LOLA_OK);
    EXPECT_EQ(got3.tokens, manual);
    lola_context_free(rows);
    lola_context_free(again);
    lola_context_free(ctx);
    lola_context_free(ref);
}

TEST_F(SamplerGenerate, SeededSamplingIsReproducible) {
    lola_sampler_params p = params(1.2f, 0, 1.f, 0.f, 2024);
    std::vector<std::vector<int32_t>> runs;
    for (uint64_t seed : {2024u, 2024u, 2025u}) {
        p.seed = seed;
        lola_context *ctx = prompted();
        Handle s(p);
        Collected got;
        size_t n = 0;
        ASSERT_EQ(lola_generate(ctx, s.s, 24, collect, &got, &n), LOLA_OK) << lola_last_error_message();
        EXPECT_EQ(n, 24u);
        runs.push_back(got.tokens);
        lola_context_free(ctx);
    }
    EXPECT_EQ(runs[0], runs[1]);
    EXPECT_NE(runs[0], runs[2]);
    // the sampled tokens are what the sampler drew from the logits
    lola_context *ctx = prompted();
    p.seed = 2024;
    Handle s(p);
    std::vector<float> logits(97);
    for (int32_t expected : runs[0]) {
        ASSERT_EQ(lola_context_copy_logits(ctx, -1, logits.data(), logits.size()), LOLA_OK);
        ASSERT_EQ(s.sample(logits), expected);
        ASSERT_EQ(lola_context_feed(ctx, &expected, 1, 0, nullptr), LOLA_OK);
    }
    lola_context_free(ctx);
}

TEST_F(SamplerGenerate, StopsAtMaxTokensAndWhenTheCallbackSaysSo) {
    lola_context *ctx = prompted();
    Handle s(params(0.9f));
    Collected got;
    got.stop_after = 3;
    size_t n = 99;
    ASSERT_EQ(lola_generate(ctx, s.s, 10, collect, &got, &n), LOLA_OK);
    EXPECT_EQ(n, 3u);
    EXPECT_EQ(got.tokens.size(), 3u);
    lola_context_info info{};
    info.struct_size = sizeof info;
    ASSERT_EQ(lola_context_get_info(ctx, &info), LOLA_OK);
    EXPECT_EQ(info.n_past, static_cast<int64_t>(prompt_.size() + 3));  // the third was fed

    Collected more;
    ASSERT_EQ(lola_generate(ctx, s.s, 4, collect, &more, &n), LOLA_OK);
    EXPECT_EQ(n, 4u);
    EXPECT_EQ(more.tokens.size(), 4u);
    ASSERT_EQ(lola_generate(ctx, s.s, 0, collect, &more, &n), LOLA_OK);
    EXPECT_EQ(n, 0u);
    EXPECT_EQ(more.tokens.size(), 4u);
    ASSERT_EQ(lola_generate(ctx, s.s, 5, nullptr, nullptr, &n), LOLA_OK);  // no callback
    EXPECT_EQ(n, 5u);
    ASSERT_EQ(lola_context_get_info(ctx, &info), LOLA_OK);
    EXPECT_EQ(info.n_past, static_cast<int64_t>(prompt_.size() + 3 + 4 + 5));
    lola_context_free(ctx);
}

TEST_F(SamplerGenerate, NeedsLogitsAndHandles) {
    lola_context *ctx = context();
    Handle s(params(0.f));
    size_t n = 99;
    EXPECT_EQ(lola_generate(ctx, s.s, 4, collect, nullptr, &n), LOLA_ERR_UNSUPPORTED);
    EXPECT_NE(std::string(lola_last_error_message()).find("feed the prompt first"), std::string::npos);
    EXPECT_EQ(n, 0u);
    ASSERT_EQ(lola_context_feed(ctx, prompt_.data(), prompt_.size(), 0, nullptr), LOLA_OK);
    ASSERT_EQ(lola_context_reset(ctx), LOLA_OK);
    EXPECT_EQ(lola_generate(ctx, s.s, 4, collect, nullptr, &n), LOLA_ERR_UNSUPPORTED);
    EXPECT_EQ(lola_generate(nullptr, s.s, 4, collect, nullptr, &n), LOLA_ERR_NULL_HANDLE);
    EXPECT_EQ(lola_generate(ctx, nullptr, 4, collect, nullptr, &n), LOLA_ERR_NULL_HANDLE);
    lola_context_free(ctx);
}

TEST_F(SamplerGenerate, AbortCallbackStopsBetweenTokens) {
    lola_context *ctx = prompted();
    int polls = 0;
    ASSERT_EQ(lola_context_set_abort_callback(ctx, [](void *u) { return ++*static_cast<int *>(u) > 2; }, &polls),
              LOLA_OK);
    Handle s(params(0.f));
    Collected got;
    size_t n = 0;
    EXPECT_EQ(lola_generate(ctx, s.s, 10, collect, &got, &n), LOLA_ERR_ABORTED);
    EXPECT_EQ(n, 2u);
    EXPECT_EQ(got.tokens.size(), 2u);
    // the two tokens were fed and the logits stay valid: generation can go on
    ASSERT_EQ(lola_context_set_abort_callback(ctx, nullptr, nullptr), LOLA_OK);
    ASSERT_EQ(lola_generate(ctx, s.s, 3, collect, &got, &n), LOLA_OK);
    EXPECT_EQ(n, 3u);
    lola_context *ref = prompted();
    Handle s2(params(0.f));
    Collected want;
    ASSERT_EQ(lola_generate(ref, s2.s, 5, collect, &want, nullptr), LOLA_OK);
    EXPECT_EQ(got.tokens, want.tokens);
    lola_context_free(ref);
    lola_context_free(ctx);
}


// ---------------------------------------------------------------------------------------------
// lola_generate with a tokenizer: the tiny random Llama's weights (TinyLlama's recipe) plus a
// 97-token byte-level vocabulary: printable ASCII characters, and "<|endoftext|>" (a control
// token, the EOS) at id `eos` when eos >= 0.

std::string vocab_text(int id, int eos) {
    if (id == eos) return "<|endoftext|>";
    const char c = static_cast<char>(33 + id % 94);
    return id < 94 ? std::string(1, c) : std::string(2, c);
}

std::string write_vocab_model(const std::string &path, int eos) {
    return lola_test::write_vocab_llama(path, [eos](int id) { return vocab_text(id, eos); }, eos);
}

struct GenRun {
    std::vector<int32_t> tokens;
    std::vector<std::string> pieces;
    size_t n = 0;
    int64_t n_past = 0;
};

GenRun generate_on(const std::string &path, size_t max_tokens) {
    GenRun run;
    lola_model_params mp;
    EXPECT_EQ(lola_model_params_init(&mp), LOLA_OK);
    lola_model *model = nullptr;
    EXPECT_EQ(lola_model_load(path.c_str(), &mp, &model), LOLA_OK) << lola_last_error_message();
    if (!model) return run;
    lola_test::ContextSpec cp;
    cp.a.feature_map = LOLA_FEATURE_MAP_ELU1;
    lola_context *ctx = nullptr;
    EXPECT_EQ(lola_context_create(model, &cp.p, &ctx), LOLA_OK);
    const int32_t prompt[] = {40, 41, 42, 43};
    EXPECT_EQ(lola_context_feed(ctx, prompt, 4, 0, nullptr), LOLA_OK);
    Handle s(params(1.f, 0, 1.f, 0.f, 31337));
    const auto on_token = [](int32_t token, const char *piece, size_t len, void *user) {
        auto *r = static_cast<GenRun *>(user);
        r->tokens.push_back(token);
        r->pieces.push_back(piece ? std::string(piece, len) : std::string("<NULL>"));
        return true;
    };
    EXPECT_EQ(lola_generate(ctx, s.s, max_tokens, on_token, &run, &run.n), LOLA_OK) << lola_last_error_message();
    lola_context_info info{};
    info.struct_size = sizeof info;
    EXPECT_EQ(lola_context_get_info(ctx, &info), LOLA_OK);
    run.n_past = info.n_past - 4;
    lola_context_free(ctx);
    lola_model_free(model);
    return run;
}

TEST(SamplerGenerateText, PiecesAndEndOfGeneration) {
    const std::string path = temp_path("sampler_vocab.gguf");
    // no EOS in the vocabulary: every token streams with its text
    const GenRun all = generate_on(write_vocab_model(path, -1), 40);
    ASSERT_EQ(all.n, 40u);
    ASSERT_EQ(all.tokens.size(), 40u);
    EXPECT_EQ(all.n_past, 40);
    for (size_t i = 0; i < all.tokens.size(); ++i) EXPECT_EQ(all.pieces[i], vocab_text(all.tokens[i], -1));
    // the first token drawn a second time or later that was not drawn before becomes the EOS:
    // the same seed draws the same tokens up to it, and generation stops there without it
    size_t k = 0;
    for (size_t i = 2; i < all.tokens.size() && k == 0; ++i)
        if (std::find(all.tokens.begin(), all.tokens.begin() + static_cast<std::ptrdiff_t>(i), all.tokens[i]) ==
            all.tokens.begin() + static_cast<std::ptrdiff_t>(i))
            k = i;
    ASSERT_GT(k, 0u) << "no new token after the second draw";
    const int eos = all.tokens[k];
    const GenRun stopped = generate_on(write_vocab_model(path, eos), 40);
    EXPECT_EQ(stopped.n, k);
    EXPECT_EQ(stopped.n_past, static_cast<int64_t>(k));  // the EOS was not fed
    EXPECT_EQ(stopped.tokens, std::vector<int32_t>(all.tokens.begin(), all.tokens.begin() + static_cast<std::ptrdiff_t>(k)));
    for (size_t i = 0; i < stopped.tokens.size(); ++i)
        EXPECT_EQ(stopped.pieces[i], vocab_text(stopped.tokens[i], eos));
    std::filesystem::remove(path);
}

}  // namespace
