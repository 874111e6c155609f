// feature_map.cpp: hedgehog, performer, elu1 and relu (spec, "Feature maps").
#include "lola/feature_map.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "lola/math.hpp"
#include "lola/primitives.hpp"
#include "lola/simd/kernels.hpp"
#include "base/random.hpp"

namespace lola {

namespace {

// Rows of a performer projection: i.i.d. N(0, 1), or, with `orthogonal`, blocks of up to d
// mutually orthogonal rows (Gram-Schmidt) each rescaled to the norm of a fresh Gaussian d-vector,
// so that every row keeps the N(0, I) marginal the unbiased estimator needs.
std::vector<double> performer_projection(int F, int d, uint64_t seed, bool orthogonal) {
    NormalStream normal(seed);
    std::vector<double> omega(static_cast<size_t>(F) * d);
    for (double &w : omega) w = normal.next();
    if (!orthogonal) return omega;
    for (int block = 0; block < F; block += d) {
        const int rows = std::min(d, F - block);
        for (int r = block; r < block + rows; ++r) {
            double *row = &omega[static_cast<size_t>(r) * d];
            for (int p = block; p < r; ++p) {
                const double *prev = &omega[static_cast<size_t>(p) * d];
                const double proj = dot(row, prev, d);
                for (int i = 0; i < d; ++i) row[i] -= proj * prev[i];
            }
            double norm = std::sqrt(dot(row, row, d));
            if (norm == 0) norm = 1;
            for (int i = 0; i < d; ++i) row[i] /= norm;
        }
        for (int r = block; r < block + rows; ++r) {
            double chi2 = 0;
            for (int i = 0; i < d; ++i) {
                const double g = normal.next();
                chi2 += g * g;
            }
            const double len = std::sqrt(chi2);
            for (int i = 0; i < d; ++i) omega[static_cast<size_t>(r) * d + i] *= len;
        }
    }
    return omega;
}

template <class T>
void softmax_into(const T *z, int n, T sign, T *out) {
    T m = sign * z[0];
    for (int i = 1; i < n; ++i) m = std::max(m, sign * z[i]);
    T sum = 0;
    for (int i = 0; i < n; ++i) {
        out[i] = exp_of(sign * z[i] - m);
        sum += out[i];
    }
    for (int i = 0; i < n; ++i) out[i] /= sum;
}

}  // namespace

template <class T>
FeatureMap<T>::FeatureMap(const LayerConfig &c)
    : kind_(c.feature_map), d_(c.head_dim), F_(c.feature_dim) {
    if (kind_ == FeatureMapKind::hedgehog) {
        wq_.assign(c.hedgehog_q.begin(), c.hedgehog_q.end());
        wk_.assign(c.hedgehog_k.begin(), c.hedgehog_k.end());
    } else if (kind_ == FeatureMapKind::performer) {
        const std::vector<double> omega =
            performer_projection(F_, d_, c.seed, c.performer_orthogonal);
        omega_.assign(omega.begin(), omega.end());
        x_scale_ = static_cast<T>(std::pow(static_cast<double>(d_), -0.25));
        log_norm_ = static_cast<T>(-0.5 * std::log(static_cast<double>(F_)));
    }
}

// The float hedgehog and performer maps through the SIMD kernels, each step the reference's
// operations in its order (see the generic code below): z by accumulation of the rows of W in
// order (= the axpy chain), the dots as 8-lane scores (dot(w, x) = dot(x, w) bit for bit), the
// maxima, e^x, and the softmax sums in order.
float hedgehog_simd(const simd::Kernels &k, const float *w, int d, int F, const float *x, float *out) {
    const int half = F / 2;
    float *z = out + half;  // as below: the second half is overwritten last
    std::fill(z, z + half, 0.0f);
    k.accumulate(1, d, half, x, static_cast<size_t>(d), w, static_cast<size_t>(half), z, static_cast<size_t>(half));
    for (float sign : {1.0f, -1.0f}) {
        float *dst = sign > 0 ? out : z;  // in place for the second: z is consumed first
        for (int j = 0; j < half; ++j) dst[j] = sign * z[j];
        const float m = k.row_max(dst, half);
        k.exp_shift(dst, half, m);
        float sum = 0;
        sums_in_order(dst, static_cast<size_t>(half), 1, half, 0, &sum);
        for (int j = 0; j < half; ++j) dst[j] /= sum;
    }
    for (int j = 0; j < F; ++j) out[j] = std::max(out[j], 1e-12f);
    return 0;
}

template <class T>
T FeatureMap<T>::apply(int head, bool is_query, const T *x, T *out, const simd::Kernels *kernels) const {
    if constexpr (std::is_same_v<T, float>) {
        if (kernels && kind_ == FeatureMapKind::hedgehog) {
            const int half = F_ / 2;
            const T *w = (is_query ? wq_ : wk_).data() + static_cast<size_t>(head) * d_ * half;
            return hedgehog_simd(*kernels, w, d_, F_, x, out);
        }
        if (kernels && kind_ == FeatureMapKind::performer) {
            const T sq = dot(x, x, d_) * x_scale_ * x_scale_;
            kernels->scores(1, F_, d_, 1.0f, x, static_cast<size_t>(d_), omega_.data(), static_cast<size_t>(d_), out,
                            static_cast<size_t>(F_));
            for (int i = 0; i < F_; ++i) out[i] = out[i] * x_scale_ - sq / 2 + log_norm_;
            const T c = kernels->row_max(out, F_);
            kernels->exp_shift(out, F_, c);
            return c;
        }
    }
    switch (kind_) {
        case FeatureMapKind::hedgehog: {
            // z = x^T W_h (W_h: d x F/2); phi = max(concat(softmax(z), softmax(-z)), 1e-12)
            const int half = F_ / 2;
            const T *w = (is_query ? wq_ : wk_).data() + static_cast<size_t>(head) * d_ * half;
            T *z = out + half;  // scratch: the second half is overwritten last
            for (int j = 0; j < half; ++j) z[j] = 0;
            for (int i = 0; i < d_; ++i) axpy(x[i], w + static_cast<size_t>(i) * half, z, half);
            softmax_into(z, half, T(1), out);
            softmax_into(z, half, T(-1), z);  // in place: element i is read before written
            for (int j = 0; j < F_; ++j) out[j] = std::max(out[j], T(1e-12));
            return 0;
        }
        case FeatureMapKind::performer: {
            // log phi_i = omega_i.x' - |x'|^2/2 - log(F)/2 with x' = x d^(-1/4)
            const T sq = dot(x, x, d_) * x_scale_ * x_scale_;
            T c = -std::numeric_limits<T>::infinity();
            for (int i = 0; i < F_; ++i) {
                out[i] = dot(omega_.data() + static_cast<size_t>(i) * d_, x, d_) * x_scale_ -
                         sq / 2 + log_norm_;
                c = std::max(c, out[i]);
            }
            for (int i = 0; i < F_; ++i) out[i] = exp_of(out[i] - c);
            return c;
        }
        case FeatureMapKind::elu1:
            for (int i = 0; i < F_; ++i) out[i] = x[i] > 0 ? x[i] + 1 : exp_of(x[i]);
            return 0;
        case FeatureMapKind::relu:
            for (int i = 0; i < F_; ++i) out[i] = x[i] > 0 ? x[i] : T(0);
            return 0;
        case FeatureMapKind::precomputed:
            break;
    }
    return 0;
}

template class FeatureMap<float>;
template class FeatureMap<double>;

}  // namespace lola
