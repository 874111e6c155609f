// test_quant.cpp: the quantized formats (core/quant): the ggml type table (gguf/tensor_type) and
// the kernels agree on which types are supported; hand-made blocks dequantize to the values
// derived from the layouts by hand; every kernel level this CPU runs agrees with the reference
// (dequantize_row, then a double-precision dot); the multi-token kernels, matvec and matmul are
// bit-identical to the single-row kernel of their level whatever the number of threads.
// (The reference itself is checked bit for bit against gguf-py by tests/python.)
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <iterator>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "base/thread_pool.hpp"
#include "gguf/tensor_type.hpp"
#include "quant/matmul.hpp"
#include "quant/quant.hpp"

namespace q = lola::quant;
using q::Isa;

namespace {

const uint32_t kTypes[] = {q::F32,  q::F16,  q::BF16, q::Q8_0, q::Q4_0, q::Q4_1,
                           q::Q5_0, q::Q5_1, q::Q4_K, q::Q5_K, q::Q6_K};
const Isa kIsas[] = {Isa::scalar, Isa::avx2, Isa::avx512};

bool is_plain(uint32_t type) { return q::block_size(type) == 1; }

void put_half(std::vector<uint8_t> &v, size_t off, float f) {
    const uint16_t h = q::fp32_to_fp16(f);
    v[off] = static_cast<uint8_t>(h & 0xFF);
    v[off + 1] = static_cast<uint8_t>(h >> 8);
}

// A row of n elements: random bytes for every quant and scale field, finite fp16 block scales
// of a realistic size (so sums neither overflow nor cancel to nothing).
std::vector<uint8_t> random_row(uint32_t type, int64_t n, std::mt19937_64 &rng) {
    std::vector<uint8_t> v(q::row_bytes(type, n));
    for (uint8_t &b : v) b = static_cast<uint8_t>(rng());
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    const int64_t bs = q::block_size(type);
    const auto ts = static_cast<size_t>(q::type_size(type));
    for (int64_t i = 0; i < n / bs; ++i) {
        const size_t o = static_cast<size_t>(i) * ts;
        switch (type) {
        case q::F32: {
            const float f = u(rng);
            std::memcpy(&v[o], &f, 4);
            break;
        }
        case q::F16: put_half(v, o, u(rng)); break;
        case q::BF16: {
            const uint16_t h = q::fp32_to_bf16(u(rng));
            v[o] = static_cast<uint8_t>(h & 0xFF);
            v[o + 1] = static_cast<uint8_t>(h >> 8);
            break;
        }
        case q::Q8_0: put_half(v, o, 0.01f * u(rng)); break;
        case q::Q4_0:
        case q::Q5_0: put_half(v, o, 0.1f * u(rng)); break;
        case q::Q4_1:
        case q::Q5_1:
            put_half(v, o, 0.1f * u(rng));
            put_half(v, o + 2, u(rng));
            break;
        case q::Q4_K:
        case q::Q5_K:
            put_half(v, o, 0.01f * u(rng));
            put_half(v, o + 2, 0.01f * u(rng));
            break;
        case q::Q6_K: put_half(v, o + 208, 0.01f * u(rng)); break;
        default: ADD_FAILURE() << "no generator for type " << type;
        }
    }
    return v;
}

std::vector<float> random_floats(size_t n, std::mt19937_64 &rng) {
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    std::vector<float> v(n);
    for (float &f : v) f = u(rng);
    return v;
}

struct RefDot {
    double value;  // sum w_i x_i in double, w from dequantize_row
    double abs;    // sum |w_i x_i|
};

RefDot ref_dot(uint32_t type, const void *row, const float *x, int64_t n) {
    std::vector<float> w(static_cast<size_t>(n));
    q::dequantize_row(type, row, w.data(), n);
    RefDot r{0.0, 0.0};
    for (int64_t i = 0; i < n; ++i) {
        const double p = static_cast<double>(w[static_cast<size_t>(i)]) * x[i];
        r.value += p;
        r.abs += std::fabs(p);
    }
    return r;
}

// The tolerance of a float dot of length n against the exact sum. Every kernel accumulates each
// product through at most n/8 + 8 float additions (8-lane or 8-wide chunks, then the fixed
// horizontal tree), and its dequantized weight may differ from the reference by up to 2
// roundings (an FMA for d*q + m, or the scale product taken in another order). The classical
// bound |computed - exact| <= gamma_k * sum|w_i x_i| with k = n/8 + 16 operations and
// gamma_k ~ k * 2^-24 covers both. It is a worst case: typical errors are ~100x smaller, and a
// wrong layout (a swapped nibble, a misplaced high bit) misses by O(sum|w x| / n) or more.
double tolerance(int64_t n, double abs_sum) {
    const double k = static_cast<double>(n) / 8.0 + 16.0;
    return k * std::ldexp(1.0, -24) * abs_sum + 1e-30;
}

std::vector<int64_t> awkward_lengths(uint32_t type) {
    if (is_plain(type)) return {1, 3, 7, 8, 15, 31, 32, 33, 47, 100, 257, 1000};
    const int64_t bs = q::block_size(type);
    return {bs, 3 * bs, 7 * bs};
}

std::string param_name(uint32_t type, Isa isa) {
    return std::string(q::type_name(type)) + "_" + q::isa_name(isa);
}

#define SKIP_IF_UNAVAILABLE(isa)                                                          \
    do {                                                                                 \
        if (!q::isa_available(isa)) {                                                    \
            GTEST_SKIP() << "this CPU (or build) lacks the " << q::isa_name(isa) << " level"; \
        }                                                                                \
    } while (0)

}  // namespace

// ---- geometry, conversions, dispatch -------------------------------------------------------

TEST(QuantGeometry, IdsAndSizesMatchGgml) {
    struct Row {
        uint32_t id;
        const char *name;
        int64_t block, bytes;
    };
    const Row rows[] = {{0, "F32", 1, 4},       {1, "F16", 1, 2},      {2, "Q4_0", 32, 18},
                        {3, "Q4_1", 32, 20},    {6, "Q5_0", 32, 22},   {7, "Q5_1", 32, 24},
                        {8, "Q8_0", 32, 34},    {12, "Q4_K", 256, 144}, {13, "Q5_K", 256, 176},
                        {14, "Q6_K", 256, 210}, {30, "BF16", 1, 2}};
    for (const Row &r : rows) {
        EXPECT_TRUE(q::supported(r.id)) << r.name;
        EXPECT_STREQ(q::type_name(r.id), r.name);
        EXPECT_EQ(q::block_size(r.id), r.block) << r.name;
        EXPECT_EQ(q::type_size(r.id), r.bytes) << r.name;
        EXPECT_EQ(q::row_bytes(r.id, 3 * r.block), static_cast<size_t>(3 * r.bytes)) << r.name;
    }
    // Known ggml types without kernels: the table's geometry, but not supported.
    const Row others[] = {{9, "Q8_1", 32, 36},   {10, "Q2_K", 256, 84},   {15, "Q8_K", 256, 292},
                          {16, "IQ2_XXS", 256, 66}, {28, "F64", 1, 8},     {39, "MXFP4", 32, 17}};
    for (const Row &r : others) {
        EXPECT_FALSE(q::supported(r.id)) << r.name;
        EXPECT_STREQ(q::type_name(r.id), r.name);
        EXPECT_EQ(q::block_size(r.id), r.block) << r.name;
        EXPECT_EQ(q::type_size(r.id), r.bytes) << r.name;
        EXPECT_THROW(q::row_bytes(r.id, r.block), lola::Error) << r.name;
    }
    for (uint32_t id : {4u, 5u, 31u, 36u, 40u, 1000u}) {  // not ggml types
        EXPECT_FALSE(q::supported(id)) << id;
        EXPECT_STREQ(q::type_name(id), "unknown");
        EXPECT_EQ(q::block_size(id), 0);
        EXPECT_EQ(q::type_size(id), 0);
        EXPECT_THROW(q::row_bytes(id, 32), lola::Error);
    }
}

// The one ggml type table (gguf/tensor_type) and the kernels agree: every type it marks
// supported has a reference dequantization and kernels at every level this CPU runs (scalar
// always), and is one of kTypes, which this file tests; every other known type is refused by
// each entry point with Status::unsupported and a message naming it.
TEST(QuantGeometry, TypeTableAgreesWithTheKernels) {
    const auto expect_unsupported = [](const char *what, const std::function<void()> &f,
                                       const std::string &name) {
        try {
            f();
            ADD_FAILURE() << what << " accepted " << name;
        } catch (const lola::Error &e) {
            EXPECT_EQ(e.status(), lola::Status::unsupported) << what << " " << name;
            EXPECT_NE(std::string(e.what()).find(name), std::string::npos)
                << what << ": \"" << e.what() << "\" does not name " << name;
        }
    };
    size_t n_supported = 0, n_other = 0;
    for (uint32_t id = 0; id < 256; ++id) {
        const lola::gguf::TypeTraits *t = lola::gguf::type_traits(id);
        if (!t) {
            EXPECT_FALSE(q::supported(id)) << id;
            expect_unsupported("row_bytes", [&] { q::row_bytes(id, 32); }, std::to_string(id));
            continue;
        }
        const std::string name = t->name;
        EXPECT_EQ(q::supported(id), t->supported) << name;
        EXPECT_STREQ(q::type_name(id), t->name);
        EXPECT_EQ(q::block_size(id), t->block_size) << name;
        EXPECT_EQ(q::type_size(id), t->type_size) << name;
        const int64_t n = 2 * t->block_size;
        std::vector<uint8_t> row(static_cast<size_t>(2 * t->type_size), 0);  // all zeros
        std::vector<float> x(static_cast<size_t>(n), 1.0f);
        std::vector<float> y(static_cast<size_t>(n), std::nanf(""));
        if (t->supported) {
            ++n_supported;
            EXPECT_NE(std::find(std::begin(kTypes), std::end(kTypes), id), std::end(kTypes))
                << name << " is supported but not tested here";
            EXPECT_EQ(q::row_bytes(id, n), row.size()) << name;
            EXPECT_NO_THROW(q::dequantize_row(id, row.data(), y.data(), n)) << name;
            EXPECT_EQ(std::count(y.begin(), y.end(), 0.0f), n) << name << ": values left unwritten";
            EXPECT_NE(q::dot_fn(id, Isa::scalar), nullptr) << name;
            for (Isa isa : kIsas) {
                if (!q::isa_available(isa)) continue;
                EXPECT_NE(q::dot_fn(id, isa), nullptr) << name << " " << q::isa_name(isa);
                EXPECT_NE(q::dot_multi_fn(id, isa), nullptr) << name << " " << q::isa_name(isa);
                EXPECT_GE(q::max_tokens(id, isa), 1) << name << " " << q::isa_name(isa);
            }
            EXPECT_EQ(q::dot_row(id, row.data(), x.data(), n), 0.0f) << name;
        } else {
            ++n_other;
            for (Isa isa : kIsas) EXPECT_EQ(q::dot_fn(id, isa), nullptr) << name;
            expect_unsupported("row_bytes", [&] { q::row_bytes(id, n); }, name);
            expect_unsupported(
                "dequantize_row", [&] { q::dequantize_row(id, row.data(), y.data(), n); }, name);
            expect_unsupported("dot_row", [&] { q::dot_row(id, row.data(), x.data(), n); }, name);
            expect_unsupported(
                "matvec", [&] { q::matvec(id, row.data(), 1, n, x.data(), y.data(), nullptr); },
                name);
            expect_unsupported(
                "matmul",
                [&] { q::matmul(id, row.data(), 1, n, x.data(), 1, y.data(), nullptr); }, name);
        }
    }
    EXPECT_EQ(n_supported, std::size(kTypes));
    EXPECT_GT(n_other, 0u);
}

TEST(QuantGeometry, BadLengthsAreRefused) {
    std::vector<uint8_t> row(1024);
    std::vector<float> x(1024), y(1024);
    try {
        q::row_bytes(q::Q4_K, 300);
        FAIL() << "no throw";
    } catch (const lola::Error &e) {
        EXPECT_EQ(e.status(), lola::Status::invalid_argument);
    }
    EXPECT_THROW(q::row_bytes(q::Q8_0, -32), lola::Error);
    EXPECT_THROW(q::dequantize_row(q::Q8_0, row.data(), y.data(), 33), lola::Error);
    EXPECT_THROW(q::dot_row(q::Q6_K, row.data(), x.data(), 128), lola::Error);
    EXPECT_THROW(q::dot_row(9, row.data(), x.data(), 32), lola::Error);
    EXPECT_THROW(q::matvec(q::Q4_0, row.data(), 2, 48, x.data(), y.data(), nullptr),
                 lola::Error);
    EXPECT_THROW(q::matmul(q::Q4_0, row.data(), 2, 32, x.data(), -1, y.data(), nullptr),
                 lola::Error);
    EXPECT_THROW(q::matvec(q::Q4_0, nullptr, 2, 32, x.data(), y.data(), nullptr), lola::Error);
    EXPECT_EQ(q::dot_row(q::Q4_0, nullptr, nullptr, 0), 0.0f);
}

TEST(QuantConvert, HalfRoundTripsAndRounds) {
    for (uint32_t h = 0; h < 65536; ++h) {
        const float f = q::fp16_to_fp32(static_cast<uint16_t>(h));
        if (std::isnan(f)) {
            EXPECT_TRUE(std::isnan(q::fp16_to_fp32(q::fp32_to_fp16(f))));
            continue;
        }
        ASSERT_EQ(q::fp32_to_fp16(f), h) << std::hex << h;
    }
    EXPECT_EQ(q::fp16_to_fp32(0x3C00), 1.0f);
    EXPECT_EQ(q::fp16_to_fp32(0xC000), -2.0f);
    EXPECT_EQ(q::fp16_to_fp32(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
    EXPECT_EQ(q::fp16_to_fp32(0x03FF), 1023 * std::ldexp(1.0f, -24));
    EXPECT_EQ(q::fp16_to_fp32(0x7BFF), 65504.0f);
    EXPECT_EQ(q::fp16_to_fp32(0x3555), 0.333251953125f);
    EXPECT_TRUE(std::isinf(q::fp16_to_fp32(0xFC00)));
    EXPECT_EQ(q::fp32_to_fp16(1.0f + std::ldexp(1.0f, -11)), 0x3C00);      // tie -> even
    EXPECT_EQ(q::fp32_to_fp16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3C02);  // tie -> even
    EXPECT_EQ(q::fp32_to_fp16(65519.0f), 0x7BFF);
    EXPECT_EQ(q::fp32_to_fp16(65520.0f), 0x7C00);
    EXPECT_EQ(q::fp32_to_fp16(std::ldexp(1.0f, -25)), 0x0000);      // tie -> even (0)
    EXPECT_EQ(q::fp32_to_fp16(3 * std::ldexp(1.0f, -25)), 0x0002);  // 1.5 ulp -> 2
    EXPECT_EQ(q::fp32_to_fp16(-std::ldexp(1023.75f, -24)), 0x8400);  // rounds up to 2^-14
}

TEST(QuantConvert, Bfloat16) {
    EXPECT_EQ(q::bf16_to_fp32(0x3F80), 1.0f);
    EXPECT_EQ(q::bf16_to_fp32(0xC0A0), -5.0f);
    EXPECT_EQ(q::bf16_to_fp32(0x4049), 3.140625f);
    EXPECT_EQ(q::fp32_to_bf16(3.14159265f), 0x4049);
    EXPECT_EQ(q::fp32_to_bf16(1.0f + std::ldexp(1.0f, -8)), 0x3F80);       // tie -> even
    EXPECT_EQ(q::fp32_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3F82);   // tie -> even
    EXPECT_TRUE(std::isnan(q::bf16_to_fp32(q::fp32_to_bf16(std::nanf("")))));
}

TEST(QuantDispatch, LevelsAndForcing) {
    EXPECT_TRUE(q::isa_available(Isa::scalar));
    const Isa best = q::best_isa();
    EXPECT_TRUE(q::isa_available(best));
    for (Isa isa : kIsas) {
        if (q::isa_available(isa)) {
            EXPECT_GE(static_cast<int>(best), static_cast<int>(isa));
        }
    }
    EXPECT_EQ(q::active_isa_level(), best);
    EXPECT_STREQ(q::active_isa(), q::isa_name(best));
    for (Isa isa : kIsas) {
        for (uint32_t type : kTypes) {
            EXPECT_EQ(q::dot_fn(type, isa) != nullptr, q::isa_available(isa));
            EXPECT_EQ(q::dot_multi_fn(type, isa) != nullptr, q::isa_available(isa));
        }
        EXPECT_EQ(q::dot_fn(9, isa), nullptr);
        if (q::isa_available(isa)) {
            q::force_isa(isa);
            EXPECT_EQ(q::active_isa_level(), isa);
            EXPECT_STREQ(q::active_isa(), q::isa_name(isa));
        } else {
            EXPECT_THROW(q::force_isa(isa), lola::Error);
        }
    }
    q::force_isa(best);
    std::printf("[ info     ] quant kernel levels here:%s%s%s; active %s\n",
                q::isa_available(Isa::scalar) ? " scalar" : "",
                q::isa_available(Isa::avx2) ? " avx2" : "",
                q::isa_available(Isa::avx512) ? " avx512" : "", q::active_isa());
}

// ---- hand-made blocks ----------------------------------------------------------------------

namespace {

// Dequantizes a one-block row and checks the listed elements (every other element must equal
// `rest`, or be listed).
void expect_block(uint32_t type, const std::vector<uint8_t> &block,
                  const std::map<int, float> &expected, float rest) {
    ASSERT_EQ(block.size(), static_cast<size_t>(q::type_size(type)));
    const int64_t n = q::block_size(type);
    std::vector<float> y(static_cast<size_t>(n));
    q::dequantize_row(type, block.data(), y.data(), n);
    for (int64_t i = 0; i < n; ++i) {
        const auto it = expected.find(static_cast<int>(i));
        const float want = it == expected.end() ? rest : it->second;
        EXPECT_EQ(y[static_cast<size_t>(i)], want) << q::type_name(type) << " element " << i;
    }
}

void set16(std::vector<uint8_t> &b, size_t off, uint16_t h) {
    b[off] = static_cast<uint8_t>(h & 0xFF);
    b[off + 1] = static_cast<uint8_t>(h >> 8);
}

}  // namespace

TEST(QuantKnownBlocks, Q8_0) {
    std::vector<uint8_t> b(34, 0);
    set16(b, 0, 0x3800);  // d = 0.5
    b[2 + 0] = 1;
    b[2 + 1] = 0x80;  // -128
    b[2 + 31] = 127;
    expect_block(q::Q8_0, b, {{0, 0.5f}, {1, -64.0f}, {31, 63.5f}}, 0.0f);
}

TEST(QuantKnownBlocks, Q4_0) {
    std::vector<uint8_t> b(18, 0x88);  // nibbles 8: value 0
    set16(b, 0, 0x4000);               // d = 2
    b[2 + 0] = 0x0F;                   // element 0: (15 - 8) * 2, element 16: (0 - 8) * 2
    b[2 + 5] = 0x93;                   // element 5: (3 - 8) * 2, element 21: (9 - 8) * 2
    expect_block(q::Q4_0, b, {{0, 14.0f}, {16, -16.0f}, {5, -10.0f}, {21, 2.0f}}, 0.0f);
}

TEST(QuantKnownBlocks, Q4_1) {
    std::vector<uint8_t> b(20, 0);
    set16(b, 0, 0x3800);  // d = 0.5
    set16(b, 2, 0xBC00);  // m = -1
    b[4 + 0] = 0x2F;      // element 0: 15 * 0.5 - 1, element 16: 2 * 0.5 - 1
    b[4 + 15] = 0xA0;     // element 15: 0 - 1, element 31: 10 * 0.5 - 1
    expect_block(q::Q4_1, b, {{0, 6.5f}, {16, 0.0f}, {15, -1.0f}, {31, 4.0f}}, -1.0f);
}

TEST(QuantKnownBlocks, Q5_0) {
    std::vector<uint8_t> b(22, 0);
    set16(b, 0, 0x3C00);  // d = 1
    b[2] = 0x01;          // qh = 0x80010001: bits 0, 16, 31
    b[4] = 0x01;
    b[5] = 0x80;
    b[6 + 0] = 0x21;   // element 0: (1 | 16) - 16, element 16: (2 | 16) - 16
    b[6 + 15] = 0xF0;  // element 15: 0 - 16 (bit 15 clear), element 31: (15 | 16) - 16
    expect_block(q::Q5_0, b, {{0, 1.0f}, {16, 2.0f}, {15, -16.0f}, {31, 15.0f}}, -16.0f);
}

TEST(QuantKnownBlocks, Q5_1) {
    std::vector<uint8_t> b(24, 0);
    set16(b, 0, 0x3400);  // d = 0.25
    set16(b, 2, 0x4900);  // m = 10
    b[4] = 0x02;          // qh: bit 1
    b[8 + 1] = 0x3F;      // element 1: (15 | 16) * 0.25 + 10, element 17: 3 * 0.25 + 10
    b[8 + 2] = 0x0C;      // element 2: 12 * 0.25 + 10 (no high bit)
    expect_block(q::Q5_1, b, {{1, 17.75f}, {17, 10.75f}, {2, 13.0f}}, 10.0f);
}

namespace {

// d = 1, dmin = 0.5; sc = {2, 0, 0, 0, 0, 33, 0, 0}, m = {4, 0, 0, 0, 0, 18, 0, 0}:
//   sc[0] = s[0] & 63 = 2; m[0] = s[4] & 63 = 4;
//   sc[5] = (s[9] & 15) | (s[1] >> 6) << 4 = 1 | 2 << 4 = 33 (s[1] = 0x80: sc[1] = 0);
//   m[5] = (s[9] >> 4) | (s[5] >> 6) << 4 = 2 | 1 << 4 = 18 (s[5] = 0x40: m[1] = 0).
std::vector<uint8_t> k_header(size_t size) {
    std::vector<uint8_t> b(size, 0);
    set16(b, 0, 0x3C00);
    set16(b, 2, 0x3800);
    b[4 + 0] = 2;
    b[4 + 4] = 4;
    b[4 + 1] = 0x80;
    b[4 + 5] = 0x40;
    b[4 + 9] = 0x21;
    return b;
}

}  // namespace

TEST(QuantKnownBlocks, Q4_K) {
    std::vector<uint8_t> b = k_header(144);
    b[16 + 0] = 0x07;   // element 0 (sub-block 0, low nibble): 2 * 7 - 0.5 * 4 = 12
    b[16 + 64] = 0xF0;  // element 160 (sub-block 5 = high nibbles of qs[64..95]): 33 * 15 - 9
    // elsewhere q = 0: sub-block 0 -> -2, sub-block 5 -> -9, the others 0 (element 32: the high
    // nibble of qs[0], sub-block 1; element 128: the low nibble of qs[64], sub-block 4)
    std::map<int, float> want;
    for (int l = 0; l < 32; ++l) {
        want[l] = -2.0f;
        want[160 + l] = -9.0f;
    }
    want[0] = 12.0f;
    want[160] = 486.0f;
    expect_block(q::Q4_K, b, want, 0.0f);
}

TEST(QuantKnownBlocks, Q5_K) {
    std::vector<uint8_t> b = k_header(176);
    b[16 + 0] = 0x21;   // qh[0]: bit 0 (sub-block 0) and bit 5 (sub-block 5) of element l = 0
    b[16 + 3] = 0x02;   // qh[3]: bit 1: element 35 of sub-block 1 (scale 0: value 0)
    b[48 + 0] = 0x07;   // element 0: 2 * (7 | 16) - 2 = 44
    b[48 + 64] = 0xF0;  // element 160: 33 * (15 | 16) - 9 = 1014
    b[48 + 1] = 0x03;   // element 1: 2 * 3 - 2 = 4 (qh[1] = 0)
    std::map<int, float> want;
    for (int l = 0; l < 32; ++l) {
        want[l] = -2.0f;
        want[160 + l] = -9.0f;
    }
    want[0] = 44.0f;
    want[1] = 4.0f;
    want[160] = 1014.0f;
    expect_block(q::Q5_K, b, want, 0.0f);
}

TEST(QuantKnownBlocks, Q6_K) {
    std::vector<uint8_t> b(210, 0);
    auto *sc = reinterpret_cast<int8_t *>(&b[192]);
    set16(b, 208, 0x3800);  // d = 0.5
    sc[0] = 2;
    sc[2] = -1;
    sc[4] = 1;
    sc[6] = 5;
    sc[9] = 4;
    sc[15] = -3;
    b[0] = 0x3A;        // ql[0]: low nibble -> element 0, high nibble -> element 64
    b[128 + 0] = 0xE4;  // qh[0] = 11 10 01 00: elements 0, 32, 64, 96 get 0, 1, 2, 3
    b[80] = 0x05;       // ql[80] = half 1, l = 16, low nibble -> element 144
    b[128 + 48] = 0x03; // qh[48] = half 1, l = 16, bits 0-1 -> element 144
    b[127] = 0x90;      // ql[127] = half 1, l = 31 + 32, high nibble -> element 255
    b[128 + 63] = 0x40; // qh[63] bits 6-7 = 1 -> element 255
    std::map<int, float> want;
    // q = 0 (value -32) wherever nothing is set: d * sc[e / 16] * -32
    for (int e = 0; e < 256; ++e) want[e] = 0.5f * static_cast<float>(sc[e / 16]) * -32.0f;
    want[0] = 0.5f * 2 * ((10 | 0 << 4) - 32);   // -22
    want[32] = 0.5f * -1 * ((0 | 1 << 4) - 32);  // 8
    want[64] = 0.5f * 1 * ((3 | 2 << 4) - 32);   // 1.5
    want[96] = 0.5f * 5 * ((0 | 3 << 4) - 32);   // 40
    want[144] = 0.5f * 4 * ((5 | 3 << 4) - 32);  // 42
    want[255] = 0.5f * -3 * ((9 | 1 << 4) - 32); // 10.5
    EXPECT_EQ(want[0], -22.0f);
    EXPECT_EQ(want[1], -32.0f);
    EXPECT_EQ(want[33], 16.0f);
    EXPECT_EQ(want[32], 8.0f);
    EXPECT_EQ(want[64], 1.5f);
    EXPECT_EQ(want[96], 40.0f);
    EXPECT_EQ(want[144], 42.0f);
    EXPECT_EQ(want[255], 10.5f);
    expect_block(q::Q6_K, b, want, 0.0f);
}

TEST(QuantKnownBlocks, PlainTypes) {
    std::vector<uint8_t> h(8);
    set16(h, 0, 0x3C00);
    set16(h, 2, 0xC000);
    set16(h, 4, 0x0001);
    set16(h, 6, 0x7BFF);
    float y[4];
    q::dequantize_row(q::F16, h.data(), y, 4);
    EXPECT_EQ(y[0], 1.0f);
    EXPECT_EQ(y[1], -2.0f);
    EXPECT_EQ(y[2], std::ldexp(1.0f, -24));
    EXPECT_EQ(y[3], 65504.0f);
    std::vector<uint8_t> bf(6);
    set16(bf, 0, 0x3F80);
    set16(bf, 2, 0xC0A0);
    set16(bf, 4, 0x4049);
    q::dequantize_row(q::BF16, bf.data(), y, 3);
    EXPECT_EQ(y[0], 1.0f);
    EXPECT_EQ(y[1], -5.0f);
    EXPECT_EQ(y[2], 3.140625f);
    const float f[3] = {1.5f, -0.0f, 1e-30f};
    q::dequantize_row(q::F32, f, y, 3);
    EXPECT_EQ(std::memcmp(y, f, sizeof f), 0);
}

// ---- every kernel level against the reference ----------------------------------------------

class QuantKernel : public ::testing::TestWithParam<std::tuple<uint32_t, Isa>> {};

TEST_P(QuantKernel, DotMatchesReference) {
    const auto [type, isa] = GetParam();
    SKIP_IF_UNAVAILABLE(isa);
    const q::DotFn dot = q::dot_fn(type, isa);
    ASSERT_NE(dot, nullptr);
    std::mt19937_64 rng(1000 + type);
    for (int64_t n : awkward_lengths(type)) {
        for (int rep = 0; rep < 20; ++rep) {
            const std::vector<uint8_t> row = random_row(type, n, rng);
            const std::vector<float> x = random_floats(static_cast<size_t>(n), rng);
            const RefDot ref = ref_dot(type, row.data(), x.data(), n);
            const float got = dot(row.data(), x.data(), n);
            ASSERT_NEAR(got, ref.value, tolerance(n, ref.abs))
                << q::type_name(type) << " " << q::isa_name(isa) << " n=" << n << " rep " << rep;
        }
    }
}

TEST_P(QuantKernel, MultiTokenIsBitIdentical) {
    const auto [type, isa] = GetParam();
    SKIP_IF_UNAVAILABLE(isa);
    const q::DotFn dot = q::dot_fn(type, isa);
    const q::DotMultiFn multi = q::dot_multi_fn(type, isa);
    ASSERT_NE(multi, nullptr);
    std::mt19937_64 rng(2000 + type);
    const int max_t = q::max_tokens(type, isa);
    ASSERT_GE(max_t, 1);
    ASSERT_LE(max_t, 8);
    for (int64_t n : awkward_lengths(type)) {
        const std::vector<uint8_t> row = random_row(type, n, rng);
        const int64_t ldx = n + 5;  // a stride that is not the row length
        const std::vector<float> X = random_floats(static_cast<size_t>(ldx * max_t), rng);
        for (int nt = 1; nt <= max_t; ++nt) {
            std::vector<float> out(static_cast<size_t>(nt), -1.0f);
            multi(row.data(), X.data(), ldx, nt, out.data(), n);
            for (int t = 0; t < nt; ++t)
                ASSERT_EQ(out[static_cast<size_t>(t)], dot(row.data(), X.data() + t * ldx, n))
                    << q::type_name(type) << " " << q::isa_name(isa) << " n=" << n
                    << " nt=" << nt << " t=" << t;
        }
    }
}

TEST_P(QuantKernel, MatvecAndMatmulMatchRowDotsForAnyThreadCount) {
    const auto [type, isa] = GetParam();
    SKIP_IF_UNAVAILABLE(isa);
    const q::DotFn dot = q::dot_fn(type, isa);
    std::mt19937_64 rng(3000 + type);
    const int64_t cols = is_plain(type) ? 203 : 3 * q::block_size(type);
    const size_t rb = q::row_bytes(type, cols);
    lola::ThreadPool pool1(1), pool2(2), pool3(3);
    lola::ThreadPool *pools[] = {nullptr, &pool1, &pool2, &pool3};
    for (int64_t rows : {1, 5, 37, 131}) {
        const std::vector<uint8_t> W = random_row(type, rows * cols, rng);
        for (int64_t n_tokens : {1, 3, 9, 13}) {
            const std::vector<float> X =
                random_floats(static_cast<size_t>(n_tokens * cols), rng);
            std::vector<float> want(static_cast<size_t>(n_tokens * rows));
            for (int64_t t = 0; t < n_tokens; ++t)
                for (int64_t r = 0; r < rows; ++r)
                    want[static_cast<size_t>(t * rows + r)] =
                        dot(W.data() + static_cast<size_t>(r) * rb, X.data() + t * cols, cols);
            for (lola::ThreadPool *pool : pools) {
                const int threads = pool ? pool->size() : 0;
                std::vector<float> Y(want.size(), std::nanf(""));
                q::matmul(type, W.data(), rows, cols, X.data(), n_tokens, Y.data(), pool, isa);
                ASSERT_EQ(std::memcmp(Y.data(), want.data(), Y.size() * sizeof(float)), 0)
                    << "matmul " << q::type_name(type) << " " << q::isa_name(isa)
                    << " rows=" << rows << " tokens=" << n_tokens << " threads=" << threads;
                if (n_tokens == 1) {
                    std::vector<float> y(static_cast<size_t>(rows), std::nanf(""));
                    q::matvec(type, W.data(), rows, cols, X.data(), y.data(), pool, isa);
                    ASSERT_EQ(std::memcmp(y.data(), want.data(), y.size() * sizeof(float)), 0)
                        << "matvec " << q::type_name(type) << " " << q::isa_name(isa)
                        << " rows=" << rows << " threads=" << threads;
                }
            }
        }
    }
}

INSTANTIATE_TEST_SUITE_P(
    AllFormatsAllLevels, QuantKernel,
    ::testing::Combine(::testing::ValuesIn(kTypes), ::testing::ValuesIn(kIsas)),
    [](const ::testing::TestParamInfo<std::tuple<uint32_t, Isa>> &p) {
        return param_name(std::get<0>(p.param), std::get<1>(p.param));
    });

// The default entry points (dot_row, matvec, matmul without a level) use the active level.
TEST(QuantActive, DefaultEntryPointsUseTheActiveLevel) {
    std::mt19937_64 rng(77);
    const int64_t cols = 512, rows = 70, n_tokens = 11;
    for (uint32_t type : kTypes) {
        const std::vector<uint8_t> W = random_row(type, rows * cols, rng);
        const std::vector<float> X = random_floats(static_cast<size_t>(n_tokens * cols), rng);
        for (Isa isa : kIsas) {
            if (!q::isa_available(isa)) continue;
            q::force_isa(isa);
            const q::DotFn dot = q::dot_fn(type, isa);
            EXPECT_EQ(q::dot_row(type, W.data(), X.data(), cols), dot(W.data(), X.data(), cols));
            std::vector<float> a(static_cast<size_t>(rows * n_tokens)), b(a.size());
            lola::ThreadPool pool(2);
            q::matmul(type, W.data(), rows, cols, X.data(), n_tokens, a.data(), &pool);
            q::matmul(type, W.data(), rows, cols, X.data(), n_tokens, b.data(), nullptr, isa);
            EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0)
                << q::type_name(type) << " " << q::isa_name(isa);
            q::matvec(type, W.data(), rows, cols, X.data(), a.data(), &pool);
            q::matvec(type, W.data(), rows, cols, X.data(), b.data(), nullptr, isa);
            EXPECT_EQ(std::memcmp(a.data(), b.data(), static_cast<size_t>(rows) * sizeof(float)),
                      0);
        }
    }
    q::force_isa(q::best_isa());
}
