// kernels.cpp: the runtime choice of the attention kernels' level (see kernels.hpp).
#include "lola/simd/kernels.hpp"

#include <initializer_list>

namespace lola::simd {

namespace {

struct Table {
    Kernels level[kIsaCount] = {};
    bool available[kIsaCount] = {};
    Isa best = Isa::scalar;
    Table() {
        level[static_cast<int>(Isa::avx2)] = detail::avx2_kernels();
        level[static_cast<int>(Isa::avx512)] = detail::avx512_kernels();
        for (Isa isa : {Isa::avx2, Isa::avx512}) {
            const int l = static_cast<int>(isa);
            available[l] = level[l].scores && cpu_supports(isa);
            if (available[l]) best = isa;
        }
    }
};

const Table &table() {
    static const Table t;  // chosen once, on first use
    return t;
}

}  // namespace

const Kernels *kernels(Isa isa) {
    const int l = static_cast<int>(isa);
    if (l <= 0 || l >= kIsaCount || !table().available[l]) return nullptr;
    return &table().level[l];
}

Isa best_isa() { return table().best; }

}  // namespace lola::simd
