// lanes.hpp: the fixed reduction tree of lane sums, shared by CPU and GPU code.
//
// halving_sum<N> adds lane l + N/2 into lane l, then l + N/4, ... down to one value: exactly
// the order of a butterfly (xor-shuffle) reduction across N threads, so a sum split into lanes
// the same way gives the same bits on a CPU and in a GPU warp.
#pragma once

#if defined(__CUDACC__)
#define LOLA_LANES_HD __host__ __device__
#else
#define LOLA_LANES_HD
#endif

namespace lola {

template <int N, class T>
LOLA_LANES_HD inline T halving_sum(T *lanes) {
    static_assert(N > 0 && (N & (N - 1)) == 0, "halving_sum: N must be a power of two");
    for (int width = N / 2; width > 0; width /= 2)
        for (int l = 0; l < width; ++l) lanes[l] = lanes[l] + lanes[l + width];
    return lanes[0];
}

}  // namespace lola
