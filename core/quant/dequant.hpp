// dequant.hpp: the reference dequantization of every supported GGML format, one source for the
// CPU (quant.cpp's dequantize_ref, and through it the scalar kernels) and for GPU kernels
// (core/cuda/), which include it under nvcc: every function is host-and-device, uses no
// library call but memcpy, and evaluates its formula in the order of gguf-py's numpy code, one
// rounding per product and sum (the CPU core is built with -ffp-contract=off, GPU code with
// -fmad=false), so that both compute the same bits.
//
// Two forms: block<Format>(b, y) writes the block's elements; element<Format>(b, i) computes
// element i alone (a GPU thread that sums every 8th element of a row needs only its own).
// tests/quant/test_dequant_forms.cpp checks that they agree bit for bit on every element.
#pragma once

#include <cstdint>
#include <cstring>

// static: every translation unit keeps its own copy. The SIMD kernels include this header in
// files compiled with -mavx2 / -mavx512f, and one shared out-of-line copy built with those
// flags could be the one the linker keeps for baseline code (see kernels.hpp).
#if defined(__CUDACC__)
#define LOLA_DQ_HD static __host__ __device__
#else
#define LOLA_DQ_HD static
#endif

namespace lola::quant::dq {

LOLA_DQ_HD inline uint16_t load_u16(const uint8_t *p) {
    return static_cast<uint16_t>(p[0] | (p[1] << 8));
}

LOLA_DQ_HD inline uint32_t load_u32(const uint8_t *p) {
    return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
           static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

// IEEE binary16 -> float, exact. Without branches (and without a conditional float operation),
// so that loops over it vectorise: move exponent and mantissa into place and rebias the
// exponent by 127 - 15 = 112; infinities and NaNs (exponent 31) get another 112 (-> 255,
// payload kept); zeros and subnormals are man * 2^-24, computed exactly as
// (2^-14 + man * 2^-24) - 2^-14 (always from a finite normal number, whatever h is).
LOLA_DQ_HD inline float fp16_to_fp32(uint16_t h) {
    const uint32_t em = static_cast<uint32_t>(h & 0x7FFFu) << 13;
    const uint32_t exp = em & 0x0F800000u;
    const uint32_t is_special = 0u - static_cast<uint32_t>(exp == 0x0F800000u);  // all ones
    const uint32_t is_small = 0u - static_cast<uint32_t>(exp == 0);
    const uint32_t o_normal = em + (112u << 23) + (is_special & (112u << 23));
    const uint32_t t = em | (113u << 23);
    float small;
    std::memcpy(&small, &t, 4);
    small -= 0x1p-14f;
    uint32_t small_bits;
    std::memcpy(&small_bits, &small, 4);
    const uint32_t o = (o_normal & ~is_small) | (small_bits & is_small) |
                       static_cast<uint32_t>(h & 0x8000u) << 16;
    float f;
    std::memcpy(&f, &o, 4);
    return f;
}

LOLA_DQ_HD inline float bf16_to_fp32(uint16_t h) {
    const uint32_t bits = static_cast<uint32_t>(h) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

LOLA_DQ_HD inline float h2f(const uint8_t *p) { return fp16_to_fp32(load_u16(p)); }

// The 6-bit scales sc[8] and mins m[8] of a Q4_K / Q5_K super-block, from its 12 scale bytes:
//   j < 4:  sc[j] = s[j] & 63                          m[j] = s[j + 4] & 63
//   j >= 4: sc[j] = (s[j + 4] & 15) | (s[j - 4] >> 6) << 4
//           m[j]  = (s[j + 4] >> 4) | (s[j] >> 6) << 4
LOLA_DQ_HD inline void unpack_k_scales(const uint8_t *s, uint8_t *sc, uint8_t *m) {
    for (int j = 0; j < 4; ++j) {
        sc[j] = static_cast<uint8_t>(s[j] & 63);
        m[j] = static_cast<uint8_t>(s[j + 4] & 63);
    }
    for (int j = 4; j < 8; ++j) {
        sc[j] = static_cast<uint8_t>((s[j + 4] & 15) | (s[j - 4] >> 6) << 4);
        m[j] = static_cast<uint8_t>((s[j + 4] >> 4) | (s[j] >> 6) << 4);
    }
}

// The scale and min of sub-block j alone.
LOLA_DQ_HD inline void k_scale(const uint8_t *s, int j, uint8_t &sc, uint8_t &m) {
    if (j < 4) {
        sc = static_cast<uint8_t>(s[j] & 63);
        m = static_cast<uint8_t>(s[j + 4] & 63);
    } else {
        sc = static_cast<uint8_t>((s[j + 4] & 15) | (s[j - 4] >> 6) << 4);
        m = static_cast<uint8_t>((s[j + 4] >> 4) | (s[j] >> 6) << 4);
    }
}

// ---- the formulas, one per format: value of element i from its block's fields ------------

LOLA_DQ_HD inline float q8_0(float d, int8_t q) { return static_cast<float>(q) * d; }
LOLA_DQ_HD inline float q4_0(float d, int nib) { return d * static_cast<float>(nib - 8); }
LOLA_DQ_HD inline float q4_1(float d, float m, int nib) { return d * static_cast<float>(nib) + m; }
LOLA_DQ_HD inline float q5_0(float d, int q) { return d * static_cast<float>(q - 16); }
LOLA_DQ_HD inline float q5_1(float d, float m, uint32_t q) { return d * static_cast<float>(q) + m; }
LOLA_DQ_HD inline float k45(float dj, float mj, int q) { return dj * static_cast<float>(q) - mj; }
LOLA_DQ_HD inline float q6_k(float ds, int q) { return ds * static_cast<float>(q - 32); }

// Nibble i of a legacy block's 16 quant bytes (elements 0-15 low, 16-31 high).
LOLA_DQ_HD inline int nib(const uint8_t *qs, int i) { return i < 16 ? qs[i] & 15 : qs[i - 16] >> 4; }

// ---- element i of one block --------------------------------------------------------------

LOLA_DQ_HD inline float el_q8_0(const uint8_t *b, int i) {
    return q8_0(h2f(b), static_cast<int8_t>(b[2 + i]));
}
LOLA_DQ_HD inline float el_q4_0(const uint8_t *b, int i) { return q4_0(h2f(b), nib(b + 2, i)); }
LOLA_DQ_HD inline float el_q4_1(const uint8_t *b, int i) {
    return q4_1(h2f(b), h2f(b + 2), nib(b + 4, i));
}
LOLA_DQ_HD inline float el_q5_0(const uint8_t *b, int i) {
    const uint32_t qh = load_u32(b + 2);
    return q5_0(h2f(b), static_cast<int>(nib(b + 6, i) | ((qh >> i) & 1) << 4));
}
LOLA_DQ_HD inline float el_q5_1(const uint8_t *b, int i) {
    const uint32_t qh = load_u32(b + 4);
    return q5_1(h2f(b), h2f(b + 2), static_cast<uint32_t>(nib(b + 8, i)) | ((qh >> i) & 1u) << 4);
}
// Q4_K and Q5_K share everything but the fifth bit (qh == nullptr for Q4_K).
LOLA_DQ_HD inline float el_k45(const uint8_t *b, const uint8_t *qh, const uint8_t *qs, int e) {
    const int j = e / 32, l = e % 32;
    uint8_t sc, mn;
    k_scale(b + 4, j, sc, mn);
    const float dj = h2f(b) * static_cast<float>(sc);
    const float mj = h2f(b + 2) * static_cast<float>(mn);
    int v = (qs[32 * (j / 2) + l] >> (4 * (j % 2))) & 15;
    if (qh) v |= ((qh[l] >> j) & 1) << 4;
    return k45(dj, mj, v);
}
LOLA_DQ_HD inline float el_q4_k(const uint8_t *b, int e) { return el_k45(b, nullptr, b + 16, e); }
LOLA_DQ_HD inline float el_q5_k(const uint8_t *b, int e) { return el_k45(b, b + 16, b + 48, e); }
LOLA_DQ_HD inline float el_q6_k(const uint8_t *b, int e) {
    const int h = e / 128, k = (e % 128) / 32, l = e % 32;
    const uint8_t *ql = b, *qh = b + 128;
    const float ds = h2f(b + 208) * static_cast<float>(static_cast<int8_t>(b[192 + e / 16]));
    const int lo = (ql[64 * h + l + 32 * (k & 1)] >> (4 * (k >> 1))) & 15;
    const int hi = (qh[32 * h + l] >> (2 * k)) & 3;
    return q6_k(ds, lo | hi << 4);
}

// ---- a whole block (the CPU reference's form: block constants once) -----------------------

LOLA_DQ_HD inline void blk_q8_0(const uint8_t *b, float *y) {
    const float d = h2f(b);
    for (int i = 0; i < 32; ++i) y[i] = q8_0(d, static_cast<int8_t>(b[2 + i]));
}
LOLA_DQ_HD inline void blk_q4_0(const uint8_t *b, float *y) {
    const float d = h2f(b);
    for (int i = 0; i < 32; ++i) y[i] = q4_0(d, nib(b + 2, i));
}
LOLA_DQ_HD inline void blk_q4_1(const uint8_t *b, float *y) {
    const float d = h2f(b), m = h2f(b + 2);
    for (int i = 0; i < 32; ++i) y[i] = q4_1(d, m, nib(b + 4, i));
}
LOLA_DQ_HD inline void blk_q5_0(const uint8_t *b, float *y) {
    const float d = h2f(b);
    const uint32_t qh = load_u32(b + 2);
    for (int i = 0; i < 32; ++i) y[i] = q5_0(d, static_cast<int>(nib(b + 6, i) | ((qh >> i) & 1) << 4));
}
LOLA_DQ_HD inline void blk_q5_1(const uint8_t *b, float *y) {
    const float d = h2f(b), m = h2f(b + 2);
    const uint32_t qh = load_u32(b + 4);
    for (int i = 0; i < 32; ++i)
        y[i] = q5_1(d, m, static_cast<uint32_t>(nib(b + 8, i)) | ((qh >> i) & 1u) << 4);
}
LOLA_DQ_HD inline void blk_k45(const uint8_t *b, const uint8_t *qh, const uint8_t *qs, float *y) {
    const float d = h2f(b), dmin = h2f(b + 2);
    uint8_t sc[8], mn[8];
    unpack_k_scales(b + 4, sc, mn);
    for (int j = 0; j < 8; ++j) {
        const float dj = d * static_cast<float>(sc[j]);
        const float mj = dmin * static_cast<float>(mn[j]);
        const uint8_t *q = qs + 32 * (j / 2);
        const int shift = 4 * (j % 2);
        for (int l = 0; l < 32; ++l) {
            int v = (q[l] >> shift) & 15;
            if (qh) v |= ((qh[l] >> j) & 1) << 4;
            y[32 * j + l] = k45(dj, mj, v);
        }
    }
}
LOLA_DQ_HD inline void blk_q4_k(const uint8_t *b, float *y) { blk_k45(b, nullptr, b + 16, y); }
LOLA_DQ_HD inline void blk_q5_k(const uint8_t *b, float *y) { blk_k45(b, b + 16, b + 48, y); }
LOLA_DQ_HD inline void blk_q6_k(const uint8_t *b, float *y) {
    const uint8_t *ql = b, *qh = b + 128;
    const float d = h2f(b + 208);
    for (int h = 0; h < 2; ++h)
        for (int k = 0; k < 4; ++k)
            for (int g = 0; g < 2; ++g) {  // 16 elements per scale
                const int e0 = 128 * h + 32 * k + 16 * g;
                const float ds = d * static_cast<float>(static_cast<int8_t>(b[192 + e0 / 16]));
                for (int l = 16 * g; l < 16 * g + 16; ++l) {
                    const int lo = (ql[64 * h + l + 32 * (k & 1)] >> (4 * (k >> 1))) & 15;
                    const int hi = (qh[32 * h + l] >> (2 * k)) & 3;
                    y[128 * h + 32 * k + l] = q6_k(ds, lo | hi << 4);
                }
            }
}

}  // namespace lola::quant::dq
