// head_common.cpp: the pieces the token step and the chunked prefill share: appending pairs to
// the window, query features, and the output mixing (spec, "Output mixing").
#include <algorithm>
#include <cmath>
#include <limits>

#include "lola/head.hpp"
#include "lola/math.hpp"

namespace lola {

template <class T>
void append_segment(const HeadParams<T> &p, HeadState<T> &st, const Segment<T> &seg,
                    Scratch<T> &scratch) {
    const bool need_features = p.linear;
    if (need_features) scratch.feat.resize(p.F);
    for (int t = 0; t < seg.n; ++t) {
        const T *k = seg.k + t * seg.kv_stride;
        const T *v = seg.v + t * seg.kv_stride;
        const T *f = nullptr;
        T f_log = 0;
        if (need_features) {
            if (seg.fk) {
                f = seg.fk + t * seg.fk_stride;
            } else {
                f_log = p.phi->apply(p.first_query_head, false, k, scratch.feat.data(), p.kernels);
                f = scratch.feat.data();
            }
        }
        st.cur.push(seg.pos0 + t, k, v, f, f_log, T(0));
    }
}

template <class T>
T query_features(const HeadParams<T> &p, int head, const T *q, const T *fq_row, T *out) {
    if (fq_row) {
        std::copy(fq_row, fq_row + p.F, out);
        return 0;
    }
    return p.phi->apply(head, true, q, out, p.kernels);
}

template <class T>
void mix_output(const HeadParams<T> &p, const HeadState<T> &st, const T *num, T z, T m,
                const T *lin_num, T lin_den, T q_log, T g, T *y) {
    const int d = p.d;
    if (!p.linear || !st.has_linear) {  // plain softmax over the window (and G)
        for (int e = 0; e < d; ++e) y[e] = num[e] / z;
        return;
    }
    // The linear terms are phi_q^T H = exp(q_log + log_scale) lin_num (likewise lin_den), zero
    // while nothing is folded. Everything is divided by exp(K), the largest scale in play, so
    // no exponential overflows; K = 0 in the usual case, which is then the spec's formula.
    const bool folded = st.n_folded > 0;
    const T inf = std::numeric_limits<T>::infinity();
    if (p.config->mixing == Mixing::lola) {
        // y = (g N' + (1-g) e^(-m) phi^T H) / (g Z' + (1-g) e^(-m) phi^T s + eps e^(-m))
        const T E = folded ? q_log + st.log_scale - m : -inf;
        const T K = std::max(T(0), std::max(E, p.log_eps - m));
        const T sn = g * exp_of(-K);
        const T lin = folded ? (1 - g) * exp_of(E - K) : T(0);
        const T den = sn * z + lin * lin_den + p.eps * exp_of(-m - K);
        for (int e = 0; e < d; ++e)
            y[e] = (sn * num[e] + (folded ? lin * lin_num[e] : T(0))) / den;
    } else {
        // y = (g N' + phi^T H) / (g Z' + phi^T s)
        const T E = q_log + st.log_scale;
        const T K = folded ? std::max(T(0), E) : T(0);
        const T sn = g * exp_of(-K);
        const T lin = folded ? exp_of(E - K) : T(0);
        const T den = sn * z + lin * lin_den;
        for (int e = 0; e < d; ++e)
            y[e] = den != 0 ? (sn * num[e] + (folded ? lin * lin_num[e] : T(0))) / den : T(0);
    }
}

template void append_segment(const HeadParams<float> &, HeadState<float> &,
                             const Segment<float> &, Scratch<float> &);
template void append_segment(const HeadParams<double> &, HeadState<double> &,
                             const Segment<double> &, Scratch<double> &);
template float query_features(const HeadParams<float> &, int, const float *, const float *,
                              float *);
template double query_features(const HeadParams<double> &, int, const double *, const double *,
                               double *);
template void mix_output(const HeadParams<float> &, const HeadState<float> &, const float *,
                         float, float, const float *, float, float, float, float *);
template void mix_output(const HeadParams<double> &, const HeadState<double> &, const double *,
                         double, double, const double *, double, double, double, double *);

}  // namespace lola
