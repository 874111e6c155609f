// test_eval.cpp: the evaluation suite (eval/): each task's prompt generator on a character
// tokenizer (where the needles are, what is asked, determinism), the scorers on hand-made answers
// (a correct answer scores, a wrong one or a distractor does not), and the runner on the tiny
// test model: the report's structure, determinism for a fixed seed, progress and stopping, bad
// configurations, and the Markdown summary.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <stdexcept>

#include "runner.hpp"
#include "tasks.hpp"
#include "variants.hpp"

namespace {

using lola_eval::Prompt;
using lola_eval::Query;
using lola_eval::TaskInput;

// One token per byte: decoding is exact, so spans can be read back as text.
std::vector<int32_t> chars(const std::string &s) { return std::vector<int32_t>(s.begin(), s.end()); }
std::string text(const std::vector<int32_t> &t, size_t begin, size_t end) {
    std::string s;
    for (size_t i = begin; i < end; ++i) s += static_cast<char>(t[i]);
    return s;
}

const char *kProse =
    "The river ran quietly past the old mill. Children played on its banks every summer! Who "
    "could forget the long evenings there? The miller kept a small boat tied to a post. In the "
    "autumn the leaves turned red and gold, and the water grew cold.\n";

lola_eval::Haystack haystack() {
    std::string prose;
    for (int i = 0; i < 4; ++i) prose += kProse;
    lola_eval::Haystack h;
    h.tokens = chars(prose);
    for (char c : prose) h.sentence_end.push_back(c == '.' || c == '!' || c == '?' || c == '\n');
    return h;
}

TaskInput input(int64_t length, std::vector<double> depths, uint64_t seed, const lola_eval::Haystack *h) {
    return TaskInput{chars, {1}, length, std::move(depths), seed, h};
}

const std::vector<std::string> kNeedleTasks = {"passkey",         "niah_prose",      "niah_multikey",
                                               "niah_multivalue", "niah_multiquery", "mqar"};

TEST(EvalTasks, PromptsFitTheLengthAndHoldTheirNeedles) {
    const lola_eval::Haystack h = haystack();
    for (const std::string &task : kNeedleTasks) {
        SCOPED_TRACE(task);
        const std::vector<Prompt> prompts =
            lola_eval::make_prompts(task, input(1500, {0.0, 0.5, 1.0}, 7, &h));
        ASSERT_EQ(prompts.size(), task == "mqar" ? 1u : 3u);
        size_t queries = 0;
        for (const Prompt &p : prompts) {
            EXPECT_EQ(p.prefix.front(), 1) << "the beginning-of-sequence token comes first";
            ASSERT_FALSE(p.needles.empty());
            for (const Query &q : p.queries) {
                ++queries;
                const size_t total = p.prefix.size() + q.tokens.size();
                EXPECT_LE(total, 1500u);
                EXPECT_GE(total, 1500u - 200u) << "the haystack fills the length";
                ASSERT_FALSE(q.expected.empty());
                // Every expected value is in the prompt, and only inside needles.
                const std::string all = text(p.prefix, 0, p.prefix.size());
                for (const std::string &v : q.expected) {
                    ASSERT_NE(all.find(v), std::string::npos) << v;
                    for (size_t at = all.find(v); at != std::string::npos; at = all.find(v, at + 1)) {
                        bool inside = false;
                        for (const auto &[b, e] : p.needles)
                            inside |= static_cast<size_t>(b) <= at && at + v.size() <= static_cast<size_t>(e);
                        EXPECT_TRUE(inside) << v << " lies outside every needle";
                    }
                }
                for (const std::string &d : p.distractors)
                    EXPECT_EQ(std::find(q.expected.begin(), q.expected.end(), d), q.expected.end());
            }
        }
        EXPECT_EQ(queries, 3u) << "one scored question per depth";
    }
}

TEST(EvalTasks, TheTargetNeedleMovesWithTheDepth) {
    const lola_eval::Haystack h = haystack();
    for (const std::string &task : kNeedleTasks) {
        SCOPED_TRACE(task);
        const std::vector<Prompt> prompts =
            lola_eval::make_prompts(task, input(2000, {0.0, 0.5, 1.0}, 3, &h));
        std::vector<int64_t> starts;
        for (const Prompt &p : prompts)
            for (size_t q = 0; q < p.queries.size(); ++q)
                starts.push_back(p.needles[task == "mqar" ? q : 0].first);
        ASSERT_EQ(starts.size(), 3u);
        const auto length = static_cast<double>(prompts.front().prefix.size());
        EXPECT_LT(starts[0], starts[1]);
        EXPECT_LT(starts[1], starts[2]);
        EXPECT_LT(static_cast<double>(starts[0]), 0.2 * length) << "depth 0 is near the start";
        EXPECT_NEAR(static_cast<double>(starts[1]) / length, 0.5, 0.1);
        EXPECT_GT(static_cast<double>(starts[2]), 0.8 * length) << "depth 1 is near the question";
    }
}

TEST(EvalTasks, NeedlesNeverSplitASentence) {
    const lola_eval::Haystack h = haystack();
    for (const char *task : {"niah_prose", "niah_multikey", "niah_multivalue", "niah_multiquery"}) {
        SCOPED_TRACE(task);
        for (const Prompt &p : lola_eval::make_prompts(task, input(1800, {0.1, 0.3, 0.6, 0.9}, 11, &h)))
            for (const auto &[b, e] : p.needles) {
                const char before = static_cast<char>(p.prefix[static_cast<size_t>(b - 1)]);
                EXPECT_TRUE(before == '.' || before == '!' || before == '?' || before == '\n')
                    << "needle after '" << before << "'";
                EXPECT_EQ(text(p.prefix, static_cast<size_t>(b), static_cast<size_t>(e)).rfind(
                              " One of the special magic numbers for ", 0), 0u);
            }
    }
}

TEST(EvalTasks, KeysAndQuestionsFollowTheTask) {
    const lola_eval::Haystack h = haystack();
    auto one = [&](const std::string &task) { return lola_eval::make_prompts(task, input(1500, {0.5}, 5, &h)).front(); };
    const Prompt multikey = one("niah_multikey");
    EXPECT_EQ(multikey.needles.size(), 4u);
    EXPECT_EQ(multikey.distractors.size(), 3u);
    EXPECT_EQ(multikey.queries.front().expected.size(), 1u);
    const Prompt multivalue = one("niah_multivalue");
    EXPECT_EQ(multivalue.queries.front().expected.size(), 4u);
    std::set<std::string> keys;  // multivalue: one key in all four needles
    for (const auto &[b, e] : multivalue.needles) {
        const std::string n = text(multivalue.prefix, static_cast<size_t>(b), static_cast<size_t>(e));
        keys.insert(n.substr(0, n.find(" is: ")));
    }
    EXPECT_EQ(keys.size(), 1u);
    const Prompt multiquery = one("niah_multiquery");
    EXPECT_EQ(multiquery.queries.front().expected.size(), 4u);
    keys.clear();
    const std::string question = text(multiquery.queries.front().tokens, 0, multiquery.queries.front().tokens.size());
    for (const auto &[b, e] : multiquery.needles) {
        const std::string n = text(multiquery.prefix, static_cast<size_t>(b), static_cast<size_t>(e));
        const std::string key = n.substr(38, n.find(" is: ") - 38);
        keys.insert(key);
        EXPECT_NE(question.find(key), std::string::npos) << "every key is asked for: " << key;
    }
    EXPECT_EQ(keys.size(), 4u) << "four distinct keys";
    // mqar: each question names the key of the pair it asks for, whose code is expected.
    const Prompt mqar = lola_eval::make_prompts("mqar", input(1500, {0.0, 0.4, 1.0}, 5, &h)).front();
    for (size_t q = 0; q < mqar.queries.size(); ++q) {
        const std::string pair = text(mqar.prefix, static_cast<size_t>(mqar.needles[q].first),
                                      static_cast<size_t>(mqar.needles[q].second));
        const std::string key = pair.substr(14, pair.find(" is ") - 14);
        const std::string ask = text(mqar.queries[q].tokens, 0, mqar.queries[q].tokens.size());
        EXPECT_NE(ask.find("code for " + key + "?"), std::string::npos) << ask;
        EXPECT_EQ(pair, " The code for " + key + " is " + mqar.queries[q].expected.front() + ".");
    }
    EXPECT_GT(mqar.distractors.size(), 20u);
}

TEST(EvalTasks, PromptsAreAFunctionOfTheSeed) {
    const lola_eval::Haystack h = haystack();
    for (const std::string &task : kNeedleTasks) {
        SCOPED_TRACE(task);
        const auto a = lola_eval::make_prompts(task, input(1200, {0.3, 0.7}, 42, &h));
        const auto b = lola_eval::make_prompts(task, input(1200, {0.3, 0.7}, 42, &h));
        const auto c = lola_eval::make_prompts(task, input(1200, {0.3, 0.7}, 43, &h));
        ASSERT_EQ(a.size(), b.size());
        for (size_t i = 0; i < a.size(); ++i) {
            EXPECT_EQ(a[i].prefix, b[i].prefix);
            EXPECT_EQ(a[i].queries.front().expected, b[i].queries.front().expected);
        }
        EXPECT_NE(a.front().queries.front().expected, c.front().queries.front().expected);
    }
}

TEST(EvalTasks, BadInputsAreRefusedWithAReason) {
    const lola_eval::Haystack h = haystack();
    auto message = [&](const std::string &task, TaskInput in) {
        try {
            lola_eval::make_prompts(task, in);
        } catch (const std::invalid_argument &e) {
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    EXPECT_NE(message("passkey", input(100, {0.5}, 1, &h)).find("cannot hold"), std::string::npos);
    EXPECT_NE(message("niah_multiquery", input(300, {0.5}, 1, &h)).find("cannot hold"), std::string::npos);
    EXPECT_NE(message("mqar", input(150, {0.5}, 1, &h)).find("cannot hold"), std::string::npos);
    EXPECT_NE(message("niah_prose", input(1000, {0.5}, 1, nullptr)).find("haystack"), std::string::npos);
    EXPECT_NE(message("passkey", input(1000, {1.5}, 1, &h)).find("[0, 1]"), std::string::npos);
    EXPECT_NE(message("cost", input(1000, {0.5}, 1, &h)).find("not a needle task"), std::string::npos);
}

TEST(EvalScoring, ACorrectAnswerScoresAWrongOneOrADistractorDoesNot) {
    const Query single{{}, 0.5, {"4821937"}, 12};
    EXPECT_EQ(lola_eval::score_answer(single, " 4821937."), 1.0);
    EXPECT_EQ(lola_eval::score_answer(single, ": 4821937, I think"), 1.0);
    EXPECT_EQ(lola_eval::score_answer(single, " 4821936."), 0.0);
    EXPECT_EQ(lola_eval::score_answer(single, " 48219370"), 0.0) << "a longer number is another number";
    EXPECT_EQ(lola_eval::score_answer(single, " 7730012, not 4821937"), 0.0) << "a distractor first";
    EXPECT_EQ(lola_eval::score_answer(single, " the one I saw"), 0.0);
    EXPECT_EQ(lola_eval::score_answer(single, ""), 0.0);
    const Query multi{{}, 0.5, {"111", "222", "333", "444"}, 48};
    EXPECT_EQ(lola_eval::score_answer(multi, "444, 222, 111 and 333"), 1.0) << "in any order";
    EXPECT_EQ(lola_eval::score_answer(multi, "111, 222, 999"), 0.5);
    EXPECT_EQ(lola_eval::score_answer(multi, "111, 111, 111, 111"), 0.25) << "a repeat counts once";
    EXPECT_EQ(lola_eval::score_answer(multi, "1112223334"), 0.0);
    EXPECT_EQ(lola_eval::numbers_in("a1b22 333."), (std::vector<std::string>{"1", "22", "333"}));
}

TEST(EvalVariants, EveryVariantHoldsTheSameBudget) {
    for (const std::string &name : lola_eval::variant_names()) {
        const lola_eval::Variant v = lola_eval::make_variant(name, 64, 64);
        if (name == "full") {
            EXPECT_EQ(v.budget, 0);
            continue;
        }
        EXPECT_EQ(v.budget, 192) << name;
        // the window holds the last C..2C pairs: its largest size plus the sparse cache
        EXPECT_EQ(2 * v.chunk + v.sparse, 192) << name;
    }
    EXPECT_THROW(lola_eval::make_variant("nope", 64, 64), std::invalid_argument);
    EXPECT_THROW(lola_eval::make_variant("lola", 0, 64), std::invalid_argument);
}

TEST(EvalVariants, HybridKeepsFullAttentionInItsLayersOnly) {
    const lola_eval::Variant v = lola_eval::make_variant("hybrid", 64, 64, {1, 3});
    EXPECT_EQ(v.label, "LoLA + full in L1,3");
    EXPECT_EQ(v.attention, lolapp::Attention::lola);
    EXPECT_EQ(v.budget, 192);
    const lolapp::ContextParams p = lola_eval::context_params(v, lolapp::ContextParams(), 5);
    const std::vector<std::optional<lolapp::Attention>> want = {
        std::nullopt, lolapp::Attention::full, std::nullopt, lolapp::Attention::full, std::nullopt};
    EXPECT_EQ(p.layer_attention(), want);
    EXPECT_EQ(p.c_struct().n_layer_attention, 5u);
    EXPECT_EQ(p.c_struct().layer_attention[1], LOLA_ATTENTION_FULL);
    EXPECT_EQ(p.c_struct().layer_attention[0], LOLA_MODEL_DEFAULT);
    EXPECT_TRUE(lola_eval::context_params(lola_eval::make_variant("lola", 64, 64), lolapp::ContextParams(), 5)
                    .layer_attention()
                    .empty());
    EXPECT_THROW(lola_eval::context_params(v, lolapp::ContextParams(), 3), std::invalid_argument);  // layer 3 of 3
    EXPECT_THROW(lola_eval::make_variant("hybrid", 64, 64), std::invalid_argument);            // no layers
    EXPECT_THROW(lola_eval::make_variant("hybrid", 64, 64, {-1}), std::invalid_argument);
}

// --- the runner on the tiny model ---------------------------------------------------------------

std::string write_temp(const std::string &name, const std::string &content) {
    const std::string path = (std::filesystem::temp_directory_path() /
                              ("lola_eval_" + std::to_string(::getpid()) + "_" + name)).string();
    std::ofstream(path) << content;
    return path;
}

lola_eval::Config tiny_config() {
    static const std::string prose = [] {
        std::string s;
        for (int i = 0; i < 12; ++i) s += kProse;
        return write_temp("prose.txt", s);
    }();
    lola_eval::Config c;
    c.model_path = LOLA_TEST_MODEL;
    c.context.attention(lolapp::AttentionParams().chunk_size(8).sparse_capacity(8));
    c.tasks = {"passkey", "niah_prose", "niah_multikey", "niah_multivalue", "niah_multiquery", "mqar",
               "perplexity", "cost"};
    c.variants = {"full", "window", "lola"};
    c.lengths = {900, 1300};
    c.depths = {0.0, 1.0};
    c.lambdas = {4, 8};
    c.sweep_length = 900;
    c.decode_tokens = 4;
    c.haystack = prose;
    c.perplexity_windows = 2;
    c.command = "lola eval -m tiny.gguf";
    return c;
}

lola_eval::Report without_timings(lola_eval::Report r) {
    r.erase("seconds");
    r.erase("started");
    for (auto &row : r["cost"]) {
        row.erase("prefill_tok_s");
        row.erase("decode_tok_s");
    }
    return r;
}

TEST(EvalRunner, TheReportHoldsEveryTrialAndPart) {
    const lola_eval::Report r = lola_eval::run(tiny_config());
    EXPECT_EQ(r["format"], "lola-eval-report");
    EXPECT_EQ(r["version"], 1);
    EXPECT_EQ(r["command"], "lola eval -m tiny.gguf");
    EXPECT_EQ(r["settings"]["budget"], 24);
    EXPECT_EQ(r["settings"]["tasks"].size(), 8u);
    ASSERT_EQ(r["variants"].size(), 3u);
    EXPECT_EQ(r["variants"][1]["chunk"], 12);  // window only: (8 + 2*8) / 2
    size_t main = 0, sweep = 0;
    std::set<std::string> tasks;
    for (const auto &t : r["trials"]) {
        for (const char *key : {"task", "grid", "variant", "length", "prompt_tokens", "depth", "trial", "seed",
                                "lambda", "budget", "needles", "expected", "answer", "score", "correct"})
            ASSERT_TRUE(t.contains(key)) << key;
        EXPECT_LE(t["prompt_tokens"].get<int64_t>(), t["length"].get<int64_t>());
        EXPECT_EQ(t["correct"].get<bool>(), t["score"].get<double>() == 1.0);
        (t["grid"] == "main" ? main : sweep) += 1;
        tasks.insert(t["task"].get<std::string>());
    }
    EXPECT_EQ(main, 6u * 2 * 2 * 3) << "needle tasks x lengths x depths x variants";
    EXPECT_EQ(sweep, 2u * (1 + 2 * 2)) << "depths x (full + lambdas x the other variants)";
    EXPECT_EQ(tasks, (std::set<std::string>{"passkey", "niah_prose", "niah_multikey", "niah_multivalue",
                                            "niah_multiquery", "mqar"}));
    for (const auto &t : r["trials"])  // the multi-value questions expect four values, the others one
        EXPECT_EQ(t["expected"].size(), t["task"] == "niah_multivalue" || t["task"] == "niah_multiquery" ? 4u : 1u);
    EXPECT_EQ(r["perplexity"].size(), 3u * 2);
    for (const auto &p : r["perplexity"]) {
        EXPECT_GT(p["ppl"].get<double>(), 1.0);
        EXPECT_EQ(p["tokens_scored"].get<int64_t>(),
                  p["windows"].get<int64_t>() * (p["length"].get<int64_t>() / 2));
    }
    ASSERT_EQ(r["cost"].size(), 3u * 2);
    // full attention's cache grows with the context, the budgeted variants' do not
    auto cache = [&](const std::string &v, int64_t l) {
        for (const auto &c : r["cost"])
            if (c["variant"] == v && c["length"] == l) return c["cache_bytes"].get<uint64_t>();
        return uint64_t{0};
    };
    EXPECT_GT(cache("full", 1300), cache("full", 900));
    EXPECT_EQ(cache("lola", 1300), cache("lola", 900));
    EXPECT_LT(cache("lola", 1300), cache("full", 1300));
    ASSERT_TRUE(r["residency"].is_object());
    EXPECT_EQ(r["residency"]["variant"], "lola");
    EXPECT_EQ(r["residency"]["layers"].size(), r["model"]["n_layers"].get<size_t>());
    for (const auto &layer : r["residency"]["layers"])
        for (const auto &head : layer["heads"]) EXPECT_LE(head["sparse"].size(), 8u);
}

TEST(EvalRunner, AFixedSeedGivesTheSameReport) {
    lola_eval::Config c = tiny_config();
    c.tasks = {"passkey", "mqar", "cost"};
    const lola_eval::Report a = without_timings(lola_eval::run(c));
    const lola_eval::Report b = without_timings(lola_eval::run(c));
    EXPECT_EQ(a.dump(), b.dump());
    c.seed = 2;
    const lola_eval::Report d = without_timings(lola_eval::run(c));
    EXPECT_NE(a["trials"].dump(), d["trials"].dump());
}

TEST(EvalRunner, TheSweepReusesTheMainGridAtTheModelsLambda) {
    lola_eval::Config c = tiny_config();
    c.tasks = {"passkey"};
    const lola_eval::Report r = lola_eval::run(c);
    for (const auto &s : r["trials"]) {
        if (s["grid"] != "sweep" || s["lambda"] != 8 || s["variant"] == "full") continue;
        bool found = false;
        for (const auto &m : r["trials"])
            if (m["grid"] == "main" && m["variant"] == s["variant"] && m["length"] == s["length"] &&
                m["depth"] == s["depth"]) {
                EXPECT_EQ(m["answer"], s["answer"]);
                EXPECT_EQ(m["seed"], s["seed"]);
                found = true;
            }
        EXPECT_TRUE(found);
    }
}

TEST(EvalRunner, ProgressCountsUpToTheTotalAndCanStopTheRun) {
    lola_eval::Config c = tiny_config();
    c.tasks = {"passkey", "perplexity"};
    c.lambdas.clear();
    int64_t last = -1, total = 0;
    lola_eval::run(c, [&](const lola_eval::Progress &p) {
        EXPECT_GT(p.done, last);
        EXPECT_LE(p.done, p.total);
        last = p.done;
        total = p.total;
        return true;
    });
    EXPECT_EQ(last, total);
    int calls = 0;
    try {
        lola_eval::run(c, [&](const lola_eval::Progress &) { return ++calls < 3; });
        FAIL() << "not stopped";
    } catch (const lolapp::Error &e) {
        EXPECT_EQ(e.status(), LOLA_ERR_ABORTED);
    }
    EXPECT_EQ(calls, 3);
}

TEST(EvalRunner, BadConfigurationsAreRefusedWithAReason) {
    auto message = [](lola_eval::Config c) {
        try {
            lola_eval::run(c);
        } catch (const std::exception &e) {
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    lola_eval::Config c = tiny_config();
    c.tasks = {"passkey", "needles"};
    EXPECT_NE(message(c).find("unknown task 'needles'"), std::string::npos);
    c = tiny_config();
    c.variants = {"lola", "flash"};
    EXPECT_NE(message(c).find("unknown variant 'flash'"), std::string::npos);
    c = tiny_config();
    c.haystack = "/nonexistent/prose.txt";
    EXPECT_NE(message(c).find("cannot read the haystack '/nonexistent/prose.txt'"), std::string::npos);
    c = tiny_config();
    c.sweep_task = "cost";
    EXPECT_NE(message(c).find("sweep task"), std::string::npos);
    c = tiny_config();
    c.model_path = "/nonexistent/model.gguf";
    EXPECT_NE(message(c).find("LOLA_ERR_IO"), std::string::npos);
    c = tiny_config();
    c.lengths = {100};
    EXPECT_NE(message(c).find("cannot hold"), std::string::npos);
}

TEST(EvalSummary, TheSummaryHasATablePerPart) {
    const lola_eval::Report r = lola_eval::run(tiny_config());
    const std::string md = lola_eval::summary_markdown(r, {"heatmap_passkey.png"});
    for (const char *part : {"# lola eval: tiny random llama", "### passkey", "### niah_prose", "### niah_multikey",
                             "### niah_multivalue", "### niah_multiquery", "### mqar",
                             "## Accuracy against the cache budget", "| λ=4 (20) | λ=8 (24) |", "## Perplexity",
                             "## Cost", "## What the sparse cache holds", "![heatmap_passkey.png](heatmap_passkey.png)",
                             "lola eval -m tiny.gguf", "| window only |", "| LoLA |", "| full attention |"})
        EXPECT_NE(md.find(part), std::string::npos) << part;
}

}  // namespace
