// runner.cpp: see runner.hpp. The run is planned first (every job with the tokens it will
// process, for the progress bar's ETA), then executed job by job. Needle prompts are made once
// per task, length and trial and shared by every variant; a sweep point that equals a main-grid
// run reuses its rows.
#include "runner.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>
#include <unordered_map>

#include "tasks.hpp"
#include "variants.hpp"

namespace lola_eval {

namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::ordered_json;

constexpr int64_t kStep = 256;  // tokens fed per call (and per progress report)

double seconds_since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}

std::string read_file(const std::string &path, const char *what) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw std::invalid_argument(std::string("cannot read the ") + what + " '" + path + "'");
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

std::string utc_now() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

// What can be checked before the model loads: names, lists and ranges.
void check_settings(const Config &c) {
    for (const std::string &t : c.tasks)
        if (std::find(task_names().begin(), task_names().end(), t) == task_names().end()) {
            std::string all;
            for (const std::string &n : task_names()) all += (all.empty() ? "" : ", ") + n;
            throw std::invalid_argument("unknown task '" + t + "' (" + all + ")");
        }
    for (const std::string &n : c.variants) make_variant(n, 1, 0);
    if (c.lengths.empty()) throw std::invalid_argument("no context lengths");
    for (int64_t l : c.lengths)
        if (l < 32) throw std::invalid_argument("context lengths must be at least 32 tokens");
    for (int64_t l : c.cost_lengths)
        if (l < 32) throw std::invalid_argument("cost lengths must be at least 32 tokens");
    if (c.depths.empty()) throw std::invalid_argument("no needle depths");
    for (double d : c.depths)
        if (!(d >= 0.0 && d <= 1.0))
            throw std::invalid_argument("needle depths must lie in [0, 1], got " + std::to_string(d));
    if (c.trials < 1) throw std::invalid_argument("trials must be at least 1");
    for (int32_t l : c.lambdas)
        if (l < 0) throw std::invalid_argument("sweep lambdas must be >= 0");
    if (c.decode_tokens < 1) throw std::invalid_argument("decode tokens must be at least 1");
    if (c.perplexity_windows < 1) throw std::invalid_argument("perplexity windows must be at least 1");
    if (!c.lambdas.empty() && !is_needle_task(c.sweep_task.empty() ? "passkey" : c.sweep_task))
        throw std::invalid_argument("the sweep task must be a needle task, got '" + c.sweep_task + "'");
}

struct Job {
    int64_t tokens = 0;
    std::function<void()> run;
};

class Runner {
public:
    Runner(const Config &config, const ProgressFn &progress)
        : cfg_(config), progress_(progress), model_(config.model_path, config.model) {
        info_ = model_.info();
        base_ = cfg_.context;
        base_.attention(base_.attention().resolved(model_));
        chunk_ = base_.attention().chunk_size();
        lambda_ = base_.attention().sparse_capacity();
        bos_ = model_.tokenize("", LOLA_TOKENIZE_ADD_SPECIAL);
        tokenize_ = [this](const std::string &s) { return model_.tokenize(s, 0); };
        validate();
    }

    Report run() {
        const std::string started = utc_now();
        start_ = Clock::now();
        plan();
        for (const Job &j : jobs_) j.run();
        Json report;
        report["format"] = "lola-eval-report";
        report["version"] = 1;
        report["command"] = cfg_.command;
        report["liblola"] = lolapp::version();
        report["started"] = started;
        report["seconds"] = seconds_since(start_);
        report["model"] = {{"path", cfg_.model_path}, {"name", info_.name},
                           {"n_layers", info_.n_layer}, {"n_heads", info_.n_head},
                           {"n_kv_heads", info_.n_head_kv}, {"head_dim", info_.head_dim},
                           {"n_vocab", info_.n_vocab}};
        report["settings"] = {{"tasks", tasks_},
                              {"lengths", cfg_.lengths},
                              {"depths", cfg_.depths},
                              {"trials", cfg_.trials},
                              {"seed", cfg_.seed},
                              {"chunk", chunk_},
                              {"sparse", lambda_},
                              {"budget", lambda_ + 2 * chunk_},
                              {"lambdas", cfg_.lambdas},
                              {"sweep_task", sweep_task()},
                              {"sweep_length", sweep_length()},
                              {"cost_lengths", cost_lengths()},
                              {"decode_tokens", cfg_.decode_tokens},
                              {"perplexity_windows", cfg_.perplexity_windows},
                              {"haystack", haystack_path_},
                              {"text", text_path_}};
        Json variants = Json::array();
        for (const Variant &v : variants_) variants.push_back(variant_json(v));
        report["variants"] = variants;
        report["trials"] = trials_;
        report["perplexity"] = perplexity_;
        report["cost"] = cost_;
        report["residency"] = residency_;
        return report;
    }

private:
    // --- configuration ------------------------------------------------------------------------
    void validate() {
        tasks_ = cfg_.tasks.empty() ? task_names() : cfg_.tasks;
        for (const std::string &n : cfg_.variants.empty() ? variant_names() : cfg_.variants)
            variants_.push_back(make_variant(n, chunk_, lambda_));
        const bool prose = std::any_of(tasks_.begin(), tasks_.end(), [](const std::string &t) {
            return t.rfind("niah_", 0) == 0;
        }) || (!cfg_.lambdas.empty() && sweep_task().rfind("niah_", 0) == 0);
        const bool ppl = std::find(tasks_.begin(), tasks_.end(), "perplexity") != tasks_.end();
        haystack_path_ = cfg_.haystack.empty() ? default_text() : cfg_.haystack;
        text_path_ = cfg_.text.empty() ? haystack_path_ : cfg_.text;
        if (prose) {
            if (haystack_path_.empty())
                throw std::invalid_argument("the niah_ tasks need a haystack text (--haystack FILE)");
            load_haystack();
        }
        if (ppl) {
            if (text_path_.empty()) throw std::invalid_argument("perplexity needs a text (--text FILE)");
            text_ = tokenize_(read_file(text_path_, "perplexity text"));
            if (static_cast<int64_t>(text_.size()) < cfg_.lengths.front())
                throw std::invalid_argument("the perplexity text '" + text_path_ + "' has " +
                                            std::to_string(text_.size()) + " tokens, fewer than a context of " +
                                            std::to_string(cfg_.lengths.front()));
        }
    }

    void load_haystack() {
        hay_.tokens = tokenize_(read_file(haystack_path_, "haystack"));
        if (hay_.tokens.size() < 64)
            throw std::invalid_argument("the haystack '" + haystack_path_ + "' has fewer than 64 tokens");
        std::unordered_map<int32_t, bool> ends;
        for (int32_t t : hay_.tokens) {
            auto it = ends.find(t);
            if (it == ends.end()) {
                const std::string p = model_.token_to_piece(t);
                const size_t last = p.find_last_not_of(' ');
                const bool end = p.find('\n') != std::string::npos ||
                                 (last != std::string::npos && (p[last] == '.' || p[last] == '!' || p[last] == '?'));
                it = ends.emplace(t, end).first;
            }
            hay_.sentence_end.push_back(it->second);
        }
    }

    std::string sweep_task() const { return cfg_.sweep_task.empty() ? "passkey" : cfg_.sweep_task; }
    int64_t sweep_length() const {
        return cfg_.sweep_length > 0 ? cfg_.sweep_length
                                     : *std::max_element(cfg_.lengths.begin(), cfg_.lengths.end());
    }
    std::vector<int64_t> cost_lengths() const { return cfg_.cost_lengths.empty() ? cfg_.lengths : cfg_.cost_lengths; }

    static Json variant_json(const Variant &v) {
        return {{"name", v.name},       {"label", v.label},   {"attention", attention_name(v.attention)},
                {"chunk", v.chunk},     {"sparse", v.sparse}, {"scoring", scoring_name(v.scoring)},
                {"budget", v.budget}};
    }

    // --- progress -----------------------------------------------------------------------------
    void advance(int64_t tokens) {
        p_.done += tokens;
        p_.elapsed = seconds_since(start_);
        p_.eta = p_.done > 0 ? p_.elapsed / static_cast<double>(p_.done) * static_cast<double>(p_.total - p_.done) : 0;
        if (progress_ && !progress_(p_)) throw lolapp::Error(LOLA_ERR_ABORTED, "the evaluation was stopped");
    }

    lolapp::Context context(const Variant &v) { return lolapp::Context(model_, context_params(v, base_, info_.n_layer)); }

    // Feeds tokens in steps of kStep, reporting progress after each.
    void feed(lolapp::Context &ctx, const std::vector<int32_t> &tokens) {
        for (size_t i = 0; i < tokens.size(); i += kStep) {
            const size_t n = std::min<size_t>(kStep, tokens.size() - i);
            ctx.feed(tokens.data() + i, n, 0);
            advance(static_cast<int64_t>(n));
        }
    }

    // The largest logit of the last row (the lowest id on ties), read in place.
    static int32_t greedy(const lolapp::Context &ctx) {
        const lolapp::LogitsView lv = ctx.logits_view();
        const float *row = lv.data + (lv.n_rows - 1) * lv.n_vocab;
        return static_cast<int32_t>(std::max_element(row, row + lv.n_vocab) - row);
    }

    std::string answer(lolapp::Context &ctx, const Query &q) {
        ctx.feed(q.tokens);
        std::vector<int32_t> out;
        for (int32_t step = 0; step < q.answer_tokens; ++step) {
            const int32_t t = greedy(ctx);
            if (model_.is_eog(t)) break;
            out.push_back(t);
            ctx.feed(&t, 1, 0);
        }
        advance(static_cast<int64_t>(q.tokens.size()) + q.answer_tokens);
        return model_.detokenize(out);
    }

    // --- needle tasks -------------------------------------------------------------------------
    struct Trial {
        std::string task;
        int64_t length;
        int32_t trial;
        uint64_t seed;
        std::vector<Prompt> prompts;
    };

    std::shared_ptr<const Trial> prompts(const std::string &task, int64_t length, int32_t trial) {
        const std::string key = task + "/" + std::to_string(length) + "/" + std::to_string(trial);
        auto it = prompt_cache_.find(key);
        if (it != prompt_cache_.end()) return it->second;
        const auto index = static_cast<uint64_t>(std::find(task_names().begin(), task_names().end(), task) -
                                                 task_names().begin());
        auto t = std::make_shared<Trial>();
        t->task = task;
        t->length = length;
        t->trial = trial;
        t->seed = mix_seed(mix_seed(mix_seed(cfg_.seed, index), static_cast<uint64_t>(length)),
                           static_cast<uint64_t>(trial));
        TaskInput in{tokenize_, bos_, length, cfg_.depths, t->seed, &hay_};
        t->prompts = make_prompts(task, in);
        prompt_cache_[key] = t;
        return t;
    }

    static int64_t tokens_of(const Trial &t) {
        int64_t n = 0;
        for (const Prompt &p : t.prompts) {
            n += static_cast<int64_t>(p.prefix.size());
            for (const Query &q : p.queries) n += static_cast<int64_t>(q.tokens.size()) + q.answer_tokens;
        }
        return n;
    }

    void needle_job(const std::string &grid, const Variant &v, std::shared_ptr<const Trial> t) {
        const std::string key = t->task + "/" + attention_name(v.attention) + "/" + std::to_string(v.chunk) + "/" +
                                std::to_string(v.sparse) + "/" + scoring_name(v.scoring) + "/" +
                                std::to_string(t->length) + "/" + std::to_string(t->trial);
        const bool repeat = !planned_.insert(key).second;
        Job job;
        job.tokens = repeat ? 0 : tokens_of(*t);
        job.run = [this, grid, v, t, key, repeat] {
            p_.what = t->task + " " + std::to_string(t->length) + " · " + v.label +
                      (grid == "sweep" ? " · λ=" + std::to_string(v.lambda) : "");
            if (!repeat) memo_[key] = needle_rows(v, *t);
            for (Json row : memo_[key]) {
                row["grid"] = grid;
                row["variant"] = v.name;
                row["lambda"] = v.lambda;
                row["budget"] = v.budget;
                trials_.push_back(std::move(row));
            }
        };
        jobs_.push_back(std::move(job));
    }

    std::vector<Json> needle_rows(const Variant &v, const Trial &t) {
        std::vector<Json> rows;
        for (const Prompt &p : t.prompts) {
            lolapp::Context ctx = context(v);
            feed(ctx, p.prefix);
            for (size_t qi = 0; qi < p.queries.size(); ++qi) {
                const Query &q = p.queries[qi];
                const bool last = qi + 1 == p.queries.size();
                lolapp::Context asked = last ? std::move(ctx) : ctx.clone();
                const std::string a = answer(asked, q);
                const double score = score_answer(q, a);
                // mqar: the queried pair's span; the niah tasks: every needle (target first).
                Json spans = Json::array();
                if (p.needles.size() == p.queries.size() && p.queries.size() > 1)
                    spans.push_back({p.needles[qi].first, p.needles[qi].second});
                else
                    for (const Span &s : p.needles) spans.push_back({s.first, s.second});
                rows.push_back({{"task", t.task},
                                {"grid", ""},
                                {"variant", v.name},
                                {"length", t.length},
                                {"prompt_tokens", p.prefix.size() + q.tokens.size()},
                                {"depth", q.depth},
                                {"trial", t.trial},
                                {"seed", t.seed},
                                {"lambda", v.lambda},
                                {"budget", v.budget},
                                {"needles", spans},
                                {"expected", q.expected},
                                {"answer", a},
                                {"score", score},
                                {"correct", score == 1.0}});
            }
        }
        return rows;
    }

    // --- perplexity -----------------------------------------------------------------------------
    void perplexity_job(const Variant &v, int64_t length) {
        const int64_t windows = std::min<int64_t>(cfg_.perplexity_windows, static_cast<int64_t>(text_.size()) / length);
        if (windows < 1) return;
        Job job;
        job.tokens = windows * length;
        job.run = [this, v, length, windows] {
            p_.what = "perplexity " + std::to_string(length) + " · " + v.label;
            double nll = 0;
            int64_t scored = 0;
            const lolapp::ContextParams cp = context_params(v, base_, info_.n_layer);
            for (int64_t w = 0; w < windows; ++w) {
                // One window per call (lola_perplexity: the second half scored), for the progress.
                const std::vector<int32_t> slice(text_.begin() + w * length, text_.begin() + (w + 1) * length);
                const lola_perplexity_result r = model_.perplexity(slice, length, cp, 1);
                nll += r.nll * static_cast<double>(r.n_scored);
                scored += r.n_scored;
                advance(length);
            }
            perplexity_.push_back({{"variant", v.name}, {"length", length}, {"windows", windows},
                                   {"tokens_scored", scored}, {"nll", nll / static_cast<double>(scored)},
                                   {"ppl", std::exp(nll / static_cast<double>(scored))}});
        };
        jobs_.push_back(std::move(job));
    }

    // --- cost -----------------------------------------------------------------------------------
    void cost_job(const Variant &v, int64_t length) {
        Job job;
        job.tokens = length + cfg_.decode_tokens;
        job.run = [this, v, length] {
            p_.what = "cost " + std::to_string(length) + " · " + v.label;
            // The prompt: the pass-key filler at the needle's middle depth, cut to `length`.
            TaskInput in{tokenize_, bos_, length, {0.5}, mix_seed(cfg_.seed, 0xC057), nullptr};
            std::vector<int32_t> prompt = make_prompts("passkey", in).front().prefix;
            lolapp::Context ctx = context(v);
            const auto t0 = Clock::now();
            feed(ctx, prompt);
            const double prefill = seconds_since(t0);
            const uint64_t cache = ctx.info().state_bytes;
            int32_t t = 0;
            const auto t1 = Clock::now();
            for (int32_t i = 0; i < cfg_.decode_tokens; ++i) {
                t = greedy(ctx);
                ctx.feed(&t, 1, 0);
            }
            const double decode = seconds_since(t1);
            advance(cfg_.decode_tokens);
            cost_.push_back({{"variant", v.name}, {"length", length}, {"prompt_tokens", prompt.size()},
                             {"cache_bytes", cache},
                             {"prefill_tok_s", static_cast<double>(prompt.size()) / prefill},
                             {"decode_tok_s", static_cast<double>(cfg_.decode_tokens) / decode}});
        };
        jobs_.push_back(std::move(job));
    }

    // --- residency ------------------------------------------------------------------------------
    void residency_job() {
        auto task = std::find_if(tasks_.begin(), tasks_.end(), is_needle_task);
        auto lola = std::find_if(variants_.begin(), variants_.end(), [](const Variant &v) {
            return v.attention == lolapp::Attention::lola && v.sparse > 0;
        });
        if (!cfg_.residency || task == tasks_.end() || lola == variants_.end()) return;
        const int64_t length = *std::max_element(cfg_.lengths.begin(), cfg_.lengths.end());
        double depth = cfg_.depths.front();
        for (double d : cfg_.depths)
            if (std::abs(d - 0.5) < std::abs(depth - 0.5)) depth = d;
        const std::string name = *task;
        const Variant v = *lola;
        TaskInput in{tokenize_, bos_, length, {depth}, mix_seed(cfg_.seed, 0x4E5), &hay_};
        auto prompt = std::make_shared<Prompt>(make_prompts(name, in).front());
        Job job;
        job.tokens = static_cast<int64_t>(prompt->prefix.size());
        job.run = [this, name, v, length, depth, prompt] {
            p_.what = "cache residency · " + v.label;
            lolapp::Context ctx = context(v);
            feed(ctx, prompt->prefix);
            Json layers = Json::array();
            for (int32_t l = 0; l < info_.n_layer; ++l) {
                Json heads = Json::array();
                for (int32_t h = 0; h < info_.n_head; ++h)
                    heads.push_back({{"head", h},
                                     {"sparse", ctx.positions(l, h, lolapp::Memory::sparse)},
                                     {"window", ctx.positions(l, h, lolapp::Memory::window)}});
                layers.push_back({{"layer", l}, {"heads", heads}});
            }
            Json spans = Json::array();
            for (const Span &s : prompt->needles) spans.push_back({s.first, s.second});
            residency_ = {{"task", name},       {"variant", v.name},    {"length", length},
                          {"depth", depth},     {"prompt_tokens", prompt->prefix.size()},
                          {"needles", spans},   {"chunk", v.chunk},     {"sparse", v.sparse},
                          {"layers", layers}};
        };
        jobs_.push_back(std::move(job));
    }

    void plan() {
        for (const std::string &task : tasks_) {
            if (!is_needle_task(task)) continue;
            for (int64_t length : cfg_.lengths)
                for (int32_t trial = 0; trial < cfg_.trials; ++trial) {
                    const auto t = prompts(task, length, trial);
                    for (const Variant &v : variants_) needle_job("main", v, t);
                }
        }
        if (!cfg_.lambdas.empty()) {
            const bool full = std::any_of(variants_.begin(), variants_.end(), [](const Variant &v) { return v.name == "full"; });
            for (int32_t trial = 0; trial < cfg_.trials; ++trial) {
                const auto t = prompts(sweep_task(), sweep_length(), trial);
                if (full) needle_job("sweep", make_variant("full", chunk_, lambda_), t);
                for (int32_t lambda : cfg_.lambdas)
                    for (const Variant &v : variants_)
                        if (v.name != "full") needle_job("sweep", make_variant(v.name, chunk_, lambda), t);
            }
        }
        if (std::find(tasks_.begin(), tasks_.end(), "perplexity") != tasks_.end())
            for (int64_t length : cfg_.lengths)
                for (const Variant &v : variants_) perplexity_job(v, length);
        if (std::find(tasks_.begin(), tasks_.end(), "cost") != tasks_.end())
            for (int64_t length : cost_lengths())
                for (const Variant &v : variants_) cost_job(v, length);
        residency_job();
        for (const Job &j : jobs_) p_.total += j.tokens;
    }

    const Config &cfg_;
    ProgressFn progress_;
    lolapp::Model model_;
    lola_model_info info_{};
    lolapp::ContextParams base_;
    int32_t chunk_ = 0, lambda_ = 0;
    std::vector<int32_t> bos_;
    Tokenizer tokenize_;
    std::vector<std::string> tasks_;
    std::vector<Variant> variants_;
    std::string haystack_path_, text_path_;
    Haystack hay_;
    std::vector<int32_t> text_;

    std::vector<Job> jobs_;
    std::set<std::string> planned_;
    std::map<std::string, std::vector<Json>> memo_;
    std::map<std::string, std::shared_ptr<const Trial>> prompt_cache_;
    Clock::time_point start_;
    Progress p_;
    Json trials_ = Json::array(), perplexity_ = Json::array(), cost_ = Json::array(), residency_ = nullptr;
};

}  // namespace

std::string default_text() {
    const char *path = "/usr/share/common-licenses/GPL-3";
    std::ifstream f(path);
    return f ? path : "";
}

Report run(const Config &config, const ProgressFn &progress) {
    check_settings(config);
    Runner runner(config, progress);
    return runner.run();
}

}  // namespace lola_eval
