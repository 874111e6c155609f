// tasks.cpp: see tasks.hpp. The texts of the templates follow the tasks' sources (the pass-key
// test's preamble and filler, RULER's needle and question wording); docs/EVAL.md quotes them.
#include "tasks.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <unordered_set>

namespace lola_eval {

namespace {

// --- the pass-key test ------------------------------------------------------------------------
const char *kPasskeyPreamble =
    "There is an important info hidden inside a lot of irrelevant text. Find it and memorize "
    "it. I will quiz you about the important information there.";
const char *kPasskeyFiller =
    " The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.";
const char *kPasskeyQuestion = " What is the pass key? The pass key is";

// --- RULER's needles --------------------------------------------------------------------------
const char *kNiahHeader =
    "Some special magic numbers are hidden within the following text. Make sure to memorize it. "
    "I will quiz you about the numbers afterwards.\n";

// --- associative recall -----------------------------------------------------------------------
const char *kMqarHeader =
    "Here is a list of keys and their codes. Memorize them: you will be asked for some of the "
    "codes afterwards.\n";

// Word keys: adjective-noun (and a second noun once those run out), as RULER's are.
const char *kAdjectives[] = {
    "able", "ancient", "bold", "brave", "bright", "broad", "calm", "careful", "cheap", "clean",
    "clever", "cold", "cool", "curious", "dark", "deep", "eager", "early", "easy", "empty",
    "fair", "famous", "fancy", "fast", "fierce", "fine", "flat", "fresh", "friendly", "gentle",
    "giant", "glad", "golden", "grand", "great", "green", "happy", "hard", "heavy", "hidden",
    "honest", "huge", "humble", "kind", "large", "late", "lazy", "light", "little", "lively",
    "long", "loud", "lucky", "modern", "narrow", "neat", "new", "noble", "odd", "old",
    "pale", "plain", "polite", "proud", "quick", "quiet", "rapid", "rare", "rich", "rough",
    "round", "royal", "rusty", "sharp", "shiny", "short", "silent", "simple", "slow", "small",
    "smooth", "soft", "solid", "strange", "strong", "sweet", "tall", "thin", "tiny", "warm",
    "wide", "wild", "wise", "young"};
const char *kNouns[] = {
    "anchor", "apple", "arrow", "badge", "basket", "beach", "bell", "bird", "blanket", "boat",
    "bottle", "branch", "bread", "bridge", "brush", "bucket", "button", "cabin", "camera",
    "candle", "canyon", "carpet", "castle", "chair", "cloud", "coast", "coin", "comet", "copper",
    "cottage", "crown", "desert", "diamond", "dragon", "drum", "eagle", "engine", "falcon",
    "feather", "field", "flower", "forest", "fountain", "garden", "glacier", "hammer", "harbor",
    "helmet", "island", "jacket", "kettle", "ladder", "lantern", "lemon", "library", "marble",
    "meadow", "mirror", "monkey", "mountain", "needle", "ocean", "orchard", "palace", "pencil",
    "piano", "pillow", "planet", "pocket", "pumpkin", "puzzle", "rabbit", "river", "rocket",
    "saddle", "shadow", "silver", "spider", "statue", "storm", "tablet", "temple", "thunder",
    "tiger", "tower", "tunnel", "valley", "violin", "wagon", "whale", "window", "wizard"};
constexpr uint64_t kNA = sizeof(kAdjectives) / sizeof(kAdjectives[0]);
constexpr uint64_t kNN = sizeof(kNouns) / sizeof(kNouns[0]);

std::string key_name(uint64_t i) {
    std::string k = std::string(kAdjectives[i % kNA]) + "-" + kNouns[(i / kNA) % kNN];
    if (i >= kNA * kNN) k += std::string("-") + kNouns[(i / (kNA * kNN)) % kNN];
    return k;
}

class Rng {
public:
    explicit Rng(uint64_t seed) : s_(seed) {}
    uint64_t next() { return mix_seed(s_++, 0x9E3779B97F4A7C15ull); }
    uint64_t below(uint64_t n) { return n ? next() % n : 0; }

private:
    uint64_t s_;
};

// `count` distinct values of [lo, lo + span), in random order.
std::vector<uint64_t> distinct(Rng &rng, uint64_t count, uint64_t lo, uint64_t span) {
    if (count > span) throw std::invalid_argument("internal: too few distinct values");
    std::vector<uint64_t> out;
    std::unordered_set<uint64_t> seen;
    while (out.size() < count) {
        const uint64_t v = lo + rng.below(span);
        if (seen.insert(v).second) out.push_back(v);
    }
    return out;
}

// `count` distinct word keys.
std::vector<std::string> keys(Rng &rng, uint64_t count, uint64_t universe) {
    std::vector<std::string> out;
    for (uint64_t i : distinct(rng, count, 0, std::max(universe, count))) out.push_back(key_name(i));
    return out;
}

std::vector<int32_t> cat(std::vector<int32_t> a, const std::vector<int32_t> &b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

void too_short(const std::string &task, int64_t length, int64_t needed) {
    throw std::invalid_argument(task + ": a length of " + std::to_string(length) +
                                " tokens cannot hold the needles and the question (" +
                                std::to_string(needed) + " tokens needed at least)");
}

// Needles inserted into a haystack of `room` tokens at token offsets `at` (one per needle):
// the prefix (header, haystack with the needles, and nothing else) and each needle's span.
struct Placed {
    std::vector<int32_t> prefix;
    std::vector<Span> spans;
};

Placed place(std::vector<int32_t> prefix, const std::vector<int32_t> &hay,
             const std::vector<std::vector<int32_t>> &needles, const std::vector<int64_t> &at) {
    std::vector<size_t> order(needles.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return at[a] < at[b]; });
    std::vector<Span> spans(needles.size());
    int64_t done = 0;
    for (size_t i : order) {
        prefix.insert(prefix.end(), hay.begin() + done, hay.begin() + at[i]);
        done = at[i];
        const auto begin = static_cast<int64_t>(prefix.size());
        prefix.insert(prefix.end(), needles[i].begin(), needles[i].end());
        spans[i] = {begin, static_cast<int64_t>(prefix.size())};
    }
    prefix.insert(prefix.end(), hay.begin() + done, hay.end());
    return {std::move(prefix), std::move(spans)};
}

// --- pass key ---------------------------------------------------------------------------------
std::vector<Prompt> passkey(const TaskInput &in) {
    const std::vector<int32_t> preamble = cat(in.bos, in.tokenize(kPasskeyPreamble));
    const std::vector<int32_t> filler = in.tokenize(kPasskeyFiller);
    const std::vector<int32_t> question = in.tokenize(kPasskeyQuestion);
    std::vector<Prompt> out;
    for (size_t d = 0; d < in.depths.size(); ++d) {
        Rng rng(mix_seed(in.seed, d));
        const std::string key = std::to_string(10000 + rng.below(90000));
        const std::vector<int32_t> needle = in.tokenize(" The pass key is " + key + ". Remember it. " +
                                                        key + " is the pass key.");
        const auto fixed = static_cast<int64_t>(preamble.size() + needle.size() + question.size());
        const auto per = static_cast<int64_t>(filler.size());
        if (per < 1 || in.length < fixed + per) too_short("passkey", in.length, fixed + per);
        const int64_t reps = (in.length - fixed) / per;
        const auto before = static_cast<int64_t>(std::floor(in.depths[d] * static_cast<double>(reps)));
        std::vector<int32_t> hay;
        for (int64_t r = 0; r < reps; ++r) hay.insert(hay.end(), filler.begin(), filler.end());
        Placed p = place(preamble, hay, {needle}, {std::min(before, reps) * per});
        Prompt prompt;
        prompt.prefix = std::move(p.prefix);
        prompt.needles = std::move(p.spans);
        prompt.queries.push_back({question, in.depths[d], {key}, 8});
        out.push_back(std::move(prompt));
    }
    return out;
}

// --- RULER needles in prose --------------------------------------------------------------------
struct NiahShape {
    int keys;          // distinct keys in the prompt
    int values;        // values per key (multivalue: 4)
    int queried;       // keys asked for (multiquery: all)
    bool distractors;  // the other keys' values answer nothing (multikey)
};

NiahShape niah_shape(const std::string &task) {
    if (task == "niah_prose") return {1, 1, 1, false};
    if (task == "niah_multikey") return {4, 1, 1, true};
    if (task == "niah_multivalue") return {1, 4, 1, false};
    return {4, 1, 4, false};  // niah_multiquery
}

std::string joined_keys(const std::vector<std::string> &k) {
    std::string s;
    for (size_t i = 0; i < k.size(); ++i)
        s += (i == 0 ? "" : i + 1 == k.size() ? " and " : ", ") + k[i];
    return s;
}

// The offset in the haystack closest to `want` (searching forward first) right after a
// sentence end, so that a needle never splits a sentence; `want` itself when none is near.
int64_t sentence_offset(const Haystack &h, int64_t start, int64_t room, int64_t want) {
    auto ends_at = [&](int64_t o) {
        if (o <= 0) return true;      // the start of the haystack is a boundary
        if (o > room) return false;
        return static_cast<bool>(h.sentence_end[static_cast<size_t>((start + o - 1) % static_cast<int64_t>(h.tokens.size()))]);
    };
    for (int64_t step = 0; step < 64; ++step) {
        if (want + step <= room && ends_at(want + step)) return want + step;
        if (want - step >= 0 && ends_at(want - step)) return want - step;
    }
    return want;
}

std::vector<Prompt> niah(const std::string &task, const TaskInput &in) {
    if (!in.haystack || in.haystack->tokens.empty())
        throw std::invalid_argument(task + " needs a haystack text (--haystack FILE)");
    const Haystack &h = *in.haystack;
    const NiahShape shape = niah_shape(task);
    const std::vector<int32_t> header = cat(in.bos, in.tokenize(kNiahHeader));
    std::vector<Prompt> out;
    for (size_t d = 0; d < in.depths.size(); ++d) {
        Rng rng(mix_seed(in.seed, d));
        const std::vector<std::string> k = keys(rng, static_cast<uint64_t>(shape.keys), kNA * kNN);
        const std::vector<uint64_t> v =
            distinct(rng, static_cast<uint64_t>(shape.keys * shape.values), 1000000, 9000000);
        // needles[0] is the target; for multivalue the key's other values follow.
        std::vector<std::vector<int32_t>> needles;
        std::vector<std::string> values;
        for (int i = 0; i < shape.keys; ++i)
            for (int j = 0; j < shape.values; ++j) {
                values.push_back(std::to_string(v[static_cast<size_t>(i * shape.values + j)]));
                needles.push_back(in.tokenize(" One of the special magic numbers for " + k[static_cast<size_t>(i)] +
                                              " is: " + values.back() + "."));
            }
        const std::vector<std::string> asked(k.begin(), k.begin() + shape.queried);
        const bool many = shape.values > 1 || shape.queried > 1;
        const std::string what = joined_keys(asked);
        const std::vector<int32_t> question = in.tokenize(
            many ? "\nWhat are all the special magic numbers for " + what +
                       " mentioned in the provided text? The special magic numbers for " + what +
                       " mentioned in the provided text are"
                 : "\nWhat is the special magic number for " + what +
                       " mentioned in the provided text? The special magic number for " + what +
                       " mentioned in the provided text is");
        auto fixed = static_cast<int64_t>(header.size() + question.size());
        for (const auto &n : needles) fixed += static_cast<int64_t>(n.size());
        if (in.length < fixed + 16) too_short(task, in.length, fixed + 16);
        const int64_t room = in.length - fixed;
        const int64_t start = static_cast<int64_t>(rng.below(h.tokens.size()));
        std::vector<int32_t> hay(static_cast<size_t>(room));
        for (int64_t i = 0; i < room; ++i)
            hay[static_cast<size_t>(i)] = h.tokens[static_cast<size_t>((start + i) % static_cast<int64_t>(h.tokens.size()))];
        std::vector<int64_t> at;
        at.push_back(sentence_offset(h, start, room,
                                     static_cast<int64_t>(std::llround(in.depths[d] * static_cast<double>(room)))));
        for (size_t i = 1; i < needles.size(); ++i)
            at.push_back(sentence_offset(h, start, room, static_cast<int64_t>(rng.below(static_cast<uint64_t>(room) + 1))));
        Placed p = place(header, hay, needles, at);
        Prompt prompt;
        prompt.prefix = std::move(p.prefix);
        prompt.needles = std::move(p.spans);
        Query q{question, in.depths[d], {}, 12};
        if (shape.values > 1) {
            q.expected = values;
        } else {
            q.expected.assign(values.begin(), values.begin() + shape.queried);
            if (shape.distractors) prompt.distractors.assign(values.begin() + 1, values.end());
        }
        if (many) q.answer_tokens = static_cast<int32_t>(12 * q.expected.size());
        prompt.queries.push_back(std::move(q));
        out.push_back(std::move(prompt));
    }
    return out;
}

// --- associative recall -------------------------------------------------------------------------
std::vector<Prompt> mqar(const TaskInput &in) {
    Rng rng(mix_seed(in.seed, 0x4D514152));
    std::vector<int32_t> prefix = cat(in.bos, in.tokenize(kMqarHeader));
    auto question = [&](const std::string &key) {
        return in.tokenize("\nQuestion: What is the code for " + key + "? Answer: The code for " + key + " is");
    };
    auto longest = [](const char *const *words, uint64_t n) {
        return *std::max_element(words, words + n, [](const char *a, const char *b) {
            return std::string(a).size() < std::string(b).size();
        });
    };
    const std::string widest = std::string(longest(kAdjectives, kNA)) + "-" + longest(kNouns, kNN) +
                               "-" + longest(kNouns, kNN);
    const auto longest_question = static_cast<int64_t>(question(widest).size()) + 8;
    // Pairs until the length is filled: distinct random keys, distinct five-digit codes (each
    // drawn again while it repeats one already in the list).
    const int64_t room = in.length - static_cast<int64_t>(prefix.size()) - longest_question;
    std::vector<Span> spans;
    std::vector<uint64_t> code_values, key_ids;
    std::unordered_set<uint64_t> codes_used, keys_used;
    while (code_values.size() < 90000) {
        uint64_t code = 0, key = 0;
        do code = 10000 + rng.below(90000);
        while (codes_used.count(code));
        do key = rng.below(kNA * kNN * kNN);
        while (keys_used.count(key));
        const std::vector<int32_t> pair =
            in.tokenize(" The code for " + key_name(key) + " is " + std::to_string(code) + ".");
        if (static_cast<int64_t>(prefix.size() + pair.size()) > in.length - longest_question) break;
        code_values.push_back(code);
        key_ids.push_back(key);
        codes_used.insert(code);
        keys_used.insert(key);
        const auto begin = static_cast<int64_t>(prefix.size());
        prefix.insert(prefix.end(), pair.begin(), pair.end());
        spans.push_back({begin, static_cast<int64_t>(prefix.size())});
    }
    if (room <= 0 || spans.size() < 2) too_short("mqar", in.length, static_cast<int64_t>(prefix.size()) + longest_question + 32);
    Prompt prompt;
    prompt.prefix = std::move(prefix);
    std::vector<bool> asked(spans.size(), false);
    for (double depth : in.depths) {
        const auto i = static_cast<size_t>(std::llround(depth * static_cast<double>(spans.size() - 1)));
        asked[i] = true;
        prompt.needles.push_back(spans[i]);
        prompt.queries.push_back({question(key_name(key_ids[i])), depth, {std::to_string(code_values[i])}, 8});
    }
    for (size_t i = 0; i < spans.size(); ++i)
        if (!asked[i]) prompt.distractors.push_back(std::to_string(code_values[i]));
    return {std::move(prompt)};
}

}  // namespace

uint64_t mix_seed(uint64_t a, uint64_t b) {
    uint64_t z = a + 0x9E3779B97F4A7C15ull * (b + 1);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

const std::vector<std::string> &task_names() {
    static const std::vector<std::string> names = {
        "passkey", "niah_prose", "niah_multikey", "niah_multivalue", "niah_multiquery",
        "mqar", "perplexity", "cost"};
    return names;
}

bool is_needle_task(const std::string &task) {
    return task != "perplexity" && task != "cost" &&
           std::find(task_names().begin(), task_names().end(), task) != task_names().end();
}

std::vector<Prompt> make_prompts(const std::string &task, const TaskInput &input) {
    for (double d : input.depths)
        if (!(d >= 0.0 && d <= 1.0))
            throw std::invalid_argument("needle depths must lie in [0, 1], got " + std::to_string(d));
    if (!input.tokenize) throw std::invalid_argument("internal: no tokenizer");
    if (task == "passkey") return passkey(input);
    if (task == "mqar") return mqar(input);
    if (task.rfind("niah_", 0) == 0 && is_needle_task(task)) return niah(task, input);
    throw std::invalid_argument("'" + task + "' is not a needle task");
}

std::vector<std::string> numbers_in(const std::string &answer) {
    std::vector<std::string> out;
    std::string n;
    for (char c : answer) {
        if (std::isdigit(static_cast<unsigned char>(c))) {
            n += c;
        } else if (!n.empty()) {
            out.push_back(n);
            n.clear();
        }
    }
    if (!n.empty()) out.push_back(n);
    return out;
}

double score_answer(const Query &query, const std::string &answer) {
    const std::vector<std::string> got = numbers_in(answer);
    if (query.expected.empty()) return 0.0;
    if (query.expected.size() == 1) return !got.empty() && got.front() == query.expected.front() ? 1.0 : 0.0;
    size_t found = 0;
    for (const std::string &e : query.expected) found += std::find(got.begin(), got.end(), e) != got.end();
    return static_cast<double>(found) / static_cast<double>(query.expected.size());
}

}  // namespace lola_eval
