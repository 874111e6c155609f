// test_hostile.cpp: hostile input through the C API, beyond the reader's own tests (test_gguf:
// every header field, truncation at every byte, the 2024 GGUF CVE classes, 20,000 mutations) and
// test_state_blob (truncated, bit-flipped, foreign-layer and future-version layer blobs):
// model files truncated at every offset class, non-finite weights, metadata asking for huge
// allocations, context state blobs from another model, configuration or version, every params
// and info struct with a wrong struct_size (lola_attention_params behind a layer and a context
// too), NULL handles on every entry point, out-of-range ids, and the memory budget. Each must
// give its documented status and a message; nothing crashes.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "gguf/gguf.hpp"
#include "capi_check.hpp"
#include "lola.h"
#include "tiny_llama.hpp"

using namespace lola_test;

namespace {

std::string temp_path(const std::string &name) {
    return (std::filesystem::temp_directory_path() /
            ("lola_hostile_" + std::to_string(::getpid()) + "_" + name)).string();
}

void write_file(const std::string &path, const std::vector<uint8_t> &b) {
    std::ofstream f(path, std::ios::binary);
    f.write(reinterpret_cast<const char *>(b.data()), static_cast<std::streamsize>(b.size()));
}

// Loads bytes through a file; returns the status (the model, if any, is freed).
lola_status load_bytes(const std::vector<uint8_t> &b, std::string *message = nullptr, uint64_t budget = 0) {
    const std::string path = temp_path("load.gguf");
    write_file(path, b);
    lola_model_params mp;
    lola_model_params_init(&mp);
    mp.memory_budget = budget;
    lola_model *m = reinterpret_cast<lola_model *>(0x1);
    const lola_status s = lola_model_load(path.c_str(), &mp, &m);
    if (message) *message = lola_last_error_message();
    EXPECT_EQ(s == LOLA_OK, m != nullptr);
    if (s != LOLA_OK) {
        EXPECT_STRNE(lola_last_error_message(), "");
    }
    lola_model_free(m);
    std::filesystem::remove(path);
    return s;
}

// Where tensor `name`'s data starts in the file.
size_t tensor_position(const std::vector<uint8_t> &b, const std::string &name) {
    const auto f = lola::gguf::File::from_memory(b);
    const lola::gguf::TensorInfo *t = f->tensor(name);
    EXPECT_NE(t, nullptr) << name;
    return f->data_offset() + t->offset;
}

struct Model {
    lola_model *m = nullptr;
    explicit Model(const TinyLlama &t = TinyLlama{}) {
        const std::string path = t.write(temp_path("model" + std::to_string(t.seed) + ".gguf"));
        lola_model_params mp;
        lola_model_params_init(&mp);
        EXPECT_EQ(lola_model_load(path.c_str(), &mp, &m), LOLA_OK) << lola_last_error_message();
        std::filesystem::remove(path);
    }
    ~Model() { lola_model_free(m); }
    lola_context *context(int32_t chunk = 4) const {
        lola_test::ContextSpec cp;
        cp.a.chunk_size = chunk;
        cp.a.sparse_capacity = 3;
        lola_context *c = nullptr;
        EXPECT_EQ(lola_context_create(m, &cp.p, &c), LOLA_OK) << lola_last_error_message();
        return c;
    }
};

std::vector<unsigned char> saved_state(lola_context *c) {
    const int32_t toks[] = {5, 9, 1, 40, 3, 3, 7, 60, 2, 11};
    EXPECT_EQ(lola_context_feed(c, toks, 10, 0, nullptr), LOLA_OK);
    size_t n = 0, written = 0;
    EXPECT_EQ(lola_context_state_size(c, &n), LOLA_OK);
    std::vector<unsigned char> blob(n);
    EXPECT_EQ(lola_context_state_save(c, blob.data(), n, &written), LOLA_OK);
    return blob;
}

TEST(Hostile, ModelFilesTruncatedAtEveryOffsetClass) {
    const std::vector<uint8_t> b = TinyLlama{}.bytes();
    const auto f = lola::gguf::File::from_memory(b);
    // magic, version, counts, inside the key/values, the tensor infos, the padding, the data
    std::vector<size_t> cuts = {0, 1, 3, 4, 6, 8, 12, 16, 20, 24, 25, 31, 32, 40, 100, 300,
                                f->data_offset() - 1, f->data_offset(), f->data_offset() + 1,
                                b.size() / 2, b.size() - 4, b.size() - 1};
    for (size_t at = 0; at < f->data_offset(); at += 29) cuts.push_back(at);
    for (const size_t at : cuts) {
        std::string msg;
        EXPECT_EQ(load_bytes(std::vector<uint8_t>(b.begin(), b.begin() + static_cast<long>(at)), &msg),
                  LOLA_ERR_CORRUPT_DATA) << "cut at " << at;
        if (at > 0) {
            EXPECT_NE(msg.find("load.gguf"), std::string::npos) << msg;  // names the file
        }
    }
}

// Non-finite weights are refused at load (lola.h, lola_model_load), naming the tensor: in a
// norm vector, a projection matrix and the embedding table, whatever the value.
TEST(Hostile, NonFiniteWeightsAreReportedAtLoad) {
    const std::vector<uint8_t> good = TinyLlama{}.bytes();
    const float bad_values[] = {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                                -std::numeric_limits<float>::infinity()};
    for (const char *tensor : {"blk.1.ffn_norm.weight", "blk.1.attn_q.weight", "blk.0.ffn_down.weight",
                               "token_embd.weight", "output_norm.weight"}) {
        for (const float x : bad_values) {
            std::vector<uint8_t> b = good;
            const size_t at = tensor_position(b, tensor) + 4 * 13;
            std::memcpy(b.data() + at, &x, 4);
            std::string msg;
            EXPECT_EQ(load_bytes(b, &msg), LOLA_ERR_CORRUPT_DATA) << tensor << " " << x;
            EXPECT_NE(msg.find(tensor), std::string::npos) << msg;
            EXPECT_NE(msg.find("non-finite"), std::string::npos) << msg;
        }
    }
    EXPECT_EQ(load_bytes(good), LOLA_OK);
}

// Metadata that would make the loader allocate per layer, per head or per token before the
// tensors are checked: refused from the sizes alone.
TEST(Hostile, HugeMetadataIsRefusedBeforeAllocating) {
    // A layer count the file has tensors for only in part.
    std::string msg;
    for (const uint32_t claimed : {3u, 1u << 16, 1u << 30}) {
        std::vector<uint8_t> c = TinyLlama{}.bytes();
        // overwrite the u32 value of llama.block_count in place
        const std::string key = "llama.block_count";
        const auto it = std::search(c.begin(), c.end(), key.begin(), key.end());
        ASSERT_NE(it, c.end());
        const size_t value_at = static_cast<size_t>(it - c.begin()) + key.size() + 4;
        std::memcpy(c.data() + value_at, &claimed, 4);
        EXPECT_EQ(load_bytes(c, &msg), LOLA_ERR_CORRUPT_DATA) << claimed;
        EXPECT_NE(msg.find("blk.2."), std::string::npos) << msg;  // the first missing tensor
    }
}

// Layers and contexts whose parameters imply more state than any machine has are refused with
// OUT_OF_MEMORY or INVALID_ARGUMENT before anything is allocated (under ASan a huge allocation
// would abort, so this test also proves none is attempted).
TEST(Hostile, HugeLayersAndContextsAreRefused) {
    lola_test::LayerSpec p;
    p.p.n_heads = 4096;
    p.p.n_kv_heads = 4096;
    p.p.head_dim = 65536;
    p.a.chunk_size = 65536;
    p.a.sparse_capacity = 1 << 20;
    lola_layer *l = reinterpret_cast<lola_layer *>(0x1);
    const lola_status s = lola_layer_create(&p.p, &l);
    EXPECT_EQ(s, LOLA_ERR_OUT_OF_MEMORY) << lola_last_error_message();
    EXPECT_EQ(l, nullptr);
    EXPECT_NE(std::string(lola_last_error_message()).find("bytes"), std::string::npos) << lola_last_error_message();

    Model model;
    lola_test::ContextSpec cp;
    cp.a.chunk_size = 65536;
    cp.a.sparse_capacity = 1 << 20;
    cp.p.batch_size = std::numeric_limits<int32_t>::max();
    lola_context *c = nullptr;
    const lola_status cs = lola_context_create(model.m, &cp.p, &c);
    EXPECT_TRUE(cs == LOLA_ERR_INVALID_ARGUMENT || cs == LOLA_ERR_OUT_OF_MEMORY || cs == LOLA_OK)
        << lola_status_string(cs) << " " << lola_last_error_message();
    if (c) {  // accepted: then it must work
        const int32_t tok = 3;
        EXPECT_EQ(lola_context_feed(c, &tok, 1, 0, nullptr), LOLA_OK) << lola_last_error_message();
        lola_context_free(c);
    }
}

TEST(Hostile, ContextStateFromAnotherModelConfigurationOrVersion) {
    Model a, same_shapes_other_weights([] { TinyLlama t; t.seed = 2; return t; }()),
        other_shapes([] { TinyLlama t; t.n_ff = 40; return t; }());
    lola_context *src = a.context();
    const std::vector<unsigned char> blob = saved_state(src);
    lola_context *twin = a.context();
    const std::vector<unsigned char> before = saved_state(twin);
    lola_context_free(twin);

    auto restore = [&](const Model &m, const std::vector<unsigned char> &b, int32_t chunk = 4) {
        lola_context *c = m.context(chunk);
        const lola_status s = lola_context_state_restore(c, b.data(), b.size());
        const std::string msg = lola_last_error_message();
        lola_context_free(c);
        return std::make_pair(s, msg);
    };
    EXPECT_EQ(restore(a, blob).first, LOLA_OK);
    EXPECT_EQ(restore(other_shapes, blob).first, LOLA_ERR_INCOMPATIBLE);
    const auto weights = restore(same_shapes_other_weights, blob);
    EXPECT_EQ(weights.first, LOLA_ERR_INCOMPATIBLE) << weights.second;
    EXPECT_NE(weights.second.find("model"), std::string::npos) << weights.second;
    EXPECT_EQ(restore(a, blob, 5).first, LOLA_ERR_INCOMPATIBLE);  // other LoLA parameters

    std::vector<unsigned char> future = blob;
    future[7] = '2';  // "LOLACTX1" -> "LOLACTX2": a later format
    EXPECT_EQ(restore(a, future).first, LOLA_ERR_VERSION_MISMATCH);
    std::vector<unsigned char> alien = blob;
    alien[0] = 'X';
    EXPECT_EQ(restore(a, alien).first, LOLA_ERR_CORRUPT_DATA);
    for (size_t cut : {size_t{0}, size_t{7}, size_t{8}, size_t{20}, size_t{28}, size_t{36}, blob.size() / 2, blob.size() - 1}) {
        const std::vector<unsigned char> part(blob.begin(), blob.begin() + static_cast<long>(cut));
        lola_context *c = a.context();
        EXPECT_EQ(lola_context_state_restore(c, part.empty() ? blob.data() : part.data(), part.size()),
                  LOLA_ERR_CORRUPT_DATA) << cut;
        lola_context_free(c);
    }
    std::vector<unsigned char> longer = blob;
    longer.push_back(0);
    EXPECT_EQ(restore(a, longer).first, LOLA_ERR_CORRUPT_DATA);
    // A refused blob leaves the context as it was.
    lola_context *c = a.context();
    const std::vector<unsigned char> mine = saved_state(c);
    EXPECT_EQ(lola_context_state_restore(c, future.data(), future.size()), LOLA_ERR_VERSION_MISMATCH);
    size_t n = 0, written = 0;
    ASSERT_EQ(lola_context_state_size(c, &n), LOLA_OK);
    std::vector<unsigned char> after(n);
    ASSERT_EQ(lola_context_state_save(c, after.data(), n, &written), LOLA_OK);
    EXPECT_EQ(after, mine);
    EXPECT_EQ(mine, before);
    lola_context_free(c);
    lola_context_free(src);
}

// Every struct with a struct_size: 0, one short, one long and a huge value are all refused.
TEST(Hostile, WrongStructSizeOnEveryStruct) {
    Model model;
    lola_context *ctx = model.context();
    lola_sampler_params sp0;
    lola_sampler_params_init(&sp0);
    lola_sampler *sampler = nullptr;
    ASSERT_EQ(lola_sampler_create(&sp0, &sampler), LOLA_OK);
    lola_test::LayerSpec lp0;
    lola_layer *layer = nullptr;
    ASSERT_EQ(lola_layer_create(&lp0.p, &layer), LOLA_OK);

    for (const size_t delta : {size_t{0}, size_t{1}, size_t{2}, size_t{3}}) {
        auto wrong = [delta](size_t good) {
            const size_t v[] = {0, good - 1, good + 8, std::numeric_limits<size_t>::max()};
            return v[delta];
        };
        lola_test::LayerSpec lp = lp0;
        lp.p.struct_size = wrong(sizeof lp.p);
        lola_layer *l = nullptr;
        EXPECT_EQ(lola_layer_create(&lp.p, &l), LOLA_ERR_VERSION_MISMATCH);
        lp = lp0;
        lp.a.struct_size = wrong(sizeof lp.a);  // the attention settings a layer points at
        EXPECT_EQ(lola_layer_create(&lp.p, &l), LOLA_ERR_VERSION_MISMATCH);
        EXPECT_NE(std::string(lola_last_error_message()).find("lola_attention_params"), std::string::npos);
        EXPECT_EQ(l, nullptr);
        lola_model_params mp;
        lola_model_params_init(&mp);
        mp.struct_size = wrong(sizeof mp);
        lola_model *m = nullptr;
        EXPECT_EQ(lola_model_load("/nonexistent.gguf", &mp, &m), LOLA_ERR_VERSION_MISMATCH);
        lola_test::ContextSpec cp;
        cp.p.struct_size = wrong(sizeof cp.p);
        lola_context *c = nullptr;
        EXPECT_EQ(lola_context_create(model.m, &cp.p, &c), LOLA_ERR_VERSION_MISMATCH);
        cp = lola_test::ContextSpec();
        cp.a.struct_size = wrong(sizeof cp.a);  // and a context
        EXPECT_EQ(lola_context_create(model.m, &cp.p, &c), LOLA_ERR_VERSION_MISMATCH);
        EXPECT_NE(std::string(lola_last_error_message()).find("lola_attention_params"), std::string::npos);
        EXPECT_EQ(c, nullptr);
        lola_attention_params ap;
        lola_attention_params_init(&ap);
        ap.struct_size = wrong(sizeof ap);
        EXPECT_EQ(lola_attention_params_resolve(model.m, &ap), LOLA_ERR_VERSION_MISMATCH);
        lola_sampler_params sp = sp0;
        sp.struct_size = wrong(sizeof sp);
        lola_sampler *s = nullptr;
        EXPECT_EQ(lola_sampler_create(&sp, &s), LOLA_ERR_VERSION_MISMATCH);

        lola_layer_info li;
        li.struct_size = wrong(sizeof li);
        EXPECT_EQ(lola_layer_get_info(layer, &li), LOLA_ERR_VERSION_MISMATCH);
        lola_head_state hs;
        hs.struct_size = wrong(sizeof hs);
        EXPECT_EQ(lola_layer_get_head_state(layer, 0, &hs), LOLA_ERR_VERSION_MISMATCH);
        EXPECT_EQ(lola_context_get_head_state(ctx, 0, 0, &hs), LOLA_ERR_VERSION_MISMATCH);
        lola_model_info mi;
        mi.struct_size = wrong(sizeof mi);
        EXPECT_EQ(lola_model_get_info(model.m, &mi), LOLA_ERR_VERSION_MISMATCH);
        lola_context_info ci;
        ci.struct_size = wrong(sizeof ci);
        EXPECT_EQ(lola_context_get_info(ctx, &ci), LOLA_ERR_VERSION_MISMATCH);
        lola_special_tokens st;
        st.struct_size = wrong(sizeof st);
        EXPECT_EQ(lola_model_special_tokens(model.m, &st), LOLA_ERR_VERSION_MISMATCH);
        EXPECT_NE(std::string(lola_last_error_message()).find("struct_size"), std::string::npos);
    }
    lola_layer_free(layer);
    lola_sampler_free(sampler);
    lola_context_free(ctx);
}

// NULL for every handle argument of the model, context, text and sampling functions.
TEST(Hostile, NullHandlesEverywhere) {
    int32_t tok = 1;
    float f[4] = {};
    char text[8];
    size_t n = 0;
    const float *p = nullptr;
    unsigned char blob[8] = {};
    lola_model_info mi;
    mi.struct_size = sizeof mi;
    lola_context_info ci;
    ci.struct_size = sizeof ci;
    lola_head_state hs;
    hs.struct_size = sizeof hs;
    lola_special_tokens st;
    st.struct_size = sizeof st;
    lola_test::ContextSpec cp;
    lola_context *c = nullptr;
    int64_t pos[2];
    const lola_status statuses[] = {
        lola_model_get_info(nullptr, &mi),
        lola_context_create(nullptr, &cp.p, &c),
        lola_context_clone(nullptr, &c),
        lola_context_reset(nullptr),
        lola_context_feed(nullptr, &tok, 1, 0, &n),
        lola_context_logits(nullptr, &p, &n, &n),
        lola_context_copy_logits(nullptr, -1, f, 4),
        lola_context_get_info(nullptr, &ci),
        lola_context_get_head_state(nullptr, 0, 0, &hs),
        lola_context_get_positions(nullptr, 0, 0, 0, pos, nullptr, 2, &n),
        lola_context_state_size(nullptr, &n),
        lola_context_state_save(nullptr, blob, sizeof blob, &n),
        lola_context_state_restore(nullptr, blob, sizeof blob),
        lola_context_set_abort_callback(nullptr, nullptr, nullptr),
        lola_tokenize(nullptr, "a", 1, 0, &tok, 1, &n),
        lola_detokenize(nullptr, &tok, 1, 0, text, sizeof text, &n),
        lola_token_to_piece(nullptr, 1, 0, text, sizeof text, &n),
        lola_model_special_tokens(nullptr, &st),
        lola_chat_apply_template(nullptr, nullptr, 0, true, text, sizeof text, &n),
        lola_sampler_sample(nullptr, f, 4, &tok),
        lola_sampler_accept(nullptr, &tok, 1),
        lola_sampler_reset(nullptr, 1),
        lola_generate(nullptr, nullptr, 4, nullptr, nullptr, &n),
    };
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; ++i)
        EXPECT_EQ(statuses[i], LOLA_ERR_NULL_HANDLE) << "call " << i << ": " << lola_status_string(statuses[i]);
    EXPECT_FALSE(lola_token_is_eog(nullptr, 0));
    EXPECT_EQ(c, nullptr);
    lola_model_free(nullptr);
    lola_context_free(nullptr);
    lola_sampler_free(nullptr);
    lola_layer_free(nullptr);
}

TEST(Hostile, TokenIdsOutOfRange) {
    Model model;
    lola_context *c = model.context();
    char text[64];
    size_t n = 0;
    for (const int32_t bad : {-1, 97, 98, std::numeric_limits<int32_t>::max(), std::numeric_limits<int32_t>::min()}) {
        const int32_t seq[] = {1, 2, bad, 3};
        size_t fed = 99;
        EXPECT_EQ(lola_context_feed(c, seq, 4, 0, &fed), LOLA_ERR_INVALID_ARGUMENT);
        EXPECT_EQ(fed, 0u);
        EXPECT_NE(std::string(lola_last_error_message()).find(std::to_string(bad)), std::string::npos)
            << lola_last_error_message();
        EXPECT_FALSE(lola_token_is_eog(model.m, bad));
        // The TinyLlama has no tokenizer: the text calls say so, never read the ids wrongly.
        const lola_status d = lola_detokenize(model.m, seq, 4, 0, text, sizeof text, &n);
        EXPECT_TRUE(d == LOLA_ERR_INVALID_ARGUMENT || d == LOLA_ERR_UNSUPPORTED) << lola_status_string(d);
        const int32_t negative[] = {bad < 0 ? bad : -5};
        lola_sampler_params sp;
        lola_sampler_params_init(&sp);
        lola_sampler *s = nullptr;
        ASSERT_EQ(lola_sampler_create(&sp, &s), LOLA_OK);
        EXPECT_EQ(lola_sampler_accept(s, negative, 1), LOLA_ERR_INVALID_ARGUMENT);
        lola_sampler_free(s);
    }
    lola_context_info info;
    info.struct_size = sizeof info;
    ASSERT_EQ(lola_context_get_info(c, &info), LOLA_OK);
    EXPECT_EQ(info.n_past, 0);  // nothing was fed by any refused call
    const int32_t ok = 5;
    ASSERT_EQ(lola_context_feed(c, &ok, 1, 0, nullptr), LOLA_OK);
    float row[97];
    for (const int64_t r : {int64_t{1}, int64_t{-2}, std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::min()})
        EXPECT_EQ(lola_context_copy_logits(c, r, row, 97), LOLA_ERR_INVALID_ARGUMENT) << r;
    EXPECT_EQ(lola_context_copy_logits(c, -1, row, 96), LOLA_ERR_BUFFER_TOO_SMALL);
    lola_context_free(c);
}

// The budget is checked before the file is parsed; the message gives both sizes.
TEST(Hostile, MemoryBudgetMessageGivesTheSizes) {
    const std::vector<uint8_t> b = TinyLlama{}.bytes();
    std::string msg;
    EXPECT_EQ(load_bytes(b, &msg, b.size() - 1), LOLA_ERR_OUT_OF_MEMORY);
    EXPECT_NE(msg.find(std::to_string(b.size()) + " bytes"), std::string::npos) << msg;
    EXPECT_NE(msg.find(std::to_string(b.size() - 1)), std::string::npos) << msg;
    EXPECT_NE(msg.find("memory_budget"), std::string::npos) << msg;
    EXPECT_EQ(load_bytes(b, &msg, b.size()), LOLA_OK) << msg;
    // A file too large for the budget is refused even when it is not a valid GGUF: no parsing.
    std::vector<uint8_t> junk(4096, 0xAB);
    EXPECT_EQ(load_bytes(junk, &msg, 1000), LOLA_ERR_OUT_OF_MEMORY) << msg;
}

// Fuzzing findings (tests/fuzz/corpus/fuzz_state_blob/regress_*), kept as regression tests.
lola_layer *small_layer() {
    lola_test::LayerSpec p;
    p.p.n_heads = 2;
    p.p.head_dim = 4;
    p.a.chunk_size = 3;
    p.a.sparse_capacity = 2;
    lola_layer *l = nullptr;
    EXPECT_EQ(lola_layer_create(&p.p, &l), LOLA_OK) << lola_last_error_message();
    return l;
}

lola_status feed_constant(lola_layer *l, int n, float x) {
    std::vector<float> q(static_cast<size_t>(n) * 8, x), kv(static_cast<size_t>(n) * 4, x);
    return lola_layer_feed(l, n, q.data(), q.size(), kv.data(), kv.size(), kv.data(), kv.size(), nullptr, 0);
}

std::vector<unsigned char> layer_blob(const lola_layer *l, lola_status *status = nullptr) {
    size_t n = 0, written = 0;
    EXPECT_EQ(lola_layer_state_size(l, &n), LOLA_OK);
    std::vector<unsigned char> b(n);
    const lola_status s = lola_layer_state_save(l, b.data(), b.size(), &written);
    if (status) {
        *status = s;
    } else {
        EXPECT_EQ(s, LOLA_OK) << lola_last_error_message();
    }
    return b;
}

// Counters whose sum overflowed int64 (undefined behaviour, caught by UBSan) before the check.
TEST(Hostile, StateBlobCountersThatWouldOverflowAreRefused) {
    lola_layer *l = small_layer();
    ASSERT_EQ(feed_constant(l, 4, 0.5f), LOLA_OK);
    std::vector<unsigned char> b = layer_blob(l);
    const int64_t folded = 5476377146882523147, evicted = 6917600858070928463;
    std::memcpy(b.data() + 80 + 4, &folded, 8);  // head 0: u32 has_linear, i64 n_folded, i64 n_evicted
    std::memcpy(b.data() + 80 + 12, &evicted, 8);
    const uint32_t crc = static_cast<uint32_t>(crc32(crc32(0L, Z_NULL, 0), b.data(), static_cast<uInt>(b.size() - 4)));
    std::memcpy(b.data() + b.size() - 4, &crc, 4);
    EXPECT_EQ(lola_layer_state_restore(l, b.data(), b.size()), LOLA_ERR_CORRUPT_DATA);
    EXPECT_NE(std::string(lola_last_error_message()).find("folded"), std::string::npos) << lola_last_error_message();
    lola_layer_free(l);
}

// Finite inputs near the float range overflow the state; a save then refuses (NON_FINITE)
// instead of writing a blob that restore refuses: what was saved can always be restored.
TEST(Hostile, OverflowedStateIsNeverSavedUnrestorable) {
    int refused = 0;
    for (const float x : {3e38f, -3e38f, 1e30f, 1e20f}) {
        lola_layer *l = small_layer();
        ASSERT_EQ(feed_constant(l, 7, x), LOLA_OK);
        lola_status s = LOLA_OK;
        const std::vector<unsigned char> b = layer_blob(l, &s);
        if (s == LOLA_OK) {
            lola_layer *other = small_layer();
            EXPECT_EQ(lola_layer_state_restore(other, b.data(), b.size()), LOLA_OK) << x << ": " << lola_last_error_message();
            lola_layer_free(other);
        } else {
            EXPECT_EQ(s, LOLA_ERR_NON_FINITE) << x << ": " << lola_last_error_message();
            ++refused;
        }
        lola_layer_free(l);
    }
    EXPECT_GE(refused, 1);  // the largest inputs do overflow the state: the case is exercised
}

// Leak check of create/free loops: after a warm-up, 300 rounds of model load, contexts, feeds,
// save/restore, clones, samplers and layers leave the resident size flat. Under ASan the
// allocator's quarantine grows the RSS by design; there LeakSanitizer checks for leaks at exit.
#if defined(__SANITIZE_ADDRESS__)
#define LOLA_HOSTILE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LOLA_HOSTILE_ASAN 1
#endif
#endif

long resident_kib() {
    std::ifstream statm("/proc/self/statm");
    long size = 0, resident = 0;
    statm >> size >> resident;
    return resident * (::sysconf(_SC_PAGESIZE) / 1024);
}

TEST(Hostile, CreateFreeLoopsKeepResidentMemoryFlat) {
    const std::string path = TinyLlama{}.write(temp_path("loop.gguf"));
    auto round = [&] {
        lola_model_params mp;
        lola_model_params_init(&mp);
        lola_model *m = nullptr;
        ASSERT_EQ(lola_model_load(path.c_str(), &mp, &m), LOLA_OK);
        lola_test::ContextSpec cp;
        cp.a.chunk_size = 4;
        lola_context *c = nullptr, *copy = nullptr;
        ASSERT_EQ(lola_context_create(m, &cp.p, &c), LOLA_OK);
        lola_model_free(m);  // the context keeps it alive
        const std::vector<unsigned char> blob = saved_state(c);
        ASSERT_EQ(lola_context_clone(c, &copy), LOLA_OK);
        ASSERT_EQ(lola_context_state_restore(copy, blob.data(), blob.size()), LOLA_OK);
        const int32_t bad = 500;
        ASSERT_EQ(lola_context_feed(copy, &bad, 1, 0, nullptr), LOLA_ERR_INVALID_ARGUMENT);
        lola_sampler_params sp;
        lola_sampler_params_init(&sp);
        lola_sampler *s = nullptr;
        ASSERT_EQ(lola_sampler_create(&sp, &s), LOLA_OK);
        size_t n = 0;
        ASSERT_EQ(lola_generate(c, s, 3, nullptr, nullptr, &n), LOLA_OK);
        lola_sampler_free(s);
        lola_context_free(copy);
        lola_context_free(c);
        lola_layer *l = small_layer();
        ASSERT_EQ(feed_constant(l, 9, 0.25f), LOLA_OK);
        lola_layer_free(l);
    };
    for (int i = 0; i < 30; ++i) round();
    const long before = resident_kib();
    for (int i = 0; i < 300; ++i) round();
    const long growth = resident_kib() - before;
    std::filesystem::remove(path);
#ifndef LOLA_HOSTILE_ASAN
    EXPECT_LT(growth, 2048) << "resident memory grew by " << growth << " KiB over 300 rounds";
#else
    (void)growth;
#endif
}

}  // namespace
