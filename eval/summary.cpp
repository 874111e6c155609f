// summary.cpp: the Markdown summary of an evaluation report (runner.hpp's summary_markdown),
// computed from the report alone so that it can be redrawn from a saved report.json.
#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>

#include "runner.hpp"

namespace lola_eval {

namespace {

using Json = nlohmann::ordered_json;

std::string fixed(double x, int digits) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", digits, x);
    return buf;
}

struct Mean {
    double sum = 0;
    int n = 0;
    void add(double x) { sum += x, ++n; }
    std::string percent() const { return n ? fixed(100.0 * sum / n, 0) + "%" : "–"; }
};

std::string label_of(const Json &report, const std::string &name) {
    for (const Json &v : report["variants"])
        if (v["name"] == name) return v["label"].get<std::string>();
    return name;
}

std::vector<std::string> variant_order(const Json &report) {
    std::vector<std::string> out;
    for (const Json &v : report["variants"]) out.push_back(v["name"].get<std::string>());
    return out;
}

void accuracy_tables(std::ostringstream &md, const Json &report) {
    std::vector<std::string> tasks;
    for (const Json &t : report["trials"])
        if (t["grid"] == "main" && std::find(tasks.begin(), tasks.end(), t["task"]) == tasks.end())
            tasks.push_back(t["task"].get<std::string>());
    if (tasks.empty()) return;
    const std::vector<int64_t> lengths = report["settings"]["lengths"].get<std::vector<int64_t>>();
    md << "## Accuracy by task\n\nMean score over needle depths and trials (a multi-value question "
          "scores the fraction of its values found).\n\n";
    for (const std::string &task : tasks) {
        md << "### " << task << "\n\n| variant |";
        for (int64_t l : lengths) md << " " << l << " |";
        md << " all |\n|---|";
        for (size_t i = 0; i <= lengths.size(); ++i) md << "---:|";
        md << "\n";
        for (const std::string &v : variant_order(report)) {
            std::map<int64_t, Mean> by_length;
            Mean all;
            for (const Json &t : report["trials"])
                if (t["grid"] == "main" && t["task"] == task && t["variant"] == v) {
                    by_length[t["length"].get<int64_t>()].add(t["score"].get<double>());
                    all.add(t["score"].get<double>());
                }
            if (!all.n) continue;
            md << "| " << label_of(report, v) << " |";
            for (int64_t l : lengths) md << " " << by_length[l].percent() << " |";
            md << " **" << all.percent() << "** |\n";
        }
        md << "\n";
    }
}

void sweep_table(std::ostringstream &md, const Json &report) {
    std::set<int32_t> lambdas;
    for (const Json &t : report["trials"])
        if (t["grid"] == "sweep" && t["variant"] != "full") lambdas.insert(t["lambda"].get<int32_t>());
    if (lambdas.empty()) return;
    const int32_t chunk = report["settings"]["chunk"].get<int32_t>();
    md << "## Accuracy against the cache budget\n\n" << report["settings"]["sweep_task"].get<std::string>()
       << " at " << report["settings"]["sweep_length"].get<int64_t>()
       << " tokens; budget = λ + 2C pairs per head (C = " << chunk << "); full attention has no budget.\n\n| variant |";
    for (int32_t l : lambdas) md << " λ=" << l << " (" << l + 2 * chunk << ") |";
    md << "\n|---|";
    for (size_t i = 0; i < lambdas.size(); ++i) md << "---:|";
    md << "\n";
    for (const std::string &v : variant_order(report)) {
        std::map<int32_t, Mean> by;
        Mean all;
        for (const Json &t : report["trials"])
            if (t["grid"] == "sweep" && t["variant"] == v) {
                by[t["lambda"].get<int32_t>()].add(t["score"].get<double>());
                all.add(t["score"].get<double>());
            }
        if (!all.n) continue;
        md << "| " << label_of(report, v) << " |";
        for (int32_t l : lambdas) md << " " << (v == "full" ? all.percent() : by[l].percent()) << " |";
        md << "\n";
    }
    md << "\n";
}

void perplexity_table(std::ostringstream &md, const Json &report) {
    if (report["perplexity"].empty()) return;
    std::set<int64_t> lengths;
    for (const Json &r : report["perplexity"]) lengths.insert(r["length"].get<int64_t>());
    md << "## Perplexity\n\n`" << report["settings"]["text"].get<std::string>()
       << "`: each window of a context length on its own, its second half scored.\n\n| variant |";
    for (int64_t l : lengths) md << " " << l << " |";
    md << "\n|---|";
    for (size_t i = 0; i < lengths.size(); ++i) md << "---:|";
    md << "\n";
    for (const std::string &v : variant_order(report)) {
        std::map<int64_t, std::string> cell;
        for (const Json &r : report["perplexity"])
            if (r["variant"] == v) cell[r["length"].get<int64_t>()] = fixed(r["ppl"].get<double>(), 2);
        if (cell.empty()) continue;
        md << "| " << label_of(report, v) << " |";
        for (int64_t l : lengths) md << " " << (cell.count(l) ? cell[l] : "–") << " |";
        md << "\n";
    }
    md << "\n";
}

void cost_table(std::ostringstream &md, const Json &report) {
    if (report["cost"].empty()) return;
    md << "## Cost\n\nCache state after the prompt (all layers), prefill and decode speed on this "
          "machine (timings vary from run to run).\n\n"
          "| variant | context | cache MiB | prefill tok/s | decode tok/s |\n|---|---:|---:|---:|---:|\n";
    for (const std::string &v : variant_order(report))
        for (const Json &r : report["cost"])
            if (r["variant"] == v)
                md << "| " << label_of(report, v) << " | " << r["length"].get<int64_t>() << " | "
                   << fixed(r["cache_bytes"].get<double>() / (1024.0 * 1024.0), 2) << " | "
                   << fixed(r["prefill_tok_s"].get<double>(), 1) << " | "
                   << fixed(r["decode_tok_s"].get<double>(), 1) << " |\n";
    md << "\n";
}

void residency_table(std::ostringstream &md, const Json &report) {
    const Json &r = report["residency"];
    if (r.is_null()) return;
    std::set<int64_t> needle;
    for (const Json &s : r["needles"])
        for (int64_t p = s[0].get<int64_t>(); p < s[1].get<int64_t>(); ++p) needle.insert(p);
    md << "## What the sparse cache holds at the question\n\n" << r["task"].get<std::string>() << ", "
       << r["length"].get<int64_t>() << " tokens, needle depth " << fixed(r["depth"].get<double>(), 2) << ", "
       << label_of(report, r["variant"].get<std::string>()) << ": of the " << needle.size()
       << " needle tokens, how many some head of each layer keeps in its sparse cache (and in its window).\n\n"
          "| layer | needle tokens in the sparse cache | in the window | distinct positions cached |\n|---:|---:|---:|---:|\n";
    for (const Json &layer : r["layers"]) {
        std::set<int64_t> sparse, window;
        for (const Json &h : layer["heads"]) {
            for (const Json &p : h["sparse"]) sparse.insert(p.get<int64_t>());
            for (const Json &p : h["window"]) window.insert(p.get<int64_t>());
        }
        size_t in_sparse = 0, in_window = 0;
        for (int64_t p : needle) in_sparse += sparse.count(p), in_window += window.count(p);
        md << "| " << layer["layer"].get<int32_t>() << " | " << in_sparse << " | " << in_window << " | "
           << sparse.size() << " |\n";
    }
    md << "\n";
}

}  // namespace

std::string summary_markdown(const Report &report, const std::vector<std::string> &plots) {
    std::ostringstream md;
    const Json &s = report["settings"];
    md << "# lola eval: " << report["model"]["name"].get<std::string>() << "\n\n"
       << "`" << report["model"]["path"].get<std::string>() << "`, liblola " << report["liblola"].get<std::string>()
       << ", started " << report["started"].get<std::string>() << ", " << fixed(report["seconds"].get<double>(), 0)
       << " s. Cache budget " << s["budget"].get<int32_t>() << " pairs per head (LoLA: chunk " << s["chunk"].get<int32_t>()
       << ", sparse " << s["sparse"].get<int32_t>() << "; the window baselines: chunk " << s["budget"].get<int32_t>() / 2
       << "). Seed " << s["seed"].get<uint64_t>() << ", " << s["trials"].get<int32_t>() << " trial(s) per point.\n\n";
    if (!report["command"].get<std::string>().empty())
        md << "Reproduce:\n\n```sh\n" << report["command"].get<std::string>() << "\n```\n\n";
    accuracy_tables(md, report);
    sweep_table(md, report);
    perplexity_table(md, report);
    cost_table(md, report);
    residency_table(md, report);
    if (!plots.empty()) {
        md << "## Plots\n\n";
        for (const std::string &p : plots) md << "![" << p << "](" << p << ")\n\n";
    }
    return md.str();
}

}  // namespace lola_eval
