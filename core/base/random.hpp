// random.hpp: portable seeded randomness (the standard library's distributions differ between
// implementations, which would make performer features and random scores platform-dependent).
#pragma once

#include <cmath>
#include <cstdint>

// splitmix64 and hash_uniform are also GPU code (the random scoring policy): host and device
// under nvcc.
#if defined(__CUDACC__)
#define LOLA_RANDOM_HD __host__ __device__
#else
#define LOLA_RANDOM_HD
#endif

namespace lola {

// SplitMix64 step: a well-mixed 64-bit value from a counter-like state.
LOLA_RANDOM_HD inline uint64_t splitmix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

// Uniform double in [0, 1) from a hash of (a, b, c).
LOLA_RANDOM_HD inline double hash_uniform(uint64_t a, uint64_t b, uint64_t c) {
    const uint64_t h = splitmix64(splitmix64(splitmix64(a) ^ b) ^ c);
    return static_cast<double>(h >> 11) * (1.0 / 9007199254740992.0);
}

// A seeded stream of standard normal doubles (Box-Muller on SplitMix64 uniforms).
class NormalStream {
public:
    explicit NormalStream(uint64_t seed) : state_(seed) {}
    double next() {
        if (has_spare_) {
            has_spare_ = false;
            return spare_;
        }
        double u1 = 0;
        while (u1 <= 0) u1 = uniform();
        const double u2 = uniform();
        const double r = std::sqrt(-2.0 * std::log(u1));
        const double t = 6.283185307179586476925 * u2;
        spare_ = r * std::sin(t);
        has_spare_ = true;
        return r * std::cos(t);
    }

private:
    double uniform() {
        state_ += 0x9E3779B97F4A7C15ull;
        return static_cast<double>(splitmix64(state_) >> 11) * (1.0 / 9007199254740992.0);
    }
    uint64_t state_;
    double spare_ = 0;
    bool has_spare_ = false;
};

}  // namespace lola
