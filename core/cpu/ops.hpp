// ops.hpp: the CPU reference of the forward pass's element-wise ops (the CPU backend runs
// them; other backends are compared with them by tests/backend/). Plain loops, fixed order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace lola::cpu {

// Lanes of rms_norm's sum of squares (see ops.cpp): a warp.
constexpr int kRmsLanes = 32;

// sum_i x[i]^2 in double: element i in lane i % kRmsLanes, the lanes reduced by halving_sum.
double sum_squares(const float *x, int64_t n);

// out[t] = x[t] / rms(x[t]) * w for n rows of length E (sum_squares of the row).
void rms_norm(const float *x, const float *w, float eps, int64_t n, int64_t E, float *out);

// The RoPE frequencies theta_i = base^(-2i/d) * scale / factor_i for i < d/2 (factors may be
// empty).
std::vector<float> rope_inv_freq(float freq_base, float freq_scale,
                                 const std::vector<float> &freq_factors, int64_t head_dim);

// The rotation table of n positions from pos0: table[t][i] = (cos, sin) of (pos0 + t) *
// inv_freq[i], computed in double and rounded to float, on the host for every backend (so
// that no backend's own cos/sin decides a bit). n * inv_freq.size() * 2 floats.
void rope_table(int64_t pos0, int64_t n, const std::vector<float> &inv_freq, float *table);

// RoPE on adjacent pairs (x[2i], x[2i+1]) (how GGUF stores Llama q and k) of n rows of n_heads
// heads of head_dim, row t rotated by table row t (from rope_table).
void rope_apply(float *x, int64_t n, int64_t n_heads, int64_t head_dim, const float *table);

// rope_table + rope_apply for row t at position pos0 + t (allocates the table).
void rope(float *x, int64_t n, int64_t n_heads, int64_t head_dim, int64_t pos0,
          const std::vector<float> &inv_freq);

// gate[i] = silu(gate[i]) * up[i].
void swiglu(float *gate, const float *up, size_t n);

// x[i] += y[i].
void add(float *x, const float *y, size_t n);

}  // namespace lola::cpu
