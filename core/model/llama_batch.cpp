// llama_batch.cpp: see llama_batch.hpp. The step is Context::step's, with the rows of the
// activations belonging to different contexts: RoPE at each context's position and attention
// in each context's own backend; everything else over all rows at once.
#include "model/llama_batch.hpp"

#include <algorithm>
#include <cstring>
#include <set>
#include <string>

#include "base/error.hpp"
#include "base/thread_pool.hpp"
#include "cpu/cpu_backend.hpp"

namespace lola::model {

Batch::Batch(std::shared_ptr<const Model> model, int64_t max_contexts, int n_threads)
    : model_(std::move(model)), max_(max_contexts) {
    if (!model_) fail(Status::null_pointer, "model is NULL");
    if (max_contexts < 1 || max_contexts > 65536)
        fail(Status::invalid_argument, "max_contexts must be in [1, 65536], got " + std::to_string(max_contexts));
    if (n_threads < 1 || n_threads > 1024) fail(Status::invalid_argument, "n_threads must be in [1, 1024]");
    weights_ = cpu::upload(model_);
    backend::BackendConfig bc;
    bc.n_threads = n_threads;
    bc.max_tokens = max_contexts;  // no attention layers: the ops only
    backend_ = weights_->make_backend(bc);
    const HParams &hp = model_->hparams();
    act_ = allocate_activations(*backend_, hp, max_);
    logits_.resize(static_cast<size_t>(max_) * static_cast<size_t>(hp.n_vocab));
}

void Batch::decode(Context *const *contexts, const int32_t *tokens, int64_t n) {
    if (!contexts) fail(Status::null_pointer, "contexts is NULL");
    if (!tokens) fail(Status::null_pointer, "tokens is NULL");
    if (n < 1 || n > max_)
        fail(Status::invalid_argument, "n must be in [1, " + std::to_string(max_) + "] (the batch's max_contexts), got " +
                                           std::to_string(n));
    const HParams &hp = model_->hparams();
    std::set<const Context *> seen;
    for (int64_t i = 0; i < n; ++i) {
        const std::string who = "contexts[" + std::to_string(i) + "]";
        const Context *c = contexts[i];
        if (!c) fail(Status::null_handle, who + " is NULL; nothing was fed");
        if (&c->model() != model_.get())
            fail(Status::invalid_argument, who + " is a context of another model than the batch's; nothing was fed");
        if (std::strcmp(c->backend_name(), backend_->name()) != 0)
            fail(Status::invalid_argument, who + " runs on backend '" + c->backend_name() + "', the batch on '" +
                                               backend_->name() + "'; nothing was fed");
        if (!seen.insert(c).second)
            fail(Status::invalid_argument, who + " appears twice in the batch; nothing was fed");
        if (tokens[i] < 0 || tokens[i] >= hp.n_vocab)
            fail(Status::invalid_argument, who + ": token " + std::to_string(tokens[i]) + " is out of range [0, " +
                                               std::to_string(hp.n_vocab) + "); nothing was fed");
    }
    for (int64_t i = 0; i < n; ++i) contexts[i]->prepare_logits(1);  // may allocate: before any change

    const int64_t H = hp.n_head, Hkv = hp.n_head_kv, D = hp.head_dim;
    const size_t nq = static_cast<size_t>(H * D), nkv = static_cast<size_t>(Hkv * D);
    backend::Backend &be = *backend_;
    const Activations &a = act_;
    be.embed(tokens, n, a.x);
    ThreadPool *pool = cpu::pool_of(be);
    forward_layers(be, hp, a, n, [&](int64_t l) {
        for (int64_t i = 0; i < n; ++i) {  // RoPE on this thread: the backend caches one table
            const size_t r = static_cast<size_t>(i);
            be.rope(a.q.slice(r * nq, nq), 1, H, contexts[i]->n_past());
            be.rope(a.k.slice(r * nkv, nkv), 1, Hkv, contexts[i]->n_past());
        }
        // Each context's attention is one job on the batch's threads (its layer then runs its
        // heads serially: a nested pool run); the bits are the same on any thread.
        auto attend = [&](int, int i) {
            const size_t r = static_cast<size_t>(i);
            contexts[i]->backend().attention(l, 1, a.q.slice(r * nq, nq), a.k.slice(r * nkv, nkv),
                                             a.v.slice(r * nkv, nkv), a.y.slice(r * nq, nq));
        };
        if (pool)
            pool->run(static_cast<int>(n), attend);
        else
            for (int i = 0; i < static_cast<int>(n); ++i) attend(0, i);
    });
    const size_t V = static_cast<size_t>(hp.n_vocab);
    be.logits(a.x, n, logits_.data());
    for (int64_t i = 0; i < n; ++i)
        contexts[i]->accept_decoded(logits_.data() + static_cast<size_t>(i) * V);
}

}  // namespace lola::model
