// dot_scalar.cpp: the portable kernels, one for every type the ggml type table marks supported
// (tests/quant checks it). Each block (or chunk of 256 plain values) is dequantized by the
// reference code into a buffer, then multiplied into 8 lanes per token (element i goes to lane
// i % 8) that are reduced by one fixed tree at the end.
#include <algorithm>

#include "quant/kernels.hpp"

namespace lola::quant::detail {

namespace {

constexpr int kLanes = 8;
constexpr int kTokens = 4;  // tokens per multi() call
static_assert(kTokens <= kMaxGroup);
constexpr int64_t kPlainChunk = 256;  // plain types are processed 256 values at a time

// The elements and bytes the reference dequantizes at once: a block, or 256 plain values.
template <int64_t E, int64_t B>
struct Chunk {
    static constexpr int64_t elems = E, bytes = B;
};
template <uint32_t T>
struct Chunking;
template <> struct Chunking<F32> : Chunk<kPlainChunk, 4 * kPlainChunk> {};
template <> struct Chunking<F16> : Chunk<kPlainChunk, 2 * kPlainChunk> {};
template <> struct Chunking<BF16> : Chunk<kPlainChunk, 2 * kPlainChunk> {};
template <> struct Chunking<Q8_0> : Chunk<kQK, sizeof(BlockQ8_0)> {};
template <> struct Chunking<Q4_0> : Chunk<kQK, sizeof(BlockQ4_0)> {};
template <> struct Chunking<Q4_1> : Chunk<kQK, sizeof(BlockQ4_1)> {};
template <> struct Chunking<Q5_0> : Chunk<kQK, sizeof(BlockQ5_0)> {};
template <> struct Chunking<Q5_1> : Chunk<kQK, sizeof(BlockQ5_1)> {};
template <> struct Chunking<Q4_K> : Chunk<kQK_K, sizeof(BlockQ4_K)> {};
template <> struct Chunking<Q5_K> : Chunk<kQK_K, sizeof(BlockQ5_K)> {};
template <> struct Chunking<Q6_K> : Chunk<kQK_K, sizeof(BlockQ6_K)> {};

template <uint32_t T>
void multi(const void *row, const float *X, int64_t ldx, int nt, float *out, int64_t n) {
    constexpr int64_t kElems = Chunking<T>::elems, kBytes = Chunking<T>::bytes;
    float buf[kElems];
    float acc[kTokens][kLanes] = {};
    const auto *src = static_cast<const uint8_t *>(row);
    for (int64_t i0 = 0; i0 < n; i0 += kElems, src += kBytes) {
        const int64_t len = std::min(kElems, n - i0);
        dequantize_ref(T, src, buf, len);
        for (int t = 0; t < nt; ++t) {
            const float *x = X + t * ldx + i0;
            float *a = acc[t];
            int64_t j = 0;
            for (; j + kLanes <= len; j += kLanes)
                for (int l = 0; l < kLanes; ++l) a[l] += buf[j + l] * x[j + l];
            for (int l = 0; j < len; ++j, ++l) a[l] += buf[j] * x[j];
        }
    }
    for (int t = 0; t < nt; ++t) {
        const float *a = acc[t];
        out[t] = ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]));
    }
}

template <uint32_t T>
float dot(const void *row, const float *x, int64_t n) {
    float out;
    multi<T>(row, x, 0, 1, &out, n);
    return out;
}

template <uint32_t T>
Kernel make() {
    return Kernel{dot<T>, multi<T>, kTokens};
}

}  // namespace

Kernel scalar_kernel(uint32_t type) {
    switch (type) {
    case F32: return make<F32>();
    case F16: return make<F16>();
    case BF16: return make<BF16>();
    case Q8_0: return make<Q8_0>();
    case Q4_0: return make<Q4_0>();
    case Q4_1: return make<Q4_1>();
    case Q5_0: return make<Q5_0>();
    case Q5_1: return make<Q5_1>();
    case Q4_K: return make<Q4_K>();
    case Q5_K: return make<Q5_K>();
    case Q6_K: return make<Q6_K>();
    default: return Kernel{};
    }
}

}  // namespace lola::quant::detail
