// isa.cpp: see isa.hpp.
#include "base/isa.hpp"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#endif

namespace lola {

const char *isa_name(Isa isa) {
    switch (isa) {
    case Isa::scalar: return "scalar";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
    }
    return "unknown";
}

bool cpu_supports(Isa isa) {
    if (isa == Isa::scalar) return true;
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
    // __builtin_cpu_supports also checks that the OS saves the AVX / AVX-512 registers. F16C
    // (which every AVX2 CPU has) is read from CPUID leaf 1, ECX bit 29: older Clang does not
    // know the "f16c" feature name.
    __builtin_cpu_init();
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    const bool f16c = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 29)) != 0;
    const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && f16c;
    if (isa == Isa::avx2) return avx2;
    if (isa == Isa::avx512) return avx2 && __builtin_cpu_supports("avx512f");
#endif
    return false;
}

}  // namespace lola
