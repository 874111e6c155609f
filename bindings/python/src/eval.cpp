// eval.cpp: lola._lola.eval_run and eval_summary, over the evaluation suite of eval/ (the same
// runner as `lola eval`). The run releases the GIL; its progress hook takes the GIL for each
// report, calls the Python callable (if any) and checks for signals, so Ctrl-C stops a run
// with KeyboardInterrupt. liblola's errors become the usual lola exceptions (StatusError), a
// bad setting ValueError.
#include <pybind11/stl.h>

#include <memory>

#include "common.h"
#include "runner.hpp"

namespace lolapy {
namespace {

std::string eval_run(const std::string &path, const lola_model_params &model, const lola_context_params &context,
                     const lola_attention_params &attention, const std::string &settings, py::object progress) {
    lola_eval::Config c;
    c.model_path = path;
    c.model.c_struct() = model;
    c.context.c_struct() = context;
    lolapp::AttentionParams a;
    a.c_struct() = attention;
    c.context.attention(a);
    lola_eval::apply_settings(c, settings);

    std::shared_ptr<py::error_already_set> raised;  // a Python exception from the hook
    const lola_eval::ProgressFn hook = [&](const lola_eval::Progress &p) {
        py::gil_scoped_acquire gil;
        try {
            if (PyErr_CheckSignals() != 0) throw py::error_already_set();
            if (progress.is_none()) return true;
            const py::object r = progress(p.done, p.total, p.elapsed, p.eta, p.what);
            return r.is_none() || py::bool_(r);
        } catch (py::error_already_set &e) {
            raised = std::make_shared<py::error_already_set>(std::move(e));
            return false;
        }
    };
    lola_eval::Report report;
    try {
        py::gil_scoped_release nogil;
        report = lola_eval::run(c, hook);
    } catch (const lolapp::Error &e) {
        if (raised) throw *raised;
        throw StatusError{static_cast<int32_t>(e.status()), e.message()};
    }
    return report.dump();
}

std::string eval_summary(const std::string &report, const std::vector<std::string> &plots) {
    lola_eval::Report r;
    try {
        r = lola_eval::Report::parse(report);
        return lola_eval::summary_markdown(r, plots);
    } catch (const nlohmann::json::exception &e) {
        throw std::invalid_argument(std::string("not a lola eval report: ") + e.what());
    }
}

}  // namespace

void bind_eval(py::module_ &m) {
    m.def("eval_run", &eval_run, py::arg("path"), py::arg("model_params"), py::arg("context_params"),
          py::arg("attention"), py::arg("settings"), py::arg("progress"),
          "Runs the evaluation suite (eval/runner.hpp); settings: a JSON object of Config's "
          "fields; progress(done, total, elapsed, eta, what) or None. Returns report.json's text.");
    m.def("eval_summary", &eval_summary, py::arg("report"), py::arg("plots"),
          "The Markdown summary of a report (its JSON text), linking the given plot files.");
}

}  // namespace lolapy
