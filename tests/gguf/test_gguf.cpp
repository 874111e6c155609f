// test_gguf.cpp: the GGUF reader. Valid files (v2, v3, every metadata type, every supported
// tensor type, alignments) read back exactly; require_tensor accepts exactly the types core/quant
// computes with (one table, gguf/tensor_type); every hostile input (truncation at every byte,
// bad magic / version / counts / lengths / types / shapes / offsets, overlaps, duplicates) is
// refused with Status::corrupt_data and a message naming the field; random corruption never
// crashes.
#include <gtest/gtest.h>
#include <gmock/gmock.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <limits>
#include <random>

#include "gguf/gguf.hpp"
#include "gguf/tensor_type.hpp"
#include "gguf_builder.hpp"
#include "base/error.hpp"
#include "quant/quant.hpp"

using lola::Error;
using lola::Status;
using lola::gguf::File;
using lola::gguf::TensorInfo;
using lola::gguf::TensorType;
using lola::gguf::Value;
using lola::gguf::ValueType;
using lola::gguf::type_traits;
using lola_test::Bytes;
using lola_test::GgufBuilder;
namespace vt = lola_test::gguf_type;
using ::testing::HasSubstr;

namespace {

constexpr uint32_t id(TensorType t) { return static_cast<uint32_t>(t); }
constexpr uint32_t T_F32 = id(TensorType::F32), T_F16 = id(TensorType::F16),
                   T_Q4_0 = id(TensorType::Q4_0), T_Q8_0 = id(TensorType::Q8_0),
                   T_Q4_K = id(TensorType::Q4_K), T_IQ2_XXS = id(TensorType::IQ2_XXS);

std::unique_ptr<File> parse(const GgufBuilder &b) { return File::from_memory(b.build()); }

// Parsing must fail with `status` and a message containing every string in `parts`.
void expect_error(const std::vector<uint8_t> &bytes, std::initializer_list<const char *> parts,
                  Status status = Status::corrupt_data) {
    try {
        File::from_memory(bytes);
        ADD_FAILURE() << "parsed a file that should be refused";
    } catch (const Error &e) {
        EXPECT_EQ(e.status(), status) << e.what();
        for (const char *p : parts) EXPECT_THAT(e.what(), HasSubstr(p));
    }
}

void expect_error(const GgufBuilder &b, std::initializer_list<const char *> parts) {
    expect_error(b.build(), parts);
}

template <class F>
void expect_throw(F &&f, std::initializer_list<const char *> parts,
                  Status status = Status::corrupt_data) {
    try {
        f();
        ADD_FAILURE() << "no error";
    } catch (const Error &e) {
        EXPECT_EQ(e.status(), status) << e.what();
        for (const char *p : parts) EXPECT_THAT(e.what(), HasSubstr(p));
    }
}

// Two tensors and a few keys, one of them an array of strings: small enough to truncate at
// every byte.
GgufBuilder small_file() {
    GgufBuilder b;
    b.kv_str("general.architecture", "llama").kv_u32("llama.block_count", 2);
    b.kv_strings("tokenizer.ggml.tokens", {"<s>", "", "hello"});
    b.kv_array("tokenizer.ggml.scores", vt::f32, 2, Bytes().f32(0.5f).f32(-1.0f));
    b.tensor("token_embd.weight", {4, 3}, T_F32);
    b.tensor("blk.0.attn_q.weight", {32, 2}, T_Q8_0);
    return b;
}

// Every metadata type, scalars and arrays.
GgufBuilder every_type_file(uint32_t version) {
    GgufBuilder b;
    b.version = version;
    b.kv_u8("t.u8", 200).kv_i8("t.i8", -100).kv_u16("t.u16", 60000).kv_i16("t.i16", -30000);
    b.kv_u32("t.u32", 4000000000u).kv_i32("t.i32", -2000000000).kv_f32("t.f32", 1.5f);
    b.kv_bool("t.bool", true).kv_str("t.string", "caf\xc3\xa9 \"q\"");
    b.kv_u64("t.u64", 18000000000000000000ull).kv_i64("t.i64", -9000000000000000000ll);
    b.kv_f64("t.f64", -2.25);
    b.kv_array("a.u8", vt::u8, 3, Bytes().u8(1).u8(2).u8(255));
    b.kv_array("a.i8", vt::i8, 2, Bytes().i8(-1).i8(127));
    b.kv_array("a.u16", vt::u16, 1, Bytes().u16(65535));
    b.kv_array("a.i16", vt::i16, 2, Bytes().i16(-32768).i16(5));
    b.kv_array("a.u32", vt::u32, 2, Bytes().u32(7).u32(4294967295u));
    b.kv_array("a.i32", vt::i32, 3, Bytes().i32(1).i32(-2).i32(3));
    b.kv_array("a.f32", vt::f32, 2, Bytes().f32(0.25f).f32(-8.0f));
    b.kv_array("a.bool", vt::boolean, 3, Bytes().u8(1).u8(0).u8(1));
    b.kv_strings("a.string", {"a", "", "\xe2\x96\x81the"});
    b.kv_array("a.u64", vt::u64, 1, Bytes().u64(1ull << 40));
    b.kv_array("a.i64", vt::i64, 2, Bytes().i64(-5).i64(1ll << 50));
    b.kv_array("a.f64", vt::f64, 1, Bytes().f64(3.5));
    b.kv_array("a.empty", vt::u32, 0, Bytes());
    b.tensor("w", {8, 2}, T_F32);
    return b;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Valid files

TEST(GgufValid, EveryMetadataTypeV3) {
    const auto f = parse(every_type_file(3));
    EXPECT_EQ(f->version(), 3u);
    EXPECT_EQ(f->alignment(), 32u);
    ASSERT_EQ(f->keys().size(), 25u);
    EXPECT_EQ(f->keys()[0], "t.u8");
    EXPECT_EQ(f->keys()[12], "a.u8");
    EXPECT_EQ(f->keys()[13], "a.i8");
    EXPECT_EQ(f->keys().back(), "a.empty");

    EXPECT_EQ(f->get("t.u8").type(), ValueType::u8);
    EXPECT_EQ(f->get_u32("t.u8"), 200u);
    EXPECT_EQ(f->get_i32("t.i8"), -100);
    EXPECT_EQ(f->get_u32("t.u16"), 60000u);
    EXPECT_EQ(f->get_i64("t.i16"), -30000);
    EXPECT_EQ(f->get_u32("t.u32"), 4000000000u);
    EXPECT_EQ(f->get_i32("t.i32"), -2000000000);
    EXPECT_EQ(f->get_f32("t.f32"), 1.5f);
    EXPECT_TRUE(f->get_bool("t.bool"));
    EXPECT_EQ(f->get_string("t.string"), "caf\xc3\xa9 \"q\"");
    EXPECT_EQ(f->get_u64("t.u64"), 18000000000000000000ull);
    EXPECT_EQ(f->get_i64("t.i64"), -9000000000000000000ll);
    EXPECT_EQ(f->get_f64("t.f64"), -2.25);
    EXPECT_EQ(f->get_f64("t.f32"), 1.5);

    const Value &u8s = f->get("a.u8");
    EXPECT_TRUE(u8s.is_array());
    EXPECT_EQ(u8s.element_type(), ValueType::u8);
    ASSERT_EQ(u8s.size(), 3u);
    EXPECT_EQ(u8s.at(2).to_u32(), 255u);
    EXPECT_EQ(f->get_int_array("a.i8"), (std::vector<int64_t>{-1, 127}));
    EXPECT_EQ(f->get_int_array("a.u16"), (std::vector<int64_t>{65535}));
    EXPECT_EQ(f->get_int_array("a.i16"), (std::vector<int64_t>{-32768, 5}));
    EXPECT_EQ(f->get_int_array("a.u32"), (std::vector<int64_t>{7, 4294967295ll}));
    EXPECT_EQ(f->get_int_array("a.i32"), (std::vector<int64_t>{1, -2, 3}));
    EXPECT_EQ(f->get_f32_array("a.f32"), (std::vector<float>{0.25f, -8.0f}));
    const Value &bools = f->get("a.bool");
    EXPECT_EQ(bools.element_type(), ValueType::boolean);
    EXPECT_EQ(bools.at(0).to_bool(), true);
    EXPECT_EQ(bools.at(1).to_bool(), false);
    EXPECT_EQ(f->get_string_array("a.string"),
              (std::vector<std::string>{"a", "", "\xe2\x96\x81the"}));
    EXPECT_EQ(*f->get("a.string").at(2).as_string(), "\xe2\x96\x81the");
    EXPECT_EQ(f->get_int_array("a.u64"), (std::vector<int64_t>{1ll << 40}));
    EXPECT_EQ(f->get_int_array("a.i64"), (std::vector<int64_t>{-5, 1ll << 50}));
    EXPECT_EQ(f->get_f32_array("a.f64"), (std::vector<float>{3.5f}));
    EXPECT_EQ(f->get("a.empty").size(), 0u);
    EXPECT_TRUE(f->get_int_array("a.empty").empty());
    expect_throw([&] { f->get("a.u8").at(3); }, {"Value::at(3)"}, Status::invalid_argument);
    expect_throw([&] { f->get("t.u8").at(0); }, {"non-array"}, Status::invalid_argument);

    const std::string d = f->describe();
    EXPECT_THAT(d, HasSubstr("GGUF v3"));
    EXPECT_THAT(d, HasSubstr("t.string: string = \"caf\xc3\xa9 \\\"q\\\"\""));
    EXPECT_THAT(d, HasSubstr("a.i32: array<i32>[3] = [1, -2, 3]"));
    EXPECT_THAT(d, HasSubstr("w: F32 [8, 2]"));
}

TEST(GgufValid, V2File) {
    const auto f = parse(every_type_file(2));
    EXPECT_EQ(f->version(), 2u);
    EXPECT_EQ(f->get_i64("t.i64"), -9000000000000000000ll);
    ASSERT_EQ(f->tensors().size(), 1u);
    EXPECT_EQ(f->tensors()[0].n_bytes, 64u);
}

TEST(GgufValid, TensorsDataAndShapes) {
    const GgufBuilder b = small_file();
    size_t start = 0;
    const std::vector<uint8_t> bytes = b.build(&start);
    const auto f = File::from_memory(bytes);
    EXPECT_EQ(f->size(), bytes.size());
    EXPECT_EQ(f->data_offset(), start);
    EXPECT_EQ(f->data_offset() % 32, 0u);
    ASSERT_EQ(f->tensors().size(), 2u);
    const TensorInfo &e = f->tensors()[0];
    EXPECT_EQ(e.name, "token_embd.weight");
    EXPECT_EQ(e.n_dims, 2u);
    EXPECT_EQ(e.ne[0], 4);
    EXPECT_EQ(e.ne[1], 3);
    EXPECT_EQ(e.ne[2], 1);
    EXPECT_EQ(e.ne[3], 1);
    EXPECT_EQ(e.n_elements(), 12);
    EXPECT_EQ(e.type, T_F32);
    EXPECT_EQ(e.offset, 0u);
    EXPECT_EQ(e.n_bytes, 48u);
    const TensorInfo *q = f->tensor("blk.0.attn_q.weight");
    ASSERT_NE(q, nullptr);
    EXPECT_EQ(q->offset, 64u);  // 48 rounded up to 32
    EXPECT_EQ(q->n_bytes, 2u * 34u);
    EXPECT_EQ(f->tensor("nope"), nullptr);
    for (size_t i = 0; i < 2; ++i) {
        const TensorInfo &t = f->tensors()[i];
        for (size_t j = 0; j < t.n_bytes; ++j)
            ASSERT_EQ(t.data[j], GgufBuilder::pattern(i, j)) << t.name << " byte " << j;
    }
    EXPECT_EQ(f->get_string_array("tokenizer.ggml.tokens")[2], "hello");
    EXPECT_THAT(f->describe(), HasSubstr("tensor types: F32 x1 Q8_0 x1"));
    EXPECT_THAT(f->describe(1), HasSubstr("... and 1 more tensors"));
}

TEST(GgufValid, EmptyFileAndNoPadding) {
    GgufBuilder b;
    const auto f = parse(b);  // header only: 24 bytes, no padding needed without tensors
    EXPECT_EQ(f->size(), 24u);
    EXPECT_TRUE(f->keys().empty());
    EXPECT_TRUE(f->tensors().empty());
    b.kv_u8("x", 1);
    EXPECT_EQ(parse(b)->get_u32("x"), 1u);
}

TEST(GgufTypes, TraitsTable) {
    struct Row {
        uint32_t id;
        const char *name;
        int64_t block, size;
        bool supported;
    };
    const Row rows[] = {
        {0, "F32", 1, 4, true},       {1, "F16", 1, 2, true},       {30, "BF16", 1, 2, true},
        {2, "Q4_0", 32, 18, true},    {3, "Q4_1", 32, 20, true},    {6, "Q5_0", 32, 22, true},
        {7, "Q5_1", 32, 24, true},    {8, "Q8_0", 32, 34, true},    {12, "Q4_K", 256, 144, true},
        {13, "Q5_K", 256, 176, true}, {14, "Q6_K", 256, 210, true}, {9, "Q8_1", 32, 36, false},
        {10, "Q2_K", 256, 84, false}, {11, "Q3_K", 256, 110, false}, {15, "Q8_K", 256, 292, false},
        {16, "IQ2_XXS", 256, 66, false}, {23, "IQ4_XS", 256, 136, false},
        {20, "IQ4_NL", 32, 18, false}, {28, "F64", 1, 8, false},   {24, "I8", 1, 1, false},
    };
    for (const Row &r : rows) {
        const lola::gguf::TypeTraits *t = type_traits(r.id);
        ASSERT_NE(t, nullptr) << r.name;
        EXPECT_STREQ(t->name, r.name);
        EXPECT_EQ(t->block_size, r.block) << r.name;
        EXPECT_EQ(t->type_size, r.size) << r.name;
        EXPECT_EQ(t->supported, r.supported) << r.name;
    }
    EXPECT_EQ(type_traits(TensorType::Q6_K), type_traits(14u));
    for (const uint32_t unknown : {4u, 5u, 31u, 32u, 33u, 36u, 40u, 1000u, 0xFFFFFFFFu})
        EXPECT_EQ(type_traits(unknown), nullptr) << unknown;
}

// Every supported type: a [2 blocks, 3, 2] tensor takes 2*3*2 blocks of the type's size.
TEST(GgufTypes, SupportedTensorSizes) {
    const std::pair<uint32_t, uint64_t> types[] = {
        {0, 4},   {1, 2},   {30, 2},   {2, 18},   {3, 20},   {6, 22},
        {7, 24},  {8, 34},  {12, 144}, {13, 176}, {14, 210},
    };
    for (const auto &tp : types) {
        const uint64_t block = static_cast<uint64_t>(type_traits(tp.first)->block_size);
        GgufBuilder b;
        b.tensor("a", {2 * block, 3, 2}, tp.first);
        b.tensor("b", {block}, tp.first);
        const auto f = parse(b);
        EXPECT_EQ(f->tensors()[0].n_bytes, 12 * tp.second) << type_traits(tp.first)->name;
        EXPECT_EQ(f->tensors()[1].n_bytes, tp.second) << type_traits(tp.first)->name;
        EXPECT_EQ(f->tensors()[0].n_dims, 3u);
        EXPECT_EQ(f->tensors()[0].ne[2], 2);
        EXPECT_NO_THROW(f->require_tensor("a", {static_cast<int64_t>(2 * block), 3, 2}));
    }
}

TEST(GgufTypes, UnsupportedTypeParsesButIsRefusedForData) {
    GgufBuilder b;
    b.tensor("iq", {512, 2}, T_IQ2_XXS);
    const auto f = parse(b);
    EXPECT_EQ(f->tensor("iq")->n_bytes, 4u * 66u);
    expect_throw([&] { f->require_tensor("iq", {512, 2}); }, {"'iq'", "IQ2_XXS", "id 16"},
                 Status::unsupported);
}

// One notion of "supported": require_tensor (the reader) accepts exactly the known types that
// core/quant computes with, and refuses every other one naming it.
TEST(GgufTypes, RequireTensorAcceptsWhatQuantComputes) {
    size_t accepted = 0;
    for (uint32_t type = 0; type < 256; ++type) {
        const lola::gguf::TypeTraits *t = type_traits(type);
        if (!t) continue;
        GgufBuilder b;
        b.tensor("t", {static_cast<uint64_t>(2 * t->block_size)}, type);
        const auto f = parse(b);
        if (lola::quant::supported(type)) {
            ++accepted;
            EXPECT_NO_THROW(f->require_tensor("t", {2 * t->block_size})) << t->name;
        } else {
            expect_throw([&] { f->require_tensor("t", {2 * t->block_size}); }, {"'t'", t->name},
                         Status::unsupported);
        }
    }
    EXPECT_EQ(accepted, 11u);  // F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K
}

TEST(GgufTypes, RequireTensor) {
    GgufBuilder b;
    b.tensor("w", {64, 8}, T_Q8_0).tensor("n", {64}, T_F32);
    const auto f = parse(b);
    EXPECT_EQ(&f->require_tensor("w", {64, 8}), f->tensor("w"));
    EXPECT_NO_THROW(f->require_tensor("w", {64, 8, 1, 1}));
    EXPECT_NO_THROW(f->require_tensor("n", {64}, {TensorType::F32, TensorType::F16}));
    expect_throw([&] { f->require_tensor("missing.weight", {64}); }, {"'missing.weight'", "missing"});
    expect_throw([&] { f->require_tensor("w", {8, 64}); }, {"'w'", "[64, 8]", "expected [8, 64]"});
    expect_throw([&] { f->require_tensor("w", {64}); }, {"'w'", "[64, 8]", "expected [64]"});
    expect_throw([&] { f->require_tensor("w", {64, 8}, {TensorType::F32}); },
                 {"'w'", "Q8_0", "F32"}, Status::unsupported);
    expect_throw([&] { f->require_tensor("w", {}); }, {"1 to 4"}, Status::invalid_argument);
}

// ---------------------------------------------------------------------------------------------
// Alignment

TEST(GgufAlignment, DefaultAndCustom) {
    GgufBuilder b = small_file();
    EXPECT_EQ(parse(b)->alignment(), 32u);

    GgufBuilder c;
    c.alignment = 64;
    c.kv_u32("general.alignment", 64);
    c.tensor("a", {3}, T_F32).tensor("b", {5}, T_F32).tensor("c", {64}, T_Q8_0);
    const auto f = parse(c);
    EXPECT_EQ(f->alignment(), 64u);
    EXPECT_EQ(f->data_offset() % 64, 0u);
    EXPECT_EQ(f->tensor("b")->offset, 64u);
    EXPECT_EQ(f->tensor("c")->offset, 128u);
    EXPECT_EQ(f->tensor("c")->data[0], GgufBuilder::pattern(2, 0));

    // Stored as i32 (some writers do): accepted, it fits u32.
    GgufBuilder d;
    d.alignment = 64;
    d.kv_i32("general.alignment", 64).tensor("a", {3}, T_F32).tensor("b", {5}, T_F32);
    EXPECT_EQ(parse(d)->alignment(), 64u);

    // An offset that is a multiple of 32 but not of 64.
    GgufBuilder e;
    e.kv_u32("general.alignment", 64).tensor("a", {3}, T_F32).tensor("b", {5}, T_F32, 32);
    e.alignment = 64;
    expect_error(e, {"tensor 1 'b'", "offset 32", "alignment 64"});
}

TEST(GgufAlignment, Bad) {
    for (const uint32_t a : {3u, 0u, 48u}) {
        GgufBuilder b = small_file();
        b.kv_u32("general.alignment", a);
        expect_error(b, {"general.alignment", std::to_string(a).c_str(), "power of two"});
    }
    GgufBuilder s = small_file();
    s.kv_str("general.alignment", "32");
    expect_error(s, {"general.alignment", "found string"});
    GgufBuilder n = small_file();
    n.kv_i32("general.alignment", -32);
    expect_error(n, {"general.alignment", "i32 -32"});
}

// ---------------------------------------------------------------------------------------------
// Hostile inputs

TEST(GgufHostile, TruncationAtEveryByte) {
    size_t start = 0;
    const std::vector<uint8_t> full = small_file().build(&start);
    ASSERT_NO_THROW(File::from_memory(full));
    for (size_t n = 0; n < full.size(); ++n) {
        const std::vector<uint8_t> cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
        try {
            File::from_memory(cut);
            ADD_FAILURE() << "a file cut to " << n << " bytes parsed";
        } catch (const Error &e) {
            ASSERT_EQ(e.status(), Status::corrupt_data) << n << ": " << e.what();
            const std::string m = e.what();
            // Before the padding the parser runs out of bytes in some field; after it, the last
            // tensor's data does not fit.
            if (n < start)
                EXPECT_TRUE(m.find("truncated while reading") != std::string::npos ||
                            m.find("exceeds the") != std::string::npos ||
                            m.find("cannot fit in a file") != std::string::npos ||
                            m.find("past the end of the file") != std::string::npos)
                    << n << ": " << m;
            else
                EXPECT_THAT(m, HasSubstr("past the end of the data section")) << n;
        }
    }
}

// What parsing the first n bytes of `full` says: the error message, or "parsed".
static std::string parse_message(const std::vector<uint8_t> &full, size_t n) {
    try {
        File::from_memory(std::vector<uint8_t>(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n)));
    } catch (const Error &e) {
        return std::string(e.what());
    }
    return std::string("parsed");
}

TEST(GgufHostile, TruncationMessagesNameTheField) {
    const std::vector<uint8_t> full = small_file().build();
    const auto msg = [&](size_t n) { return parse_message(full, n); };
    EXPECT_THAT(msg(0), HasSubstr("truncated while reading magic"));
    EXPECT_THAT(msg(6), HasSubstr("truncated while reading version"));
    EXPECT_THAT(msg(10), HasSubstr("truncated while reading tensor_count"));
    EXPECT_THAT(msg(20), HasSubstr("truncated while reading metadata_kv_count"));
    // Find the first tensor's dims: name "blk.0.attn_q.weight" followed by n_dims.
    const std::string name = "blk.0.attn_q.weight";
    const auto it = std::search(full.begin(), full.end(), name.begin(), name.end());
    ASSERT_NE(it, full.end());
    const size_t dims_at = static_cast<size_t>(it - full.begin()) + name.size() + 4;
    EXPECT_THAT(msg(dims_at + 3), HasSubstr("truncated while reading tensor 1 'blk.0.attn_q.weight' dims"));
    EXPECT_THAT(msg(dims_at - 2), HasSubstr("truncated while reading tensor 1 'blk.0.attn_q.weight' n_dims"));
    EXPECT_THAT(msg(dims_at + 16 + 2), HasSubstr("tensor 1 'blk.0.attn_q.weight' type"));
    EXPECT_THAT(msg(dims_at + 16 + 4 + 1), HasSubstr("tensor 1 'blk.0.attn_q.weight' offset"));
    EXPECT_THAT(msg(3), HasSubstr("truncated while reading magic (needs 4 bytes at offset 0"));
}

TEST(GgufHostile, TruncatedArrayMessagesNameTheElement) {
    GgufBuilder b;
    b.kv_strings("tokenizer.ggml.tokens", {"<s>-a-longer-one", "", "hello"});
    const std::vector<uint8_t> full = b.build();
    const auto msg = [&](size_t n) { return parse_message(full, n); };
    EXPECT_EQ(msg(full.size()), "parsed");
    const size_t after_key = 24 + 8 + 21;
    EXPECT_THAT(msg(after_key + 2), HasSubstr("metadata key 'tokenizer.ggml.tokens' value type"));
    EXPECT_THAT(msg(after_key + 6), HasSubstr("'tokenizer.ggml.tokens' array element type"));
    EXPECT_THAT(msg(after_key + 10), HasSubstr("'tokenizer.ggml.tokens' array length"));
    // 3 strings: 8 + 16 bytes, 8 bytes, 8 + 5 bytes: cut inside the length of element 2...
    EXPECT_THAT(msg(after_key + 16 + 24 + 8 + 4),
                HasSubstr("'tokenizer.ggml.tokens' element 2 string length"));
    // ... and inside its bytes.
    EXPECT_THAT(msg(after_key + 16 + 24 + 8 + 8 + 2),
                HasSubstr("'tokenizer.ggml.tokens' element 2 string length 5 exceeds the 2 bytes"));
}

TEST(GgufHostile, BadMagic) {
    std::vector<uint8_t> b = small_file().build();
    b[0] = 'X';
    expect_error(b, {"bad magic", "58 47 55 46", "GGUF"});
    b[0] = 'F';
    b[1] = 'U';
    b[2] = 'G';
    b[3] = 'G';
    expect_error(b, {"big-endian GGUF not supported"});
    expect_error(std::vector<uint8_t>{'G', 'G', 'U', 'F', 0x03, 0, 0}, {"truncated while reading version"});
}

TEST(GgufHostile, Versions) {
    GgufBuilder b = small_file();
    b.version = 1;
    expect_error(b, {"version 1 is not supported", "2 and 3"});
    b.version = 4;
    expect_error(b, {"version 4 is not supported"});
    b.version = 0;
    expect_error(b, {"version 0 is not supported"});
    b.version = 0x03000000u;  // a big-endian writer's 3
    expect_error(b, {"big-endian GGUF not supported", "byte-swapped 3"});
    b.version = 0x02000000u;
    expect_error(b, {"big-endian GGUF not supported"});
}

TEST(GgufHostile, HugeCounts) {
    GgufBuilder b = small_file();
    b.tensor_count = 1ull << 60;
    const size_t size = b.build().size();
    expect_error(b, {("tensor_count 1152921504606846976 cannot fit in a file of " +
                      std::to_string(size) + " bytes")
                         .c_str()});
    b.tensor_count = std::numeric_limits<uint64_t>::max();
    expect_error(b, {"tensor_count 18446744073709551615 cannot fit"});
    GgufBuilder k = small_file();
    k.kv_count = 1ull << 62;
    expect_error(k, {"metadata_kv_count 4611686018427387904 cannot fit in a file of"});
    // Plausible alone, too many together.
    GgufBuilder t;
    t.kv_count = 1;
    t.tensor_count = 1;
    std::vector<uint8_t> bytes = t.build();
    bytes.resize(bytes.size() + 40, 0);
    expect_error(bytes, {"together cannot fit"});
    // A count a little too big for what follows: the parser runs out of bytes cleanly.
    GgufBuilder m;
    m.kv_u32("alpha.key", 1).kv_u32("bravo.key", 2).kv_u32("delta.key", 3);
    m.kv_count = 4;
    expect_error(m, {"truncated while reading metadata kv 3 key length"});
}

TEST(GgufHostile, HugeStringLengths) {
    GgufBuilder k;
    k.kv_raw("general.name", vt::string, Bytes().str("x"), 1ull << 63);
    expect_error(k, {"metadata kv 0 key length 9223372036854775808 exceeds the limit of 1048576"});
    GgufBuilder k2;
    k2.kv_raw("general.name", vt::string, Bytes().str("x"), 1000);
    expect_error(k2, {"metadata kv 0 key length 1000 exceeds the", "bytes left in the file"});
    GgufBuilder v;
    v.kv_raw("general.name", vt::string, Bytes().str("abc", std::numeric_limits<uint64_t>::max()));
    expect_error(v, {"metadata key 'general.name' string length 18446744073709551615 exceeds the"});
    GgufBuilder n = small_file();
    n.tensors[1].name_length = 1ull << 40;
    expect_error(n, {"tensor 1 name length 1099511627776 exceeds the limit"});
    GgufBuilder s;
    s.kv_array("tokens", vt::string, 2, Bytes().str("ok").str("boom", 1ull << 50));
    expect_error(s, {"metadata key 'tokens' element 1 string length 1125899906842624 exceeds"});
}

TEST(GgufHostile, BadValueTypes) {
    GgufBuilder b;
    b.kv_u8("fine", 1).kv_raw("general.bad", 13, Bytes().u32(0));
    expect_error(b, {"metadata key 'general.bad'", "bad value type 13"});
    GgufBuilder m;
    m.kv_raw("general.bad", 0xFFFFFFFFu, Bytes().u32(0));
    expect_error(m, {"bad value type 4294967295"});
    GgufBuilder a;
    a.kv_array("general.arr", 13, 1, Bytes().u32(0));
    expect_error(a, {"metadata key 'general.arr'", "bad array element type 13"});
    GgufBuilder n;
    n.kv_array("general.nested", vt::array, 1, Bytes().u32(vt::u8).u64(1).u8(1));
    expect_error(n, {"metadata key 'general.nested'", "nested arrays"});
    GgufBuilder bo;
    bo.kv_raw("general.flag", vt::boolean, Bytes().u8(2));
    expect_error(bo, {"metadata key 'general.flag'", "bool value 2"});
    GgufBuilder ba;
    ba.kv_array("general.flags", vt::boolean, 3, Bytes().u8(1).u8(0).u8(9));
    expect_error(ba, {"metadata key 'general.flags' element 2", "bool value 9"});
}

TEST(GgufHostile, HugeArrayLengths) {
    GgufBuilder b;
    b.kv_array("a", vt::u32, 1ull << 62, Bytes().u32(1).u32(2));
    expect_error(b, {"metadata key 'a': array length 4611686018427387904 of u32", "exceeds the"});
    GgufBuilder o;  // count * 8 would wrap to 0 in 64 bits
    o.kv_array("a", vt::u64, 1ull << 61, Bytes());
    expect_error(o, {"metadata key 'a': array length 2305843009213693952 of u64"});
    GgufBuilder s;
    s.kv_array("tokens", vt::string, 1ull << 40, Bytes().str("a"));
    expect_error(s, {"metadata key 'tokens': array length 1099511627776 of string"});
    GgufBuilder j;  // one element too many
    j.kv_array("a", vt::i16, 3, Bytes().i16(1).i16(2).u8(0));
    expect_error(j, {"metadata key 'a': array length 3 of i16", "exceeds the 5 bytes left"});
}

TEST(GgufHostile, EmptyKeyAndName) {
    GgufBuilder k;
    k.kv_u8("", 1);
    expect_error(k, {"metadata kv 0 has an empty key"});
    GgufBuilder t;
    t.tensor("", {4});
    expect_error(t, {"tensor 0 has an empty name"});
    GgufBuilder nk;
    nk.kv_u8(std::string("gen\0eral", 8), 1);
    expect_error(nk, {"metadata kv 0 key 'gen\\x00eral' contains a NUL byte"});
    GgufBuilder nt;
    nt.tensor(std::string("a\0b", 3), {4});
    expect_error(nt, {"tensor 0 name 'a\\x00b' contains a NUL byte"});
    // Control bytes in names are escaped in messages, long names cut.
    GgufBuilder c;
    c.tensor("bad\n\x01name", {4}, 99);
    c.tensors[0].n_bytes = 16;
    expect_error(c, {"tensor 0 'bad\\x0a\\x01name' has unknown ggml type id 99"});
    GgufBuilder l;
    l.tensor(std::string(5000, 'x'), {4}, 99);
    l.tensors[0].n_bytes = 16;
    try {
        File::from_memory(l.build());
        ADD_FAILURE();
    } catch (const Error &e) {
        EXPECT_LT(std::string(e.what()).size(), 300u);
        EXPECT_THAT(e.what(), HasSubstr("xxx...' has unknown ggml type id 99"));
    }
}

TEST(GgufHostile, NDims) {
    for (const uint32_t nd : {0u, 5u, 0xFFFFFFFFu}) {
        GgufBuilder b = small_file();
        b.tensors[1].n_dims = nd;
        b.tensors[1].dims.assign(nd == 5 ? 5 : 0, 32);
        b.data_size = 256;
        expect_error(b, {"tensor 1 'blk.0.attn_q.weight'", ("n_dims " + std::to_string(nd)).c_str(),
                         "out of range"});
    }
}

TEST(GgufHostile, Dims) {
    GgufBuilder z = small_file();
    z.tensors[0].dims = {4, 0};
    expect_error(z, {"tensor 0 'token_embd.weight': dim 1 is 0"});
    GgufBuilder o;
    o.tensor("big", {1ull << 32, 1ull << 32}, T_F32);
    o.data_size = 64;
    expect_error(o, {"tensor 0 'big'", "[4294967296, 4294967296]", "overflows int64"});
    GgufBuilder o3;
    o3.tensor("big", {1ull << 20, 1ull << 20, 1ull << 20, 1ull << 4}, T_F32);
    o3.data_size = 64;
    expect_error(o3, {"tensor 0 'big'", "overflows int64"});
    GgufBuilder n;
    n.tensor("neg", {1ull << 63}, T_F32);
    n.data_size = 64;
    expect_error(n, {"tensor 0 'neg': dim 0 = 9223372036854775808 exceeds the int64 range"});
    GgufBuilder by;  // 2^62 F32 elements fit int64 but not 64-bit bytes
    by.tensor("wide", {1ull << 62}, T_F32);
    by.data_size = 64;
    expect_error(by, {"tensor 0 'wide'", "byte size", "overflows"});
    GgufBuilder fits;  // fits in the arithmetic, not in the file
    fits.tensor("wide", {1ull << 40, 1ull << 20}, T_F16);
    fits.data_size = 64;
    expect_error(fits, {"tensor 0 'wide'", "extends past the end"});
}

TEST(GgufHostile, Offsets) {
    GgufBuilder u = small_file();
    u.tensors[1].offset = 48;
    expect_error(u, {"tensor 1 'blk.0.attn_q.weight': offset 48 is not a multiple of the alignment 32"});
    GgufBuilder p = small_file();
    p.tensors[1].offset = 1ull << 40;
    p.data_size = 160;
    expect_error(p, {"tensor 1 'blk.0.attn_q.weight': offset 1099511627776 is past the end of the data section"});
    GgufBuilder w = small_file();
    w.tensors[1].offset = 0xFFFFFFFFFFFFFFE0ull;  // aligned, offset + size wraps
    w.data_size = 160;
    expect_error(w, {"tensor 1", "past the end"});
    GgufBuilder e = small_file();
    e.data_size = 64 + 68 - 1;  // the last tensor's data is one byte short
    expect_error(e, {"tensor 1 'blk.0.attn_q.weight': data [64, 64 + 68) extends past the end"});
    GgufBuilder ok = small_file();
    ok.data_extra = 7;  // trailing bytes after the data are allowed
    EXPECT_NO_THROW(parse(ok));
}

TEST(GgufHostile, DataSectionStartsPastTheEnd) {
    GgufBuilder b;
    b.tensor("a", {1}, T_F32);
    std::vector<uint8_t> bytes = b.build();
    // Cut right after the tensor infos: the padding is missing.
    const size_t infos_end = 24 + 8 + 1 + 4 + 8 + 4 + 8;
    bytes.resize(infos_end);
    expect_error(bytes, {"data section would start at offset 64", "past the end of the file"});
}

TEST(GgufHostile, OverlapsAndDuplicates) {
    GgufBuilder o = small_file();
    o.tensor("third", {16}, T_F32, 32);  // [32, 96) overlaps [0, 48) and [64, 132)
    expect_error(o, {"tensors 'token_embd.weight' [0, 48) and 'third' [32, 96) overlap"});
    GgufBuilder same = small_file();
    same.tensors[1].offset = 0;
    same.tensors[1].type = T_F32;
    same.tensors[1].dims = {4};
    expect_error(same, {"'token_embd.weight'", "'blk.0.attn_q.weight'", "overlap"});
    GgufBuilder adjacent;  // touching is fine
    adjacent.tensor("a", {8}, T_F32, 0).tensor("b", {8}, T_F32, 32);
    EXPECT_NO_THROW(parse(adjacent));

    GgufBuilder dn = small_file();
    dn.tensor("token_embd.weight", {4}, T_F32);
    expect_error(dn, {"duplicate tensor name 'token_embd.weight' (tensors 0 and 2)"});
    GgufBuilder dk = small_file();
    dk.kv_u32("llama.block_count", 3);
    expect_error(dk, {"duplicate metadata key 'llama.block_count' (kv 1 and kv 4)"});
}

TEST(GgufHostile, TensorTypes) {
    GgufBuilder u = small_file();
    u.tensors[1].type = 99;
    u.tensors[1].n_bytes = 68;
    expect_error(u, {"tensor 1 'blk.0.attn_q.weight' has unknown ggml type id 99"});
    GgufBuilder r = small_file();
    r.tensors[1].type = 4;  // retired Q4_2
    r.tensors[1].n_bytes = 68;
    expect_error(r, {"unknown ggml type id 4"});
    GgufBuilder q;
    q.tensor("q", {48, 2}, T_Q4_0);
    q.tensors[0].n_bytes = 64;
    expect_error(q, {"tensor 0 'q' (Q4_0): ne[0] = 48 is not a multiple of the block size 32"});
    GgufBuilder k;
    k.tensor("k", {128, 4}, T_Q4_K);
    k.tensors[0].n_bytes = 1024;
    expect_error(k, {"tensor 0 'k' (Q4_K): ne[0] = 128", "block size 256"});
    GgufBuilder f16;  // block size 1: any ne[0]
    f16.tensor("h", {3, 5}, T_F16);
    EXPECT_EQ(parse(f16)->tensor("h")->n_bytes, 30u);
}

TEST(GgufGetters, WrongTypes) {
    GgufBuilder b;
    b.kv_str("s", "text").kv_i32("neg", -1).kv_u64("big", 1ull << 40).kv_u64("small", 5);
    b.kv_u8("byte", 7).kv_bool("flag", true).kv_f32("half", 0.5f).kv_f64("huge", 1e300);
    b.kv_array("arr", vt::i32, 2, Bytes().i32(1).i32(2));
    b.kv_array("farr", vt::f32, 1, Bytes().f32(1.0f));
    b.kv_u64("max", std::numeric_limits<uint64_t>::max());
    const auto f = parse(b);
    expect_throw([&] { f->get_u32("s"); }, {"metadata key 's'", "expected an integer in u32 range", "found string \"text\""});
    expect_throw([&] { f->get_u32("neg"); }, {"metadata key 'neg'", "found i32 -1"});
    expect_throw([&] { f->get_u64("neg"); }, {"'neg'", "found i32 -1"});
    EXPECT_EQ(f->get_i64("neg"), -1);
    EXPECT_EQ(f->get_i32("neg"), -1);
    expect_throw([&] { f->get_u32("big"); }, {"'big'", "u64 1099511627776"});
    expect_throw([&] { f->get_i32("big"); }, {"'big'"});
    EXPECT_EQ(f->get_u64("big"), 1ull << 40);
    EXPECT_EQ(f->get_u32("small"), 5u);  // a u32 field stored as u64
    EXPECT_EQ(f->get_i32("byte"), 7);
    expect_throw([&] { f->get_i64("max"); }, {"'max'", "18446744073709551615"});
    expect_throw([&] { f->get_bool("byte"); }, {"'byte'", "expected a bool", "found u8 7"});
    expect_throw([&] { f->get_u32("flag"); }, {"'flag'", "found bool true"});
    expect_throw([&] { f->get_string("byte"); }, {"'byte'", "expected a string"});
    expect_throw([&] { f->get_f32("s"); }, {"'s'", "expected a number in f32 range"});
    expect_throw([&] { f->get_f32("huge"); }, {"'huge'", "f64 1e+300"});
    EXPECT_EQ(f->get_f64("huge"), 1e300);
    EXPECT_EQ(f->get_f32("byte"), 7.0f);  // integers convert to floats
    EXPECT_EQ(f->get_f32("half"), 0.5f);
    expect_throw([&] { f->get_u32("arr"); }, {"'arr'", "found array<i32>[2]"});
    expect_throw([&] { f->get_string_array("arr"); }, {"'arr'", "expected an array of strings"});
    expect_throw([&] { f->get_int_array("s"); }, {"'s'", "expected an array of integers"});
    expect_throw([&] { f->get_int_array("farr"); }, {"'farr'", "element 0 is f32 1"});
    EXPECT_EQ(f->get_f32_array("arr"), (std::vector<float>{1.0f, 2.0f}));
    expect_throw([&] { f->get_u32("absent"); }, {"metadata key 'absent' is missing"});
    expect_throw([&] { f->get_string("absent"); }, {"'absent' is missing"});

    EXPECT_TRUE(f->has("s"));
    EXPECT_FALSE(f->has("absent"));
    EXPECT_EQ(f->find("absent"), nullptr);
    EXPECT_EQ(f->find_u32("absent"), std::nullopt);
    EXPECT_EQ(f->find_string("absent"), std::nullopt);
    EXPECT_EQ(f->find_u32("small"), 5u);
    EXPECT_EQ(f->find_string("s"), std::string("text"));
    EXPECT_EQ(f->find_bool("flag"), true);
    EXPECT_EQ(f->find_f32("half"), 0.5f);
    expect_throw([&] { f->find_u32("s"); }, {"'s'", "found string"});
    expect_throw([&] { f->find_string("byte"); }, {"'byte'", "expected a string"});
}

// ---------------------------------------------------------------------------------------------
// Files on disk

namespace {

std::string temp_path() {
    std::string p = ::testing::TempDir() + "test_gguf_XXXXXX";
    const int fd = ::mkstemp(p.data());
    EXPECT_GE(fd, 0);
    if (fd >= 0) ::close(fd);
    return p;
}

void write_file(const std::string &path, const std::vector<uint8_t> &bytes) {
    FILE *f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    if (!bytes.empty()) {
        ASSERT_EQ(std::fwrite(bytes.data(), 1, bytes.size(), f), bytes.size());
    }
    ASSERT_EQ(std::fclose(f), 0);
}

}  // namespace

TEST(GgufDisk, OpenMapsTheFile) {
    const std::string path = temp_path();
    const std::vector<uint8_t> bytes = every_type_file(3).build();
    write_file(path, bytes);
    {
        const auto f = File::open(path);
        EXPECT_EQ(f->path(), path);
        EXPECT_EQ(f->size(), bytes.size());
        EXPECT_EQ(f->get_string("t.string"), "caf\xc3\xa9 \"q\"");
        const TensorInfo &w = f->require_tensor("w", {8, 2}, {TensorType::F32});
        for (size_t j = 0; j < w.n_bytes; ++j) ASSERT_EQ(w.data[j], GgufBuilder::pattern(0, j));
        EXPECT_EQ(std::memcmp(w.data, bytes.data() + f->data_offset(), w.n_bytes), 0);
    }
    std::remove(path.c_str());
}

TEST(GgufDisk, CorruptFileNamesThePath) {
    const std::string path = temp_path();
    std::vector<uint8_t> bytes = small_file().build();
    bytes.resize(bytes.size() - 1);
    write_file(path, bytes);
    expect_throw([&] { File::open(path); }, {path.c_str(), "extends past the end"});
    write_file(path, {});
    expect_throw([&] { File::open(path); }, {path.c_str(), "truncated while reading magic"});
    std::remove(path.c_str());
}

TEST(GgufDisk, MissingPathAndDirectory) {
    const std::string missing = ::testing::TempDir() + "no_such_dir/model.gguf";
    expect_throw([&] { File::open(missing); }, {"cannot open", missing.c_str(), "No such file"},
                 Status::io);
    expect_throw([&] { File::open(::testing::TempDir()); }, {"not a regular file"}, Status::io);
}

// ---------------------------------------------------------------------------------------------
// Random corruption: parse or refuse, never crash (run under the asan preset too).

TEST(GgufFuzz, RandomMutationsNeverCrash) {
    const std::vector<uint8_t> base = every_type_file(3).build();
    const std::vector<uint8_t> small = small_file().build();
    std::mt19937_64 rng(12345);
    int refused = 0, parsed = 0;
    const uint64_t interesting[] = {0, 1, 0x7F, 0xFF, 0x8000000000000000ull, ~0ull,
                                    0x7FFFFFFFFFFFFFFFull, 1ull << 32, 0xFFFFFFFFull};
    for (int iter = 0; iter < 20000; ++iter) {
        std::vector<uint8_t> b = (iter % 2) ? base : small;
        const int edits = 1 + static_cast<int>(rng() % 4);
        for (int e = 0; e < edits; ++e) {
            const size_t at = static_cast<size_t>(rng() % b.size());
            switch (rng() % 5) {
            case 0: b[at] = static_cast<uint8_t>(b[at] ^ (1u << (rng() % 8))); break;
            case 1: b[at] = static_cast<uint8_t>(rng()); break;
            case 2: {  // an extreme 8-byte value over whatever field is there
                const uint64_t v = interesting[rng() % (sizeof interesting / sizeof interesting[0])];
                for (size_t k = 0; k < 8 && at + k < b.size(); ++k)
                    b[at + k] = static_cast<uint8_t>(v >> (8 * k));
                break;
            }
            case 3: b[at] = 0xFF; break;
            default: b.resize(at); break;
            }
            if (b.empty()) break;
        }
        try {
            const auto f = File::from_memory(b);
            for (const TensorInfo &t : f->tensors()) {
                ASSERT_NE(t.data, nullptr);
                ASSERT_LE(f->data_offset() + t.offset + t.n_bytes, f->size());
            }
            (void)f->describe();
            ++parsed;
        } catch (const Error &e) {
            ASSERT_EQ(e.status(), Status::corrupt_data) << e.what();
            ASSERT_GT(std::string(e.what()).size(), 10u) << e.what();
            ++refused;
        }
    }
    EXPECT_GT(refused, 5000);
    EXPECT_GT(parsed, 50);
}
