// lola_sampling.cpp: the sampling part of the C API (lola_sampler_*, lola_generate), over
// core/text/sampler.
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "boundary.hpp"
#include "handles.hpp"
#include "lola.h"
#include "struct_versions.hpp"
#include "text/sampler.hpp"

namespace {

using namespace lola::capi;

// lola_sampler_params and the core's SamplerParams name their fields alike: one copy serves
// both directions.
template <class To, class From>
To copy_sampler_fields(To to, const From &from) {
    to.temperature = from.temperature;
    to.top_k = from.top_k;
    to.top_p = from.top_p;
    to.min_p = from.min_p;
    to.repeat_penalty = from.repeat_penalty;
    to.penalty_last_n = from.penalty_last_n;
    to.seed = from.seed;
    return to;
}

lola::text::SamplerParams to_sampler_params(const lola_sampler_params &p) {
    return copy_sampler_fields(lola::text::SamplerParams{}, p);
}

lola_sampler_params default_sampler_params() {
    lola_sampler_params p{};
    p.struct_size = sizeof p;
    return copy_sampler_fields(p, lola::text::SamplerParams{});
}

}  // namespace

extern "C" {

lola_status lola_sampler_params_init(lola_sampler_params *params) {
    return guard(__func__, [&] {
        require_pointer(params, "params");
        *params = default_sampler_params();
        return LOLA_OK;
    });
}

lola_status lola_sampler_create(const lola_sampler_params *params, lola_sampler **out) {
    if (out) *out = nullptr;
    return guard(__func__, [&] {
        const lola_sampler_params p = read_struct(params, "params", default_sampler_params());
        require_pointer(out, "out");
        *out = new lola_sampler(to_sampler_params(p));
        return LOLA_OK;
    });
}

void lola_sampler_free(lola_sampler *sampler) { delete sampler; }

lola_status lola_sampler_sample(lola_sampler *sampler, const float *logits, size_t n_vocab,
                                int32_t *token) {
    return guard(__func__, [&] {
        require_handle(sampler, "sampler");
        require_pointer(logits, "logits");
        require_pointer(token, "token");
        *token = sampler->impl.sample(logits, n_vocab);
        return LOLA_OK;
    });
}

lola_status lola_sampler_accept(lola_sampler *sampler, const int32_t *tokens, size_t n_tokens) {
    return guard(__func__, [&] {
        require_handle(sampler, "sampler");
        if (n_tokens != 0) require_pointer(tokens, "tokens");
        sampler->impl.accept(tokens, n_tokens);
        return LOLA_OK;
    });
}

lola_status lola_sampler_reset(lola_sampler *sampler, uint64_t seed) {
    return guard(__func__, [&] {
        require_handle(sampler, "sampler");
        sampler->impl.reset(seed);
        return LOLA_OK;
    });
}

// One step: [poll the abort callback] -> sample from the last logits row (recorded in the
// sampler's history) -> stop if it ends the generation (not fed, not passed on) -> look up its
// piece -> feed it -> on_token. An error or an abort leaves the context with every token before
// it fed and its logits valid, except an error inside the feed itself (logits then invalid).
lola_status lola_generate(lola_context *ctx, lola_sampler *sampler, size_t max_tokens,
                          lola_token_fn on_token, void *user_data, size_t *n_generated) {
    if (n_generated) *n_generated = 0;
    return guard(__func__, [&] {
        require_handle(ctx, "ctx");
        require_handle(sampler, "sampler");
        if (!ctx->logits_valid)
            fail(LOLA_ERR_UNSUPPORTED, "no logits: feed the prompt first (nothing was fed since the "
                                       "last reset, restore or abort)");
        lola::model::Context &c = *ctx->impl;
        // A borrowed (non-owning) model handle for the text functions, valid during this call.
        const lola_model model{std::shared_ptr<const lola::model::Model>(
            std::shared_ptr<const lola::model::Model>(), &c.model())};
        const size_t V = static_cast<size_t>(c.model().hparams().n_vocab);
        std::function<bool()> abort;
        if (ctx->abort_fn) abort = [ctx] { return ctx->abort_fn(ctx->abort_user); };
        std::vector<char> piece(256);
        bool has_pieces = true;  // false once the model turns out to have no tokenizer
        size_t count = 0;
        while (count < max_tokens) {
            // A one-token feed never polls the callback itself: poll it between tokens here.
            if (ctx->abort_fn && ctx->abort_fn(ctx->abort_user))
                fail(LOLA_ERR_ABORTED, "aborted by the callback after " + std::to_string(count) +
                                           " generated tokens (all fed; the logits stay valid)");
            const float *row = c.logits().data() + static_cast<size_t>(c.logit_rows() - 1) * V;
            int32_t token = sampler->impl.sample(row, V);
            if (lola_token_is_eog(&model, token)) break;
            const char *text = nullptr;
            size_t len = 0;
            if (has_pieces) {
                lola_status st = lola_token_to_piece(&model, token, 0, piece.data(), piece.size(), &len);
                if (st == LOLA_ERR_BUFFER_TOO_SMALL && len > piece.size()) {
                    piece.resize(len);
                    st = lola_token_to_piece(&model, token, 0, piece.data(), piece.size(), &len);
                }
                if (st == LOLA_ERR_UNSUPPORTED) {  // no tokenizer: tokens without text
                    has_pieces = false;
                    len = 0;
                    last_error().clear();
                } else if (st != LOLA_OK) {
                    fail(st, "token " + std::to_string(token) + ": " + std::string(last_error()));
                } else {
                    text = piece.data();
                }
            }
            ctx->logits_valid = false;
            c.feed(&token, 1, false, abort);
            ctx->logits_valid = true;
            ++count;
            if (n_generated) *n_generated = count;
            if (on_token && !on_token(token, text, len, user_data)) break;
        }
        return LOLA_OK;
    });
}

}  // extern "C"
