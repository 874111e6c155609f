// sampler.cpp: see sampler.hpp for the exact procedure.
#include "text/sampler.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>

#include "base/error.hpp"

namespace lola::text {

namespace {

uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

std::string str(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
}

// "a comes before b": larger logit first, then lower id (a strict total order: no NaN here).
struct Before {
    template <class C>
    bool operator()(const C &a, const C &b) const {
        return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
    }
};

}  // namespace

void validate(const SamplerParams &p) {
    if (!std::isfinite(p.temperature))
        fail(Status::invalid_argument, "temperature must be finite, got " + str(p.temperature));
    if (std::isnan(p.top_p) || p.top_p < 0.f)
        fail(Status::invalid_argument, "top_p must be >= 0 (>= 1: off), got " + str(p.top_p));
    if (std::isnan(p.min_p) || p.min_p > 1.f)
        fail(Status::invalid_argument, "min_p must be <= 1 (<= 0: off), got " + str(p.min_p));
    if (!std::isfinite(p.repeat_penalty) || p.repeat_penalty <= 0.f)
        fail(Status::invalid_argument,
             "repeat_penalty must be finite and > 0 (1: off), got " + str(p.repeat_penalty));
    if (p.penalty_last_n < 0 || p.penalty_last_n > kMaxPenaltyLastN)
        fail(Status::invalid_argument, "penalty_last_n must be in [0, " +
                                           std::to_string(kMaxPenaltyLastN) + "], got " +
                                           std::to_string(p.penalty_last_n));
}

void Rng::reseed(uint64_t seed) {
    // SplitMix64 outputs fill the state (never all zero: SplitMix64's mix is a bijection).
    uint64_t x = seed;
    for (uint64_t &s : s_) {
        x += 0x9E3779B97F4A7C15ull;
        uint64_t z = x;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        s = z ^ (z >> 31);
    }
}

uint64_t Rng::next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
}

Sampler::Sampler(const SamplerParams &params) : params_(params), rng_(params.seed) {
    validate(params_);
    ring_.assign(static_cast<size_t>(params_.penalty_last_n), 0);
}

void Sampler::accept(int32_t token) {
    if (token < 0) fail(Status::invalid_argument, "token " + std::to_string(token) + " is negative");
    if (ring_.empty()) return;
    ring_[ring_next_] = token;
    ring_next_ = (ring_next_ + 1) % ring_.size();
    ring_count_ = std::min(ring_count_ + 1, ring_.size());
}

void Sampler::accept(const int32_t *tokens, size_t n) {
    if (n == 0) return;
    if (!tokens) fail(Status::null_pointer, "tokens is NULL");
    for (size_t i = 0; i < n; ++i)
        if (tokens[i] < 0)
            fail(Status::invalid_argument, "tokens[" + std::to_string(i) + "] = " +
                                               std::to_string(tokens[i]) +
                                               " is negative; nothing was recorded");
    // Only the last ring_.size() tokens can matter.
    const size_t first = n > ring_.size() ? n - ring_.size() : 0;
    for (size_t i = first; i < n; ++i) accept(tokens[i]);
}

void Sampler::reset(uint64_t seed) {
    rng_.reseed(seed);
    ring_next_ = ring_count_ = 0;
}

std::vector<int32_t> Sampler::history() const {
    std::vector<int32_t> out;
    out.reserve(ring_count_);
    const size_t cap = ring_.size();
    for (size_t i = 0; i < ring_count_; ++i) out.push_back(ring_[(ring_next_ + cap - ring_count_ + i) % cap]);
    return out;
}

int32_t Sampler::sample(const float *logits, size_t n_vocab) {
    if (!logits) fail(Status::null_pointer, "logits is NULL");
    if (n_vocab == 0 || n_vocab > static_cast<size_t>(std::numeric_limits<int32_t>::max()))
        fail(Status::invalid_argument, "n_vocab must be in [1, INT32_MAX], got " + std::to_string(n_vocab));
    // Allocations first: a failure leaves the sampler (history, generator) unchanged.
    work_.resize(n_vocab);
    if (params_.temperature > 0.f) {
        cand_.resize(n_vocab);
        weight_.resize(n_vocab);
    }
    seen_.resize(ring_count_);
    for (size_t i = 0; i < n_vocab; ++i) {
        const float x = logits[i];
        if (std::isnan(x)) fail(Status::non_finite, "logits[" + std::to_string(i) + "] is NaN");
        work_[i] = static_cast<double>(x);
    }

    // 1. repetition penalty, once per distinct id of the history
    if (params_.repeat_penalty != 1.f && ring_count_ > 0) {
        std::copy(ring_.begin(), ring_.begin() + static_cast<std::ptrdiff_t>(ring_count_), seen_.begin());
        std::sort(seen_.begin(), seen_.end());
        const auto end = std::unique(seen_.begin(), seen_.end());
        const double penalty = static_cast<double>(params_.repeat_penalty);
        for (auto it = seen_.begin(); it != end; ++it) {
            if (static_cast<size_t>(*it) >= n_vocab) continue;
            double &l = work_[static_cast<size_t>(*it)];
            l = l > 0 ? l / penalty : l * penalty;
        }
    }

    // 2. greedy: the largest logit, the lowest id among equals (also m for the draw)
    size_t best = 0;
    for (size_t i = 1; i < n_vocab; ++i)
        if (work_[i] > work_[best]) best = i;
    const int32_t token = params_.temperature <= 0.f ? static_cast<int32_t>(best) : draw(n_vocab, work_[best]);
    accept(token);
    return token;
}

int32_t Sampler::draw(size_t n_vocab, double m) {
    const Before before;
    // Weight at temperature 1 relative to the largest logit m (which every filter keeps).
    const auto weight1 = [m](double l) { return l == m ? 1.0 : std::exp(l - m); };
    const auto make = [&](size_t i) { return Candidate{work_[i], 0.0, static_cast<int32_t>(i)}; };
    const auto begin = cand_.begin();
    const auto at = [&](size_t j) { return begin + static_cast<std::ptrdiff_t>(j); };
    size_t n = n_vocab;     // candidates kept: cand_[0..n)
    size_t n_sorted = 0;    // cand_[0..n_sorted) are the first ones of the "before" order, sorted
    bool id_order = true;   // cand_[0..n) in ascending id order

    // 3. top-k
    if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < n_vocab) {
        n = static_cast<size_t>(params_.top_k);
        if (n <= 1024) {
            // one pass with a heap of the n best so far (its front: the last of them)
            for (size_t i = 0; i < n; ++i) cand_[i] = make(i);
            std::make_heap(begin, at(n), before);
            for (size_t i = n; i < n_vocab; ++i) {
                const Candidate c = make(i);
                if (before(c, cand_[0])) {
                    std::pop_heap(begin, at(n), before);
                    cand_[n - 1] = c;
                    std::push_heap(begin, at(n), before);
                }
            }
        } else {
            for (size_t i = 0; i < n_vocab; ++i) cand_[i] = make(i);
            std::nth_element(begin, at(n - 1), cand_.end(), before);
        }
        // Sorted, so that the sums below run in one order on every platform.
        std::sort(begin, at(n), before);
        n_sorted = n;
        id_order = false;
    } else {
        for (size_t i = 0; i < n_vocab; ++i) cand_[i] = make(i);
    }

    // 4. the weights at temperature 1, when a filter needs them
    const bool weighted = params_.top_p < 1.f || params_.min_p > 0.f;
    if (weighted)
        for (size_t j = 0; j < n; ++j) cand_[j].w = weight1(cand_[j].logit);

    // 5. top-p: the shortest prefix (in "before" order) reaching top_p of the total weight.
    // Without top-k, only as much of the order as needed is selected and sorted, in growing
    // blocks (nth_element, then a sort of the block).
    if (params_.top_p < 1.f) {
        double total = 0;
        for (size_t j = 0; j < n; ++j) total += cand_[j].w;
        const double target = static_cast<double>(params_.top_p) * total;
        double cum = 0;
        size_t keep = n, j = 0, step = 64;
        bool reached = false;
        while (!reached && j < n) {
            if (j == n_sorted) {
                const size_t upto = std::min(n, n_sorted + step);
                if (upto < n) std::nth_element(at(n_sorted), at(upto - 1), at(n), before);
                std::sort(at(n_sorted), at(upto), before);
                n_sorted = upto;
                step *= 4;
                id_order = false;
            }
            for (; j < n_sorted; ++j) {
                cum += cand_[j].w;
                if (cum >= target) {
                    keep = j + 1;
                    reached = true;
                    break;
                }
            }
        }
        n = keep;
    }

    // 6. min-p: p < min_p * max p  <=>  w < min_p (the largest has w = 1)
    if (params_.min_p > 0.f) {
        const double min_p = static_cast<double>(params_.min_p);
        const auto last = std::remove_if(begin, at(n), [&](const Candidate &c) { return c.w < min_p; });
        n = static_cast<size_t>(last - begin);
    }

    // 7. temperature, then the draw over the kept tokens in ascending id order: r = u * total,
    // the first token whose cumulative weight exceeds r. Many kept tokens out of id order are
    // spread into weight_[id] (zeros elsewhere add nothing) instead of being sorted.
    const double t = static_cast<double>(params_.temperature);
    const auto final_weight = [&](const Candidate &c) {
        return weighted && t == 1.0 ? c.w : c.logit == m ? 1.0 : std::exp((c.logit - m) / t);
    };
    const bool spread = !id_order && n > n_vocab / 16;
    size_t n_out;  // entries of weight_ to draw from; ids: cand_[j].id, or j when spread
    if (spread) {
        std::fill(weight_.begin(), weight_.begin() + static_cast<std::ptrdiff_t>(n_vocab), 0.0);
        for (size_t j = 0; j < n; ++j) weight_[static_cast<size_t>(cand_[j].id)] = final_weight(cand_[j]);
        n_out = n_vocab;
    } else {
        if (!id_order)
            std::sort(begin, at(n), [](const Candidate &a, const Candidate &b) { return a.id < b.id; });
        for (size_t j = 0; j < n; ++j) weight_[j] = final_weight(cand_[j]);
        n_out = n;
    }
    double total = 0;
    for (size_t j = 0; j < n_out; ++j) total += weight_[j];
    const double r = rng_.uniform() * total;
    double cum = 0;
    size_t pick = n_out;
    for (size_t j = 0; j < n_out; ++j) {
        cum += weight_[j];
        if (cum > r) {
            pick = j;
            break;
        }
    }
    if (pick == n_out) {  // rounding: the last token with a weight
        pick = n_out - 1;
        while (pick > 0 && weight_[pick] <= 0) --pick;
    }
    return spread ? static_cast<int32_t>(pick) : cand_[pick].id;
}

}  // namespace lola::text
