// cache_query.hpp: the cache-state queries shared by the layer and the context API: one query
// head's counts, and the positions (and scores) one of its memories holds.
#pragma once

#include <algorithm>
#include <string>

#include "boundary.hpp"
#include "lola/layer.hpp"
#include "struct_versions.hpp"

namespace lola::capi {

// The state query head `head` reads (INVALID_ARGUMENT when out of range).
inline const HeadState<float> &query_head_state(const Layer<float> &layer, int32_t head) {
    const int n = layer.config().n_heads;
    if (head < 0 || head >= n)
        fail(LOLA_ERR_INVALID_ARGUMENT, "head " + std::to_string(head) + " out of range [0, " +
                                            std::to_string(n) + ")");
    return layer.state(layer.state_head_of(head));
}

inline void fill_head_state(const Layer<float> &layer, int32_t head, lola_head_state *out) {
    require_struct(out, "state");
    const HeadState<float> &st = query_head_state(layer, head);
    lola_head_state s{};
    s.state_head = layer.state_head_of(head);
    s.n_window = st.prev.size() + st.cur.size();
    s.n_sparse = st.sparse.size();
    s.n_folded = st.n_folded;
    s.n_evicted = st.n_evicted;
    s.bytes = st.bytes();
    write_struct(out, "state", s);
}

// lola_layer_get_positions / lola_context_get_positions for one query head of one layer.
inline void fill_positions(const Layer<float> &layer, int32_t head, int32_t memory,
                           int64_t *positions, float *scores, size_t capacity, size_t *n_out) {
    require_pointer(n_out, "n_out");
    const HeadState<float> &st = query_head_state(layer, head);
    if (memory != LOLA_MEMORY_WINDOW && memory != LOLA_MEMORY_SPARSE)
        fail(LOLA_ERR_INVALID_ARGUMENT, "memory must be LOLA_MEMORY_WINDOW or LOLA_MEMORY_SPARSE");
    if (memory == LOLA_MEMORY_WINDOW && scores)
        fail(LOLA_ERR_INVALID_ARGUMENT, "window entries have no scores: pass scores = NULL");
    const size_t n = memory == LOLA_MEMORY_SPARSE ? st.sparse.size() : st.prev.size() + st.cur.size();
    *n_out = n;
    if (!positions) {
        if (capacity != 0 || scores) fail(LOLA_ERR_NULL_POINTER, "positions is NULL with a non-zero capacity");
        return;
    }
    if (capacity < n)
        fail(LOLA_ERR_BUFFER_TOO_SMALL, "capacity " + std::to_string(capacity) + " < " +
                                            std::to_string(n) + " positions");
    if (memory == LOLA_MEMORY_SPARSE) {
        std::copy(st.sparse.pos.begin(), st.sparse.pos.end(), positions);
        if (scores) std::copy(st.sparse.score.begin(), st.sparse.score.end(), scores);
    } else {
        int64_t *p = std::copy(st.prev.pos.begin(), st.prev.pos.end(), positions);
        std::copy(st.cur.pos.begin(), st.cur.pos.end(), p);
    }
}

}  // namespace lola::capi
