// test_adapter.cpp: LoLA adapters through the C API (lola_model_params.adapter_path,
// docs/ADAPTERS.md). A model with an adapter computes exactly what a model file carrying the
// same LoLA tensors computes; its defaults become the context's; it reports has_adapter and a
// fingerprint of its own, so state does not cross between base and adapter. Every malformed
// adapter (wrong base, version, type, shapes, names, values, truncations) is refused with its
// status and a message naming the adapter, and nothing is loaded.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "capi_check.hpp"
#include "gguf/gguf.hpp"
#include "lola.h"
#include "tiny_adapter.hpp"
#include "tiny_llama.hpp"
#include "tiny_model_test.hpp"

using namespace lola_test;

namespace {

void write_bytes(const std::string &path, const std::vector<uint8_t> &b) {
    std::ofstream f(path, std::ios::binary);
    f.write(reinterpret_cast<const char *>(b.data()), static_cast<std::streamsize>(b.size()));
}

lola_status load(const std::string &path, const char *adapter, lola_model **out) {
    lola_model_params mp;
    EXPECT_EQ(lola_model_params_init(&mp), LOLA_OK);
    EXPECT_EQ(mp.adapter_path, nullptr);
    mp.adapter_path = adapter;
    return lola_model_load(path.c_str(), &mp, out);
}

lola_model_info info_of(const lola_model *m) {
    lola_model_info i{};
    i.struct_size = sizeof i;
    EXPECT_EQ(lola_model_get_info(m, &i), LOLA_OK);
    return i;
}

// The logits of every position of `tokens` on a context with the model's defaults (C, lambda,
// mixing, hedgehog maps).
std::vector<float> logits(lola_model *m, const std::vector<int32_t> &tokens) {
    lola_context_params cp;
    EXPECT_EQ(lola_context_params_init(&cp), LOLA_OK);
    lola_context *ctx = nullptr;
    EXPECT_EQ(lola_context_create(m, &cp, &ctx), LOLA_OK) << lola_last_error_message();
    std::vector<float> out;
    for (int32_t t : tokens) {
        EXPECT_EQ(lola_context_feed(ctx, &t, 1, 0, nullptr), LOLA_OK) << lola_last_error_message();
        std::vector<float> row(97);
        EXPECT_EQ(lola_context_copy_logits(ctx, -1, row.data(), row.size()), LOLA_OK);
        out.insert(out.end(), row.begin(), row.end());
    }
    lola_context_free(ctx);
    return out;
}

std::vector<int32_t> sequence(int n) {
    std::vector<int32_t> t;
    for (int i = 0; i < n; ++i) t.push_back(static_cast<int32_t>((i * 31 + 7) % 97));
    return t;
}

struct Adapter : testing::Test {
    void SetUp() override {
        base_path_ = TinyLlama{}.write(temp_path("adapter_base.gguf"));
        ASSERT_EQ(load(base_path_, nullptr, &base_), LOLA_OK) << lola_last_error_message();
        base_fp_ = info_of(base_).fingerprint;
        adapter_.base_fingerprint = base_fp_;
    }
    void TearDown() override {
        lola_model_free(base_);
        for (const std::string &p : {base_path_, temp_path("adapter.gguf")}) std::filesystem::remove(p);
    }
    std::string write(const TinyAdapter &a) { return a.write(temp_path("adapter.gguf")); }

    // Loading the base with `a` fails with `status` and a message naming the adapter and `what`.
    void expect_refused(const TinyAdapter &a, lola_status status, const std::string &what) {
        const std::string path = write(a);
        static int sentinel;
        lola_model *m = reinterpret_cast<lola_model *>(&sentinel);  // must be reset to NULL
        EXPECT_EQ(load(base_path_, path.c_str(), &m), status) << lola_last_error_message();
        EXPECT_EQ(m, nullptr);
        const std::string msg = lola_last_error_message();
        EXPECT_NE(msg.find("adapter '" + path + "'"), std::string::npos) << msg;
        EXPECT_NE(msg.find(what), std::string::npos) << msg;
    }

    std::string base_path_;
    lola_model *base_ = nullptr;
    uint64_t base_fp_ = 0;
    TinyAdapter adapter_;
};

TEST_F(Adapter, ComputesWhatAFileWithTheSameTensorsComputes) {
    // The "full" model: a file with the base's tensors and LoLA tensors of the adapter's shape;
    // every tensor's bytes are then copied in from the base or the adapter (TinyLlama draws its
    // values in file order, so the LoLA tensors between the layers would shift the rest).
    TinyLlama with_lola;
    with_lola.lola_feature_dim = adapter_.feature_dim;
    std::vector<uint8_t> full = with_lola.bytes();
    const std::vector<uint8_t> base_bytes = TinyLlama{}.bytes();
    const std::vector<uint8_t> ad = adapter_.bytes();
    auto full_file = lola::gguf::File::from_memory(full);
    auto base_file = lola::gguf::File::from_memory(base_bytes);
    auto ad_file = lola::gguf::File::from_memory(ad);
    for (const lola::gguf::TensorInfo &t : full_file->tensors()) {
        const lola::gguf::TensorInfo *src = ad_file->tensor(t.name);
        if (!src) src = base_file->tensor(t.name);
        ASSERT_NE(src, nullptr) << t.name;
        ASSERT_EQ(src->n_bytes, t.n_bytes) << t.name;
        const size_t at = full_file->data_offset() + static_cast<size_t>(t.offset);
        std::memcpy(full.data() + at, src->data, t.n_bytes);
    }
    // The full file has no lola.* metadata: its context gets the adapter's defaults explicitly.
    const std::string full_path = temp_path("adapter_full.gguf");
    write_bytes(full_path, full);
    lola_model *fm = nullptr, *am = nullptr;
    ASSERT_EQ(load(full_path, nullptr, &fm), LOLA_OK) << lola_last_error_message();
    const std::string path = write(adapter_);
    ASSERT_EQ(load(base_path_, path.c_str(), &am), LOLA_OK) << lola_last_error_message();

    const lola_model_info ai = info_of(am);
    EXPECT_EQ(ai.has_adapter, 1);
    EXPECT_EQ(ai.has_lola_tensors, 1);
    EXPECT_NE(ai.fingerprint, base_fp_);
    EXPECT_EQ(info_of(base_).has_adapter, 0);
    EXPECT_EQ(info_of(base_).has_lola_tensors, 0);

    // The adapter's C, lambda and mixing are the context defaults.
    lola_attention_params a;
    ASSERT_EQ(lola_attention_params_init(&a), LOLA_OK);
    ASSERT_EQ(lola_attention_params_resolve(am, &a), LOLA_OK);
    EXPECT_EQ(a.chunk_size, adapter_.chunk);
    EXPECT_EQ(a.sparse_capacity, adapter_.sparse);
    EXPECT_EQ(a.mixing, LOLA_MIXING_LOLCATS);

    const std::vector<int32_t> tokens = sequence(23);  // several chunks of 4, a partial one
    const std::vector<float> with_adapter = logits(am, tokens);
    lola_context_params cp;
    ASSERT_EQ(lola_context_params_init(&cp), LOLA_OK);
    lola_attention_params fa = a;  // the same settings, explicit
    cp.attention = &fa;
    lola_context *ctx = nullptr;
    ASSERT_EQ(lola_context_create(fm, &cp, &ctx), LOLA_OK) << lola_last_error_message();
    std::vector<float> from_file;
    for (int32_t t : tokens) {
        ASSERT_EQ(lola_context_feed(ctx, &t, 1, 0, nullptr), LOLA_OK);
        std::vector<float> row(97);
        ASSERT_EQ(lola_context_copy_logits(ctx, -1, row.data(), row.size()), LOLA_OK);
        from_file.insert(from_file.end(), row.begin(), row.end());
    }
    lola_context_free(ctx);
    ASSERT_EQ(with_adapter.size(), from_file.size());
    EXPECT_EQ(std::memcmp(with_adapter.data(), from_file.data(), 4 * from_file.size()), 0)
        << "the adapter's maps are not applied as a model file's";
    // And they matter: the base alone (performer features) computes something else.
    EXPECT_NE(logits(base_, tokens), with_adapter);
    lola_model_free(fm);
    lola_model_free(am);
    std::filesystem::remove(full_path);
}

TEST_F(Adapter, StateDoesNotCrossBetweenBaseAndAdapter) {
    const std::string path = write(adapter_);
    lola_model *am = nullptr, *am2 = nullptr;
    ASSERT_EQ(load(base_path_, path.c_str(), &am), LOLA_OK);
    ASSERT_EQ(load(base_path_, path.c_str(), &am2), LOLA_OK);
    EXPECT_EQ(info_of(am).fingerprint, info_of(am2).fingerprint);
    ContextSpec cs;  // explicit settings valid on both models: only the fingerprint differs
    cs.a.chunk_size = 4;
    cs.a.sparse_capacity = 3;
    cs.a.feature_map = LOLA_FEATURE_MAP_ELU1;
    lola_context *a = nullptr, *a2 = nullptr, *b = nullptr;
    ASSERT_EQ(lola_context_create(am, &cs.p, &a), LOLA_OK);
    ASSERT_EQ(lola_context_create(am2, &cs.p, &a2), LOLA_OK);
    ASSERT_EQ(lola_context_create(base_, &cs.p, &b), LOLA_OK);
    const std::vector<int32_t> t = sequence(9);
    ASSERT_EQ(lola_context_feed(a, t.data(), t.size(), 0, nullptr), LOLA_OK);
    size_t size = 0, written = 0;
    ASSERT_EQ(lola_context_state_size(a, &size), LOLA_OK);
    std::vector<uint8_t> blob(size);
    ASSERT_EQ(lola_context_state_save(a, blob.data(), blob.size(), &written), LOLA_OK);
    EXPECT_EQ(lola_context_state_restore(b, blob.data(), written), LOLA_ERR_INCOMPATIBLE);
    EXPECT_EQ(lola_context_state_restore(a2, blob.data(), written), LOLA_OK) << lola_last_error_message();
    lola_context_free(a);
    lola_context_free(a2);
    lola_context_free(b);
    lola_model_free(am);
    lola_model_free(am2);
}

TEST_F(Adapter, TrainedForAnotherModelIsIncompatible) {
    TinyAdapter a = adapter_;
    a.base_fingerprint = base_fp_ ^ 1;
    expect_refused(a, LOLA_ERR_INCOMPATIBLE, "trained for another model");
    // Another model of the very same shapes (other weights) is another fingerprint too.
    TinyLlama other;
    other.seed = 99;
    const std::string other_path = other.write(temp_path("adapter_other.gguf"));
    const std::string path = write(adapter_);
    lola_model *m = nullptr;
    EXPECT_EQ(load(other_path, path.c_str(), &m), LOLA_ERR_INCOMPATIBLE);
    EXPECT_NE(std::string(lola_last_error_message()).find("fingerprint"), std::string::npos);
    std::filesystem::remove(other_path);
}

TEST_F(Adapter, MalformedAdaptersAreRefusedWithTheirField) {
    TinyAdapter a = adapter_;
    a.version = 2;
    expect_refused(a, LOLA_ERR_VERSION_MISMATCH, "version 2");
    a = adapter_;
    a.general_type = "model";
    expect_refused(a, LOLA_ERR_CORRUPT_DATA, "not a LoLA adapter");
    a = adapter_;
    a.n_head = 2;  // its metadata and tensors say 2 heads; the base has 4
    expect_refused(a, LOLA_ERR_INCOMPATIBLE, "head_count");
    a = adapter_;
    a.n_layer = 3;
    expect_refused(a, LOLA_ERR_INCOMPATIBLE, "block_count");
    a = adapter_;
    a.mixing = "sideways";
    expect_refused(a, LOLA_ERR_CORRUPT_DATA, "lola.mixing");
    a = adapter_;
    a.poison = std::nanf("");
    expect_refused(a, LOLA_ERR_CORRUPT_DATA, "blk.0.lola.fmap_k.weight");
    a = adapter_;
    a.edit = [](GgufBuilder &g) { g.tensors.pop_back(); };  // blk.1.lola.window_factors
    expect_refused(a, LOLA_ERR_CORRUPT_DATA, "blk.1.lola.window_factors");
    a = adapter_;
    a.edit = [](GgufBuilder &g) { g.tensor("blk.0.attn_q.weight", {32, 32}); };
    expect_refused(a, LOLA_ERR_CORRUPT_DATA, "blk.0.attn_q.weight");
    a = adapter_;
    a.edit = [](GgufBuilder &g) { g.tensors[0].dims = {4, 8, 2}; };  // fewer heads in one map
    expect_refused(a, LOLA_ERR_CORRUPT_DATA, "blk.0.lola.fmap_q.weight");
    a = adapter_;
    a.edit = [](GgufBuilder &g) { g.tensors[1].type = 1; };  // an F16 map
    expect_refused(a, LOLA_ERR_UNSUPPORTED, "must be F32");
    a = adapter_;
    a.edit = [](GgufBuilder &g) { g.kv_u32("lola.feature_dim", 16); };  // a second, contradicting key
    {
        const std::string path = write(a);
        lola_model *m = nullptr;
        EXPECT_NE(load(base_path_, path.c_str(), &m), LOLA_OK);
        EXPECT_EQ(m, nullptr);
    }
    a = adapter_;
    a.edit = [](GgufBuilder &g) { g.kv_str("lola.feature_map", "performer"); };
    {
        const std::string path = write(a);
        lola_model *m = nullptr;
        EXPECT_NE(load(base_path_, path.c_str(), &m), LOLA_OK);
        EXPECT_EQ(m, nullptr);
    }
}

TEST_F(Adapter, TruncatedMissingAndEmptyPaths) {
    const std::vector<uint8_t> good = adapter_.bytes();
    const std::string path = temp_path("adapter.gguf");
    for (size_t n : {size_t{0}, size_t{3}, size_t{24}, good.size() / 3, good.size() / 2, good.size() - 1}) {
        SCOPED_TRACE(n);
        write_bytes(path, std::vector<uint8_t>(good.begin(), good.begin() + static_cast<long>(n)));
        lola_model *m = nullptr;
        const lola_status s = load(base_path_, path.c_str(), &m);
        EXPECT_TRUE(s == LOLA_ERR_CORRUPT_DATA || s == LOLA_ERR_IO) << lola_status_string(s);
        EXPECT_EQ(m, nullptr);
        EXPECT_NE(std::string(lola_last_error_message()).find("adapter '"), std::string::npos);
    }
    lola_model *m = nullptr;
    EXPECT_EQ(load(base_path_, temp_path("no_such_adapter.gguf").c_str(), &m), LOLA_ERR_IO);
    EXPECT_NE(std::string(lola_last_error_message()).find("no_such_adapter"), std::string::npos);
    EXPECT_EQ(load(base_path_, "", &m), LOLA_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(m, nullptr);
}

TEST_F(Adapter, TheMemoryBudgetCountsTheAdapter) {
    const std::string path = write(adapter_);
    lola_model_params mp;
    ASSERT_EQ(lola_model_params_init(&mp), LOLA_OK);
    mp.adapter_path = path.c_str();
    mp.memory_budget = std::filesystem::file_size(base_path_) + 1;  // enough for the base alone
    lola_model *m = nullptr;
    EXPECT_EQ(lola_model_load(base_path_.c_str(), &mp, &m), LOLA_ERR_OUT_OF_MEMORY);
    mp.memory_budget += std::filesystem::file_size(path);
    EXPECT_EQ(lola_model_load(base_path_.c_str(), &mp, &m), LOLA_OK) << lola_last_error_message();
    lola_model_free(m);
}

}  // namespace
