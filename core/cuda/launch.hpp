// launch.hpp: the host entry points of the CUDA kernels (core/cuda/*.cu), for the CUDA backend
// and the device check. Only compiled where LOLA_ENABLE_CUDA is on; every call returns CUDA's
// status and never throws.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "cuda/k_elementwise.hpp"
#include "cuda/k_feature_map.hpp"
#include "cuda/k_lola_decode.hpp"
#include "cuda/k_lola_state.hpp"
#include "cuda/k_matvec_exact.hpp"

namespace lola::cuda {

// Y = W X^T for n_tokens tokens on `stream` (args' pointers are device pointers), exact tier:
// bit-identical to the CPU scalar kernels and to k::matmul_emulated.
cudaError_t launch_matmul_exact(const k::MatmulArgs &args, int64_t n_tokens, cudaStream_t stream);

// The element-wise ops of k_elementwise.hpp: n rows (tokens) for the row ops.
cudaError_t launch_embed(const k::EmbedArgs &a, int64_t n, cudaStream_t stream);
cudaError_t launch_rms_norm(const k::RmsNormArgs &a, int64_t n, cudaStream_t stream);
cudaError_t launch_rope(const k::RopeArgs &a, int64_t n, cudaStream_t stream);
cudaError_t launch_swiglu(const k::SwigluArgs &a, cudaStream_t stream);
cudaError_t launch_add(const k::AddArgs &a, cudaStream_t stream);

// The features (and log-scales) of n vectors (k_feature_map.hpp).
cudaError_t launch_features(const k::FeatureArgs &a, int64_t n, cudaStream_t stream);

// LoLA attention of a.n_tokens tokens (1: decode; more: a run of one chunk, the chunked
// prefill) for n_state_heads state heads (a.heads, every pointer in it and a.scratch on the
// device; scratch: n_state_heads * a.n_tokens * decode_scratch_floats(a)).
cudaError_t launch_lola_decode(const k::DecodeArgs &a, int64_t n_state_heads, cudaStream_t stream);

// A token's pair into W_cur of every state head, and the chunk boundary of every state head
// (k_lola_state.hpp; HeadViews, their arrays and a.scratch on the device).
cudaError_t launch_append(const k::AppendArgs &a, int64_t n_state_heads, cudaStream_t stream);
cudaError_t launch_boundary(const k::StateArgs &a, int64_t n_state_heads, cudaStream_t stream);

}  // namespace lola::cuda
