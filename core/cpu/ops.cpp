// ops.cpp: see ops.hpp.
#include "cpu/ops.hpp"

#include <cmath>

namespace lola::cpu {

void rms_norm(const float *x, const float *w, float eps, int64_t n, int64_t E, float *out) {
    for (int64_t t = 0; t < n; ++t) {
        const float *row = x + t * E;
        double ss = 0;
        for (int64_t i = 0; i < E; ++i) ss += static_cast<double>(row[i]) * row[i];
        const float scale = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(E) + eps));
        for (int64_t i = 0; i < E; ++i) out[t * E + i] = row[i] * scale * w[i];
    }
}

std::vector<float> rope_inv_freq(float freq_base, float freq_scale,
                                 const std::vector<float> &freq_factors, int64_t head_dim) {
    const int64_t half = head_dim / 2;
    std::vector<float> inv_freq(static_cast<size_t>(half));
    for (int64_t i = 0; i < half; ++i) {
        double f = std::pow(static_cast<double>(freq_base),
                            -2.0 * static_cast<double>(i) / static_cast<double>(head_dim));
        f *= freq_scale;
        if (!freq_factors.empty()) f /= freq_factors[static_cast<size_t>(i)];
        inv_freq[static_cast<size_t>(i)] = static_cast<float>(f);
    }
    return inv_freq;
}

void rope(float *x, int64_t n, int64_t n_heads, int64_t head_dim, int64_t pos0,
          const std::vector<float> &inv_freq) {
    const int64_t half = head_dim / 2;
    for (int64_t t = 0; t < n; ++t) {
        const double pos = static_cast<double>(pos0 + t);
        for (int64_t i = 0; i < half; ++i) {
            const double angle = pos * inv_freq[static_cast<size_t>(i)];
            const float c = static_cast<float>(std::cos(angle)), s = static_cast<float>(std::sin(angle));
            for (int64_t h = 0; h < n_heads; ++h) {
                float *p = x + (t * n_heads + h) * head_dim + 2 * i;
                const float x0 = p[0], x1 = p[1];
                p[0] = x0 * c - x1 * s;
                p[1] = x0 * s + x1 * c;
            }
        }
    }
}

void swiglu(float *gate, const float *up, size_t n) {
    for (size_t i = 0; i < n; ++i) {
        const float g = gate[i];
        gate[i] = g / (1.f + std::exp(-g)) * up[i];
    }
}

void add(float *x, const float *y, size_t n) {
    for (size_t i = 0; i < n; ++i) x[i] += y[i];
}

}  // namespace lola::cpu
