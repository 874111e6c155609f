// token_step.cpp: the reference path, one query at a time, as the spec writes it:
//   S = G u W_prev u W_cur[..t];  s_j = scale q.k_j;  y = MIX(softmax part, linear read-out).
// The chunked prefill (chunk_prefill.cpp) must give bit-identical results.
#include <algorithm>
#include <cmath>
#include <limits>

#include "lola/head.hpp"
#include "lola/math.hpp"

namespace lola {

template <class T>
void attend_token(const HeadParams<T> &p, const HeadState<T> &st, const Segment<T> &seg,
                  Scratch<T> &sc) {
    if (!seg.y) return;
    const int d = p.d, F = p.F;
    const int n_window_before = st.cur.size() - seg.n;  // W_cur entries older than the segment
    const Pairs<T> *memories[3] = {&st.sparse, &st.prev, &st.cur};
    const bool read_linear = p.linear && st.has_linear;
    sc.num.resize(d);
    sc.feat.resize(F);
    sc.lin.resize(d);
    for (int t = 0; t < seg.n; ++t) {
        const int visible_cur = n_window_before + t + 1;  // W_cur includes this token
        for (int j = 0; j < p.n_query_heads; ++j) {
            const T *q = seg.q + t * seg.q_stride + static_cast<size_t>(j) * d;
            // scores over G, W_prev, W_cur[0..visible_cur)
            sc.scores.clear();
            for (const Pairs<T> *mem : memories) {
                const int n = mem == &st.cur ? visible_cur : mem->size();
                for (int i = 0; i < n; ++i) sc.scores.push_back(p.scale * dot(q, mem->key(i), d));
            }
            T m = -std::numeric_limits<T>::infinity();
            for (T s : sc.scores) m = std::max(m, s);
            // N' = sum e^(s_j - m) v_j, Z' = sum e^(s_j - m)
            std::fill(sc.num.begin(), sc.num.end(), T(0));
            T z = 0;
            size_t idx = 0;
            for (const Pairs<T> *mem : memories) {
                const int n = mem == &st.cur ? visible_cur : mem->size();
                for (int i = 0; i < n; ++i, ++idx) {
                    const T w = exp_of(sc.scores[idx] - m);
                    z += w;
                    axpy(w, mem->value(i), sc.num.data(), d);
                }
            }
            // linear read-out f^T H, f^T s with phi_q = exp(q_log) f
            T q_log = 0, lin_den = 0;
            if (read_linear) {
                const T *fq_row = seg.fq ? seg.fq + t * seg.fq_stride + static_cast<size_t>(j) * F
                                         : nullptr;
                q_log = query_features(p, p.first_query_head + j, q, fq_row, sc.feat.data());
                std::fill(sc.lin.begin(), sc.lin.end(), T(0));
                for (int f = 0; f < F; ++f)
                    axpy(sc.feat[f], st.H.data() + static_cast<size_t>(f) * d, sc.lin.data(), d);
                lin_den = dot(sc.feat.data(), st.s.data(), F);
            }
            mix_output(p, st, sc.num.data(), z, m, sc.lin.data(), lin_den, q_log, p.gate[j],
                       seg.y + t * seg.y_stride + static_cast<size_t>(j) * d);
        }
    }
}

template void attend_token(const HeadParams<float> &, const HeadState<float> &,
                           const Segment<float> &, Scratch<float> &);
template void attend_token(const HeadParams<double> &, const HeadState<double> &,
                           const Segment<double> &, Scratch<double> &);

}  // namespace lola
