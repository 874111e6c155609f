// sampler.cpp: lola._lola.Sampler (lola_sampler_*) and its parameters. Sampling takes the
// sampler's lock and releases the GIL (a full-vocabulary sort for top-k/top-p).
#include "common.h"

namespace lolapy {
namespace {

Sampler create(const lola_sampler_params &params) {
    lola_sampler *ptr = nullptr;
    check(lola_sampler_create(&params, &ptr));
    return Sampler{Handle<NativeSampler>(std::make_shared<NativeSampler>(ptr), "lola.Sampler")};
}

int32_t sample(const Sampler &self, const CArray<float> &logits) {
    auto n = self.handle.get();
    if (logits.ndim() != 1)
        throw StatusError{LOLA_ERR_SIZE_MISMATCH, "logits must be one-dimensional (n_vocab,)"};
    const float *data = logits.data();
    const size_t count = static_cast<size_t>(logits.size());
    return call_nogil(n, [&](lola_sampler *s) {
        int32_t token = -1;
        check(lola_sampler_sample(s, data, count, &token));
        return token;
    });
}

void accept(const Sampler &self, const CArray<int32_t> &tokens) {
    auto n = self.handle.get();
    if (tokens.ndim() != 1) throw StatusError{LOLA_ERR_SIZE_MISMATCH, "tokens must be one-dimensional"};
    call(n, [&](lola_sampler *s) {
        check(lola_sampler_accept(s, tokens.data(), static_cast<size_t>(tokens.size())));
    });
}

}  // namespace

void bind_sampler(py::module_ &m) {
    params_class<lola_sampler_params, lola_sampler_params_init>(
        m, "SamplerParams", "lola_sampler_params, filled with the C defaults.")
        .def_readwrite("temperature", &lola_sampler_params::temperature)
        .def_readwrite("top_k", &lola_sampler_params::top_k)
        .def_readwrite("top_p", &lola_sampler_params::top_p)
        .def_readwrite("min_p", &lola_sampler_params::min_p)
        .def_readwrite("repeat_penalty", &lola_sampler_params::repeat_penalty)
        .def_readwrite("penalty_last_n", &lola_sampler_params::penalty_last_n)
        .def_readwrite("seed", &lola_sampler_params::seed);

    py::class_<Sampler>(m, "Sampler", "A token sampler (lola_sampler).")
        .def(py::init(&create), py::arg("params"))
        .def("close", [](Sampler &self) { self.handle.close(); })
        .def_property_readonly("closed", [](const Sampler &self) { return self.handle.closed(); })
        .def("sample", &sample, py::arg("logits"))
        .def("accept", &accept, py::arg("tokens"))
        .def("reset", [](const Sampler &self, uint64_t seed) {
                 call(self.handle.get(), [&](lola_sampler *s) { check(lola_sampler_reset(s, seed)); });
             }, py::arg("seed"));
}

}  // namespace lolapy
