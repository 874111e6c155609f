// quant.cpp: the geometry reads of the ggml type table (gguf/tensor_type), conversions, the
// reference dequantization and the runtime selection of the dot-product kernels. See quant.hpp.
#include "quant/quant.hpp"

#include <atomic>
#include <cmath>
#include <cstring>
#include <string>

#include "base/error.hpp"
#include "quant/dequant.hpp"
#include "quant/kernels.hpp"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#endif

namespace lola::quant {

namespace {

using gguf::TypeTraits;

// The table's entry of a type liblola computes with, for n elements; else throws (unsupported,
// naming the type, or invalid_argument).
const TypeTraits &checked(uint32_t type, int64_t n, const char *what) {
    const TypeTraits *t = gguf::type_traits(type);
    if (!t)
        fail(Status::unsupported, std::string(what) + ": tensor type id " + std::to_string(type) +
                                      " is not a ggml type");
    if (!t->supported)
        fail(Status::unsupported, std::string(what) + ": tensor type " + t->name + " (id " +
                                      std::to_string(type) + ") is not supported by liblola");
    if (n < 0 || n % t->block_size != 0)
        fail(Status::invalid_argument, std::string(what) + ": " + std::to_string(n) +
                                           " elements is not a whole number of " + t->name +
                                           " blocks of " + std::to_string(t->block_size));
    return *t;
}

// The reference dequantization of one block is dequant.hpp's (shared with GPU kernels).

}  // namespace

// ---- geometry -----------------------------------------------------------------------------

bool supported(uint32_t type) {
    const TypeTraits *t = gguf::type_traits(type);
    return t && t->supported;
}

const char *type_name(uint32_t type) {
    const TypeTraits *t = gguf::type_traits(type);
    return t ? t->name : "unknown";
}

int64_t block_size(uint32_t type) {
    const TypeTraits *t = gguf::type_traits(type);
    return t ? t->block_size : 0;
}

int64_t type_size(uint32_t type) {
    const TypeTraits *t = gguf::type_traits(type);
    return t ? t->type_size : 0;
}

size_t row_bytes(uint32_t type, int64_t n) {
    const TypeTraits &t = checked(type, n, "row_bytes");
    return static_cast<size_t>(n / t.block_size) * static_cast<size_t>(t.type_size);
}

// ---- conversions --------------------------------------------------------------------------

float fp16_to_fp32(uint16_t h) { return dq::fp16_to_fp32(h); }

uint16_t fp32_to_fp16(float f) {
    uint32_t x;
    std::memcpy(&x, &f, 4);
    const uint32_t sign = (x >> 16) & 0x8000u;
    const uint32_t ax = x & 0x7FFFFFFFu;
    if (ax > 0x7F800000u)  // NaN: quiet, top payload bits kept
        return static_cast<uint16_t>(sign | 0x7E00u | ((ax >> 13) & 0x3FFu));
    if (ax >= 0x477FF000u)  // >= 65520 rounds to infinity (and infinity itself)
        return static_cast<uint16_t>(sign | 0x7C00u);
    if (ax < 0x38800000u) {  // below 2^-14: a subnormal half (or zero), round(|f| * 2^24)
        float a;
        std::memcpy(&a, &ax, 4);
        const auto m = static_cast<uint32_t>(std::nearbyint(a * 0x1p24f));  // exact scaling
        return static_cast<uint16_t>(sign | m);  // m == 0x400 is the smallest normal: right
    }
    const uint32_t e_m = ax - (112u << 23);  // rebias the exponent, 23 mantissa bits
    uint32_t h = e_m >> 13;
    const uint32_t rest = e_m & 0x1FFFu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;  // a carry bumps the exponent
    return static_cast<uint16_t>(sign | h);
}

float bf16_to_fp32(uint16_t h) { return dq::bf16_to_fp32(h); }

uint16_t fp32_to_bf16(float f) {
    uint32_t x;
    std::memcpy(&x, &f, 4);
    if ((x & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);
    return static_cast<uint16_t>((x + 0x7FFFu + ((x >> 16) & 1u)) >> 16);
}

// ---- reference dequantization -------------------------------------------------------------

bool detail::dequantize_ref(uint32_t type, const uint8_t *src, float *dst, int64_t n) {
    // The block function and its geometry (from the block structs: the scalar kernels call this
    // once a block, so no table lookup here).
    struct {
        void (*fn)(const uint8_t *, float *);
        int64_t elems, bytes;
    } b{};
    switch (type) {
    case F32:
        if (n > 0) std::memcpy(dst, src, static_cast<size_t>(n) * 4);
        return true;
    case F16:
        for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_fp32(load_u16(src + 2 * i));
        return true;
    case BF16:
        for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_fp32(load_u16(src + 2 * i));
        return true;
    case Q8_0: b = {dq::blk_q8_0, kQK, sizeof(BlockQ8_0)}; break;
    case Q4_0: b = {dq::blk_q4_0, kQK, sizeof(BlockQ4_0)}; break;
    case Q4_1: b = {dq::blk_q4_1, kQK, sizeof(BlockQ4_1)}; break;
    case Q5_0: b = {dq::blk_q5_0, kQK, sizeof(BlockQ5_0)}; break;
    case Q5_1: b = {dq::blk_q5_1, kQK, sizeof(BlockQ5_1)}; break;
    case Q4_K: b = {dq::blk_q4_k, kQK_K, sizeof(BlockQ4_K)}; break;
    case Q5_K: b = {dq::blk_q5_k, kQK_K, sizeof(BlockQ5_K)}; break;
    case Q6_K: b = {dq::blk_q6_k, kQK_K, sizeof(BlockQ6_K)}; break;
    default: return false;
    }
    for (int64_t i = 0; i < n / b.elems; ++i) b.fn(src + i * b.bytes, dst + i * b.elems);
    return true;
}

void dequantize_row(uint32_t type, const void *src, float *dst, int64_t n) {
    const TypeTraits &t = checked(type, n, "dequantize_row");
    if (n > 0 && (!src || !dst)) fail(Status::null_pointer, "dequantize_row: null buffer");
    if (!detail::dequantize_ref(type, static_cast<const uint8_t *>(src), dst, n))
        fail(Status::unsupported, std::string("dequantize_row: no reference dequantization of ") +
                                      t.name);
}

// ---- runtime selection --------------------------------------------------------------------

namespace {

constexpr uint32_t kMaxType = 31;  // type ids < kMaxType index the tables

struct Dispatch {
    bool available[kIsaCount] = {};
    detail::Kernel kernels[kIsaCount][kMaxType] = {};
    Isa best = Isa::scalar;
    std::atomic<int> active{0};

    Dispatch() {
        for (int l = 0; l < kIsaCount; ++l) {
            const Isa isa = static_cast<Isa>(l);
            for (uint32_t t = 0; t < kMaxType; ++t) {
                const detail::Kernel k = isa == Isa::scalar ? detail::scalar_kernel(t)
                                         : isa == Isa::avx2 ? detail::avx2_kernel(t)
                                                            : detail::avx512_kernel(t);
                kernels[l][t] = k;
            }
            // A level is available when its kernels are compiled in and the CPU runs them.
            available[l] = kernels[l][F32].dot != nullptr && cpu_supports(isa);
            if (available[l]) best = isa;
        }
        active.store(static_cast<int>(best));
    }
};

Dispatch &dispatch() {
    static Dispatch d;  // selected once, on first use
    return d;
}

bool valid_isa(Isa isa) {
    const int l = static_cast<int>(isa);
    return l >= 0 && l < kIsaCount;
}

}  // namespace

bool isa_available(Isa isa) {
    return valid_isa(isa) && dispatch().available[static_cast<int>(isa)];
}

Isa best_isa() { return dispatch().best; }

DotFn dot_fn(uint32_t type, Isa isa) {
    if (!isa_available(isa) || type >= kMaxType) return nullptr;
    return dispatch().kernels[static_cast<int>(isa)][type].dot;
}

DotMultiFn dot_multi_fn(uint32_t type, Isa isa) {
    if (!isa_available(isa) || type >= kMaxType) return nullptr;
    return dispatch().kernels[static_cast<int>(isa)][type].multi;
}

int max_tokens(uint32_t type, Isa isa) {
    if (!isa_available(isa) || type >= kMaxType) return 0;
    return dispatch().kernels[static_cast<int>(isa)][type].max_tokens;
}

Isa active_isa_level() { return static_cast<Isa>(dispatch().active.load(std::memory_order_relaxed)); }

const char *active_isa() { return isa_name(active_isa_level()); }

void force_isa(Isa isa) {
    if (!isa_available(isa))
        fail(Status::unsupported, std::string("force_isa: level ") + isa_name(isa) +
                                      " is not available on this CPU or in this build");
    dispatch().active.store(static_cast<int>(isa), std::memory_order_relaxed);
}

float dot_row(uint32_t type, const void *row, const float *x, int64_t n) {
    const TypeTraits &t = checked(type, n, "dot_row");
    if (n == 0) return 0.0f;
    if (!row || !x) fail(Status::null_pointer, "dot_row: null buffer");
    Dispatch &d = dispatch();
    const int level = d.active.load(std::memory_order_relaxed);
    const DotFn dot = type < kMaxType ? d.kernels[level][type].dot : nullptr;
    if (!dot)  // a type the table marks supported without a kernel here (tests/quant catch it)
        fail(Status::unsupported, std::string("dot_row: no ") + isa_name(static_cast<Isa>(level)) +
                                      " kernel for " + t.name);
    return dot(row, x, n);
}

}  // namespace lola::quant
