// ops.cpp: see ops.hpp.
#include "cpu/ops.hpp"

#include "base/fexp.hpp"
#include "base/lanes.hpp"

#include <cmath>

namespace lola::cpu {

double sum_squares(const float *x, int64_t n) {
    // Element i goes to lane i % 32 and the lanes meet in one fixed tree: the order a warp of
    // 32 threads sums them in, so that a GPU backend computes the same bits.
    double lanes[kRmsLanes] = {};
    for (int64_t i = 0; i < n; ++i) lanes[i % kRmsLanes] += static_cast<double>(x[i]) * x[i];
    return halving_sum<kRmsLanes>(lanes);
}

void rms_norm(const float *x, const float *w, float eps, int64_t n, int64_t E, float *out) {
    for (int64_t t = 0; t < n; ++t) {
        const float *row = x + t * E;
        const double ss = sum_squares(row, E);
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

void rope_table(int64_t pos0, int64_t n, const std::vector<float> &inv_freq, float *table) {
    const size_t half = inv_freq.size();
    for (int64_t t = 0; t < n; ++t) {
        const double pos = static_cast<double>(pos0 + t);
        float *row = table + static_cast<size_t>(t) * half * 2;
        for (size_t i = 0; i < half; ++i) {
            const double angle = pos * inv_freq[i];
            row[2 * i] = static_cast<float>(std::cos(angle));
            row[2 * i + 1] = static_cast<float>(std::sin(angle));
        }
    }
}

void rope_apply(float *x, int64_t n, int64_t n_heads, int64_t head_dim, const float *table) {
    const int64_t half = head_dim / 2;
    for (int64_t t = 0; t < n; ++t) {
        const float *row = table + t * half * 2;
        for (int64_t h = 0; h < n_heads; ++h) {
            float *p = x + (t * n_heads + h) * head_dim;
            for (int64_t i = 0; i < half; ++i) {
                const float c = row[2 * i], s = row[2 * i + 1];
                const float x0 = p[2 * i], x1 = p[2 * i + 1];
                p[2 * i] = x0 * c - x1 * s;
                p[2 * i + 1] = x0 * s + x1 * c;
            }
        }
    }
}

void rope(float *x, int64_t n, int64_t n_heads, int64_t head_dim, int64_t pos0,
          const std::vector<float> &inv_freq) {
    std::vector<float> table(static_cast<size_t>(n) * inv_freq.size() * 2);
    rope_table(pos0, n, inv_freq, table.data());
    rope_apply(x, n, n_heads, head_dim, table.data());
}

void swiglu(float *gate, const float *up, size_t n) {
    for (size_t i = 0; i < n; ++i) {
        const float g = gate[i];
        gate[i] = g / (1.f + fexp(-g)) * up[i];  // fexp: the same bits on every backend
    }
}

void add(float *x, const float *y, size_t n) {
    for (size_t i = 0; i < n; ++i) x[i] += y[i];
}

}  // namespace lola::cpu
