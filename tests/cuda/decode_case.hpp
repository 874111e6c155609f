// decode_case.hpp: one LoLA decode step set up for the kernel and for the CPU reference. A
// real layer is fed `before` random tokens; for one more token every state head's state is
// copied, the token appended (append_segment) and the CPU's attend_token output recorded
// (want); the kernel's arguments point into this object (host memory), with query features
// from query_features, as the feature-map kernels produce them. Used by the emulated-launch
// test and by cuda_check (which copies the arrays to the device). Not copyable: the argument
// pointers point into it.
#pragma once

#include <memory>
#include <random>
#include <vector>

#include "cuda/k_lola_decode.hpp"
#include "lola/head.hpp"
#include "lola/layer.hpp"
#include "layer_check.hpp"
#include "random_vectors.hpp"
#include "cuda/host_state.hpp"

namespace lola_test {

struct DecodeCase {
    lola::LayerConfig config;
    int n_states = 0, nq = 0, d = 0, F = 0;
    std::vector<lola::HeadState<float>> states;     // the CPU's, after the append
    std::vector<std::unique_ptr<lola::cuda::HostState>> slots;  // the same, laid out for the kernels
    std::vector<float> q, fq, q_log, gates, want, got, scratch;
    std::vector<lola::cuda::k::DecodeHead> heads;
    lola::cuda::k::DecodeArgs args;

    DecodeCase(lola::LayerConfig c, int before, uint64_t seed) {
        std::mt19937_64 rng(seed);
        auto random = [&rng](size_t n) { return lola_test::normal_vector(n, rng); };
        const int H = c.n_heads, KV = c.n_kv_heads;
        d = c.head_dim;
        lola_test::random_hedgehog(c, rng);
        c.window_factors.resize(static_cast<size_t>(H));
        for (int h = 0; h < H; ++h) c.window_factors[static_cast<size_t>(h)] = 0.7 * h - 1.0;
        config = c;
        lola::Layer<float> layer(c);
        if (before > 0) {
            const std::vector<float> bq = random(static_cast<size_t>(before * H * d));
            const std::vector<float> bk = random(static_cast<size_t>(before * KV * d));
            const std::vector<float> bv = random(static_cast<size_t>(before * KV * d));
            layer.feed(before, bq.data(), bk.data(), bv.data(), nullptr, nullptr, nullptr);
        }
        q = random(static_cast<size_t>(H * d));
        const std::vector<float> k = random(static_cast<size_t>(KV * d)), v = random(static_cast<size_t>(KV * d));

        n_states = layer.n_state_heads();
        const lola::HeadParams<float> &p0 = layer.params(0);
        nq = p0.n_query_heads;
        F = p0.F;
        const size_t F1 = F > 0 ? static_cast<size_t>(F) : 1u;
        const size_t n_q = static_cast<size_t>(n_states) * static_cast<size_t>(nq);
        want.resize(n_q * static_cast<size_t>(d));
        got.resize(want.size());
        std::fill(got.begin(), got.end(), -7.f);  // what the kernel never writes shows
        fq.resize(n_q * F1);
        q_log.resize(n_q);
        gates.resize(n_q);
        heads.resize(static_cast<size_t>(n_states));
        states.reserve(static_cast<size_t>(n_states));
        for (int sh = 0; sh < n_states; ++sh) {
            const lola::HeadParams<float> &p = layer.params(sh);
            states.push_back(layer.state(sh));
            lola::HeadState<float> &st = states.back();
            lola::Segment<float> seg;
            seg.n = 1;
            seg.pos0 = before;
            seg.q = q.data() + static_cast<size_t>(p.first_query_head) * d;
            seg.q_stride = static_cast<size_t>(H * d);
            seg.k = k.data() + static_cast<size_t>(p.kv_head) * d;
            seg.v = v.data() + static_cast<size_t>(p.kv_head) * d;
            seg.kv_stride = static_cast<size_t>(KV * d);
            seg.y = want.data() + static_cast<size_t>(sh * nq * d);
            seg.y_stride = static_cast<size_t>(nq * d);
            lola::Scratch<float> scratch_cpu;
            lola::append_segment(p, st, seg, scratch_cpu);
            lola::attend_token(p, st, seg, scratch_cpu);

            const size_t q0 = static_cast<size_t>(sh) * static_cast<size_t>(nq);
            for (int j = 0; j < nq; ++j) {
                gates[q0 + static_cast<size_t>(j)] = p.gate[static_cast<size_t>(j)];
                if (p.linear && st.has_linear)
                    q_log[q0 + static_cast<size_t>(j)] = lola::query_features(
                        p, p.first_query_head + j, seg.q + static_cast<size_t>(j) * d,
                        static_cast<const float *>(nullptr), fq.data() + (q0 + static_cast<size_t>(j)) * F1);
            }
            slots.push_back(std::make_unique<lola::cuda::HostState>(st, c.sparse_capacity, c.chunk, d, F, p.kv_head));
            lola::cuda::k::DecodeHead &h = heads[static_cast<size_t>(sh)];
            h.state = &slots.back()->view;
            h.q = seg.q;
            h.fq = fq.data() + q0 * F1;
            h.q_log = q_log.data() + q0;
            h.gate = gates.data() + q0;
            h.y = got.data() + static_cast<size_t>(sh * nq * d);
        }
        args.heads = heads.data();
        args.d = d;
        args.F = F;
        args.n_query_heads = nq;
        args.scale = p0.scale;
        args.eps = p0.eps;
        args.log_eps = p0.log_eps;
        args.linear = p0.linear;
        args.mixing = static_cast<int>(c.mixing);
        args.max_pairs = c.sparse_capacity + 2 * c.chunk;
        scratch.resize(static_cast<size_t>(n_states) * static_cast<size_t>(lola::cuda::k::decode_scratch_floats(args)));
        args.scratch = scratch.data();
    }
    DecodeCase(const DecodeCase &) = delete;
    DecodeCase &operator=(const DecodeCase &) = delete;
};

}  // namespace lola_test
