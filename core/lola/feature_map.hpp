// feature_map.hpp: the feature maps phi of the linear-attention state (spec, "Feature maps").
//
// A feature vector is returned in scaled form: phi(x) = exp(c) * f, with f written to `out`
// and the log-scale c returned. Only the performer map, whose features are exponentials that
// overflow float32 for large inputs, has c != 0 (c = the largest log-feature, so max f = 1);
// for hedgehog, elu1 and relu c = 0 and f is phi(x) itself, bit for bit.
#pragma once

#include <vector>

#include "lola/config.hpp"

namespace lola {

namespace simd {
struct Kernels;
}

template <class T>
class FeatureMap {
public:
    explicit FeatureMap(const LayerConfig &config);  // config must be validated

    int dim() const { return F_; }

    // The map's parameters as plain arrays (for the GPU kernels, which copy them to the device
    // and compute apply() with the same arithmetic: core/cuda/k_feature_map.hpp).
    struct View {
        FeatureMapKind kind;
        int d, F;
        const T *wq, *wk;   // hedgehog: [n_heads][d][F/2], else null
        const T *omega;     // performer: [F][d], else null
        T x_scale, log_norm;
    };
    View view() const {
        return View{kind_, d_, F_, wq_.empty() ? nullptr : wq_.data(), wk_.empty() ? nullptr : wk_.data(),
                    omega_.empty() ? nullptr : omega_.data(), x_scale_, log_norm_};
    }

    // phi_q (is_query) or phi_k of x (length head_dim) for query head `head` into out[F];
    // returns the log-scale c. Not for FeatureMapKind::precomputed. With `kernels` (a float map),
    // hedgehog and performer run their products and e^x through lola/simd: the same bits.
    T apply(int head, bool is_query, const T *x, T *out, const simd::Kernels *kernels = nullptr) const;

private:
    FeatureMapKind kind_;
    int d_, F_;
    std::vector<T> wq_, wk_;   // hedgehog: [n_heads][d][F/2]
    std::vector<T> omega_;     // performer: [F][d]
    T x_scale_ = 1;            // performer: d^(-1/4)
    T log_norm_ = 0;           // performer: -log(F)/2
};

extern template class FeatureMap<float>;
extern template class FeatureMap<double>;

}  // namespace lola
