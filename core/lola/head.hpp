// head.hpp: the algorithms on one state head (spec, "One token", "Chunk boundary").
//
//   attend_token  (token_step.cpp)    the reference: token by token, plain loops
//   attend_chunk  (chunk_prefill.cpp) a run of tokens inside one chunk, with matrix products;
//                                     bit-identical to attend_token (same primitives, same order)
//   boundary      (boundary.cpp)      the chunk-boundary update: scoring, top-lambda, folds
//
// A "segment" is a run of consecutive tokens that does not cross a chunk boundary: the layer
// splits every feed into segments and calls boundary() after a segment that fills W_cur.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "lola/head_state.hpp"

namespace lola {

// Where a segment's inputs and outputs live for one state head. Token t of the segment, query
// head j of the state (0 <= j < n_query_heads): q + t*q_stride + j*d, y likewise,
// fq + t*fq_stride + j*F. Keys and values: k + t*kv_stride, fk + t*fk_stride.
template <class T>
struct Segment {
    int n = 0;
    int64_t pos0 = 0;  // position of token 0
    const T *q = nullptr;
    size_t q_stride = 0;
    const T *k = nullptr;
    const T *v = nullptr;
    size_t kv_stride = 0;
    const T *fq = nullptr;  // precomputed phi_q, or null
    size_t fq_stride = 0;
    const T *fk = nullptr;  // precomputed phi_k, or null
    size_t fk_stride = 0;
    T *y = nullptr;  // outputs, or null (state update only)
    size_t y_stride = 0;
};

// Scratch space of one worker; grown on demand, reused across calls.
template <class T>
struct Scratch {
    std::vector<T> scores, weights, num, feat, lin, fqlog, tmp;
    std::vector<int> order;
    Pairs<T> spare;  // the next sparse cache while a boundary builds it
};

// Appends the segment's keys/values (and phi_k when the state is linear) to W_cur.
template <class T>
void append_segment(const HeadParams<T> &p, HeadState<T> &st, const Segment<T> &seg,
                    Scratch<T> &scratch);

// Attention outputs of a segment already appended to W_cur, token by token (the reference).
template <class T>
void attend_token(const HeadParams<T> &p, const HeadState<T> &st, const Segment<T> &seg,
                  Scratch<T> &scratch);

// The same outputs through the SIMD kernels (p.kernels, float only): the query heads of the
// state are the rows of one product, so every key and value is read once for all of them.
void attend_token_simd(const HeadParams<float> &p, const HeadState<float> &st,
                       const Segment<float> &seg, Scratch<float> &scratch);

// The same outputs, computed for the whole segment with matrix products; only those of the
// query heads [first_query, first_query + n_query) of the state (-1: all), so that the query
// heads of one state can run as separate jobs.
template <class T>
void attend_chunk(const HeadParams<T> &p, const HeadState<T> &st, const Segment<T> &seg,
                  Scratch<T> &scratch, int first_query = 0, int n_query = -1);

// The chunk-boundary update; call when W_cur holds a complete chunk.
template <class T>
void boundary(const HeadParams<T> &p, HeadState<T> &st, Scratch<T> &scratch);

// phi_q of query head `head` for a token: the precomputed row or the map's output; returns the
// log-scale.
template <class T>
T query_features(const HeadParams<T> &p, int head, const T *q, const T *fq_row, T *out);

// Combines the softmax part and the linear read-out into one output row (spec, "Output
// mixing", stable form). num: sum_j e^(s_j - m) v_j; z: sum_j e^(s_j - m); m: max score;
// lin_num = f^T H and lin_den = f^T s for phi_q = exp(q_log) f (ignored without a linear
// state); gate g of this query head.
template <class T>
void mix_output(const HeadParams<T> &p, const HeadState<T> &st, const T *num, T z, T m,
                const T *lin_num, T lin_den, T q_log, T g, T *y);

}  // namespace lola
