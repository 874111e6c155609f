// fnv.hpp: 64-bit FNV-1a, the one hash behind liblola's fingerprints (layer configurations,
// models, adapters). Not cryptographic: it tells apart objects that differ by accident, which is
// what a state blob's "made by another model" check needs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace lola {

struct Fnv {
    uint64_t h = 1469598103934665603ull;
    void bytes(const void *p, size_t n) {
        const auto *b = static_cast<const unsigned char *>(p);
        for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ull;
    }
    template <class V>
    void value(const V &v) { bytes(&v, sizeof v); }
    void doubles(const std::vector<double> &v) {
        value(v.size());
        if (!v.empty()) bytes(v.data(), v.size() * sizeof(double));
    }
};

}  // namespace lola
