// isa.hpp: the x86 instruction-set levels liblola's kernels are compiled for, and whether this
// CPU runs them. core/quant (weight products) and core/lola/simd (attention) each keep their own
// table of kernels per level and pick one at run time; the library itself is baseline x86-64.
#pragma once

namespace lola {

enum class Isa : int { scalar = 0, avx2 = 1, avx512 = 2 };
constexpr int kIsaCount = 3;

// "scalar", "avx2", "avx512" ("unknown" for anything else).
const char *isa_name(Isa isa);

// Whether this CPU (with its OS) runs the level: avx2 needs AVX2, FMA and F16C; avx512 needs
// those and AVX-512F. Scalar is always true. Says nothing about what a build compiled in.
bool cpu_supports(Isa isa);

}  // namespace lola
