// kernels.hpp: internal to core/quant. The kernel tables of each instruction-set level.
//
// The SIMD levels share one body, dot_simd.inl, compiled once per level by its own translation
// unit (dot_avx2.cpp, dot_avx512.cpp) with per-file -m flags, and are only called after the
// runtime CPU check in quant.cpp. Those files must not instantiate any inline function or
// template with external linkage that a baseline file also instantiates (the linker keeps one
// copy, which could then be the AVX one): they use intrinsics, their own anonymous-namespace
// code and the `static inline` helpers below (and never call gguf/tensor_type.hpp's inline
// type_traits overload, which quant.hpp brings in; `nm` on their objects lists only the
// *_kernel entry points).
#pragma once

#include <cstdint>

#include "quant/quant.hpp"
#include "quant/dequant.hpp"

namespace lola::quant::detail {

// A plain aggregate (no constructors that a SIMD file could emit); Kernel{} is all null.
struct Kernel {
    DotFn dot;
    DotMultiFn multi;
    int max_tokens;  // the most tokens `multi` takes at once, 1 <= max_tokens <= kMaxGroup
};

constexpr int kMaxGroup = 8;

// Each returns the level's kernels for a type ({nullptr, nullptr} when the type is unsupported
// or the level is not compiled in, e.g. on a non-x86 build). They do not check the CPU.
Kernel scalar_kernel(uint32_t type);
Kernel avx2_kernel(uint32_t type);
Kernel avx512_kernel(uint32_t type);

// The reference dequantization of n elements (n a multiple of the block size, unchecked);
// false, writing nothing, for a type it has no code for.
bool dequantize_ref(uint32_t type, const uint8_t *src, float *dst, int64_t n);

// Byte loads and the K-quant scale unpacking: dequant.hpp's, shared with the GPU kernels.
using dq::load_u16;
using dq::load_u32;
using dq::unpack_k_scales;

}  // namespace lola::quant::detail
