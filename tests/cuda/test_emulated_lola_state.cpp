// The exact tier's state kernels (core/cuda/k_lola_state.hpp) as emulated launches, against the
// CPU reference: append (append_segment) and the chunk boundary (boundary()) leave bit for bit
// the same memories, linear state and counters, for every case of the boundary (first, the
// window baseline, lambda 0, G filling, top-lambda with folds and rescales), every scoring
// policy, ties and NaN scores ranked as std::stable_sort does, awkward d, F, C and lambda.
#include "cuda/k_lola_state.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "layer_check.hpp"
#include "random_vectors.hpp"
#include "cuda/host_state.hpp"
#include "lola/head.hpp"
#include "lola/layer.hpp"

namespace {

namespace k = lola::cuda::k;
using lola::Attention;
using lola::FeatureMapKind;
using lola::LayerConfig;
using lola::Scoring;

template <class A, class B>
bool same_bits(const A *a, const B *b, size_t n) {
    return n == 0 || std::memcmp(a, b, n * sizeof(A)) == 0;
}

void expect_pairs(const k::PairsView &got, const lola::Pairs<float> &want, int d, int F, const std::string &what) {
    ASSERT_EQ(got.n, want.size()) << what;
    const size_t n = static_cast<size_t>(want.size());
    EXPECT_TRUE(same_bits(got.pos, want.pos.data(), n)) << what << ": positions";
    EXPECT_TRUE(same_bits(got.k, want.k.data(), n * static_cast<size_t>(d))) << what << ": keys";
    EXPECT_TRUE(same_bits(got.v, want.v.data(), n * static_cast<size_t>(d))) << what << ": values";
    if (F > 0 && want.F > 0) {  // the window baseline keeps no features
        EXPECT_TRUE(same_bits(got.fk, want.fk.data(), n * static_cast<size_t>(F))) << what << ": features";
    }
    EXPECT_TRUE(same_bits(got.fk_log, want.fk_log.data(), n)) << what << ": log-scales";
    EXPECT_TRUE(same_bits(got.score, want.score.data(), n)) << what << ": scores";
}

// Feeds `before` tokens (one less than a boundary), then appends one more token and runs the
// boundary, on the CPU and with the kernels, and compares every state head. `poison` sets some
// sparse-cache values to NaN (NaN scores) or duplicates (ties).
void check(LayerConfig c, int before, uint64_t seed, int poison = 0) {
    std::mt19937_64 rng(seed);
    auto random = [&rng](size_t n) { return lola_test::normal_vector(n, rng); };
    const int H = c.n_heads, KV = c.n_kv_heads, d = c.head_dim;
    lola::Layer<float> layer(c);
    if (before > 0) {
        const auto q = random(static_cast<size_t>(before * H * d)), kk = random(static_cast<size_t>(before * KV * d)),
                   v = random(static_cast<size_t>(before * KV * d));
        layer.feed(before, q.data(), kk.data(), v.data(), nullptr, nullptr, nullptr);
    }
    const auto kk = random(static_cast<size_t>(KV * d)), v = random(static_cast<size_t>(KV * d));
    const int n_states = layer.n_state_heads();
    const int F = layer.params(0).F, C = c.chunk, lambda = c.sparse_capacity;
    for (int sh = 0; sh < n_states; ++sh) {
        const lola::HeadParams<float> &p = layer.params(sh);
        lola::HeadState<float> want = layer.state(sh);
        if (poison == 1 && want.sparse.size() > 2) {  // NaN scores: a NaN value makes SRE NaN
            want.sparse.v[0] = std::numeric_limits<float>::quiet_NaN();
            want.sparse.v[static_cast<size_t>(2 * d)] = std::numeric_limits<float>::quiet_NaN();
        }
        if (poison == 2 && want.sparse.size() > 3)  // ties: two pairs with the same value
            std::copy(want.sparse.v.begin(), want.sparse.v.begin() + d, want.sparse.v.begin() + 3 * d);
        if (poison == 3 && want.sparse.size() > 0) {  // every value the same: all scores tie
            const std::vector<float> v0(want.sparse.v.begin(), want.sparse.v.begin() + d);
            for (lola::Pairs<float> *m : {&want.sparse, &want.prev})
                for (int i = 0; i < m->size(); ++i)
                    std::copy(v0.begin(), v0.end(), m->v.begin() + static_cast<std::ptrdiff_t>(i) * d);
        }
        lola::HeadState<float> before_state = want;

        // The CPU: append the token's pair, then the boundary (W_cur is full now).
        lola::Segment<float> seg;
        seg.n = 1;
        seg.pos0 = before;
        seg.k = kk.data() + static_cast<size_t>(p.kv_head) * d;
        seg.v = v.data() + static_cast<size_t>(p.kv_head) * d;
        lola::Scratch<float> sc;
        lola::append_segment(p, want, seg, sc);
        ASSERT_EQ(want.cur.size(), C) << "the test must stand just before a boundary";
        lola::boundary(p, want, sc);

        // The kernels, from the state before the append.
        lola::cuda::HostState slots(before_state, lambda, C, d, F, p.kv_head);
        k::HeadView &h = slots.view;

        std::vector<float> fk(static_cast<size_t>(F > 0 ? F : 1));
        float fk_log = 0;
        if (p.linear) fk_log = p.phi->apply(p.first_query_head, false, seg.k, fk.data());
        const int32_t kv_of_head = 0;
        k::AppendArgs ap;
        ap.heads = &h;
        ap.d = d;
        ap.F = F;
        ap.pos = before;
        ap.k = seg.k;
        ap.v = seg.v;
        ap.kv_of_head = &kv_of_head;
        ap.fk = p.linear ? fk.data() : nullptr;
        ap.fk_log = &fk_log;
        k::append_emulated(ap, 1);

        k::StateArgs a;
        a.heads = &h;
        a.d = d;
        a.F = F;
        a.chunk = C;
        a.capacity = lambda;
        a.attention = static_cast<int>(c.attention);
        a.scoring = static_cast<int>(c.scoring);
        a.seed = c.seed;
        a.eps = p.eps;
        std::vector<float> scratch(static_cast<size_t>(k::state_scratch_floats(a)));
        a.scratch = scratch.data();
        k::boundary_emulated(a, 1);

        const std::string what = std::string(lola::to_string(c.attention)) + " scoring " +
                                 std::to_string(static_cast<int>(c.scoring)) + " d=" + std::to_string(d) +
                                 " F=" + std::to_string(F) + " C=" + std::to_string(C) + " lambda=" +
                                 std::to_string(lambda) + " after " + std::to_string(before + 1) +
                                 " tokens, state " + std::to_string(sh);
        expect_pairs(h.g, want.sparse, d, F, what + " G");
        expect_pairs(h.prev, want.prev, d, F, what + " W_prev");
        EXPECT_EQ(h.cur.n, 0) << what;
        EXPECT_EQ(h.has_linear, want.has_linear) << what;
        EXPECT_EQ(h.n_folded, want.n_folded) << what;
        EXPECT_EQ(h.n_evicted, want.n_evicted) << what;
        EXPECT_TRUE(same_bits(&h.log_scale, &want.log_scale, 1)) << what << ": log_scale";
        if (want.has_linear) {
            EXPECT_TRUE(same_bits(slots.H.data(), want.H.data(), want.H.size())) << what << ": H";
            EXPECT_TRUE(same_bits(slots.s.data(), want.s.data(), want.s.size())) << what << ": s";
        }
    }
}

LayerConfig config(int H, int KV, int d, int C, int lambda, FeatureMapKind map = FeatureMapKind::performer) {
    return lola_test::make_config(H, KV, d, C, lambda, map);
}

TEST(EmulatedLolaState, EveryBoundaryCase) {
    // C = 4, lambda = 6: boundary 1 (first), 2 (G gets 4), 3 (4 + 4 > 6: select), 4..
    for (int chunks : {1, 2, 3, 4, 7, 12})
        check(config(4, 2, 16, 4, 6), 4 * chunks - 1, 10 + chunks);
}

TEST(EmulatedLolaState, LambdaZeroAndTheWindowBaseline) {
    check(config(2, 1, 8, 4, 0), 4 * 5 - 1, 1);
    LayerConfig w = config(2, 1, 8, 4, 0);
    w.attention = Attention::window;
    check(w, 4 * 5 - 1, 2);
}

TEST(EmulatedLolaState, EveryScoringPolicy) {
    for (Scoring s : {Scoring::sre, Scoring::recency, Scoring::random, Scoring::value_norm}) {
        LayerConfig c = config(3, 3, 16, 4, 5);
        c.scoring = s;
        check(c, 4 * 9 - 1, 3);
    }
}

TEST(EmulatedLolaState, NaNScoresAndTiesRankAsStableSort) {
    check(config(2, 1, 16, 4, 6), 4 * 6 - 1, 4, 1);
    check(config(2, 1, 16, 4, 6), 4 * 6 - 1, 5, 2);
    LayerConfig c = config(2, 1, 16, 4, 6);
    c.scoring = Scoring::value_norm;
    check(c, 4 * 6 - 1, 6, 2);
    check(c, 4 * 6 - 1, 7, 3);  // all tie: the oldest lambda stay
}

TEST(EmulatedLolaState, AwkwardShapes) {
    check(config(1, 1, 1, 1, 1), 9, 7);                              // d 1, C 1, lambda 1
    check(config(2, 1, 17, 3, 5, FeatureMapKind::elu1), 3 * 8 - 1, 8);
    check(config(9, 3, 64, 64, 64), 64 * 5 - 1, 9);                  // SmolLM2's
    check(config(2, 1, 32, 16, 400), 16 * 30 - 1, 10);               // lambda 400: G filling
}

}  // namespace
