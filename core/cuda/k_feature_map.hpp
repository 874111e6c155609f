// k_feature_map.hpp: the exact tier's feature maps phi (lola/feature_map.cpp, float), one body
// for the device and the emulation (simt.hpp). Each block maps one vector x (a query or key
// head of a token) to its scaled features f (and the log-scale c, phi = e^c f):
//   hedgehog   z = x^T W (i ascending), f = max(concat(softmax(z), softmax(-z)), 1e-12), c = 0
//   performer  l_i = dot(omega_i, x) * d^(-1/4) - (dot(x, x) * d^(-1/2)) / 2 - log(F) / 2,
//              c = max_i l_i, f_i = fexp(l_i - c)
//   elu1       x > 0 ? x + 1 : fexp(x)          relu   x > 0 ? x : 0
// with softmax's max in index order, its sum in index order and one division per element,
// exactly as the CPU. Threads take the F (or F/2) outputs; the reductions are one thread's.
#pragma once

#include <cmath>
#include <cstdint>

#include "base/fexp.hpp"
#include "cuda/simt.hpp"
#include "lola/math.hpp"

namespace lola::cuda::k {

constexpr int kFeatureThreads = 64;

enum FeatureKind : int { kHedgehog = 0, kPerformer = 1, kElu1 = 2, kRelu = 3 };

struct FeatureArgs {
    int kind = kPerformer;
    int d = 0, F = 0;
    const float *x = nullptr;        // vector b at x + (x_index ? x_index[b] : b) * x_stride
    int64_t x_stride = 0;
    const int32_t *x_index = nullptr;
    const int32_t *map_head = nullptr;  // hedgehog: the query/key head whose W each vector uses
    const float *w = nullptr;        // hedgehog: [n_heads][d][F/2] (the query or the key maps)
    const float *omega = nullptr;    // performer: [F][d]
    float x_scale = 1, log_norm = 0;
    float *f = nullptr;              // [n][F]
    float *c = nullptr;              // [n] log-scales
};

LOLA_HD inline float fmax_std(float a, float b) { return a < b ? b : a; }  // std::max(a, b)

// softmax of sign * z[0..n) into out (out may be z), as feature_map.cpp's softmax_into.
LOLA_HD inline void softmax_signed(const float *z, int n, float sign, float *out) {
    float m = sign * z[0];
    for (int i = 1; i < n; ++i) m = fmax_std(m, sign * z[i]);
    float sum = 0;
    for (int i = 0; i < n; ++i) {
        out[i] = fexp(sign * z[i] - m);
        sum += out[i];
    }
    for (int i = 0; i < n; ++i) out[i] /= sum;
}

LOLA_HD inline void feature_block(int64_t b, const FeatureArgs &a) {
    const float *x = a.x + (a.x_index ? static_cast<int64_t>(a.x_index[b]) : b) * a.x_stride;
    float *f = a.f + b * a.F;
    const int d = a.d, F = a.F;
    switch (a.kind) {
    case kHedgehog: {
        const int half = F / 2;
        const float *w = a.w + static_cast<int64_t>(a.map_head[b]) * d * half;
        float *z = f + half;
        LOLA_FOR_THREADS(j, half) {
            float acc = 0;
            for (int i = 0; i < d; ++i) acc += x[i] * w[static_cast<int64_t>(i) * half + j];
            z[j] = acc;
        }
        LOLA_SYNC();
        LOLA_FOR_THREADS(t, 1) {
            softmax_signed(z, half, 1.0f, f);
            softmax_signed(z, half, -1.0f, z);  // in place: element i is read before written
            for (int j = 0; j < F; ++j) f[j] = fmax_std(f[j], 1e-12f);
            a.c[b] = 0;
        }
        break;
    }
    case kPerformer: {
        LOLA_FOR_THREADS(i, F) {
            const float sq = dot(x, x, d) * a.x_scale * a.x_scale;
            f[i] = dot(a.omega + static_cast<int64_t>(i) * d, x, d) * a.x_scale - sq / 2 + a.log_norm;
        }
        LOLA_SYNC();
        LOLA_FOR_THREADS(t, 1) {
            float c = -INFINITY;
            for (int i = 0; i < F; ++i) c = fmax_std(c, f[i]);
            a.c[b] = c;
        }
        LOLA_SYNC();
        LOLA_FOR_THREADS(i, F) f[i] = fexp(f[i] - a.c[b]);
        break;
    }
    case kElu1:
        LOLA_FOR_THREADS(i, F) f[i] = x[i] > 0 ? x[i] + 1 : fexp(x[i]);
        LOLA_FOR_THREADS(t, 1) a.c[b] = 0;
        break;
    default:  // kRelu
        LOLA_FOR_THREADS(i, F) f[i] = x[i] > 0 ? x[i] : 0.0f;
        LOLA_FOR_THREADS(t, 1) a.c[b] = 0;
        break;
    }
}

inline void feature_emulated(const FeatureArgs &a, int64_t n) {
    struct None {};
    emulate_launch<None>(n, [&a](int64_t b, None &) { feature_block(b, a); });
}

}  // namespace lola::cuda::k
