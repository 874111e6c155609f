// chunk_prefill.cpp: the outputs of a whole segment at once, with matrix products:
//   S = scale Q [K_G; K_prev; K_cur]^T (causal mask on K_cur), P = exp(S - rowmax),
//   N' = P V, and the linear read-out Phi_q H.
// gemm_nt / gemm_nn_acc compute every element with the same operations in the same order as the
// reference token step, so the two paths agree bit for bit (tests check it); at a SIMD level
// the same primitives run as lola/simd's kernels (primitives.hpp), with the same bits.
#include <algorithm>
#include <cmath>
#include <limits>

#include "lola/head.hpp"
#include "lola/math.hpp"
#include "lola/primitives.hpp"

namespace lola {

template <class T>
void attend_chunk(const HeadParams<T> &p, const HeadState<T> &st, const Segment<T> &seg,
                  Scratch<T> &sc, int first_query, int n_query) {
    if (!seg.y) return;
    const int d = p.d, F = p.F, n = seg.n;
    const int n_window_before = st.cur.size() - seg.n;
    const Pairs<T> *memories[3] = {&st.sparse, &st.prev, &st.cur};
    const int cols = st.sparse.size() + st.prev.size() + st.cur.size();
    const bool read_linear = p.linear && st.has_linear;
    sc.scores.resize(static_cast<size_t>(n) * cols);
    sc.num.resize(static_cast<size_t>(n) * d);
    if (read_linear) {
        sc.feat.resize(static_cast<size_t>(n) * F);
        sc.lin.resize(static_cast<size_t>(n) * d);
        sc.fqlog.resize(n);
    }
    const int j_end = n_query < 0 ? p.n_query_heads : std::min(p.n_query_heads, first_query + n_query);
    for (int j = first_query; j < j_end; ++j) {
        const T *Q = seg.q + static_cast<size_t>(j) * d;
        // scores, one block of columns per memory
        int col0 = 0;
        for (const Pairs<T> *mem : memories) {
            scores_nt(p, n, mem->size(), d, p.scale, Q, seg.q_stride, mem->k.data(), size_t(d),
                      sc.scores.data() + col0, size_t(cols));
            col0 += mem->size();
        }
        // causal softmax weights: row t sees every column before G+prev+n_window_before+t+1
        const int fixed = st.sparse.size() + st.prev.size();
        std::vector<T> &z = sc.tmp;
        z.assign(n, T(0));
        sc.weights.resize(n);  // row maxima
        for (int t = 0; t < n; ++t) {
            T *row = sc.scores.data() + static_cast<size_t>(t) * cols;
            const int visible = fixed + n_window_before + t + 1;
            const T m = max_of(p, row, visible);
            exp_shift(p, row, visible, m);
            for (int c = visible; c < cols; ++c) row[c] = 0;
            sc.weights[t] = m;
        }
        sums_in_order(sc.scores.data(), size_t(cols), n, fixed + n_window_before + 1, 1, z.data());
        // N' = P V, memory by memory (the same order as the token step)
        std::fill(sc.num.begin(), sc.num.end(), T(0));
        col0 = 0;
        for (const Pairs<T> *mem : memories) {
            accumulate_nn(p, n, mem->size(), d, sc.scores.data() + col0, size_t(cols), mem->v.data(),
                          size_t(d), sc.num.data(), size_t(d));
            col0 += mem->size();
        }
        // linear read-out Phi_q H and Phi_q s
        if (read_linear) {
            for (int t = 0; t < n; ++t) {
                const T *fq_row = seg.fq ? seg.fq + t * seg.fq_stride + static_cast<size_t>(j) * F
                                         : nullptr;
                sc.fqlog[t] = query_features(p, p.first_query_head + j, Q + t * seg.q_stride,
                                             fq_row, sc.feat.data() + static_cast<size_t>(t) * F);
            }
            std::fill(sc.lin.begin(), sc.lin.end(), T(0));
            accumulate_nn(p, n, F, d, sc.feat.data(), size_t(F), st.H.data(), size_t(d),
                          sc.lin.data(), size_t(d));
        }
        for (int t = 0; t < n; ++t) {
            const T *lin_row = read_linear ? sc.lin.data() + static_cast<size_t>(t) * d : nullptr;
            const T lin_den =
                read_linear ? dot(sc.feat.data() + static_cast<size_t>(t) * F, st.s.data(), F)
                            : T(0);
            mix_output(p, st, sc.num.data() + static_cast<size_t>(t) * d, z[t], sc.weights[t],
                       lin_row, lin_den, read_linear ? sc.fqlog[t] : T(0), p.gate[j],
                       seg.y + t * seg.y_stride + static_cast<size_t>(j) * d);
        }
    }
}

template void attend_chunk(const HeadParams<float> &, const HeadState<float> &,
                           const Segment<float> &, Scratch<float> &, int, int);
template void attend_chunk(const HeadParams<double> &, const HeadState<double> &,
                           const Segment<double> &, Scratch<double> &, int, int);

}  // namespace lola
