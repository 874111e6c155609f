// token_step_simd.cpp: the token step through the SIMD kernels (lola/simd/kernels.hpp). For
// each token, the n_query_heads queries that read this state are the rows of one score product
// over G, W_prev and the visible W_cur, and of one accumulation of the values: every key and
// value row is loaded once for the whole group (the reference, token_step.cpp, reads them once
// per query head). Each element is computed with the reference's operations in its order, so
// the outputs are bit-identical to attend_token (tests/lola/test_attn_kernels.cpp and the
// parity harness check it).
#include <algorithm>

#include "lola/head.hpp"
#include "lola/math.hpp"
#include "lola/primitives.hpp"
#include "lola/simd/kernels.hpp"

namespace lola {

void attend_token_simd(const HeadParams<float> &p, const HeadState<float> &st,
                       const Segment<float> &seg, Scratch<float> &sc) {
    if (!seg.y) return;
    const simd::Kernels &kern = *p.kernels;
    const int d = p.d, F = p.F, nq = p.n_query_heads;
    const size_t ud = static_cast<size_t>(d), uF = static_cast<size_t>(F);
    const int n_window_before = st.cur.size() - seg.n;
    const int fixed = st.sparse.size() + st.prev.size();
    const bool read_linear = p.linear && st.has_linear;
    const Pairs<float> *memories[3] = {&st.sparse, &st.prev, &st.cur};
    sc.num.resize(nq * ud);
    sc.weights.resize(nq);  // row maxima
    sc.tmp.resize(nq);      // Z'
    if (read_linear) {
        sc.feat.resize(nq * uF);
        sc.lin.resize(nq * ud);
        sc.fqlog.resize(nq);
    }
    for (int t = 0; t < seg.n; ++t) {
        const int cols = fixed + n_window_before + t + 1;  // W_cur includes this token
        const size_t ucols = static_cast<size_t>(cols);
        const float *Q = seg.q + t * seg.q_stride;  // row j: query head j, stride d
        sc.scores.resize(nq * ucols);
        int col0 = 0;
        for (const Pairs<float> *mem : memories) {
            const int n = mem == &st.cur ? n_window_before + t + 1 : mem->size();
            kern.scores(nq, n, d, p.scale, Q, ud, mem->k.data(), ud, sc.scores.data() + col0, ucols);
            col0 += n;
        }
        for (int j = 0; j < nq; ++j) {
            float *row = sc.scores.data() + j * ucols;
            sc.weights[j] = kern.row_max(row, cols);
            kern.exp_shift(row, cols, sc.weights[j]);
        }
        sums_in_order(sc.scores.data(), ucols, nq, cols, 0, sc.tmp.data());
        std::fill(sc.num.begin(), sc.num.end(), 0.0f);
        col0 = 0;
        for (const Pairs<float> *mem : memories) {
            const int n = mem == &st.cur ? n_window_before + t + 1 : mem->size();
            kern.accumulate(nq, n, d, sc.scores.data() + col0, ucols, mem->v.data(), ud, sc.num.data(), ud);
            col0 += n;
        }
        if (read_linear) {
            for (int j = 0; j < nq; ++j) {
                const float *fq_row = seg.fq ? seg.fq + t * seg.fq_stride + j * uF : nullptr;
                sc.fqlog[j] = query_features(p, p.first_query_head + j, Q + j * ud, fq_row,
                                             sc.feat.data() + j * uF);
            }
            std::fill(sc.lin.begin(), sc.lin.end(), 0.0f);
            kern.accumulate(nq, F, d, sc.feat.data(), uF, st.H.data(), ud, sc.lin.data(), ud);
        }
        for (int j = 0; j < nq; ++j) {
            const float lin_den = read_linear ? dot(sc.feat.data() + j * uF, st.s.data(), F) : 0.0f;
            mix_output(p, st, sc.num.data() + j * ud, sc.tmp[j], sc.weights[j],
                       read_linear ? sc.lin.data() + j * ud : nullptr, lin_den,
                       read_linear ? sc.fqlog[j] : 0.0f, p.gate[j],
                       seg.y + t * seg.y_stride + j * ud);
        }
    }
}

}  // namespace lola
