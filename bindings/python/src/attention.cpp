// attention.cpp: lola._lola.AttentionParams, the settings of every head's memory
// (lola_attention_params) that a standalone layer and a model context share, and
// resolve_attention over lola_attention_params_resolve. lola/_params.py fills an
// AttentionParams from the keyword arguments of lola.Layer and lola.Context alike; the Layer and
// Context constructors (layer.cpp, context.cpp) point their params struct at it.
#include "common.h"

namespace lolapy {

void bind_attention(py::module_ &m) {
    params_class<lola_attention_params, lola_attention_params_init>(
        m, "AttentionParams", "lola_attention_params, filled with the C defaults.")
        .def_readwrite("attention", &lola_attention_params::attention)
        .def_readwrite("chunk_size", &lola_attention_params::chunk_size)
        .def_readwrite("sparse_capacity", &lola_attention_params::sparse_capacity)
        .def_readwrite("feature_map", &lola_attention_params::feature_map)
        .def_readwrite("feature_dim", &lola_attention_params::feature_dim)
        .def_readwrite("mixing", &lola_attention_params::mixing)
        .def_readwrite("scoring", &lola_attention_params::scoring)
        .def_readwrite("performer_orthogonal", &lola_attention_params::performer_orthogonal)
        .def_readwrite("seed", &lola_attention_params::seed)
        .def_readwrite("eps", &lola_attention_params::eps);

    m.def(
        "resolve_attention",
        [](const Model *model, lola_attention_params params) {
            // The model (None: a standalone layer) stays alive through its shared_ptr.
            std::shared_ptr<NativeModel> native = model ? model->handle.get() : nullptr;
            check(lola_attention_params_resolve(native ? native->ptr : nullptr, &params));
            return params;
        },
        py::arg("model").none(true), py::arg("params"),
        "A copy of params with each LOLA_MODEL_DEFAULT field replaced by the value a context on "
        "model (None: a standalone layer) uses.");
}

}  // namespace lolapy
