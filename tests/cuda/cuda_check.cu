// cuda_check: the device half of scripts/cuda_device_check.sh. For each kernel family it runs
// the device kernel and the emulated launch of the same body on the same inputs and prints one
// line: family, case, pass/FAIL, bitwise or the largest difference in ulps, the first bad index.
// With --emulate it runs the emulation against the CPU reference instead (CI, no GPU), in the
// same format, so that the script runs end to end everywhere.
//
//   cuda_check [--emulate] [--tiny] [--device N]     (--tiny: the small cases only, for the
//                                                     compute-sanitizer tools)
// Exit status: 0 all pass, 1 a check failed, 77 no usable device (the message says why).
#include <cuda_runtime.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <unistd.h>
#include <random>
#include <string>
#include <vector>

#include "cpu/ops.hpp"
#include "lola/config.hpp"
#include "lola/feature_map.hpp"
#include "cuda/launch.hpp"
#include "quant/matmul.hpp"
#include "quant/quant.hpp"
#include "cpu/cpu_backend.hpp"
#include "cuda/emulated_backend.hpp"
#include "decode_case.hpp"
#include "model/llama_context.hpp"
#include "model/llama_model.hpp"
#include "tiny_llama.hpp"
#include "random_blocks.hpp"
#include "random_vectors.hpp"
#include "cuda/host_state.hpp"
#include "lola/head.hpp"
#include "lola/layer.hpp"

namespace {

namespace q = lola::quant;
namespace k = lola::cuda::k;

struct Compare {
    bool equal = true;
    int64_t max_ulp = 0, first_bad = -1;
};

int64_t ulp_distance(float a, float b) {
    int32_t ia, ib;
    std::memcpy(&ia, &a, 4);
    std::memcpy(&ib, &b, 4);
    if (ia < 0) ia = INT32_MIN - ia;  // order the bit patterns like the floats
    if (ib < 0) ib = INT32_MIN - ib;
    return std::llabs(static_cast<int64_t>(ia) - static_cast<int64_t>(ib));
}

Compare compare(const std::vector<float> &got, const std::vector<float> &want) {
    Compare c;
    for (size_t i = 0; i < want.size(); ++i) {
        if (std::memcmp(&got[i], &want[i], 4) == 0) continue;
        if (c.first_bad < 0) c.first_bad = static_cast<int64_t>(i);
        c.equal = false;
        const int64_t d = ulp_distance(got[i], want[i]);
        if (d > c.max_ulp) c.max_ulp = d;
    }
    return c;
}

bool report(const char *family, const std::string &what, const Compare &c) {
    if (c.equal)
        std::printf("%-8s %-28s pass  bitwise\n", family, what.c_str());
    else
        std::printf("%-8s %-28s FAIL  max %lld ulp, first bad index %lld\n", family, what.c_str(),
                    static_cast<long long>(c.max_ulp), static_cast<long long>(c.first_bad));
    return c.equal;
}

#define CUDA_OK(call)                                                                        \
    do {                                                                                     \
        const cudaError_t e_ = (call);                                                       \
        if (e_ != cudaSuccess) {                                                             \
            std::printf("cuda error at %s:%d: %s: %s\n", __FILE__, __LINE__, #call,          \
                        cudaGetErrorString(e_));                                             \
            return false;                                                                    \
        }                                                                                    \
    } while (0)

// The matmul family on one case: the device (or, emulating, the emulation) against its truth.
bool check_matmul(uint32_t type, int64_t rows, int64_t cols, int64_t tokens, bool emulate,
                  std::mt19937_64 &rng) {
    const size_t row_bytes = q::row_bytes(type, cols);
    std::vector<uint8_t> w(row_bytes * static_cast<size_t>(rows));
    lola_test::fill_random_blocks(type, w.data(), static_cast<uint64_t>(rows * cols), 0.5f, rng);
    std::normal_distribution<float> normal(0.f, 1.f);
    std::vector<float> x(static_cast<size_t>(tokens * cols));
    for (float &v : x) v = normal(rng);
    std::vector<float> want(static_cast<size_t>(tokens * rows)), got(want.size());
    k::MatmulArgs a = k::matmul_args(type, nullptr, row_bytes, rows, cols, nullptr, nullptr);
    const std::string what = std::string(q::type_name(type)) + " " + std::to_string(rows) + "x" +
                             std::to_string(cols) + " t" + std::to_string(tokens);
    if (emulate) {
        q::matmul(type, w.data(), rows, cols, x.data(), tokens, want.data(), nullptr, q::Isa::scalar);
        a.w = w.data();
        a.x = x.data();
        a.y = got.data();
        k::matmul_emulated(a, tokens);
        return report("matmul", what, compare(got, want));
    }
    a.w = w.data();
    a.x = x.data();
    a.y = want.data();
    k::matmul_emulated(a, tokens);
    uint8_t *dw = nullptr;
    float *dx = nullptr, *dy = nullptr;
    CUDA_OK(cudaMalloc(&dw, w.size()));
    CUDA_OK(cudaMalloc(&dx, x.size() * 4));
    CUDA_OK(cudaMalloc(&dy, got.size() * 4));
    CUDA_OK(cudaMemcpy(dw, w.data(), w.size(), cudaMemcpyHostToDevice));
    CUDA_OK(cudaMemcpy(dx, x.data(), x.size() * 4, cudaMemcpyHostToDevice));
    CUDA_OK(cudaMemset(dy, 0xFF, got.size() * 4));  // NaNs: an element never written shows
    a.w = dw;
    a.x = dx;
    a.y = dy;
    CUDA_OK(lola::cuda::launch_matmul_exact(a, tokens, nullptr));
    CUDA_OK(cudaDeviceSynchronize());
    CUDA_OK(cudaMemcpy(got.data(), dy, got.size() * 4, cudaMemcpyDeviceToHost));
    CUDA_OK(cudaFree(dw));
    CUDA_OK(cudaFree(dx));
    CUDA_OK(cudaFree(dy));
    return report("matmul", what, compare(got, want));
}

// A device copy of a host vector, freed at scope exit.
template <class T>
struct DeviceVec {
    T *p = nullptr;
    size_t n = 0;
    cudaError_t err = cudaSuccess;
    explicit DeviceVec(const std::vector<T> &h) : n(h.size()) {
        err = cudaMalloc(&p, (n ? n : 1) * sizeof(T));
        if (err == cudaSuccess && n) err = cudaMemcpy(p, h.data(), n * sizeof(T), cudaMemcpyHostToDevice);
    }
    ~DeviceVec() { cudaFree(p); }
    cudaError_t get(std::vector<T> &h) const {
        return n ? cudaMemcpy(h.data(), p, n * sizeof(T), cudaMemcpyDeviceToHost) : cudaSuccess;
    }
};

std::vector<float> normal_vector(size_t n, float scale, std::mt19937_64 &rng) {
    std::normal_distribution<float> normal(0.f, scale);
    std::vector<float> v(n);
    for (float &x : v) x = normal(rng);
    return v;
}

// The element-wise family: the emulation is the truth on the device, the CPU ops when emulating.
bool check_elementwise(bool emulate, std::mt19937_64 &rng) {
    bool ok = true;
    {  // rms_norm
        const int64_t E = 576, n = 7;
        std::vector<float> x = normal_vector(static_cast<size_t>(n * E), 3.f, rng);
        x[5] = 1e8f;
        const std::vector<float> w = normal_vector(static_cast<size_t>(E), 1.f, rng);
        std::vector<float> want(x.size()), got(x.size());
        k::RmsNormArgs a;
        a.eps = 1e-5f;
        a.E = E;
        if (emulate) {
            lola::cpu::rms_norm(x.data(), w.data(), a.eps, n, E, want.data());
            a.x = x.data(); a.w = w.data(); a.out = got.data();
            k::rms_norm_emulated(a, n);
        } else {
            a.x = x.data(); a.w = w.data(); a.out = want.data();
            k::rms_norm_emulated(a, n);
            DeviceVec<float> dx(x), dw(w), dout(got);
            CUDA_OK(dx.err); CUDA_OK(dw.err); CUDA_OK(dout.err);
            a.x = dx.p; a.w = dw.p; a.out = dout.p;
            CUDA_OK(lola::cuda::launch_rms_norm(a, n, nullptr));
            CUDA_OK(cudaDeviceSynchronize());
            CUDA_OK(dout.get(got));
        }
        ok &= report("rmsnorm", "576 x 7", compare(got, want));
    }
    {  // rope
        const int64_t n = 5, heads = 9, d = 64;
        const std::vector<float> inv_freq = lola::cpu::rope_inv_freq(100000.f, 1.f, {}, d);
        std::vector<float> table(static_cast<size_t>(n * d));
        lola::cpu::rope_table(99'990, n, inv_freq, table.data());
        const std::vector<float> x = normal_vector(static_cast<size_t>(n * heads * d), 1.f, rng);
        std::vector<float> want = x, got = x;
        k::RopeArgs a;
        a.n_heads = heads;
        a.head_dim = d;
        if (emulate) {
            lola::cpu::rope_apply(want.data(), n, heads, d, table.data());
            a.x = got.data(); a.table = table.data();
            k::rope_emulated(a, n);
        } else {
            a.x = want.data(); a.table = table.data();
            k::rope_emulated(a, n);
            DeviceVec<float> dx(x), dt(table);
            CUDA_OK(dx.err); CUDA_OK(dt.err);
            a.x = dx.p; a.table = dt.p;
            CUDA_OK(lola::cuda::launch_rope(a, n, nullptr));
            CUDA_OK(cudaDeviceSynchronize());
            CUDA_OK(dx.get(got));
        }
        ok &= report("rope", "9 heads x 64, 5 tokens", compare(got, want));
    }
    {  // swiglu + add
        const int64_t n = 1536 * 3 + 1;
        const std::vector<float> gate = normal_vector(static_cast<size_t>(n), 4.f, rng);
        const std::vector<float> up = normal_vector(static_cast<size_t>(n), 1.f, rng);
        std::vector<float> want = gate, got = gate;
        k::SwigluArgs s;
        k::AddArgs a;
        s.n = a.n = n;
        if (emulate) {
            lola::cpu::swiglu(want.data(), up.data(), static_cast<size_t>(n));
            lola::cpu::add(want.data(), up.data(), static_cast<size_t>(n));
            s.gate = got.data(); s.up = up.data();
            k::swiglu_emulated(s);
            a.x = got.data(); a.y = up.data();
            k::add_emulated(a);
        } else {
            s.gate = want.data(); s.up = up.data();
            k::swiglu_emulated(s);
            a.x = want.data(); a.y = up.data();
            k::add_emulated(a);
            DeviceVec<float> dg(gate), du(up);
            CUDA_OK(dg.err); CUDA_OK(du.err);
            s.gate = dg.p; s.up = du.p;
            a.x = dg.p; a.y = du.p;
            CUDA_OK(lola::cuda::launch_swiglu(s, nullptr));
            CUDA_OK(lola::cuda::launch_add(a, nullptr));
            CUDA_OK(cudaDeviceSynchronize());
            CUDA_OK(dg.get(got));
        }
        ok &= report("swiglu", "then add, 4609", compare(got, want));
    }
    {  // embed (Q8_0: SmolLM2's token_embd)
        const int64_t E = 576, vocab = 97;
        const size_t rb = q::row_bytes(q::Q8_0, E);
        std::vector<uint8_t> table(rb * vocab);
        lola_test::fill_random_blocks(q::Q8_0, table.data(), static_cast<uint64_t>(vocab * E), 1.f, rng);
        const std::vector<int32_t> tokens = {96, 0, 41, 41, 7};
        std::vector<float> want(tokens.size() * E), got(want.size());
        k::EmbedArgs a;
        a.type = q::Q8_0;
        a.row_bytes = rb;
        a.n_embd = E;
        const int64_t n = static_cast<int64_t>(tokens.size());
        if (emulate) {
            for (size_t t = 0; t < tokens.size(); ++t)
                q::dequantize_row(q::Q8_0, table.data() + rb * static_cast<size_t>(tokens[t]), want.data() + t * E, E);
            a.table = table.data(); a.tokens = tokens.data(); a.x = got.data();
            k::embed_emulated(a, n);
        } else {
            a.table = table.data(); a.tokens = tokens.data(); a.x = want.data();
            k::embed_emulated(a, n);
            DeviceVec<uint8_t> dtab(table);
            DeviceVec<int32_t> dtok(tokens);
            DeviceVec<float> dx(got);
            CUDA_OK(dtab.err); CUDA_OK(dtok.err); CUDA_OK(dx.err);
            a.table = dtab.p; a.tokens = dtok.p; a.x = dx.p;
            CUDA_OK(lola::cuda::launch_embed(a, n, nullptr));
            CUDA_OK(cudaDeviceSynchronize());
            CUDA_OK(dx.get(got));
        }
        ok &= report("embed", "Q8_0 576, 5 tokens", compare(got, want));
    }
    return ok;
}

// The feature-map family: a performer map of SmolLM2's shape (9 query heads of 64, F = 64).
bool check_features(bool emulate, std::mt19937_64 &rng) {
    lola::LayerConfig c;
    c.n_heads = c.n_kv_heads = 9;
    c.head_dim = 64;
    c.feature_map = lola::FeatureMapKind::performer;
    c = lola::validated(c);
    const lola::FeatureMap<float> phi(c);
    const auto v = phi.view();
    const int64_t n = 9;
    const std::vector<float> x = normal_vector(static_cast<size_t>(n * 64), 2.f, rng);
    std::vector<float> want(static_cast<size_t>(n * v.F)), got(want.size()), want_c(n), got_c(n);
    k::FeatureArgs a;
    a.kind = k::kPerformer;
    a.d = 64;
    a.F = v.F;
    a.x_stride = 64;
    a.x_scale = v.x_scale;
    a.log_norm = v.log_norm;
    if (emulate) {
        for (int64_t b = 0; b < n; ++b)
            want_c[static_cast<size_t>(b)] = phi.apply(static_cast<int>(b), true, x.data() + b * 64, want.data() + b * v.F);
        a.x = x.data(); a.omega = v.omega; a.f = got.data(); a.c = got_c.data();
        k::feature_emulated(a, n);
    } else {
        a.x = x.data(); a.omega = v.omega; a.f = want.data(); a.c = want_c.data();
        k::feature_emulated(a, n);
        const std::vector<float> omega(v.omega, v.omega + static_cast<size_t>(v.F) * 64);
        DeviceVec<float> dx(x), dom(omega), df(got), dc(got_c);
        CUDA_OK(dx.err); CUDA_OK(dom.err); CUDA_OK(df.err); CUDA_OK(dc.err);
        a.x = dx.p; a.omega = dom.p; a.f = df.p; a.c = dc.p;
        CUDA_OK(lola::cuda::launch_features(a, n, nullptr));
        CUDA_OK(cudaDeviceSynchronize());
        CUDA_OK(df.get(got));
        CUDA_OK(dc.get(got_c));
    }
    got.insert(got.end(), got_c.begin(), got_c.end());
    want.insert(want.end(), want_c.begin(), want_c.end());
    return report("features", "performer 9 x 64, F 64", compare(got, want));
}

// The LoLA decode family on SmolLM2's layer shape (9 query heads sharing 3 states, d 64,
// C = lambda = 64, performer) after 300 tokens: G full, the linear state folded.
bool check_decode(bool emulate) {
    lola::LayerConfig c;
    c.n_heads = 9;
    c.n_kv_heads = 3;
    c.head_dim = 64;
    lola_test::DecodeCase t(c, 300, 20261203);
    if (emulate) {  // the emulation against the CPU's attend_token
        k::lola_decode_emulated(t.args, t.n_states);
        return report("decode", "9/3 heads, d 64, after 300", compare(t.got, t.want));
    }
    // The device against the emulation: every array the heads point at goes to the device.
    k::lola_decode_emulated(t.args, t.n_states);
    const std::vector<float> emulated = t.got;
    std::vector<std::unique_ptr<DeviceVec<float>>> keep;
    auto up = [&](const float *p, size_t n) -> const float * {
        keep.push_back(std::make_unique<DeviceVec<float>>(std::vector<float>(p, p + n)));
        return keep.back()->err == cudaSuccess ? keep.back()->p : nullptr;
    };
    std::vector<k::DecodeHead> dh = t.heads;
    std::vector<k::HeadView> views(static_cast<size_t>(t.n_states));
    DeviceVec<float> dy(t.got), dscratch(t.scratch);
    CUDA_OK(dy.err);
    CUDA_OK(dscratch.err);
    const size_t F1 = t.F > 0 ? static_cast<size_t>(t.F) : 1u, d = static_cast<size_t>(t.d);
    for (int sh = 0; sh < t.n_states; ++sh) {
        const k::HeadView &hv = t.slots[static_cast<size_t>(sh)]->view;
        k::HeadView &v = views[static_cast<size_t>(sh)];
        v = hv;  // the scalars; the arrays the decode reads go to the device
        for (k::PairsView *m : {&v.g, &v.prev, &v.cur}) {
            m->k = const_cast<float *>(up(m->k, static_cast<size_t>(m->n) * d));
            m->v = const_cast<float *>(up(m->v, static_cast<size_t>(m->n) * d));
            m->pos = nullptr;
            m->fk = m->fk_log = m->score = nullptr;
        }
        v.g_next = k::PairsView{};
        v.H = const_cast<float *>(up(hv.H, F1 * d));
        v.s = const_cast<float *>(up(hv.s, F1));
        const size_t q0 = static_cast<size_t>(sh) * static_cast<size_t>(t.nq);
        k::DecodeHead &h = dh[static_cast<size_t>(sh)];
        h.q = up(t.heads[static_cast<size_t>(sh)].q, static_cast<size_t>(t.nq) * d);
        h.fq = up(t.fq.data() + q0 * F1, static_cast<size_t>(t.nq) * F1);
        h.q_log = up(t.q_log.data() + q0, static_cast<size_t>(t.nq));
        h.gate = up(t.gates.data() + q0, static_cast<size_t>(t.nq));
        h.y = dy.p + q0 * d;
    }
    k::HeadView *dviews = nullptr;
    CUDA_OK(cudaMalloc(&dviews, views.size() * sizeof(k::HeadView)));
    CUDA_OK(cudaMemcpy(dviews, views.data(), views.size() * sizeof(k::HeadView), cudaMemcpyHostToDevice));
    for (size_t sh = 0; sh < dh.size(); ++sh) dh[sh].state = dviews + sh;
    for (const auto &b : keep) CUDA_OK(b->err);
    k::DecodeHead *dheads = nullptr;
    CUDA_OK(cudaMalloc(&dheads, dh.size() * sizeof(k::DecodeHead)));
    CUDA_OK(cudaMemcpy(dheads, dh.data(), dh.size() * sizeof(k::DecodeHead), cudaMemcpyHostToDevice));
    k::DecodeArgs a = t.args;
    a.heads = dheads;
    a.scratch = dscratch.p;
    CUDA_OK(lola::cuda::launch_lola_decode(a, t.n_states, nullptr));
    CUDA_OK(cudaDeviceSynchronize());
    std::vector<float> got(t.got.size());
    CUDA_OK(dy.get(got));
    CUDA_OK(cudaFree(dheads));
    CUDA_OK(cudaFree(dviews));
    return report("decode", "9/3 heads, d 64, after 300", compare(got, emulated));
}

// Pairs whose arrays are in device memory (n entries), copied back to the host.
bool download_pairs(const k::PairsView &m, int d, int F, lola::Pairs<float> &out) {
    out = lola::Pairs<float>{};
    out.d = d;
    out.F = F;
    const size_t n = static_cast<size_t>(m.n);
    out.pos.resize(n);
    out.k.resize(n * static_cast<size_t>(d));
    out.v.resize(out.k.size());
    out.fk.resize(n * static_cast<size_t>(F));
    out.fk_log.resize(n);
    out.score.resize(n);
    if (n == 0) return true;
    CUDA_OK(cudaMemcpy(out.pos.data(), m.pos, n * 8, cudaMemcpyDeviceToHost));
    CUDA_OK(cudaMemcpy(out.k.data(), m.k, out.k.size() * 4, cudaMemcpyDeviceToHost));
    CUDA_OK(cudaMemcpy(out.v.data(), m.v, out.v.size() * 4, cudaMemcpyDeviceToHost));
    if (F > 0) CUDA_OK(cudaMemcpy(out.fk.data(), m.fk, out.fk.size() * 4, cudaMemcpyDeviceToHost));
    CUDA_OK(cudaMemcpy(out.fk_log.data(), m.fk_log, n * 4, cudaMemcpyDeviceToHost));
    CUDA_OK(cudaMemcpy(out.score.data(), m.score, n * 4, cudaMemcpyDeviceToHost));
    return true;
}

// The bytes of a state as floats, for compare(): every memory's pairs, H, s and the scalars.
std::vector<float> state_floats(const lola::HeadState<float> &st) {
    std::vector<float> out;
    auto put = [&out](const void *p, size_t bytes) {
        const size_t at = out.size();
        out.resize(at + (bytes + 3) / 4, 0.f);
        std::memcpy(out.data() + at, p, bytes);
    };
    for (const lola::Pairs<float> *m : {&st.sparse, &st.prev, &st.cur}) {
        const int64_t n = m->size();
        put(&n, 8);
        put(m->pos.data(), m->pos.size() * 8);
        put(m->k.data(), m->k.size() * 4);
        put(m->v.data(), m->v.size() * 4);
        put(m->fk.data(), m->fk.size() * 4);
        put(m->fk_log.data(), m->fk_log.size() * 4);
        put(m->score.data(), m->score.size() * 4);
    }
    put(st.H.data(), st.H.size() * 4);
    put(st.s.data(), st.s.size() * 4);
    put(&st.log_scale, 4);
    put(&st.n_folded, 8);
    const int32_t linear = st.has_linear;
    put(&linear, 4);
    return out;
}

// The state family: append then the chunk boundary (G full: top-lambda, folds) on SmolLM2's
// layer shape, state head 0.
bool check_boundary(bool emulate) {
    lola::LayerConfig c;
    c.n_heads = 9;
    c.n_kv_heads = 3;
    c.head_dim = 64;
    lola::Layer<float> layer(c);
    const int before = 64 * 5 - 1, d = 64;
    std::mt19937_64 rng(7);
    {
        const auto q = lola_test::normal_vector(static_cast<size_t>(before * 9 * d), rng);
        const auto kk = lola_test::normal_vector(static_cast<size_t>(before * 3 * d), rng);
        const auto v = lola_test::normal_vector(static_cast<size_t>(before * 3 * d), rng);
        layer.feed(before, q.data(), kk.data(), v.data(), nullptr, nullptr, nullptr);
    }
    const auto kk = lola_test::normal_vector(static_cast<size_t>(3 * d), rng), v = lola_test::normal_vector(static_cast<size_t>(3 * d), rng);
    const lola::HeadParams<float> &p = layer.params(0);
    const int F = p.F;
    std::vector<float> fk(static_cast<size_t>(F));
    const float fk_log = p.phi->apply(p.first_query_head, false, kk.data(), fk.data());
    const int32_t kv = 0;
    // The emulation, from the state before the append.
    lola::cuda::HostState host(layer.state(0), c.sparse_capacity, c.chunk, d, F, p.kv_head);
    k::AppendArgs ap{&host.view, d, F, before, kk.data(), v.data(), &kv, fk.data(), &fk_log};
    k::StateArgs sa{&host.view, d, F, c.chunk, c.sparse_capacity, k::kLola, k::kSre, c.seed, p.eps, nullptr};
    std::vector<float> scratch(static_cast<size_t>(k::state_scratch_floats(sa)));
    sa.scratch = scratch.data();
    std::vector<float> want, got;
    if (emulate) {  // the CPU: append_segment, boundary
        lola::HeadState<float> st = layer.state(0);
        lola::Segment<float> seg;
        seg.n = 1;
        seg.pos0 = before;
        seg.k = kk.data();
        seg.v = v.data();
        lola::Scratch<float> sc;
        lola::append_segment(p, st, seg, sc);
        lola::boundary(p, st, sc);
        want = state_floats(st);
        k::append_emulated(ap, 1);
        k::boundary_emulated(sa, 1);
        got = state_floats(lola::cuda::HostState::export_state(host.view, d, F, F));
        return report("state", "append + boundary, G full", compare(got, want));
    }
    // The device: the same arrays uploaded, the same launches, the result downloaded; the
    // truth is the emulation's.
    lola::cuda::HostState base(layer.state(0), c.sparse_capacity, c.chunk, d, F, p.kv_head);
    std::vector<std::unique_ptr<DeviceVec<float>>> keep_f;
    std::vector<std::unique_ptr<DeviceVec<int64_t>>> keep_i;
    auto upf = [&](const std::vector<float> &h) { keep_f.push_back(std::make_unique<DeviceVec<float>>(h)); return keep_f.back()->p; };
    auto upi = [&](const std::vector<int64_t> &h) { keep_i.push_back(std::make_unique<DeviceVec<int64_t>>(h)); return keep_i.back()->p; };
    k::HeadView dv = base.view;
    auto up_pairs = [&](lola::cuda::HostPairs &hp, k::PairsView &m) {
        m.pos = upi(hp.pos);
        m.k = upf(hp.k);
        m.v = upf(hp.v);
        m.fk = upf(hp.fk);
        m.fk_log = upf(hp.fk_log);
        m.score = upf(hp.score);
    };
    up_pairs(base.g, dv.g);
    up_pairs(base.g_next, dv.g_next);
    up_pairs(base.prev, dv.prev);
    up_pairs(base.cur, dv.cur);
    dv.H = upf(base.H);
    dv.s = upf(base.s);
    for (const auto &b : keep_f) CUDA_OK(b->err);
    for (const auto &b : keep_i) CUDA_OK(b->err);
    k::HeadView *dhead = nullptr;
    CUDA_OK(cudaMalloc(&dhead, sizeof dv));
    CUDA_OK(cudaMemcpy(dhead, &dv, sizeof dv, cudaMemcpyHostToDevice));
    DeviceVec<float> dk(kk), dvv(v), dfk(fk), dfl(std::vector<float>{fk_log}), dscratch(scratch);
    DeviceVec<int32_t> dkv(std::vector<int32_t>{kv});
    CUDA_OK(dk.err); CUDA_OK(dvv.err); CUDA_OK(dfk.err); CUDA_OK(dfl.err); CUDA_OK(dscratch.err); CUDA_OK(dkv.err);
    k::AppendArgs dap{dhead, d, F, before, dk.p, dvv.p, dkv.p, dfk.p, dfl.p};
    k::StateArgs dsa = sa;
    dsa.heads = dhead;
    dsa.scratch = dscratch.p;
    CUDA_OK(lola::cuda::launch_append(dap, 1, nullptr));
    CUDA_OK(lola::cuda::launch_boundary(dsa, 1, nullptr));
    CUDA_OK(cudaDeviceSynchronize());
    k::HeadView after;
    CUDA_OK(cudaMemcpy(&after, dhead, sizeof after, cudaMemcpyDeviceToHost));
    CUDA_OK(cudaFree(dhead));
    lola::HeadState<float> st;
    if (!download_pairs(after.g, d, F, st.sparse) || !download_pairs(after.prev, d, F, st.prev) ||
        !download_pairs(after.cur, d, F, st.cur))
        return false;
    st.H.resize(base.H.size());
    st.s.resize(base.s.size());
    CUDA_OK(cudaMemcpy(st.H.data(), after.H, st.H.size() * 4, cudaMemcpyDeviceToHost));
    CUDA_OK(cudaMemcpy(st.s.data(), after.s, st.s.size() * 4, cudaMemcpyDeviceToHost));
    st.log_scale = after.log_scale;
    st.n_folded = after.n_folded;
    st.has_linear = after.has_linear;
    got = state_floats(st);
    k::append_emulated(ap, 1);
    k::boundary_emulated(sa, 1);
    want = state_floats(lola::cuda::HostState::export_state(host.view, d, F, F));
    return report("state", "append + boundary, G full", compare(got, want));
}

// The whole model on a generated SmolLM2-shaped Llama (576 wide, 9/3 heads of 64, 1536 FFN,
// 49152 tokens, Q4_1, tied head; 2 of its 30 layers, to stay quick), 20 tokens at C = lambda = 8
// (the sparse cache fills): the CUDA backend's logits and state blob against the CPU's.
bool check_model(bool emulate) {
    if (!emulate) {
        std::printf("%-8s %-28s not built yet: the device backend (CUDA context) is missing\n", "model",
                    "SmolLM2-shaped, 2 layers");
        return true;
    }
    lola_test::TinyLlama t;  // SmolLM2-135M's widths and vocabulary, 2 of its 30 layers
    t.n_vocab = 49152, t.n_embd = 576, t.n_ff = 1536, t.n_layer = 2;
    t.n_head = 9, t.n_head_kv = 3, t.matrix_type = q::Q4_1, t.seed = 3;
    t.name = "SmolLM2-shaped random llama";
    const std::string path = "/tmp/lola_cuda_check_" + std::to_string(::getpid()) + ".gguf";
    t.write(path);
    std::shared_ptr<const lola::model::Model> model = lola::model::Model::load(path);
    std::remove(path.c_str());
    lola::model::ContextConfig cc;
    cc.attention.chunk = 8;
    cc.attention.sparse_capacity = 8;
    std::vector<int32_t> tokens(20);
    for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = static_cast<int32_t>((i * 7919 + 13) % 49152);
    auto run = [&](std::shared_ptr<const lola::backend::Weights> w) {
        lola::model::Context ctx(std::move(w), cc);
        ctx.feed(tokens.data(), static_cast<int64_t>(tokens.size()), false);
        return std::make_pair(ctx.logits(), ctx.save());
    };
    const auto want = run(lola::cpu::upload(model, q::Isa::scalar));
    const auto got = run(lola::cuda::upload_emulated(model));
    const bool same_state = want.second == got.second;
    const bool ok = report("model", "SmolLM2-shaped, 20 tokens", compare(got.first, want.first));
    if (!same_state) std::printf("%-8s %-28s FAIL  the state blobs differ\n", "model", "");
    return ok && same_state;
}

}  // namespace

int main(int argc, char **argv) {
    bool emulate = false, tiny = false;
    int device = 0;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--emulate") == 0) emulate = true;
        else if (std::strcmp(argv[i], "--tiny") == 0) tiny = true;
        else if (std::strcmp(argv[i], "--device") == 0 && i + 1 < argc) device = std::atoi(argv[++i]);
        else {
            std::fprintf(stderr, "usage: %s [--emulate] [--tiny] [--device N]\n", argv[0]);
            return 2;
        }
    }
    if (!emulate) {
        int n = 0;
        const cudaError_t e = cudaGetDeviceCount(&n);
        if (e != cudaSuccess || n == 0) {
            std::printf("no CUDA device: %s\n", e != cudaSuccess ? cudaGetErrorString(e) : "none found");
            return 77;
        }
        cudaDeviceProp p;
        if (device < 0 || device >= n || cudaSetDevice(device) != cudaSuccess ||
            cudaGetDeviceProperties(&p, device) != cudaSuccess) {
            std::printf("no CUDA device %d (of %d)\n", device, n);
            return 77;
        }
        std::printf("device %d: %s, sm_%d%d, %.1f GiB\n", device, p.name, p.major, p.minor,
                    static_cast<double>(p.totalGlobalMem) / (1 << 30));
    } else {
        std::printf("emulated launches against the CPU reference\n");
    }
    std::mt19937_64 rng(20261203);
    bool ok = check_elementwise(emulate, rng);
    ok &= check_features(emulate, rng);
    ok &= check_decode(emulate);
    ok &= check_boundary(emulate);
    if (!tiny) ok &= check_model(emulate);
    const uint32_t types[] = {q::F32, q::F16, q::BF16, q::Q8_0, q::Q4_0, q::Q4_1,
                              q::Q5_0, q::Q5_1, q::Q4_K, q::Q5_K, q::Q6_K};
    for (uint32_t type : types) {
        const int64_t bs = q::block_size(type) == 1 ? 32 : q::block_size(type);
        if (!tiny) ok &= check_matmul(type, 33, bs * 3, 1, emulate, rng);
        ok &= check_matmul(type, 5, bs, 17, emulate, rng);
    }
    if (tiny) {
        std::printf("%s\n", ok ? "all checks passed" : "SOME CHECKS FAILED");
        return ok ? 0 : 1;
    }
    // SmolLM2's shapes: the projections (Q4_1, 576 wide), the output head's type.
    ok &= check_matmul(q::Q4_1, 1536, 576, 1, emulate, rng);
    ok &= check_matmul(q::Q4_1, 576, 1536, 64, emulate, rng);
    ok &= check_matmul(q::Q8_0, 4099, 576, 1, emulate, rng);
    std::printf("%s\n", ok ? "all checks passed" : "SOME CHECKS FAILED");
    return ok ? 0 : 1;
}
