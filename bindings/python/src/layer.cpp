// layer.cpp: lola._lola.Layer, the standalone attention layer (lola_layer_*), with numpy arrays
// in and out. Shapes are checked here against the layer's info before the call, because the C
// API sees flat lengths only: a transposed array of the right length must not pass silently.
#include "common.h"

#include <string>
#include <vector>

namespace lolapy {
namespace {

// lola_layer_params (its shapes; the attention settings come as an AttentionParams) plus the
// arrays its pointers will name: float32 C-contiguous copies, owned here until
// lola_layer_create copies them in turn. An empty (default) array means "not given".
struct LayerParams : lola_layer_params {
    CArray<float> window_factors_array{0}, hedgehog_q_array{0}, hedgehog_k_array{0};
};

struct Layer {
    Handle<NativeLayer> handle;
};

[[noreturn]] void size_error(const std::string &what) { throw StatusError{LOLA_ERR_SIZE_MISMATCH, what}; }

std::string shape_str(const std::vector<py::ssize_t> &shape) {
    std::string s = "(";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + (shape.size() == 1 ? ",)" : ")");
}

void require_shape(const py::array &a, const char *name, const std::vector<py::ssize_t> &want) {
    std::vector<py::ssize_t> got(a.shape(), a.shape() + a.ndim());
    if (got != want)
        size_error(std::string(name) + " has shape " + shape_str(got) + ", expected " + shape_str(want));
}

std::vector<py::ssize_t> shape_of(const py::array &a) {
    return std::vector<py::ssize_t>(a.shape(), a.shape() + a.ndim());
}

Layer create(const LayerParams &params, const lola_attention_params &attention) {
    // Copies, taken with the GIL held: another thread may change the Python objects meanwhile
    // (the array handles keep their memory alive until the call is over).
    lola_layer_params p = params;
    lola_attention_params a = attention;
    p.attention = &a;
    const CArray<float> window_factors = params.window_factors_array,
                        hedgehog_q = params.hedgehog_q_array, hedgehog_k = params.hedgehog_k_array;
    const int32_t heads = p.n_heads, dim = p.head_dim;
    if (window_factors.size() > 0) {
        if (window_factors.size() != heads)
            size_error("window_factors has " + std::to_string(window_factors.size()) +
                       " values, expected n_heads = " + std::to_string(heads));
        p.window_factors = window_factors.data();
    }
    if (hedgehog_q.size() > 0 || hedgehog_k.size() > 0) {
        const auto s = shape_of(hedgehog_q);
        if (s.size() != 3 || shape_of(hedgehog_k) != s)
            size_error("hedgehog_q and hedgehog_k must both have shape [n_heads, head_dim, feature_dim/2]");
        // The C library reads n_heads*head_dim*(feature_dim/2) floats from each pointer.
        if (a.feature_dim == 0) a.feature_dim = static_cast<int32_t>(2 * s[2]);
        if (s[0] != heads || s[1] != dim || 2 * s[2] != a.feature_dim)
            size_error("hedgehog weights have shape " + shape_str(s) + ", expected (" +
                       std::to_string(heads) + ", " + std::to_string(dim) + ", " +
                       std::to_string(a.feature_dim / 2) + ")");
        p.hedgehog_q = hedgehog_q.data();
        p.hedgehog_k = hedgehog_k.data();
    }
    lola_layer *ptr = nullptr;
    {
        py::gil_scoped_release nogil;
        check(lola_layer_create(&p, &ptr));
    }
    return Layer{Handle<NativeLayer>(std::make_shared<NativeLayer>(ptr), "lola.Layer")};
}

lola_layer_info info_of(lola_layer *layer) {
    return get_struct<lola_layer_info>([&](auto *out) { return lola_layer_get_info(layer, out); });
}

// Feeds q, k, v ([T, n_heads, d], [T, n_kv_heads, d] twice) and, for precomputed feature maps,
// fq and fk ([T, n_heads, F]); returns y [T, n_heads, d], or None when compute_output is false.
py::object feed(const Layer &self, const CArray<float> &q, const CArray<float> &k,
                const CArray<float> &v, const py::object &fq_obj, const py::object &fk_obj,
                bool compute_output) {
    auto n = self.handle.get();
    const lola_layer_info li = call(n, [](lola_layer *l) { return info_of(l); });
    if (q.ndim() != 3) size_error("q must be three-dimensional [T, n_heads, head_dim]");
    const py::ssize_t T = q.shape(0);
    require_shape(q, "q", {T, li.n_heads, li.head_dim});
    require_shape(k, "k", {T, li.n_kv_heads, li.head_dim});
    require_shape(v, "v", {T, li.n_kv_heads, li.head_dim});
    const bool features = !fq_obj.is_none() || !fk_obj.is_none();
    CArray<float> fq, fk;
    if (features) {
        if (fq_obj.is_none() || fk_obj.is_none()) size_error("fq and fk go together");
        fq = CArray<float>::ensure(fq_obj);
        fk = CArray<float>::ensure(fk_obj);
        if (!fq || !fk) throw py::error_already_set();
        require_shape(fq, "fq", {T, li.n_heads, li.feature_dim});
        require_shape(fk, "fk", {T, li.n_heads, li.feature_dim});
    }
    py::object result = py::none();
    float *y = nullptr;
    size_t y_len = 0;
    if (compute_output) {
        py::array_t<float> out({T, static_cast<py::ssize_t>(li.n_heads), static_cast<py::ssize_t>(li.head_dim)});
        y = out.mutable_data();
        y_len = static_cast<size_t>(out.size());
        result = out;
    }
    const float *qd = q.data(), *kd = k.data(), *vd = v.data();
    const size_t ql = static_cast<size_t>(q.size()), kl = static_cast<size_t>(k.size()),
                 vl = static_cast<size_t>(v.size());
    const float *fqd = features ? fq.data() : nullptr, *fkd = features ? fk.data() : nullptr;
    const size_t fql = features ? static_cast<size_t>(fq.size()) : 0,
                 fkl = features ? static_cast<size_t>(fk.size()) : 0;
    call_nogil(n, [&](lola_layer *l) {
        if (features)
            check(lola_layer_feed_features(l, T, qd, ql, kd, kl, vd, vl, fqd, fql, fkd, fkl, y, y_len));
        else
            check(lola_layer_feed(l, T, qd, ql, kd, kl, vd, vl, y, y_len));
    });
    return result;
}

py::object positions(const Layer &self, int32_t head, int32_t memory) {
    return memory_positions(self.handle.get(), memory, [&](lola_layer *l, auto... out) {
        return lola_layer_get_positions(l, head, memory, out...);
    });
}

// Property for an array parameter: any array-like in (kept as a float32 C-contiguous copy),
// a copy out, None clears it.
template <CArray<float> LayerParams::*Field>
void bind_array(py::class_<LayerParams> &cls, const char *name) {
    cls.def_property(
        name,
        [](const LayerParams &p) -> py::object {
            const auto &a = p.*Field;
            if (a.size() == 0) return py::none();
            return py::array(a).attr("copy")();
        },
        [](LayerParams &p, const py::object &value) {
            if (value.is_none()) {
                p.*Field = CArray<float>(0);
                return;
            }
            auto a = CArray<float>::ensure(value);
            if (!a) throw py::error_already_set();
            p.*Field = py::array(a).attr("copy")().cast<CArray<float>>();
        });
}

}  // namespace

void bind_layer(py::module_ &m) {
    // The attention settings are not fields here: the constructor takes an AttentionParams.
    auto params = params_class<LayerParams, lola_layer_params_init>(
        m, "LayerParams", "lola_layer_params (but its attention), filled with the C defaults.");
    params.def_readwrite("n_heads", &LayerParams::n_heads)
        .def_readwrite("n_kv_heads", &LayerParams::n_kv_heads)
        .def_readwrite("head_dim", &LayerParams::head_dim)
        .def_readwrite("n_threads", &LayerParams::n_threads)
        .def_readwrite("softmax_scale", &LayerParams::softmax_scale);
    bind_array<&LayerParams::window_factors_array>(params, "window_factors");
    bind_array<&LayerParams::hedgehog_q_array>(params, "hedgehog_q");
    bind_array<&LayerParams::hedgehog_k_array>(params, "hedgehog_k");

    py::class_<lola_layer_info>(m, "LayerInfo", "lola_layer_info: shapes and totals of a layer.")
        .def_readonly("n_heads", &lola_layer_info::n_heads)
        .def_readonly("n_kv_heads", &lola_layer_info::n_kv_heads)
        .def_readonly("head_dim", &lola_layer_info::head_dim)
        .def_readonly("feature_dim", &lola_layer_info::feature_dim)
        .def_readonly("n_state_heads", &lola_layer_info::n_state_heads)
        .def_readonly("chunk_size", &lola_layer_info::chunk_size)
        .def_readonly("sparse_capacity", &lola_layer_info::sparse_capacity)
        .def_readonly("attention", &lola_layer_info::attention)
        .def_readonly("n_tokens", &lola_layer_info::n_tokens)
        .def_readonly("bytes", &lola_layer_info::bytes);

    py::class_<Layer>(m, "Layer", "A standalone LoLA attention layer (lola_layer).")
        .def(py::init(&create), py::arg("params"), py::arg("attention"))
        .def("close", [](Layer &self) { self.handle.close(); })
        .def_property_readonly("closed", [](const Layer &self) { return self.handle.closed(); })
        .def("clone", [](const Layer &self) {
            lola_layer *ptr = call_nogil(self.handle.get(), [](lola_layer *l) {
                lola_layer *out = nullptr;
                check(lola_layer_clone(l, &out));
                return out;
            });
            return Layer{Handle<NativeLayer>(std::make_shared<NativeLayer>(ptr), "lola.Layer")};
        })
        .def("reset", [](const Layer &self) { call(self.handle.get(), [](lola_layer *l) { check(lola_layer_reset(l)); }); })
        .def("info", [](const Layer &self) { return call(self.handle.get(), [](lola_layer *l) { return info_of(l); }); })
        .def("head_state", [](const Layer &self, int32_t head) {
                 return call(self.handle.get(), [&](lola_layer *l) {
                     return get_struct<lola_head_state>(
                         [&](auto *out) { return lola_layer_get_head_state(l, head, out); });
                 });
             }, py::arg("head"))
        .def("positions", &positions, py::arg("head"), py::arg("memory"))
        .def("feed", &feed, py::arg("q"), py::arg("k"), py::arg("v"), py::arg("fq"), py::arg("fk"),
             py::arg("compute_output"))
        .def("save_state", [](const Layer &self) {
            return save_state(self.handle.get(), &lola_layer_state_size, &lola_layer_state_save);
        })
        .def("restore_state", [](const Layer &self, const py::buffer &blob) {
                 restore_state(self.handle.get(), blob, [](lola_layer *l, const void *data, size_t size) {
                     check(lola_layer_state_restore(l, data, size));
                 });
             }, py::arg("blob"));
}

}  // namespace lolapy
