// ops.hpp: the CPU reference of the forward pass's element-wise ops (the CPU backend runs
// them; other backends are compared with them by tests/backend/). Plain loops, fixed order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace lola::cpu {

// out[t] = x[t] / rms(x[t]) * w for n rows of length E (the sum of squares in double).
void rms_norm(const float *x, const float *w, float eps, int64_t n, int64_t E, float *out);

// The RoPE frequencies theta_i = base^(-2i/d) * scale / factor_i for i < d/2 (factors may be
// empty).
std::vector<float> rope_inv_freq(float freq_base, float freq_scale,
                                 const std::vector<float> &freq_factors, int64_t head_dim);

// RoPE on adjacent pairs (x[2i], x[2i+1]) (how GGUF stores Llama q and k) of n rows of n_heads
// heads of head_dim, row t at position pos0 + t.
void rope(float *x, int64_t n, int64_t n_heads, int64_t head_dim, int64_t pos0,
          const std::vector<float> &inv_freq);

// gate[i] = silu(gate[i]) * up[i].
void swiglu(float *gate, const float *up, size_t n);

// x[i] += y[i].
void add(float *x, const float *y, size_t n);

}  // namespace lola::cpu
