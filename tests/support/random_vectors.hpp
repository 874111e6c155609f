// random_vectors.hpp: normally distributed float vectors for the tests, from a seed or from a
// generator the caller keeps drawing from.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace lola_test {

inline std::vector<float> normal_vector(size_t n, std::mt19937_64 &rng, float scale = 1.f) {
    std::normal_distribution<float> normal(0.f, scale);
    std::vector<float> v(n);
    for (float &x : v) x = normal(rng);
    return v;
}

inline std::vector<float> normal_vector(size_t n, uint64_t seed, float scale = 1.f) {
    std::mt19937_64 rng(seed);
    return normal_vector(n, rng, scale);
}

}  // namespace lola_test
