// module.cpp: the lola._lola extension module: versions, the status-to-exception translator,
// and the registration of lola.h's constants (constants.cpp), the attention settings
// (attention.cpp) and the handle classes (model.cpp, context.cpp, layer.cpp, sampler.cpp).
// The exception classes themselves live in lola/errors.py, so that Python users and type
// checkers see ordinary Python classes; this file only picks one by status.
#include "common.h"

#include <vector>

namespace lolapy {
namespace {

std::string file_describe(const std::string &path) {
    size_t len = 0;
    {
        py::gil_scoped_release nogil;
        check(lola_file_describe(path.c_str(), nullptr, 0, &len));
    }
    std::vector<char> text(len + 1);
    {
        py::gil_scoped_release nogil;
        check(lola_file_describe(path.c_str(), text.data(), text.size(), &len));
    }
    return std::string(text.data(), len);
}

}  // namespace
}  // namespace lolapy

PYBIND11_MODULE(_lola, m) {
    using namespace lolapy;
    m.doc() = "Low-level binding of liblola's C API (lola.h). Use the `lola` package instead.";

    // The constants of the header this extension was compiled against, LOLA_ABI_VERSION among
    // them: lola/_native.py compares that with abi_version() (the loaded library) at import.
    bind_constants(m);
    m.def("abi_version", &lola_abi_version, "The ABI version of the loaded liblola.");
    m.def("version", [] { return std::string(lola_version()); },
          "The version string of the loaded liblola, 'MAJOR.MINOR.PATCH'.");
    m.def("status_string", [](int32_t s) { return std::string(lola_status_string(static_cast<lola_status>(s))); },
          py::arg("status"), "The name of a lola_status value, e.g. 'LOLA_ERR_IO'.");
    m.def("device_count", [](int32_t device) {
              int32_t n = 0;
              check(lola_device_count(device, &n));
              return n;
          },
          py::arg("device"), "lola_device_count: the devices of one kind this process can use.");
    m.def("file_describe", &file_describe, py::arg("path"),
          "A human-readable summary of a GGUF file (metadata, tensor counts); validates it as "
          "a load does.");
    m.def("set_log_enabled", [](bool on) {
              // A no-op callback silences the library; nullptr restores the stderr default.
              lola_log_fn quiet = [](int32_t, const char *, void *) {};
              lola_set_log_callback(on ? nullptr : quiet, nullptr);
          },
          py::arg("enabled"), "Turn liblola's log on stderr on (default) or off.");

    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const StatusError &e) {
            py::object cls = py::module_::import("lola.errors").attr("error_class")(e.status);
            py::object exc = cls(e.message, e.status);
            PyErr_SetObject(cls.ptr(), exc.ptr());
        }
    });

    bind_model(m);
    bind_attention(m);
    bind_sampler(m);
    bind_eval(m);
    bind_context(m);
    bind_layer(m);
}
