// random_blocks.hpp: fills a weight tensor's bytes with random but valid data of any GGML type
// liblola computes with (the tiny models of tests/backend use every type): F32/F16/BF16 from a
// normal distribution times `scale`; quantized blocks with random quants and finite, small
// positive scales (fp16 fields at the offsets of each block layout, core/quant/quant.hpp).
#pragma once

#include <cstdint>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>

#include "quant/quant.hpp"

namespace lola_test {

inline void fill_random_blocks(uint32_t type, uint8_t *out, uint64_t n_elements, float scale,
                               std::mt19937_64 &rng) {
    std::normal_distribution<float> normal(0.f, 1.f);
    std::uniform_int_distribution<int> byte(0, 255);
    namespace q = lola::quant;
    if (type == q::F32 || type == q::F16 || type == q::BF16) {
        for (uint64_t j = 0; j < n_elements; ++j) {
            const float x = scale * normal(rng);
            if (type == q::F32) {
                std::memcpy(out + 4 * j, &x, 4);
            } else {
                const uint16_t h = type == q::F16 ? q::fp32_to_fp16(x) : q::fp32_to_bf16(x);
                std::memcpy(out + 2 * j, &h, 2);
            }
        }
        return;
    }
    const int64_t bs = q::block_size(type), ts = q::type_size(type);
    if (bs <= 0 || ts <= 0) throw std::invalid_argument("fill_random_blocks: type " + std::to_string(type));
    const uint64_t n_blocks = n_elements / static_cast<uint64_t>(bs);
    // Element magnitudes: about scale (the quants span ~16 or ~256 steps of d).
    const bool k_quant = bs == 256;
    std::uniform_real_distribution<float> unit(0.5f, 1.5f);
    for (uint64_t b = 0; b < n_blocks; ++b) {
        uint8_t *blk = out + b * static_cast<uint64_t>(ts);
        for (int64_t i = 0; i < ts; ++i) blk[i] = static_cast<uint8_t>(byte(rng));
        auto put_half = [&](size_t offset, float v) {
            const uint16_t h = q::fp32_to_fp16(v);
            std::memcpy(blk + offset, &h, 2);
        };
        const float d = scale * unit(rng) / (type == q::Q8_0 ? 64.f : k_quant ? 512.f : 8.f);
        if (type == q::Q6_K) {
            put_half(208, d);
        } else {
            put_half(0, d);
            if (type == q::Q4_1 || type == q::Q5_1 || k_quant) put_half(2, -d * (k_quant ? 8.f : 1.f));
        }
    }
}

}  // namespace lola_test
