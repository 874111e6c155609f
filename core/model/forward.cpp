// forward.cpp: see forward.hpp.
#include "model/forward.hpp"

namespace lola::model {

Activations allocate_activations(backend::Backend &be, const HParams &hp, int64_t rows) {
    const size_t B = static_cast<size_t>(rows);
    const size_t E = static_cast<size_t>(hp.n_embd), FF = static_cast<size_t>(hp.n_ff);
    const size_t nq = static_cast<size_t>(hp.n_head * hp.head_dim);
    const size_t nkv = static_cast<size_t>(hp.n_head_kv * hp.head_dim);
    return Activations{be.alloc(B * E),   be.alloc(B * E),   be.alloc(B * nq), be.alloc(B * nkv), be.alloc(B * nkv),
                       be.alloc(B * nq),  be.alloc(B * E),   be.alloc(B * FF), be.alloc(B * FF)};
}

void forward_layers(backend::Backend &be, const HParams &hp, const Activations &a, int64_t n,
                    const std::function<void(int64_t layer)> &attend) {
    using backend::Linear;
    using backend::Norm;
    const size_t NE = static_cast<size_t>(n * hp.n_embd), NFF = static_cast<size_t>(n * hp.n_ff);
    for (int64_t l = 0; l < hp.n_layer; ++l) {
        be.rms_norm(Norm::attn, l, a.x, n, a.xn);
        be.linear(Linear::q, l, a.xn, n, a.q);
        be.linear(Linear::k, l, a.xn, n, a.k);
        be.linear(Linear::v, l, a.xn, n, a.v);
        attend(l);
        be.linear(Linear::o, l, a.y, n, a.o);
        be.add(a.x, a.o, NE);
        be.rms_norm(Norm::ffn, l, a.x, n, a.xn);
        be.linear(Linear::gate, l, a.xn, n, a.gate);
        be.linear(Linear::up, l, a.xn, n, a.up);
        be.swiglu(a.gate, a.up, NFF);
        be.linear(Linear::down, l, a.gate, n, a.o);
        be.add(a.x, a.o, NE);
    }
}

}  // namespace lola::model
