// lola_batch.cpp: the batched-decode calls of lola.h (lola_batch_*), over model/llama_batch.
#include <climits>
#include <vector>

#include "boundary.hpp"
#include "handles.hpp"

using namespace lola::capi;

lola_status lola_batch_create(lola_model *model, int32_t max_contexts, int32_t n_threads, lola_batch **out) {
    if (out) *out = nullptr;
    return guard(__func__, [&] {
        require_handle(model, "model");
        require_pointer(out, "out");
        auto batch = std::make_unique<lola_batch>();
        batch->impl = std::make_unique<lola::model::Batch>(model->impl, max_contexts, n_threads);
        *out = batch.release();
        return LOLA_OK;
    });
}

void lola_batch_free(lola_batch *batch) { delete batch; }

lola_status lola_batch_decode(lola_batch *batch, lola_context *const *contexts, const int32_t *tokens, size_t n) {
    return guard(__func__, [&] {
        require_handle(batch, "batch");
        require_pointer(contexts, "contexts");
        require_pointer(tokens, "tokens");
        if (n == 0 || n > static_cast<size_t>(batch->impl->max_contexts()))
            fail(LOLA_ERR_INVALID_ARGUMENT, "n must be in [1, " + std::to_string(batch->impl->max_contexts()) +
                                                "] (the batch's max_contexts), got " + std::to_string(n));
        thread_local std::vector<lola::model::Context *> impls;  // no allocation per step once grown
        impls.resize(n);
        for (size_t i = 0; i < n; ++i) {
            if (!contexts[i])
                fail(LOLA_ERR_NULL_HANDLE, "contexts[" + std::to_string(i) + "] is NULL; nothing was fed");
            impls[i] = contexts[i]->impl.get();
        }
        batch->impl->decode(impls.data(), tokens, static_cast<int64_t>(n));
        for (size_t i = 0; i < n; ++i) contexts[i]->logits_valid = true;
        return LOLA_OK;
    });
}
