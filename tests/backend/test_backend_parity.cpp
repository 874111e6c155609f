// test_backend_parity.cpp: the parity harness (in the spirit of ggml's test-backend-ops). Every
// op of the compute seam (core/backend/backend.hpp) runs on every backend under test and is
// compared with the CPU reference backend (the scalar kernels), on awkward sizes, with the
// tolerance each op states below; then whole forward passes are compared, and the token step
// against the chunked prefill.
//
// Backends under test: backends_under_test() — the CPU backend at each dot-product level this
// machine runs (scalar, avx2, avx512) and the CUDA backend's kernels as emulated launches
// ("cuda:emulated", exact: bitwise like the scalar level).
// Models: tiny random Llamas (tests/support/tiny_llama.hpp) with F32 weights and with every
// other GGML type liblola computes with (random valid blocks).
//
// Tolerances (stated, and printed on failure):
//   embed, rms_norm, rope, add, swiglu, attention   bitwise on every CPU level (the same code)
//   linear, logits                                 bitwise at the scalar level; other levels
//                                                  NMSE <= 1e-9 (FMA and lane order differ)
//   token step vs chunked prefill, any batch split bitwise, on the same backend
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "backend/backend.hpp"
#include "cpu/cpu_backend.hpp"
#include "cuda/emulated_backend.hpp"
#include "random_vectors.hpp"
#include "model/llama_context.hpp"
#include "model/llama_model.hpp"
#include "quant/quant.hpp"
#include "tiny_llama.hpp"

namespace {

using lola::backend::Backend;
using lola::backend::Buf;
using lola::backend::Linear;
using lola::backend::Norm;
using lola::backend::Weights;

struct BackendUnderTest {
    std::string name;
    bool exact;  // bitwise equal to the reference in every op (else the tolerances above)
    std::function<std::shared_ptr<const Weights>(std::shared_ptr<const lola::model::Model>)> upload;
};

std::vector<BackendUnderTest> backends_under_test() {
    std::vector<BackendUnderTest> out;
    for (lola::quant::Isa isa : {lola::quant::Isa::scalar, lola::quant::Isa::avx2, lola::quant::Isa::avx512}) {
        if (!lola::quant::isa_available(isa)) continue;
        out.push_back({std::string("cpu:") + lola::quant::isa_name(isa), isa == lola::quant::Isa::scalar,
                       [isa](std::shared_ptr<const lola::model::Model> m) { return lola::cpu::upload(m, isa); }});
    }
    // The CUDA backend's kernels as emulated launches: the exact tier, bitwise.
    out.push_back({"cuda:emulated", true, [](std::shared_ptr<const lola::model::Model> m) {
                       return lola::cuda::upload_emulated(std::move(m));
                   }});
    return out;
}

std::shared_ptr<const Weights> reference(std::shared_ptr<const lola::model::Model> m) {
    return lola::cpu::upload(std::move(m), lola::quant::Isa::scalar);
}

std::shared_ptr<const lola::model::Model> tiny_model(uint32_t type) {
    lola_test::TinyLlama t;
    t.matrix_type = type;
    t.seed = 7 + type;
    if (type != 0) {  // multiples of every block size (256 for the K-quants)
        t.n_embd = 256;
        t.n_head = 4;
        t.n_head_kv = 2;
        t.n_ff = 512;
        t.tied = false;
    }
    const std::string path = ::testing::TempDir() + "parity_" + std::to_string(::getpid()) + "_" +
                             std::to_string(type) + ".gguf";
    t.write(path);
    return lola::model::Model::load(path);
}

double nmse(const std::vector<float> &ref, const std::vector<float> &got) {
    double num = 0, den = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
        const double d = static_cast<double>(got[i]) - ref[i];
        num += d * d;
        den += static_cast<double>(ref[i]) * ref[i];
    }
    return den > 0 ? num / den : num;
}

size_t first_difference(const std::vector<float> &a, const std::vector<float> &b) {
    for (size_t i = 0; i < a.size(); ++i)
        if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0) return i;
    return a.size();
}

void expect_match(const std::string &what, const std::vector<float> &ref, const std::vector<float> &got,
                  bool bitwise, double max_nmse = 1e-9) {
    ASSERT_EQ(ref.size(), got.size()) << what;
    if (bitwise) {
        const size_t i = first_difference(ref, got);
        EXPECT_EQ(i, ref.size()) << what << ": first difference at " << i << ": " << ref[i < ref.size() ? i : 0]
                                 << " vs " << got[i < got.size() ? i : 0] << " (bitwise expected)";
    } else {
        const double e = nmse(ref, got);
        EXPECT_LE(e, max_nmse) << what << ": NMSE " << e << " > " << max_nmse;
        for (float x : got) ASSERT_TRUE(std::isfinite(x)) << what << ": non-finite output";
    }
}

std::vector<float> random_vector(size_t n, uint64_t seed, float scale = 1.f) {
    return lola_test::normal_vector(n, seed, scale);
}

lola::backend::BackendConfig config_for(const lola::model::Model &m, int threads, int64_t max_tokens) {
    lola::model::ContextConfig cc;
    cc.attention.chunk = 4;  // small chunks: feeds below cross several boundaries
    cc.attention.sparse_capacity = 3;
    cc.n_threads = threads;
    lola::backend::BackendConfig bc;
    bc.n_threads = threads;
    bc.max_tokens = max_tokens;
    for (int64_t l = 0; l < m.hparams().n_layer; ++l) bc.layers.push_back(lola::model::layer_config(m, cc, l));
    return bc;
}

// Runs one op on a backend: inputs are written, the op runs, the output is read back.
struct Runner {
    std::unique_ptr<Backend> be;
    Buf in(const std::vector<float> &v) {
        Buf b = be->alloc(v.size());
        be->write(b, v.data(), v.size());
        return b;
    }
    std::vector<float> out(Buf b) {
        std::vector<float> v(b.size);
        be->read(b, v.data(), v.size());
        return v;
    }
};

// Feeds `tokens` to a fresh context on `w` (one feed, or one token per feed) and returns the
// last logits and the state blob.
std::pair<std::vector<float>, std::vector<unsigned char>> run_context(
    const std::shared_ptr<const Weights> &w, lola::model::ContextConfig c, const std::vector<int32_t> &tokens,
    bool one_by_one) {
    c.n_threads = 2;
    lola::model::Context ctx(w, c);
    if (one_by_one)
        for (int32_t t : tokens) ctx.feed(&t, 1, false);
    else
        ctx.feed(tokens.data(), static_cast<int64_t>(tokens.size()), false);
    return std::make_pair(ctx.logits(), ctx.save());
}

class Parity : public ::testing::TestWithParam<uint32_t> {};

TEST_P(Parity, EveryOpOnEveryBackend) {
    const auto model = tiny_model(GetParam());
    const lola::model::HParams &hp = model->hparams();
    const int64_t E = hp.n_embd, hd = hp.head_dim, H = hp.n_head, Hkv = hp.n_head_kv, FF = hp.n_ff;
    const auto ref_weights = reference(model);
    for (const BackendUnderTest &but : backends_under_test()) {
        SCOPED_TRACE(but.name + " on " + lola::quant::type_name(GetParam()) + " weights");
        const auto weights = but.upload(model);
        for (int64_t n : {1, 3, 17, 33}) {  // 1: the matrix-vector path; others: block products
            SCOPED_TRACE("n = " + std::to_string(n));
            Runner ref{ref_weights->make_backend(config_for(*model, 1, 64))};
            Runner got{weights->make_backend(config_for(*model, 2, 64))};
            const size_t NE = static_cast<size_t>(n * E);
            std::vector<int32_t> tokens(static_cast<size_t>(n));
            for (int64_t t = 0; t < n; ++t) tokens[static_cast<size_t>(t)] = static_cast<int32_t>((t * 31 + 5) % hp.n_vocab);

            Buf rx = ref.be->alloc(NE), gx = got.be->alloc(NE);
            ref.be->embed(tokens.data(), n, rx);
            got.be->embed(tokens.data(), n, gx);
            expect_match("embed", ref.out(rx), got.out(gx), true);

            const std::vector<float> x = random_vector(NE, 11);
            for (Norm which : {Norm::attn, Norm::ffn, Norm::output}) {
                Buf ro = ref.be->alloc(NE), go = got.be->alloc(NE);
                ref.be->rms_norm(which, 1, ref.in(x), n, ro);
                got.be->rms_norm(which, 1, got.in(x), n, go);
                expect_match("rms_norm " + std::to_string(static_cast<int>(which)), ref.out(ro), got.out(go), true);
            }
            const struct { Linear which; int64_t cols, rows; } linears[] = {
                {Linear::q, E, H * hd}, {Linear::k, E, Hkv * hd}, {Linear::v, E, Hkv * hd},
                {Linear::o, H * hd, E}, {Linear::gate, E, FF}, {Linear::up, E, FF},
                {Linear::down, FF, E}, {Linear::output, E, hp.n_vocab}};
            for (const auto &lin : linears) {
                const std::vector<float> in = random_vector(static_cast<size_t>(n * lin.cols), 13);
                Buf ry = ref.be->alloc(static_cast<size_t>(n * lin.rows)), gy = got.be->alloc(static_cast<size_t>(n * lin.rows));
                ref.be->linear(lin.which, 1, ref.in(in), n, ry);
                got.be->linear(lin.which, 1, got.in(in), n, gy);
                expect_match("linear " + std::to_string(static_cast<int>(lin.which)), ref.out(ry), got.out(gy), but.exact);
            }
            {
                const std::vector<float> q = random_vector(static_cast<size_t>(n * H * hd), 17);
                Buf rq = ref.in(q), gq = got.in(q);
                ref.be->rope(rq, n, H, 1000);
                got.be->rope(gq, n, H, 1000);
                expect_match("rope", ref.out(rq), got.out(gq), true);
            }
            {
                const std::vector<float> a = random_vector(NE, 19), b = random_vector(NE, 23);
                Buf ra = ref.in(a), ga = got.in(a);
                ref.be->add(ra, ref.in(b), NE);
                got.be->add(ga, got.in(b), NE);
                expect_match("add", ref.out(ra), got.out(ga), true);
                const size_t NF = static_cast<size_t>(n * FF);
                const std::vector<float> g = random_vector(NF, 29, 3.f), u = random_vector(NF, 31);
                Buf rg = ref.in(g), gg = got.in(g);
                ref.be->swiglu(rg, ref.in(u), NF);
                got.be->swiglu(gg, got.in(u), NF);
                expect_match("swiglu", ref.out(rg), got.out(gg), true);
            }
            {  // attention: the same tokens fed twice (the second feed crosses chunk boundaries
               // with a non-empty state), outputs and the state blob compared
                const std::vector<float> q = random_vector(static_cast<size_t>(n * H * hd), 37);
                const std::vector<float> k = random_vector(static_cast<size_t>(n * Hkv * hd), 41);
                const std::vector<float> v = random_vector(static_cast<size_t>(n * Hkv * hd), 43);
                for (int rep = 0; rep < 2; ++rep) {
                    Buf ry = ref.be->alloc(q.size()), gy = got.be->alloc(q.size());
                    ref.be->attention(1, n, ref.in(q), ref.in(k), ref.in(v), ry);
                    got.be->attention(1, n, got.in(q), got.in(k), got.in(v), gy);
                    expect_match("attention", ref.out(ry), got.out(gy), true);
                }
                EXPECT_EQ(ref.be->attention_state(1).save(), got.be->attention_state(1).save())
                    << "attention state blob differs";
            }
            {
                std::vector<float> rl(static_cast<size_t>(n * hp.n_vocab)), gl(rl.size());
                ref.be->logits(ref.in(x), n, rl.data());
                got.be->logits(got.in(x), n, gl.data());
                expect_match("logits", rl, gl, but.exact);
            }
        }
    }
}

// The whole forward pass on each backend against the reference, and on each backend the token
// step (decode, one token per feed) against chunked prefill with several batch sizes.
TEST_P(Parity, ForwardPassAndSplits) {
    const auto model = tiny_model(GetParam());
    const int64_t V = model->hparams().n_vocab;
    std::vector<int32_t> tokens(45);
    for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = static_cast<int32_t>((i * 7 + 3) % static_cast<size_t>(V));
    lola::model::ContextConfig cc;
    cc.attention.chunk = 4;
    cc.attention.sparse_capacity = 3;
    auto run = [&](const std::shared_ptr<const Weights> &w, int batch, bool one_by_one) {
        lola::model::ContextConfig c = cc;
        c.batch = batch;
        return run_context(w, c, tokens, one_by_one);
    };
    const auto ref = run(reference(model), 64, false);
    for (const BackendUnderTest &but : backends_under_test()) {
        SCOPED_TRACE(but.name + " on " + lola::quant::type_name(GetParam()) + " weights");
        const auto w = but.upload(model);
        const auto decode = run(w, 64, true);
        expect_match("forward pass vs reference", ref.first, decode.first, but.exact);
        for (int batch : {1, 7, 64}) {
            const auto prefill = run(w, batch, false);
            expect_match("token step vs prefill, batch " + std::to_string(batch), decode.first, prefill.first, true);
            EXPECT_EQ(decode.second, prefill.second) << "state blob differs, batch " << batch;
        }
    }
}

// The baselines' forward pass (full attention, whose cache grows, and the window alone) on
// each backend against the reference, decode against prefill.
TEST_P(Parity, BaselinesForwardPass) {
    const auto model = tiny_model(GetParam());
    const int64_t V = model->hparams().n_vocab;
    std::vector<int32_t> tokens(80);  // past the emulated backend's first growth of W_cur (64)
    for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = static_cast<int32_t>((i * 11 + 5) % static_cast<size_t>(V));
    for (lola::Attention attention : {lola::Attention::full, lola::Attention::window}) {
        SCOPED_TRACE(lola::to_string(attention));
        lola::model::ContextConfig cc;
        cc.attention.attention = attention;
        cc.attention.chunk = 4;
        cc.attention.sparse_capacity = 3;
        auto run = [&](const std::shared_ptr<const Weights> &w, bool one_by_one) {
            return run_context(w, cc, tokens, one_by_one);
        };
        const auto ref = run(reference(model), false);
        for (const BackendUnderTest &but : backends_under_test()) {
            SCOPED_TRACE(but.name + " on " + lola::quant::type_name(GetParam()) + " weights");
            const auto w = but.upload(model);
            const auto decode = run(w, true);
            expect_match("forward pass vs reference", ref.first, decode.first, but.exact);
            const auto prefill = run(w, false);
            expect_match("token step vs prefill", decode.first, prefill.first, true);
            EXPECT_EQ(decode.second, prefill.second) << "state blob differs";
        }
    }
}

std::string type_label(const ::testing::TestParamInfo<uint32_t> &info) {
    return lola::quant::type_name(info.param);
}

INSTANTIATE_TEST_SUITE_P(AllTypes, Parity,
                         ::testing::Values(lola::quant::F32, lola::quant::F16, lola::quant::BF16,
                                           lola::quant::Q8_0, lola::quant::Q4_0, lola::quant::Q4_1,
                                           lola::quant::Q5_0, lola::quant::Q5_1, lola::quant::Q4_K,
                                           lola::quant::Q5_K, lola::quant::Q6_K),
                         type_label);

}  // namespace
