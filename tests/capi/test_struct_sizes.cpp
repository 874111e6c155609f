// test_struct_sizes.cpp: the struct_size contract of lola.h ("Structs"). For every
// struct_size-versioned struct, through the real function that reads or writes it: the published
// size is accepted; 0, sizeof - 1, sizeof + 8 and SIZE_MAX are refused with
// LOLA_ERR_VERSION_MISMATCH, a message naming the struct and the size accepted, and nothing
// written. Then the mechanism itself (capi/struct_versions.hpp) on a struct with two published
// sizes: an older, smaller caller struct is read over the defaults and written only up to its
// size, the current one whole, an unknown one not at all; and every published list is well formed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "capi_check.hpp"
#include "lola.h"
#include "struct_versions.hpp"
#include "tiny_llama.hpp"

namespace {

std::vector<size_t> bad_sizes(size_t good) { return {0, good - 1, good + 8, SIZE_MAX}; }

// Calls `call` with a struct of each bad size and of the good size; `expect_ok` for the good one.
// `output`: the library writes the struct (info structs, resolve), so a refused one must be left
// byte for byte as it was; parameter structs are re-initialised by `call` itself.
template <class S>
void check_struct(const char *name, const std::function<lola_status(S *)> &call, bool output) {
    for (size_t bad : bad_sizes(sizeof(S))) {
        SCOPED_TRACE(std::string(name) + " struct_size " + std::to_string(bad));
        S s;
        std::memset(&s, 0xA5, sizeof s);
        s.struct_size = bad;
        S before = s;
        EXPECT_EQ(call(&s), LOLA_ERR_VERSION_MISMATCH);
        const std::string msg = lola_last_error_message();
        EXPECT_NE(msg.find(name), std::string::npos) << msg;
        EXPECT_NE(msg.find(std::to_string(sizeof(S)), msg.find("accepts ")), std::string::npos) << msg;
        if (output) {
            EXPECT_EQ(std::memcmp(&s, &before, sizeof s), 0) << "a refused struct was written";
        }
    }
    {
        S s{};
        s.struct_size = sizeof s;
        EXPECT_EQ(call(&s), LOLA_OK) << name << ": " << lola_last_error_message();
    }
}

class StructSizes : public ::testing::Test {
protected:
    void SetUp() override {
        lola_test::TinyLlama t;
        // One file per process: ctest runs the tests of this file in parallel processes.
        path_ = ::testing::TempDir() + "struct_sizes_" + std::to_string(::getpid()) + ".gguf";
        t.write(path_);
        lola_model_params mp;
        ASSERT_EQ(lola_model_params_init(&mp), LOLA_OK);
        ASSERT_EQ(lola_model_load(path_.c_str(), &mp, &model_), LOLA_OK) << lola_last_error_message();
        lola_context_params cp;
        ASSERT_EQ(lola_context_params_init(&cp), LOLA_OK);
        ASSERT_EQ(lola_context_create(model_, &cp, &ctx_), LOLA_OK);
        const int32_t tok = 3;
        ASSERT_EQ(lola_context_feed(ctx_, &tok, 1, 0, nullptr), LOLA_OK);
        lola_layer_params lp;
        ASSERT_EQ(lola_layer_params_init(&lp), LOLA_OK);
        lp.head_dim = 8;
        ASSERT_EQ(lola_layer_create(&lp, &layer_), LOLA_OK);
    }
    void TearDown() override {
        lola_context_free(ctx_);
        lola_model_free(model_);
        lola_layer_free(layer_);
    }
    std::string path_;
    lola_model *model_ = nullptr;
    lola_context *ctx_ = nullptr;
    lola_layer *layer_ = nullptr;
};

// Fills *s with its defaults (init) but keeps the struct_size the check gave it.
template <class S>
void init_keeping_size(S *s, lola_status (*init)(S *)) {
    const size_t size = s->struct_size;
    init(s);
    s->struct_size = size;
}

// The status of creating a handle (then freed again).
template <class H, class Create>
lola_status created(Create &&create, void (*free_fn)(H *)) {
    H *h = nullptr;
    const lola_status st = create(&h);
    free_fn(h);
    return st;
}

TEST_F(StructSizes, ParameterStructs) {
    // Parameter structs made by *_init and then given another size.
    check_struct<lola_model_params>("lola_model_params", [&](lola_model_params *s) {
        init_keeping_size(s, lola_model_params_init);
        return created<lola_model>([&](lola_model **m) { return lola_model_load(path_.c_str(), s, m); },
                                   lola_model_free);
    }, false);
    check_struct<lola_layer_params>("lola_layer_params", [&](lola_layer_params *s) {
        init_keeping_size(s, lola_layer_params_init);
        s->head_dim = 8;
        return created<lola_layer>([&](lola_layer **l) { return lola_layer_create(s, l); }, lola_layer_free);
    }, false);
    check_struct<lola_context_params>("lola_context_params", [&](lola_context_params *s) {
        init_keeping_size(s, lola_context_params_init);
        return created<lola_context>([&](lola_context **c) { return lola_context_create(model_, s, c); },
                                     lola_context_free);
    }, false);
    check_struct<lola_attention_params>("lola_attention_params", [&](lola_attention_params *s) {
        init_keeping_size(s, lola_attention_params_init);
        lola_layer_params lp;
        lola_layer_params_init(&lp);
        lp.head_dim = 8;
        lp.attention = s;
        return created<lola_layer>([&](lola_layer **l) { return lola_layer_create(&lp, l); }, lola_layer_free);
    }, false);
    check_struct<lola_attention_params>("lola_attention_params", [&](lola_attention_params *s) {
        init_keeping_size(s, lola_attention_params_init);
        lola_context_params cp;
        lola_context_params_init(&cp);
        cp.attention = s;
        return created<lola_context>([&](lola_context **c) { return lola_context_create(model_, &cp, c); },
                                     lola_context_free);
    }, false);
    check_struct<lola_sampler_params>("lola_sampler_params", [&](lola_sampler_params *s) {
        init_keeping_size(s, lola_sampler_params_init);
        return created<lola_sampler>([&](lola_sampler **x) { return lola_sampler_create(s, x); }, lola_sampler_free);
    }, false);
}

TEST_F(StructSizes, ResolveReadsAndWritesAttentionParams) {
    // lola_attention_params_resolve both reads and writes the struct: a refused one is untouched.
    check_struct<lola_attention_params>("lola_attention_params", [&](lola_attention_params *s) {
        return lola_attention_params_resolve(model_, s);
    }, true);
}

TEST_F(StructSizes, InfoStructs) {
    check_struct<lola_model_info>("lola_model_info", [&](lola_model_info *s) { return lola_model_get_info(model_, s);
    }, true);
    check_struct<lola_context_info>("lola_context_info", [&](lola_context_info *s) { return lola_context_get_info(ctx_, s);
    }, true);
    check_struct<lola_layer_info>("lola_layer_info", [&](lola_layer_info *s) { return lola_layer_get_info(layer_, s);
    }, true);
    check_struct<lola_head_state>("lola_head_state", [&](lola_head_state *s) { return lola_layer_get_head_state(layer_, 0, s);
    }, true);
    check_struct<lola_head_state>("lola_head_state", [&](lola_head_state *s) { return lola_context_get_head_state(ctx_, 0, 0, s);
    }, true);
    check_struct<lola_special_tokens>("lola_special_tokens", [&](lola_special_tokens *s) { return lola_model_special_tokens(model_, s);
    }, true);
}

// The first published sizes on LP64, as the header before the appended fields compiled them.
static_assert(sizeof(void *) != 8 || offsetof(lola_model_params, adapter_path) == 24, "first size");
static_assert(sizeof(void *) != 8 || offsetof(lola_model_info, fingerprint) == 224, "first size");
// lola_context_params' first size (32): test_layer_attention checks a caller of it.
static_assert(sizeof(void *) != 8 || offsetof(lola_context_params, layer_attention) == 32, "first size");

TEST_F(StructSizes, ModelStructsOfTheFirstSizeStillWork) {
    // A caller compiled before adapter_path: the bytes past its struct (here garbage) are not
    // read, so no adapter is opened.
    unsigned char buf[sizeof(lola_model_params) + 16];
    std::memset(buf, 0xEE, sizeof buf);
    lola_model_params_init(reinterpret_cast<lola_model_params *>(buf));
    const size_t old_params = offsetof(lola_model_params, adapter_path);
    std::memset(buf + old_params, 0xEE, sizeof buf - old_params);
    reinterpret_cast<lola_model_params *>(buf)->struct_size = old_params;
    lola_model *m = nullptr;
    EXPECT_EQ(lola_model_load(path_.c_str(), reinterpret_cast<lola_model_params *>(buf), &m), LOLA_OK)
        << lola_last_error_message();
    lola_model_free(m);
    // An info struct of the first size is written up to that size only.
    unsigned char info[sizeof(lola_model_info) + 16];
    std::memset(info, 0xEE, sizeof info);
    const size_t old_info = offsetof(lola_model_info, fingerprint);
    reinterpret_cast<lola_model_info *>(info)->struct_size = old_info;
    ASSERT_EQ(lola_model_get_info(model_, reinterpret_cast<lola_model_info *>(info)), LOLA_OK);
    EXPECT_EQ(reinterpret_cast<lola_model_info *>(info)->struct_size, old_info);
    EXPECT_EQ(reinterpret_cast<lola_model_info *>(info)->n_layer, 2);
    for (size_t i = old_info; i < sizeof info; ++i) ASSERT_EQ(info[i], 0xEE) << "byte " << i << " written";
}

// ---- the mechanism, on a struct with two published sizes -----------------------------------

struct Demo {
    size_t struct_size;
    int32_t a;
    int32_t b;       // appended in "revision 2"
    double c;        // appended in "revision 2"
};
struct DemoV1 {      // what an older header compiled
    size_t struct_size;
    int32_t a;
};
struct DemoVersions {
    static constexpr const char *name = "Demo";
    // DemoV1 has 4 bytes of tail padding where Demo's b now sits: only its first 12 bytes are fields.
    static constexpr lola::capi::StructVersion versions[] = {
        {sizeof(DemoV1), offsetof(Demo, b)}, {sizeof(Demo), sizeof(Demo)}};
};

TEST(StructVersions, OlderParamsTakeTheDefaultsOfNewerFields) {
    const Demo defaults{sizeof(Demo), 1, 2, 3.0};
    DemoV1 old;
    std::memset(&old, 0xEE, sizeof old);  // garbage in the tail padding must not reach b
    old.struct_size = sizeof(DemoV1);
    old.a = 7;
    const Demo got = lola::capi::read_struct<Demo, DemoVersions>(reinterpret_cast<const Demo *>(&old), "old", defaults);
    EXPECT_EQ(got.struct_size, sizeof(Demo));
    EXPECT_EQ(got.a, 7);
    EXPECT_EQ(got.b, 2);
    EXPECT_EQ(got.c, 3.0);
    Demo now{sizeof(Demo), 7, 8, 9.0};
    const Demo full = lola::capi::read_struct<Demo, DemoVersions>(&now, "now", defaults);
    EXPECT_EQ(full.b, 8);
    EXPECT_EQ(full.c, 9.0);
}

TEST(StructVersions, OlderInfoIsWrittenOnlyUpToItsSize) {
    unsigned char buf[sizeof(Demo) + 16];
    std::memset(buf, 0xCD, sizeof buf);
    DemoV1 head{sizeof(DemoV1), 0};
    std::memcpy(buf, &head, sizeof head);
    lola::capi::write_struct<Demo, DemoVersions>(reinterpret_cast<Demo *>(buf), "info", Demo{0, 5, 6, 7.0});
    DemoV1 out;
    std::memcpy(&out, buf, sizeof out);
    EXPECT_EQ(out.struct_size, sizeof(DemoV1));  // the caller's size is kept
    EXPECT_EQ(out.a, 5);
    for (size_t i = sizeof(DemoV1); i < sizeof buf; ++i) ASSERT_EQ(buf[i], 0xCD) << "byte " << i << " written";
}

TEST(StructVersions, CurrentInfoIsWrittenWholeAndUnknownSizesNotAtAll) {
    Demo now;
    std::memset(&now, 0xCD, sizeof now);
    now.struct_size = sizeof(Demo);
    lola::capi::write_struct<Demo, DemoVersions>(&now, "info", Demo{0, 5, 6, 7.0});
    EXPECT_EQ(now.struct_size, sizeof(Demo));
    EXPECT_EQ(now.a, 5);
    EXPECT_EQ(now.b, 6);
    EXPECT_EQ(now.c, 7.0);

    for (size_t bad : {size_t{0}, sizeof(DemoV1) + 1, sizeof(Demo) + 8}) {
        unsigned char buf[sizeof(Demo) + 16];
        std::memset(buf, 0xCD, sizeof buf);
        std::memcpy(buf, &bad, sizeof bad);
        unsigned char before[sizeof buf];
        std::memcpy(before, buf, sizeof buf);
        EXPECT_THROW((lola::capi::write_struct<Demo, DemoVersions>(reinterpret_cast<Demo *>(buf), "info",
                                                                   Demo{0, 5, 6, 7.0})),
                     lola::Error)
            << bad;
        EXPECT_EQ(std::memcmp(buf, before, sizeof buf), 0) << "struct_size " << bad << ": written";
    }
}

// Every list of published sizes is well formed: oldest first, each version's fields inside its
// size, and the last one this header's struct, whole.
template <class S, class P = lola::capi::Published<S>>
void check_published() {
    SCOPED_TRACE(P::name);
    const size_t n = sizeof(P::versions) / sizeof(P::versions[0]);
    ASSERT_GE(n, 1u);
    for (size_t i = 0; i < n; ++i) {
        EXPECT_GT(P::versions[i].used, sizeof(size_t));  // struct_size and at least one field
        EXPECT_LE(P::versions[i].used, P::versions[i].size);
        if (i > 0) {
            EXPECT_GT(P::versions[i].size, P::versions[i - 1].size);
            EXPECT_GE(P::versions[i].used, P::versions[i - 1].used);
        }
    }
    EXPECT_EQ(P::versions[n - 1].size, sizeof(S));
    EXPECT_EQ(P::versions[n - 1].used, sizeof(S));
}

TEST(StructVersions, EveryPublishedListIsWellFormed) {
    check_published<lola_attention_params>();
    check_published<lola_layer_params>();
    check_published<lola_layer_info>();
    check_published<lola_head_state>();
    check_published<lola_model_params>();
    check_published<lola_model_info>();
    check_published<lola_context_params>();
    check_published<lola_context_info>();
    check_published<lola_special_tokens>();
    check_published<lola_sampler_params>();
    check_published<Demo, DemoVersions>();  // the two-version list of the tests above
}

TEST(StructVersions, UnpublishedSizesAreRefusedNamingTheAccepted) {
    Demo d{sizeof(Demo) - 4, 0, 0, 0};
    try {
        lola::capi::require_struct<Demo, DemoVersions>(&d, "d");
        FAIL() << "accepted an unpublished size";
    } catch (const lola::Error &e) {
        EXPECT_EQ(e.status(), lola::Status::version_mismatch);
        const std::string msg = e.what();
        EXPECT_NE(msg.find(std::to_string(sizeof(DemoV1)) + " or " + std::to_string(sizeof(Demo))), std::string::npos) << msg;
        EXPECT_NE(msg.find("Demo"), std::string::npos) << msg;
    }
}

}  // namespace
