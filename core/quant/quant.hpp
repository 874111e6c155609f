// quant.hpp: quantized weight formats (the GGML block layouts) and their dot products with fp32
// activations, for CPU inference.
//
// Which ggml types exist, their names, block geometry and whether liblola supports them is the
// one table of gguf/tensor_type.hpp; supported / type_name / block_size / type_size below read
// it, and quant::Type names the supported ids of its enum. This file adds the layouts and the
// maths (every multi-byte field is little-endian, fp16 is IEEE binary16):
//
//   type  id  block  bytes  layout of one block                      element i of the block
//   F32    0      1      4  float                                    x
//   F16    1      1      2  fp16                                     x
//   BF16  30      1      2  bfloat16 (the top half of a float)       x
//   Q8_0   8     32     34  d:fp16, qs[32]:int8                      d * qs[i]
//   Q4_0   2     32     18  d:fp16, qs[16]                           d * (nib(i) - 8)
//   Q4_1   3     32     20  d:fp16, m:fp16, qs[16]                   d * nib(i) + m
//   Q5_0   6     32     22  d:fp16, qh:u32, qs[16]                   d * ((nib(i) | hb(i) << 4) - 16)
//   Q5_1   7     32     24  d:fp16, m:fp16, qh:u32, qs[16]           d * (nib(i) | hb(i) << 4) + m
//        where nib(i) = qs[i] & 15 for i < 16, qs[i - 16] >> 4 for i >= 16; hb(i) = bit i of qh.
//   Q4_K  12    256    144  d:fp16, dmin:fp16, scales[12], qs[128]
//   Q5_K  13    256    176  d:fp16, dmin:fp16, scales[12], qh[32], qs[128]
//        8 sub-blocks j of 32 elements, each with a 6-bit scale sc[j] and a 6-bit min m[j]
//        packed in scales[12] (see unpack_k_scales in kernels.hpp); sub-block j = 2p + h reads
//        the low (h = 0) or high (h = 1) nibbles of qs[32p .. 32p + 31]; Q5_K adds bit j of
//        qh[l] as bit 4 of element l of sub-block j. Element value:
//        (d * sc[j]) * q - (dmin * m[j]).
//   Q6_K  14    256    210  ql[128], qh[64], scales[16]:int8, d:fp16
//        two halves of 128; in half h, element 32k + l (k < 4, l < 32) is
//        q = (ql[64h + l + 32 (k & 1)] >> 4 (k >> 1) & 15) | ((qh[32h + l] >> 2k) & 3) << 4,
//        value (d * scales[e / 16]) * (q - 32) with e its index in the block.
//
// dequantize_row is the reference (scalar, evaluated in exactly the order above, the order of
// gguf-py's numpy dequantization, so its results are bit-identical to gguf.quants.dequantize).
// dot_row is the dot product of one quantized row with fp32 activations, dequantizing on the
// fly with fp32 accumulation, through the fastest kernel this CPU runs (runtime dispatch:
// scalar, AVX2+FMA+F16C, AVX-512F; the library itself is compiled for baseline x86-64). The
// scalar kernels are dot_scalar.cpp; the SIMD ones are written once, in dot_simd.inl, and
// compiled per level by dot_avx2.cpp and dot_avx512.cpp. Kernels differ from the reference only
// by float rounding (FMA, accumulation order); each is deterministic, and dot_multi_fn computes
// every token with exactly the arithmetic of dot_fn.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/isa.hpp"
#include "gguf/tensor_type.hpp"

namespace lola::quant {

// The ggml types liblola computes with (those the table marks supported), as plain uint32_t
// constants for switch statements over a GGUF type id.
enum Type : uint32_t {
    F32 = static_cast<uint32_t>(gguf::TensorType::F32),
    F16 = static_cast<uint32_t>(gguf::TensorType::F16),
    Q4_0 = static_cast<uint32_t>(gguf::TensorType::Q4_0),
    Q4_1 = static_cast<uint32_t>(gguf::TensorType::Q4_1),
    Q5_0 = static_cast<uint32_t>(gguf::TensorType::Q5_0),
    Q5_1 = static_cast<uint32_t>(gguf::TensorType::Q5_1),
    Q8_0 = static_cast<uint32_t>(gguf::TensorType::Q8_0),
    Q4_K = static_cast<uint32_t>(gguf::TensorType::Q4_K),
    Q5_K = static_cast<uint32_t>(gguf::TensorType::Q5_K),
    Q6_K = static_cast<uint32_t>(gguf::TensorType::Q6_K),
    BF16 = static_cast<uint32_t>(gguf::TensorType::BF16),
};

constexpr int64_t kQK = 32;     // elements per block of Q4_0, Q4_1, Q5_0, Q5_1, Q8_0
constexpr int64_t kQK_K = 256;  // elements per super-block of Q4_K, Q5_K, Q6_K

// The block layouts. Byte arrays only: alignment 1, no padding, any address is fine.
struct BlockQ8_0 { uint8_t d[2]; int8_t qs[32]; };
struct BlockQ4_0 { uint8_t d[2]; uint8_t qs[16]; };
struct BlockQ4_1 { uint8_t d[2]; uint8_t m[2]; uint8_t qs[16]; };
struct BlockQ5_0 { uint8_t d[2]; uint8_t qh[4]; uint8_t qs[16]; };
struct BlockQ5_1 { uint8_t d[2]; uint8_t m[2]; uint8_t qh[4]; uint8_t qs[16]; };
struct BlockQ4_K { uint8_t d[2]; uint8_t dmin[2]; uint8_t scales[12]; uint8_t qs[128]; };
struct BlockQ5_K { uint8_t d[2]; uint8_t dmin[2]; uint8_t scales[12]; uint8_t qh[32]; uint8_t qs[128]; };
struct BlockQ6_K { uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; uint8_t d[2]; };
static_assert(sizeof(BlockQ8_0) == 34 && sizeof(BlockQ4_0) == 18 && sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ5_0) == 22 && sizeof(BlockQ5_1) == 24);
static_assert(sizeof(BlockQ4_K) == 144 && sizeof(BlockQ5_K) == 176 && sizeof(BlockQ6_K) == 210);

// Reads of gguf::type_traits(type). Whether the table marks the type supported (false for an id
// that is not a ggml type).
bool supported(uint32_t type);
// "Q4_K", "Q2_K", ... for every known ggml type, supported or not; "unknown" for another id.
const char *type_name(uint32_t type);
// Elements per block (1 for F32, F16, BF16) of every known type; 0 for an unknown id.
int64_t block_size(uint32_t type);
// Bytes per block of every known type; 0 for an unknown id.
int64_t type_size(uint32_t type);
// Bytes of a row of n elements. Throws lola::Error: unsupported for a type that is not
// supported (the message names it), invalid_argument for n < 0 or n not a multiple of the
// block size.
size_t row_bytes(uint32_t type, int64_t n);

// Exact conversions (fp32 -> fp16 / bf16 round to nearest even; NaNs stay NaN, quiet).
float fp16_to_fp32(uint16_t h);
uint16_t fp32_to_fp16(float f);
float bf16_to_fp32(uint16_t h);
uint16_t fp32_to_bf16(float f);

// dst[0..n) = the values of the row src (the reference). n must be a multiple of the block
// size (checked: throws lola::Error, like an unsupported type, see row_bytes).
void dequantize_row(uint32_t type, const void *src, float *dst, int64_t n);

// ---- kernels and their runtime selection ------------------------------------------------------

// The levels (base/isa.hpp): scalar, avx2, avx512.
using lola::Isa;
using lola::isa_name;
using lola::kIsaCount;

// Whether this build has kernels for isa and this CPU (with its OS) runs them. avx2 needs
// AVX2, FMA and F16C; avx512 needs those and AVX-512F. Scalar is always available.
bool isa_available(Isa isa);
// The best level available here.
Isa best_isa();

// sum_i w_i * x[i] over a row of n elements (n a multiple of the block size; not checked).
using DotFn = float (*)(const void *row, const float *x, int64_t n);
// out[t] = the same dot of row with X + t * ldx for t < n_tokens, 1 <= n_tokens <=
// max_tokens(type, isa); each out[t] is bit-identical to DotFn(row, X + t * ldx, n) (the block is
// dequantized once for all the tokens).
using DotMultiFn = void (*)(const void *row, const float *X, int64_t ldx, int n_tokens,
                            float *out, int64_t n);

// The kernels of one level; nullptr when the type is unsupported or isa is not available.
DotFn dot_fn(uint32_t type, Isa isa);
DotMultiFn dot_multi_fn(uint32_t type, Isa isa);
// The most tokens (1 to 8) the DotMultiFn of that type and level takes at once; 0 where
// dot_multi_fn is nullptr.
int max_tokens(uint32_t type, Isa isa);

// The level dot_row, matvec and matmul use: best_isa() unless forced.
Isa active_isa_level();
const char *active_isa();
// Selects the level used from now on (for tests and benchmarks; not meant to race with running
// kernels). Throws lola::Error (unsupported) when isa is not available.
void force_isa(Isa isa);

// The dot product of one row with x through the active level. Throws lola::Error for an
// unsupported type or n not a multiple of the block size (see row_bytes).
float dot_row(uint32_t type, const void *row, const float *x, int64_t n);

}  // namespace lola::quant
