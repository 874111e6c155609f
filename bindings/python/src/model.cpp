// model.cpp: lola._lola.Model (lola_model_*), its parameters and info, and the model's text
// functions (tokenizer, special tokens, chat template). A model is immutable and thread-safe,
// so its calls take no lock; the GIL is released for the load and for tokenizer work.
#include "common.h"

#include <pybind11/stl.h>

#include <vector>

namespace lolapy {
namespace {

// Calls fill(buffer, capacity, &needed) once with a guessed capacity and again with the exact
// one when the first answered LOLA_ERR_BUFFER_TOO_SMALL: the C API's size-query contract.
template <class T, class Fill>
std::vector<T> fill_sized(size_t guess, Fill &&fill) {
    std::vector<T> out(guess);
    size_t needed = 0;
    lola_status s;
    {
        py::gil_scoped_release nogil;
        s = fill(out.data(), out.size(), &needed);
        if (s == LOLA_ERR_BUFFER_TOO_SMALL) {
            out.resize(needed);
            s = fill(out.data(), out.size(), &needed);
        }
    }
    check(s);
    out.resize(needed);
    return out;
}

Model load(const std::string &path, const lola_model_params &params, const std::string &adapter) {
    // C would stop at a NUL and open another file; Python's open() refuses such a path too.
    if (path.find('\0') != std::string::npos || adapter.find('\0') != std::string::npos)
        throw py::value_error("lola.Model: embedded null character in path");
    lola_model_params p = params;
    p.adapter_path = adapter.empty() ? nullptr : adapter.c_str();
    lola_model *ptr = nullptr;
    {
        py::gil_scoped_release nogil;
        check(lola_model_load(path.c_str(), &p, &ptr));
    }
    return Model{Handle<NativeModel>(std::make_shared<NativeModel>(ptr), "lola.Model")};
}

lola_model_info info(const Model &m) {
    auto n = m.handle.get();
    return get_struct<lola_model_info>([&](auto *out) { return lola_model_get_info(n->ptr, out); });
}

std::vector<int32_t> tokenize(const Model &m, const std::string &text, uint32_t flags) {
    auto n = m.handle.get();
    return fill_sized<int32_t>(text.size() + 16, [&](int32_t *buf, size_t cap, size_t *need) {
        return lola_tokenize(n->ptr, text.data(), text.size(), flags, buf, cap, need);
    });
}

py::bytes detokenize(const Model &m, const CArray<int32_t> &tokens, uint32_t flags) {
    auto n = m.handle.get();
    if (tokens.ndim() != 1) throw StatusError{LOLA_ERR_SIZE_MISMATCH, "tokens must be one-dimensional"};
    const int32_t *ids = tokens.data();
    const size_t count = static_cast<size_t>(tokens.size());
    auto text = fill_sized<char>(count * 8 + 16, [&](char *buf, size_t cap, size_t *need) {
        return lola_detokenize(n->ptr, ids, count, flags, buf, cap, need);
    });
    return py::bytes(text.data(), text.size());
}

py::bytes token_to_piece(const Model &m, int32_t token, uint32_t flags) {
    auto n = m.handle.get();
    auto text = fill_sized<char>(32, [&](char *buf, size_t cap, size_t *need) {
        return lola_token_to_piece(n->ptr, token, flags, buf, cap, need);
    });
    return py::bytes(text.data(), text.size());
}

lola_special_tokens special_tokens(const Model &m) {
    auto n = m.handle.get();
    return get_struct<lola_special_tokens>(
        [&](auto *out) { return lola_model_special_tokens(n->ptr, out); });
}

std::string chat_template(const Model &m,
                          const std::vector<std::pair<std::string, std::string>> &messages,
                          bool add_assistant) {
    auto n = m.handle.get();
    std::vector<lola_chat_message> msgs;
    msgs.reserve(messages.size());
    for (const auto &rc : messages) {
        // The C strings end at a NUL: refuse text that would be cut there silently.
        if (rc.first.find('\0') != std::string::npos || rc.second.find('\0') != std::string::npos)
            throw py::value_error("apply_chat_template: embedded null character in a message");
        msgs.push_back({rc.first.c_str(), rc.second.c_str()});
    }
    auto text = fill_sized<char>(256, [&](char *buf, size_t cap, size_t *need) {
        lola_status s = lola_chat_apply_template(n->ptr, msgs.data(), msgs.size(), add_assistant,
                                                 buf, cap, need);
        if (s == LOLA_OK || s == LOLA_ERR_BUFFER_TOO_SMALL) ++*need;  // room for the NUL
        if (s == LOLA_OK && *need > cap) s = LOLA_ERR_BUFFER_TOO_SMALL;
        return s;
    });
    return std::string(text.data(), text.empty() ? 0 : text.size() - 1);
}

lola_perplexity_result perplexity(const Model &m, const CArray<int32_t> &tokens, int64_t n_ctx,
                                  const lola_context_params &params, const lola_attention_params &attention,
                                  int64_t max_windows, const std::vector<int32_t> &layer_attention) {
    auto n = m.handle.get();
    if (tokens.ndim() != 1) throw StatusError{LOLA_ERR_SIZE_MISMATCH, "tokens must be one-dimensional"};
    // Copies, taken with the GIL held: another thread may change the Python objects meanwhile.
    const lola_attention_params a = attention;
    lola_context_params p = params;
    p.attention = &a;
    p.layer_attention = layer_attention.empty() ? nullptr : layer_attention.data();
    p.n_layer_attention = layer_attention.size();
    lola_perplexity_result r{};
    r.struct_size = sizeof r;
    lola_status s;
    {
        py::gil_scoped_release nogil;
        s = lola_perplexity(n->ptr, &p, tokens.data(), static_cast<size_t>(tokens.size()), n_ctx, max_windows, &r);
    }
    check(s);
    return r;
}

}  // namespace

void bind_model(py::module_ &m) {
    params_class<lola_model_params, lola_model_params_init>(
        m, "ModelParams", "lola_model_params, filled with the C defaults.")
        .def_readwrite("device", &lola_model_params::device)
        .def_readwrite("device_index", &lola_model_params::device_index)
        .def_readwrite("memory_budget", &lola_model_params::memory_budget);

    py::class_<lola_model_info>(m, "ModelInfo", "lola_model_info: shapes and sizes of a model.")
        .def_property_readonly("architecture", [](const lola_model_info &i) { return std::string(i.architecture); })
        .def_property_readonly("name", [](const lola_model_info &i) { return std::string(i.name); })
        .def_readonly("n_layer", &lola_model_info::n_layer)
        .def_readonly("n_head", &lola_model_info::n_head)
        .def_readonly("n_head_kv", &lola_model_info::n_head_kv)
        .def_readonly("head_dim", &lola_model_info::head_dim)
        .def_readonly("n_embd", &lola_model_info::n_embd)
        .def_readonly("n_ff", &lola_model_info::n_ff)
        .def_readonly("n_vocab", &lola_model_info::n_vocab)
        .def_readonly("n_ctx_train", &lola_model_info::n_ctx_train)
        .def_readonly("weight_bytes", &lola_model_info::weight_bytes)
        .def_property_readonly("has_lola_tensors", [](const lola_model_info &i) { return i.has_lola_tensors != 0; })
        .def_property_readonly("has_adapter", [](const lola_model_info &i) { return i.has_adapter != 0; })
        .def_readonly("fingerprint", &lola_model_info::fingerprint);

    py::class_<lola_perplexity_result>(m, "PerplexityResult",
                                       "lola_perplexity_result: what Model.perplexity measured.")
        .def_readonly("n_windows", &lola_perplexity_result::n_windows)
        .def_readonly("n_scored", &lola_perplexity_result::n_scored)
        .def_readonly("nll", &lola_perplexity_result::nll)
        .def_readonly("perplexity", &lola_perplexity_result::perplexity)
        .def("__repr__", [](const lola_perplexity_result &r) {
            return "<lola.PerplexityResult perplexity=" + std::to_string(r.perplexity) + " nll=" +
                   std::to_string(r.nll) + " n_scored=" + std::to_string(r.n_scored) + " n_windows=" +
                   std::to_string(r.n_windows) + ">";
        });

    py::class_<lola_special_tokens>(m, "SpecialTokens", "lola_special_tokens: -1 where the vocabulary has none.")
        .def_readonly("bos", &lola_special_tokens::bos)
        .def_readonly("eos", &lola_special_tokens::eos)
        .def_readonly("eot", &lola_special_tokens::eot)
        .def_readonly("unk", &lola_special_tokens::unk)
        .def_readonly("pad", &lola_special_tokens::pad);

    py::class_<Model>(m, "Model", "A loaded GGUF model (lola_model).")
        .def(py::init(&load), py::arg("path"), py::arg("params"), py::arg("adapter") = std::string())
        .def("close", [](Model &self) { self.handle.close(); })
        .def_property_readonly("closed", [](const Model &self) { return self.handle.closed(); })
        .def("info", &info)
        .def("perplexity", &perplexity, py::arg("tokens"), py::arg("n_ctx"), py::arg("params"),
             py::arg("attention"), py::arg("max_windows"), py::arg("layer_attention") = std::vector<int32_t>())
        .def("tokenize", &tokenize, py::arg("text"), py::arg("flags"))
        .def("detokenize", &detokenize, py::arg("tokens"), py::arg("flags"))
        .def("token_to_piece", &token_to_piece, py::arg("token"), py::arg("flags"))
        .def("special_tokens", &special_tokens)
        .def("is_eog", [](const Model &self, int32_t token) { return lola_token_is_eog(self.handle.get()->ptr, token); },
             py::arg("token"))
        .def("apply_chat_template", &chat_template, py::arg("messages"), py::arg("add_assistant"));
}

}  // namespace lolapy
