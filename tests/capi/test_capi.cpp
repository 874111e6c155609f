// test_capi.cpp: the C API as a user sees it: statuses and messages for bad arguments, nothing
// changed by a failed call, the attention settings (lola_attention_params: NULL, the library's
// defaults, AUTO, read at creation only), cache-state queries, clone and reset, the vector files
// through lola_layer_params, and the threading promises (thread-local errors, independent layers).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <thread>

#include "layer_check.hpp"
#include "capi_check.hpp"
#include "lola.h"
#include "vector_case.hpp"

using namespace lola_test;

namespace {

LayerSpec params(int H = 2, int Hkv = 1, int d = 8, int C = 4, int lambda = 3) {
    LayerSpec p;
    p.p.n_heads = H;
    p.p.n_kv_heads = Hkv;
    p.p.head_dim = d;
    p.a.chunk_size = C;
    p.a.sparse_capacity = lambda;
    p.a.feature_map = LOLA_FEATURE_MAP_ELU1;
    return p;
}

struct Data {
    int T, H, Hkv, d;
    std::vector<float> q, k, v, y;
    Data(int T_, int H_, int Hkv_, int d_, uint64_t seed = 1) : T(T_), H(H_), Hkv(Hkv_), d(d_) {
        std::mt19937_64 rng(seed);
        std::normal_distribution<float> n(0, 1);
        q.resize(static_cast<size_t>(T) * H * d);
        k.resize(static_cast<size_t>(T) * Hkv * d);
        v.resize(k.size());
        y.assign(q.size(), 0.f);
        for (auto *a : {&q, &k, &v})
            for (float &x : *a) x = n(rng);
    }
    lola_status feed(lola_layer *l, int64_t n_tokens = INT64_MIN) {
        return lola_layer_feed(l, n_tokens == INT64_MIN ? T : n_tokens, q.data(), q.size(), k.data(),
                               k.size(), v.data(), v.size(), y.data(), y.size());
    }
};


#define EXPECT_STATUS(call, status)                                                 \
    do {                                                                            \
        const lola_status s_ = (call);                                              \
        EXPECT_EQ(s_, status) << lola_status_string(s_) << ": " << lola_last_error_message(); \
        if (s_ != LOLA_OK) { EXPECT_STRNE(lola_last_error_message(), ""); }         \
    } while (0)

TEST(CApi, VersionAndStatusStrings) {
    EXPECT_EQ(lola_abi_version(), LOLA_ABI_VERSION);
    EXPECT_STRNE(lola_version(), "");
    EXPECT_STREQ(lola_status_string(LOLA_ERR_SIZE_MISMATCH), "LOLA_ERR_SIZE_MISMATCH");
    EXPECT_STREQ(lola_status_string(static_cast<lola_status>(15)), "LOLA_ERR_UNKNOWN");
}

TEST(CApi, NullHandlesAndPointers) {
    LayerSpec p = params();
    lola_layer *out = reinterpret_cast<lola_layer *>(0x1);
    EXPECT_STATUS(lola_layer_params_init(nullptr), LOLA_ERR_NULL_POINTER);
    EXPECT_STATUS(lola_layer_create(nullptr, &out), LOLA_ERR_NULL_POINTER);
    EXPECT_EQ(out, nullptr);
    EXPECT_STATUS(lola_layer_create(&p.p, nullptr), LOLA_ERR_NULL_POINTER);
    EXPECT_STATUS(lola_layer_clone(nullptr, &out), LOLA_ERR_NULL_HANDLE);
    EXPECT_STATUS(lola_layer_reset(nullptr), LOLA_ERR_NULL_HANDLE);
    Data data(3, 2, 1, 8);
    EXPECT_STATUS(data.feed(nullptr), LOLA_ERR_NULL_HANDLE);
    lola_layer_info info{};
    info.struct_size = sizeof info;
    EXPECT_STATUS(lola_layer_get_info(nullptr, &info), LOLA_ERR_NULL_HANDLE);
    lola_head_state hs{};
    hs.struct_size = sizeof hs;
    EXPECT_STATUS(lola_layer_get_head_state(nullptr, 0, &hs), LOLA_ERR_NULL_HANDLE);
    size_t n = 0;
    EXPECT_STATUS(lola_layer_get_positions(nullptr, 0, LOLA_MEMORY_WINDOW, nullptr, nullptr, 0, &n),
                  LOLA_ERR_NULL_HANDLE);
    EXPECT_STATUS(lola_layer_state_size(nullptr, &n), LOLA_ERR_NULL_HANDLE);
    EXPECT_STATUS(lola_layer_state_save(nullptr, nullptr, 0, &n), LOLA_ERR_NULL_HANDLE);
    EXPECT_STATUS(lola_layer_state_restore(nullptr, "x", 1), LOLA_ERR_NULL_HANDLE);
    lola_layer_free(nullptr);  // no-op

    LayerPtr l;
    ASSERT_EQ(lola_layer_create(&p.p, &l.p), LOLA_OK);
    EXPECT_STATUS(lola_layer_feed(l.p, 3, nullptr, data.q.size(), data.k.data(), data.k.size(),
                                  data.v.data(), data.v.size(), data.y.data(), data.y.size()),
                  LOLA_ERR_NULL_POINTER);
    EXPECT_STATUS(lola_layer_get_info(l.p, nullptr), LOLA_ERR_NULL_POINTER);
    EXPECT_STATUS(lola_layer_state_size(l.p, nullptr), LOLA_ERR_NULL_POINTER);
    EXPECT_STATUS(lola_layer_state_restore(l.p, nullptr, 10), LOLA_ERR_NULL_POINTER);
    EXPECT_STATUS(lola_layer_get_positions(l.p, 0, LOLA_MEMORY_WINDOW, nullptr, nullptr, 5, &n),
                  LOLA_ERR_NULL_POINTER);
}

TEST(CApi, BadParams) {
    auto expect_create = [](LayerSpec p, lola_status want) {
        lola_layer *l = nullptr;
        EXPECT_STATUS(lola_layer_create(&p.p, &l), want);
        if (want != LOLA_OK) {
            EXPECT_EQ(l, nullptr);
        }
        lola_layer_free(l);
    };
    LayerSpec p = params();
    p.p.struct_size = sizeof p.p - 8;
    expect_create(p, LOLA_ERR_VERSION_MISMATCH);
    p = params();
    p.p.struct_size = 0;
    expect_create(p, LOLA_ERR_VERSION_MISMATCH);
    p = params(3, 2);  // 3 heads not a multiple of 2 KV heads
    expect_create(p, LOLA_ERR_INVALID_ARGUMENT);
    p = params(0, 1);
    expect_create(p, LOLA_ERR_INVALID_ARGUMENT);
    p = params(2, 1, 0);
    expect_create(p, LOLA_ERR_INVALID_ARGUMENT);
    p = params(2, 1, 8, 0);
    expect_create(p, LOLA_ERR_INVALID_ARGUMENT);
    p = params(2, 1, 8, 4, -2);  // -1 is LOLA_MODEL_DEFAULT
    expect_create(p, LOLA_ERR_INVALID_ARGUMENT);
    p = params(2, 1, 8, -2);
    expect_create(p, LOLA_ERR_INVALID_ARGUMENT);
    p = params();
    p.a.attention = 7;
    expect_create(p, LOLA_ERR_INVALID_ARGUMENT);
    p = params();
    p.a.feature_map = -2;  // -1 is AUTO
    expect_create(p, LOLA_ERR_INVALID_ARGUMENT);
    p = params();
    p.a.mixing = 2;
    expect_create(p, LOLA_ERR_INVALID_ARGUMENT);
    p = params();
    p.a.scoring = 4;
    expect_create(p, LOLA_ERR_INVALID_ARGUMENT);
    p = params();
    p.a.feature_dim = 5;  // elu1 needs F = d
    expect_create(p, LOLA_ERR_INVALID_ARGUMENT);
    p = params();
    p.p.n_threads = 0;
    expect_create(p, LOLA_ERR_INVALID_ARGUMENT);
    p = params();
    p.a.eps = -1;
    expect_create(p, LOLA_ERR_INVALID_ARGUMENT);
    p = params();
    p.p.softmax_scale = std::numeric_limits<float>::quiet_NaN();
    expect_create(p, LOLA_ERR_INVALID_ARGUMENT);
    p = params();
    p.a.feature_map = LOLA_FEATURE_MAP_HEDGEHOG;  // weights missing
    expect_create(p, LOLA_ERR_INVALID_ARGUMENT);
    p = params();
    p.a.feature_map = LOLA_FEATURE_MAP_HEDGEHOG;
    p.a.feature_dim = 7;  // odd
    std::vector<float> w(2 * 8 * 8, 0.1f);
    p.p.hedgehog_q = p.p.hedgehog_k = w.data();
    expect_create(p, LOLA_ERR_INVALID_ARGUMENT);
    p = params();
    p.p.hedgehog_q = w.data();  // weights for a map that has none
    expect_create(p, LOLA_ERR_INVALID_ARGUMENT);
    p = params();
    const float gates[2] = {0.f, std::numeric_limits<float>::infinity()};
    p.p.window_factors = gates;
    expect_create(p, LOLA_ERR_NON_FINITE);
    expect_create(params(), LOLA_OK);
}

// ABI 2: the attention settings are their own struct; NULL means every default, the
// LOLA_MODEL_DEFAULT sentinels become the library's values for a standalone layer, and AUTO picks
// hedgehog exactly when hedgehog weights are given.
TEST(CApi, AttentionParamsDefaultsAndAuto) {
    LayerSpec p = params();
    p.p.attention = nullptr;
    LayerPtr l;
    ASSERT_EQ(lola_layer_create(&p.p, &l.p), LOLA_OK);
    lola_layer_info info{};
    info.struct_size = sizeof info;
    ASSERT_EQ(lola_layer_get_info(l.p, &info), LOLA_OK);
    EXPECT_EQ(info.chunk_size, 64);
    EXPECT_EQ(info.sparse_capacity, 64);
    EXPECT_EQ(info.attention, LOLA_ATTENTION_LOLA);
    EXPECT_EQ(info.feature_dim, 8);  // performer: F = head_dim

    lola_attention_params a;
    ASSERT_EQ(lola_attention_params_init(&a), LOLA_OK);
    EXPECT_EQ(a.chunk_size, LOLA_MODEL_DEFAULT);
    EXPECT_EQ(a.feature_map, LOLA_FEATURE_MAP_AUTO);
    ASSERT_EQ(lola_attention_params_resolve(nullptr, &a), LOLA_OK);  // a standalone layer's values
    EXPECT_EQ(a.chunk_size, 64);
    EXPECT_EQ(a.sparse_capacity, 64);
    EXPECT_EQ(a.mixing, LOLA_MIXING_LOLA);
    EXPECT_EQ(a.feature_map, LOLA_FEATURE_MAP_AUTO);  // left as it is
    EXPECT_STATUS(lola_attention_params_resolve(nullptr, nullptr), LOLA_ERR_NULL_POINTER);

    LayerSpec h = params();
    h.a.feature_map = LOLA_FEATURE_MAP_AUTO;
    h.a.feature_dim = 4;
    std::vector<float> w(2 * 8 * 2, 0.1f);
    h.p.hedgehog_q = h.p.hedgehog_k = w.data();
    LayerPtr hl;
    ASSERT_EQ(lola_layer_create(&h.p, &hl.p), LOLA_OK);  // AUTO + weights: hedgehog, F = 4
    ASSERT_EQ(lola_layer_get_info(hl.p, &info), LOLA_OK);
    EXPECT_EQ(info.feature_dim, 4);
    EXPECT_EQ(info.n_state_heads, 2);  // hedgehog keeps a state per query head

    lola_attention_params bad = a;
    bad.struct_size = sizeof bad + 8;
    p.p.attention = &bad;
    lola_layer *out = nullptr;
    EXPECT_STATUS(lola_layer_create(&p.p, &out), LOLA_ERR_VERSION_MISMATCH);
    EXPECT_NE(std::string(lola_last_error_message()).find("lola_attention_params"), std::string::npos);
    EXPECT_EQ(out, nullptr);
}

// AUTO resolves to a real map, not to a look-alike: without weights the layer computes exactly
// what an explicit performer layer does (and not what elu1, of the same F, does); with weights
// exactly what an explicit hedgehog layer does. One weight array alone is refused.
TEST(CApi, AutoIsPerformerOrHedgehog) {
    auto outputs = [](const LayerSpec &spec, int T) {
        LayerPtr l;
        EXPECT_STATUS(lola_layer_create(&spec.p, &l.p), LOLA_OK);
        Data data(T, spec.p.n_heads, spec.p.n_kv_heads, spec.p.head_dim, 5);
        EXPECT_EQ(data.feed(l.p), LOLA_OK);
        return data.y;
    };
    LayerSpec automatic = params();
    automatic.a.feature_map = LOLA_FEATURE_MAP_AUTO;
    LayerSpec performer = automatic, elu1 = automatic;
    performer.a.feature_map = LOLA_FEATURE_MAP_PERFORMER;
    elu1.a.feature_map = LOLA_FEATURE_MAP_ELU1;
    const std::vector<float> y_auto = outputs(automatic, 30);
    EXPECT_EQ(y_auto, outputs(performer, 30));
    EXPECT_NE(y_auto, outputs(elu1, 30));

    std::vector<float> wq(2 * 8 * 3), wk(wq.size());
    for (size_t i = 0; i < wq.size(); ++i) {
        wq[i] = 0.05f * static_cast<float>(i % 7) - 0.1f;
        wk[i] = 0.04f * static_cast<float>(i % 5) - 0.08f;
    }
    LayerSpec hedgehog_auto = automatic;
    hedgehog_auto.a.feature_dim = 6;
    hedgehog_auto.p.hedgehog_q = wq.data();
    hedgehog_auto.p.hedgehog_k = wk.data();
    LayerSpec hedgehog = hedgehog_auto;
    hedgehog.a.feature_map = LOLA_FEATURE_MAP_HEDGEHOG;
    const std::vector<float> y_hh = outputs(hedgehog_auto, 30);
    EXPECT_EQ(y_hh, outputs(hedgehog, 30));
    EXPECT_NE(y_hh, y_auto);

    for (bool only_q : {true, false}) {
        LayerSpec half = automatic;
        half.a.feature_dim = 6;
        (only_q ? half.p.hedgehog_q : half.p.hedgehog_k) = wq.data();
        lola_layer *l = reinterpret_cast<lola_layer *>(0x1);
        EXPECT_STATUS(lola_layer_create(&half.p, &l), LOLA_ERR_INVALID_ARGUMENT);
        EXPECT_NE(std::string(lola_last_error_message()).find("hedgehog_q and hedgehog_k"), std::string::npos)
            << lola_last_error_message();
        EXPECT_EQ(l, nullptr);
    }
}

// attention NULL is every default: the layer equals one with C = lambda = 64, mode A and
// performer written out, over enough tokens (past W_prev + W_cur + lambda) that the linear
// state and so the feature map count.
TEST(CApi, NullAttentionEqualsTheDefaultsWrittenOut) {
    auto run = [](const lola_layer_params &p, lola_head_state *hs) {
        LayerPtr l;
        EXPECT_STATUS(lola_layer_create(&p, &l.p), LOLA_OK);
        Data data(300, 2, 1, 8, 9);
        EXPECT_EQ(data.feed(l.p), LOLA_OK);
        hs->struct_size = sizeof *hs;
        EXPECT_EQ(lola_layer_get_head_state(l.p, 0, hs), LOLA_OK);
        return data.y;
    };
    LayerSpec null_attention = params();
    null_attention.p.attention = nullptr;
    LayerSpec written = params(2, 1, 8, 64, 64);
    written.a.mixing = LOLA_MIXING_LOLA;
    written.a.feature_map = LOLA_FEATURE_MAP_PERFORMER;
    LayerSpec elu1 = written;
    elu1.a.feature_map = LOLA_FEATURE_MAP_ELU1;
    lola_head_state hs{}, unused{};
    const std::vector<float> y = run(null_attention.p, &hs);
    EXPECT_GT(hs.n_folded, 0);
    EXPECT_EQ(hs.n_sparse, 64);
    EXPECT_EQ(hs.n_window, 64 + 300 % 64);
    EXPECT_EQ(y, run(written.p, &unused));
    EXPECT_NE(y, run(elu1.p, &unused));
    LayerSpec init;  // lola_attention_params_init's values through a pointer
    init.p.n_heads = 2;
    init.p.head_dim = 8;
    EXPECT_EQ(y, run(init.p, &unused));
}

// lola_layer_params.attention is read during lola_layer_create only.
TEST(CApi, AttentionIsReadDuringCreateOnly) {
    LayerSpec spec = params();
    LayerPtr reference, l;
    ASSERT_EQ(lola_layer_create(&spec.p, &reference.p), LOLA_OK);
    auto *a = new lola_attention_params(spec.a);
    lola_layer_params p = spec.p;
    p.attention = a;
    ASSERT_EQ(lola_layer_create(&p, &l.p), LOLA_OK);
    std::memset(static_cast<void *>(a), 0xFF, sizeof *a);
    delete a;
    Data x(20, 2, 1, 8, 3), y = x;
    ASSERT_EQ(x.feed(reference.p), LOLA_OK);
    ASSERT_EQ(y.feed(l.p), LOLA_OK);
    EXPECT_EQ(x.y, y.y);
    EXPECT_TRUE(save_blob(reference.p) == save_blob(l.p));
    LayerPtr clone;
    ASSERT_EQ(lola_layer_clone(l.p, &clone.p), LOLA_OK);
    EXPECT_TRUE(save_blob(clone.p) == save_blob(reference.p));
}

TEST(CApi, BadFeedLeavesLayerUnchanged) {
    LayerSpec p = params();
    LayerPtr l;
    ASSERT_EQ(lola_layer_create(&p.p, &l.p), LOLA_OK);
    Data data(6, 2, 1, 8);
    ASSERT_EQ(data.feed(l.p), LOLA_OK);
    const std::vector<unsigned char> before = save_blob(l.p);

    EXPECT_STATUS(data.feed(l.p, 0), LOLA_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(data.feed(l.p, -3), LOLA_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(data.feed(l.p, 5), LOLA_ERR_SIZE_MISMATCH);  // arrays hold 6 tokens
    EXPECT_STATUS(lola_layer_feed(l.p, 6, data.q.data(), data.q.size() - 1, data.k.data(),
                                  data.k.size(), data.v.data(), data.v.size(), data.y.data(),
                                  data.y.size()),
                  LOLA_ERR_SIZE_MISMATCH);
    EXPECT_STATUS(lola_layer_feed(l.p, 6, data.q.data(), data.q.size(), data.k.data(),
                                  data.k.size(), data.v.data(), data.v.size() + 8, data.y.data(),
                                  data.y.size()),
                  LOLA_ERR_SIZE_MISMATCH);
    EXPECT_STATUS(lola_layer_feed(l.p, 6, data.q.data(), data.q.size(), data.k.data(),
                                  data.k.size(), data.v.data(), data.v.size(), data.y.data(), 3),
                  LOLA_ERR_SIZE_MISMATCH);
    EXPECT_STATUS(lola_layer_feed(l.p, INT64_MAX, data.q.data(), data.q.size(), data.k.data(),
                                  data.k.size(), data.v.data(), data.v.size(), nullptr, 0),
                  LOLA_ERR_INVALID_ARGUMENT);  // size overflow
    for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
        Data poisoned = data;
        poisoned.k[13] = bad;
        EXPECT_STATUS(poisoned.feed(l.p), LOLA_ERR_NON_FINITE);
        EXPECT_NE(std::string(lola_last_error_message()).find("k[13]"), std::string::npos);
    }
    const float f = 1.f;
    EXPECT_STATUS(lola_layer_feed_features(l.p, 6, data.q.data(), data.q.size(), data.k.data(),
                                           data.k.size(), data.v.data(), data.v.size(), &f, 1, &f,
                                           1, data.y.data(), data.y.size()),
                  LOLA_ERR_UNSUPPORTED);
    EXPECT_TRUE(save_blob(l.p) == before) << "a failed call changed the layer";

    // outputs are optional
    EXPECT_STATUS(lola_layer_feed(l.p, 6, data.q.data(), data.q.size(), data.k.data(),
                                  data.k.size(), data.v.data(), data.v.size(), nullptr, 0),
                  LOLA_OK);
}

TEST(CApi, PrecomputedNeedsFeatures) {
    LayerSpec p = params();
    p.a.feature_map = LOLA_FEATURE_MAP_PRECOMPUTED;
    p.a.feature_dim = 5;
    LayerPtr l;
    ASSERT_EQ(lola_layer_create(&p.p, &l.p), LOLA_OK);
    Data data(3, 2, 1, 8);
    EXPECT_STATUS(data.feed(l.p), LOLA_ERR_UNSUPPORTED);
    std::vector<float> fq(3 * 2 * 5, 0.5f), fk(fq);
    EXPECT_STATUS(lola_layer_feed_features(l.p, 3, data.q.data(), data.q.size(), data.k.data(),
                                           data.k.size(), data.v.data(), data.v.size(), fq.data(),
                                           fq.size() - 1, fk.data(), fk.size(), data.y.data(),
                                           data.y.size()),
                  LOLA_ERR_SIZE_MISMATCH);
    EXPECT_STATUS(lola_layer_feed_features(l.p, 3, data.q.data(), data.q.size(), data.k.data(),
                                           data.k.size(), data.v.data(), data.v.size(), fq.data(),
                                           fq.size(), fk.data(), fk.size(), data.y.data(),
                                           data.y.size()),
                  LOLA_OK);
}

TEST(CApi, CacheStateQueries) {
    LayerSpec p = params(4, 2, 8, 4, 3);
    LayerPtr l;
    ASSERT_EQ(lola_layer_create(&p.p, &l.p), LOLA_OK);
    Data data(23, 4, 2, 8);
    ASSERT_EQ(data.feed(l.p), LOLA_OK);
    lola_layer_info info{};
    info.struct_size = sizeof info;
    ASSERT_EQ(lola_layer_get_info(l.p, &info), LOLA_OK);
    EXPECT_EQ(info.n_tokens, 23);
    EXPECT_EQ(info.n_state_heads, 2);  // elu1 is shared by each KV group
    EXPECT_EQ(info.feature_dim, 8);
    EXPECT_GT(info.bytes, 0u);
    info.struct_size = 3;
    EXPECT_STATUS(lola_layer_get_info(l.p, &info), LOLA_ERR_VERSION_MISMATCH);

    for (int32_t h = 0; h < 4; ++h) {
        lola_head_state hs{};
        hs.struct_size = sizeof hs;
        ASSERT_EQ(lola_layer_get_head_state(l.p, h, &hs), LOLA_OK);
        EXPECT_EQ(hs.state_head, h / 2);
        EXPECT_EQ(hs.n_window, 4 + 3);        // W_prev + 3 tokens of W_cur
        EXPECT_EQ(hs.n_sparse, 3);            // lambda
        EXPECT_EQ(hs.n_folded, 23 - 7 - 3);
        EXPECT_EQ(hs.n_evicted, 0);
        EXPECT_GT(hs.bytes, 0u);
        size_t n = 0;
        ASSERT_EQ(lola_layer_get_positions(l.p, h, LOLA_MEMORY_WINDOW, nullptr, nullptr, 0, &n), LOLA_OK);
        EXPECT_EQ(n, 7u);
        std::vector<int64_t> pos(n);
        ASSERT_EQ(lola_layer_get_positions(l.p, h, LOLA_MEMORY_WINDOW, pos.data(), nullptr, n, &n), LOLA_OK);
        EXPECT_EQ(pos, (std::vector<int64_t>{16, 17, 18, 19, 20, 21, 22}));
        std::vector<int64_t> sp(3);
        std::vector<float> scores(3);
        ASSERT_EQ(lola_layer_get_positions(l.p, h, LOLA_MEMORY_SPARSE, sp.data(), scores.data(), 3, &n), LOLA_OK);
        EXPECT_TRUE(std::is_sorted(sp.begin(), sp.end()));
        for (int64_t x : sp) EXPECT_LT(x, 16);
        for (float s : scores) EXPECT_GT(s, 0.f);  // SRE norms of random values
        EXPECT_STATUS(lola_layer_get_positions(l.p, h, LOLA_MEMORY_SPARSE, sp.data(), nullptr, 2, &n),
                      LOLA_ERR_BUFFER_TOO_SMALL);
        EXPECT_EQ(n, 3u);
        EXPECT_STATUS(lola_layer_get_positions(l.p, h, LOLA_MEMORY_WINDOW, pos.data(), scores.data(), 7, &n),
                      LOLA_ERR_INVALID_ARGUMENT);
    }
    lola_head_state hs{};
    hs.struct_size = sizeof hs;
    EXPECT_STATUS(lola_layer_get_head_state(l.p, 4, &hs), LOLA_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(lola_layer_get_head_state(l.p, -1, &hs), LOLA_ERR_INVALID_ARGUMENT);
    size_t n;
    EXPECT_STATUS(lola_layer_get_positions(l.p, 0, 5, nullptr, nullptr, 0, &n), LOLA_ERR_INVALID_ARGUMENT);
}

TEST(CApi, CloneIsIndependentAndResetForgets) {
    LayerSpec p = params();
    LayerPtr a, b, c;
    ASSERT_EQ(lola_layer_create(&p.p, &a.p), LOLA_OK);
    Data first(10, 2, 1, 8, 1), second(9, 2, 1, 8, 2);
    ASSERT_EQ(first.feed(a.p), LOLA_OK);
    const std::vector<float> first_y = first.y;
    ASSERT_EQ(lola_layer_clone(a.p, &b.p), LOLA_OK);
    Data second_b = second;
    ASSERT_EQ(second.feed(a.p), LOLA_OK);
    ASSERT_EQ(second_b.feed(b.p), LOLA_OK);
    EXPECT_EQ(second.y, second_b.y);
    EXPECT_TRUE(save_blob(a.p) == save_blob(b.p));
    ASSERT_EQ(first.feed(b.p), LOLA_OK);  // b moves on, a does not
    EXPECT_FALSE(save_blob(a.p) == save_blob(b.p));

    ASSERT_EQ(lola_layer_reset(a.p), LOLA_OK);
    ASSERT_EQ(lola_layer_create(&p.p, &c.p), LOLA_OK);
    EXPECT_TRUE(save_blob(a.p) == save_blob(c.p));
    Data again(10, 2, 1, 8, 1);
    ASSERT_EQ(again.feed(a.p), LOLA_OK);
    EXPECT_EQ(again.y, first_y);
}

TEST(CApi, VectorFilesThroughParams) {
    for (const std::string &file : vector_files()) {
        SCOPED_TRACE(file);
        const VectorCase vc = load_vector_case(file);
        LayerSpec p;
        p.p.n_heads = p.p.n_kv_heads = vc.n_heads;
        p.p.head_dim = vc.head_dim;
        p.a.chunk_size = vc.chunk;
        p.a.sparse_capacity = vc.capacity;
        p.a.feature_map = LOLA_FEATURE_MAP_HEDGEHOG;
        p.a.feature_dim = vc.feature_dim;
        p.a.eps = static_cast<float>(vc.eps);
        const std::vector<float> wf = cast<float>(vc.window_factor), wq = cast<float>(vc.wq),
                                 wk = cast<float>(vc.wk);
        p.p.window_factors = wf.data();
        p.p.hedgehog_q = wq.data();
        p.p.hedgehog_k = wk.data();
        LayerPtr l;
        ASSERT_EQ(lola_layer_create(&p.p, &l.p), LOLA_OK) << lola_last_error_message();
        const std::vector<float> q = cast<float>(vc.q), k = cast<float>(vc.k), v = cast<float>(vc.v);
        std::vector<float> y(q.size());
        ASSERT_EQ(lola_layer_feed(l.p, vc.L, q.data(), q.size(), k.data(), k.size(), v.data(),
                                  v.size(), y.data(), y.size()),
                  LOLA_OK);
        double worst = 0;
        for (size_t i = 0; i < y.size(); ++i)
            worst = std::max(worst, std::abs(y[i] - vc.y[i]) / (1 + std::abs(vc.y[i])));
        EXPECT_LE(worst, 1e-5);  // the float tolerance of test_vectors.cpp
        for (int h = 0; h < vc.n_heads; ++h) {
            size_t n = 0;
            std::vector<int64_t> pos(vc.L);
            ASSERT_EQ(lola_layer_get_positions(l.p, h, LOLA_MEMORY_SPARSE, pos.data(), nullptr, pos.size(), &n), LOLA_OK);
            pos.resize(n);
            EXPECT_EQ(std::vector<long long>(pos.begin(), pos.end()), vc.final_state[h].sparse);
        }
    }
}

TEST(CApi, ErrorMessageIsThreadLocal) {
    LayerPtr none;
    EXPECT_EQ(lola_layer_reset(none.p), LOLA_ERR_NULL_HANDLE);
    std::string other;
    std::thread t([&] { other = lola_last_error_message(); });
    t.join();
    EXPECT_EQ(other, "");
    EXPECT_NE(std::string(lola_last_error_message()), "");
}

TEST(CApi, IndependentLayersOnManyThreads) {
    // Layers on different threads never interfere: each thread's results equal a serial run.
    LayerSpec p = params(4, 2, 16, 8, 8);
    p.a.feature_map = LOLA_FEATURE_MAP_PERFORMER;
    p.p.n_threads = 2;
    std::vector<std::vector<float>> serial(4), parallel(4);
    auto work = [&](int i, std::vector<float> &out) {
        LayerPtr l;
        ASSERT_EQ(lola_layer_create(&p.p, &l.p), LOLA_OK);
        Data data(200, 4, 2, 16, static_cast<uint64_t>(i));
        for (int rep = 0; rep < 3; ++rep) ASSERT_EQ(data.feed(l.p), LOLA_OK);
        out = data.y;
    };
    for (int i = 0; i < 4; ++i) work(i, serial[i]);
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i) threads.emplace_back(work, i, std::ref(parallel[i]));
    for (std::thread &t : threads) t.join();
    for (int i = 0; i < 4; ++i) EXPECT_EQ(serial[i], parallel[i]);
}

}  // namespace
