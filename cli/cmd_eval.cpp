// cmd_eval.cpp: `lola eval`: the evaluation suite of eval/ (needle tasks, associative recall,
// perplexity, cost, the lambda sweep, cache residency) on one model for a list of attention
// variants at one cache budget. Writes DIR/report.json and DIR/summary.md, draws the PNG plots
// with eval/plots.py (matplotlib) and prints the summary. A progress bar with ETA goes to stderr.
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "common.hpp"
#include "runner.hpp"

namespace cli {

namespace {

namespace fs = std::filesystem;

std::string clock_text(double seconds) {
    const long s = static_cast<long>(seconds + 0.5);
    char buf[32];
    if (s >= 3600)
        std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else
        std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
    return buf;
}

// A bar redrawn in place on a terminal; elsewhere a line every 5 %.
class ProgressBar {
public:
    ProgressBar() : tty_(isatty(2) != 0) {}
    bool operator()(const lola_eval::Progress &p) {
        const double f = p.total > 0 ? static_cast<double>(p.done) / static_cast<double>(p.total) : 1.0;
        const int percent = static_cast<int>(f * 100.0);
        if (tty_) {
            std::string bar(30, ' ');
            for (int i = 0; i < static_cast<int>(f * 30.0) && i < 30; ++i) bar[static_cast<size_t>(i)] = '#';
            std::fprintf(stderr, "\r\x1b[K[%s] %3d%% %s, ETA %s · %s", bar.c_str(), percent,
                         clock_text(p.elapsed).c_str(), clock_text(p.eta).c_str(), p.what.c_str());
        } else if (percent >= next_) {
            std::fprintf(stderr, "lola eval: %3d%% after %s, ETA %s · %s\n", percent,
                         clock_text(p.elapsed).c_str(), clock_text(p.eta).c_str(), p.what.c_str());
            next_ = percent / 5 * 5 + 5;
        }
        return true;
    }
    void done() const {
        if (tty_) std::fprintf(stderr, "\r\x1b[K");
    }

private:
    bool tty_;
    int next_ = 0;
};

// plots.py installed beside the command (<prefix>/share/liblola/eval), else in the source tree.
std::string plots_script() {
    char exe[PATH_MAX];
    const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        const fs::path installed = fs::path(exe).parent_path().parent_path() / "share/liblola/eval/plots.py";
        if (fs::exists(installed)) return installed.string();
    }
    return LOLA_EVAL_PLOTS_SOURCE;
}

// Runs `python plots.py report out`; the file names it wrote, or Failure with what went wrong
// (its own message is on stderr already).
std::vector<std::string> draw_plots(const std::string &python, const fs::path &report, const fs::path &out) {
    const std::string script = plots_script();
    if (!fs::exists(script)) throw Failure("plots not drawn: " + script + " is missing");
    const std::string cmd = shell_quoted(python) + " " + shell_quoted(script) + " " + shell_quoted(report.string()) +
                            " " + shell_quoted(out.string());
    FILE *pipe = popen(cmd.c_str(), "r");
    if (!pipe) throw Failure("plots not drawn: cannot run " + python);
    std::vector<std::string> files;
    char line[4096];
    while (std::fgets(line, sizeof line, pipe)) {
        std::string l = line;
        while (!l.empty() && (l.back() == '\n' || l.back() == '\r')) l.pop_back();
        if (!l.empty()) files.push_back(fs::path(l).filename().string());
    }
    const int status = pclose(pipe);
    if (status != 0)
        throw Failure("plots not drawn: '" + python + " " + script + "' failed" +
                      (WIFEXITED(status) && WEXITSTATUS(status) == 127 ? " (no such interpreter)" : "") +
                      "; it needs matplotlib (pip install matplotlib). report.json and summary.md are written; "
                      "draw them later with: " + python + " " + script + " " + report.string() + " " + out.string());
    return files;
}

void write_text(const fs::path &path, const std::string &text) {
    std::ofstream f(path, std::ios::binary);
    f << text;
    if (!f) throw Failure("cannot write " + path.string());
}

std::vector<int64_t> lengths_of(const std::string &option, const std::string &value) {
    std::vector<int64_t> out;
    for (long long x : int_list(option, value)) out.push_back(x);
    return out;
}

}  // namespace

int cmd_eval(Args &args) {
    lola_eval::Config cfg;
    cfg.model_path = args.require("m");
    cfg.command = args.command_line();
    if (const std::string t = args.get("tasks", "all"); t != "all") cfg.tasks = word_list("tasks", t);
    if (const std::string v = args.get("variants", "all"); v != "all") cfg.variants = word_list("variants", v);
    cfg.lengths = lengths_of("lengths", args.get("lengths", "1024,2048"));
    cfg.depths = float_list("depths", args.get("depths", "0,0.25,0.5,0.75,1"));
    cfg.trials = static_cast<int32_t>(args.get_int("trials", 1));
    cfg.seed = static_cast<uint64_t>(args.get_int("seed", 1));
    cfg.lambdas.clear();
    if (const std::string l = args.get("lambdas", "16,64,256"); l != "none")
        for (long long x : int_list("lambdas", l)) cfg.lambdas.push_back(static_cast<int32_t>(x));
    cfg.sweep_task = args.get("sweep-task", "passkey");
    cfg.sweep_length = args.get_int("sweep-length", 0);
    if (const std::string c = args.get("cost-lengths", ""); !c.empty()) cfg.cost_lengths = lengths_of("cost-lengths", c);
    cfg.decode_tokens = static_cast<int32_t>(args.get_int("decode-tokens", 32));
    cfg.haystack = args.get("haystack", "");
    cfg.text = args.get("text", "");
    cfg.perplexity_windows = static_cast<int32_t>(args.get_int("ppl-windows", 4));
    cfg.residency = !args.flag("no-residency");
    const fs::path out = args.get("o", args.get("out", "eval-report"));
    const bool plots = !args.flag("no-plots");
    const std::string python = args.get("python", "python3");
    cfg.context = context_params(args);
    cfg.model = model_params(args);
    args.finish();

    ProgressBar bar;
    lola_eval::Report report;
    try {
        report = lola_eval::run(cfg, [&](const lola_eval::Progress &p) { return bar(p); });
    } catch (const std::invalid_argument &e) {
        bar.done();
        throw Failure(e.what(), 2);
    } catch (const lolapp::Error &e) {
        bar.done();
        throw Failure(std::string("evaluation failed: ") + e.what());
    }
    bar.done();

    std::error_code ec;
    fs::create_directories(out, ec);
    if (ec) throw Failure("cannot create " + out.string() + ": " + ec.message());
    write_text(out / "report.json", report.dump(1) + "\n");
    std::vector<std::string> drawn;
    std::string plot_error;
    if (plots) {
        try {
            drawn = draw_plots(python, out / "report.json", out);
        } catch (const Failure &f) {
            plot_error = f.what();
        }
    }
    const std::string summary = lola_eval::summary_markdown(report, drawn);
    write_text(out / "summary.md", summary);
    std::printf("%s", summary.c_str());
    std::printf("wrote %s, %s and %zu plot(s)\n", (out / "report.json").c_str(), (out / "summary.md").c_str(),
                drawn.size());
    if (!plot_error.empty()) throw Failure(plot_error);
    return 0;
}

}  // namespace cli
