// lola_perplexity.cpp: lola_perplexity, over the public context calls of this library (one
// definition of the measurement, which `lola perplexity`, `lola eval` and the bindings share).
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "boundary.hpp"
#include "handles.hpp"
#include "struct_versions.hpp"

using namespace lola::capi;

namespace {

// Feeds of at most this many tokens: the logits of every fed token are kept, so this bounds
// the logits buffer (rows x n_vocab floats) whatever n_ctx is.
constexpr int64_t kStep = 256;

struct OwnedContext {
    lola_context *ctx = nullptr;
    ~OwnedContext() { lola_context_free(ctx); }
};

// Passes a failed inner call's status and message on.
void pass(lola_status s) {
    if (s != LOLA_OK) fail(s, std::string(lola_last_error_message()));
}

}  // namespace

lola_status lola_perplexity(lola_model *model, const lola_context_params *params, const int32_t *tokens,
                            size_t n_tokens, int64_t n_ctx, int64_t max_windows, lola_perplexity_result *result) {
    return guard(__func__, [&] {
        require_handle(model, "model");
        require_pointer(tokens, "tokens");
        require_struct(result, "result");
        if (n_ctx < 2) fail(LOLA_ERR_INVALID_ARGUMENT, "n_ctx must be at least 2, got " + std::to_string(n_ctx));
        if (max_windows < 0) fail(LOLA_ERR_INVALID_ARGUMENT, "max_windows must be >= 0 (0: all)");
        if (n_tokens < static_cast<size_t>(n_ctx))
            fail(LOLA_ERR_INVALID_ARGUMENT, "the text has " + std::to_string(n_tokens) +
                                                " tokens, fewer than one window of n_ctx = " + std::to_string(n_ctx));
        const int64_t n_vocab = model->impl->hparams().n_vocab;
        for (size_t i = 0; i < n_tokens; ++i)
            if (tokens[i] < 0 || tokens[i] >= n_vocab)
                fail(LOLA_ERR_INVALID_ARGUMENT, "tokens[" + std::to_string(i) + "] = " + std::to_string(tokens[i]) +
                                                    " is out of range [0, " + std::to_string(n_vocab) + ")");
        lola_context_params defaults;
        if (!params) {
            pass(lola_context_params_init(&defaults));
            params = &defaults;
        }
        int32_t bos[4];
        size_t n_bos = 0;
        if (lola_tokenize(model, "", 0, LOLA_TOKENIZE_ADD_SPECIAL, bos, 4, &n_bos) != LOLA_OK) n_bos = 0;
        int64_t windows = static_cast<int64_t>(n_tokens) / n_ctx;
        if (max_windows > 0) windows = std::min(windows, max_windows);

        std::vector<int32_t> window(static_cast<size_t>(n_ctx));
        double nll = 0;
        int64_t scored = 0;
        const int64_t first = n_ctx / 2;  // the first scored position
        for (int64_t w = 0; w < windows; ++w) {
            std::copy(tokens + w * n_ctx, tokens + (w + 1) * n_ctx, window.begin());
            if (n_bos > 0) window[0] = bos[0];
            OwnedContext c;
            pass(lola_context_create(model, params, &c.ctx));
            for (int64_t i = 0; i < n_ctx; i += kStep) {
                const int64_t n = std::min(kStep, n_ctx - i);
                pass(lola_context_feed(c.ctx, window.data() + i, static_cast<size_t>(n), LOLA_FEED_ALL_LOGITS, nullptr));
                const float *logits = nullptr;
                size_t rows = 0, vocab = 0;
                pass(lola_context_logits(c.ctx, &logits, &rows, &vocab));
                for (int64_t r = 0; r < n; ++r) {
                    const int64_t target = i + r + 1;  // the logits of position p predict token p + 1
                    if (target < first || target >= n_ctx) continue;
                    const float *row = logits + static_cast<size_t>(r) * vocab;
                    const float mx = *std::max_element(row, row + vocab);
                    double sum = 0;
                    for (size_t k = 0; k < vocab; ++k) sum += std::exp(static_cast<double>(row[k]) - mx);
                    nll += std::log(sum) + mx - row[window[static_cast<size_t>(target)]];
                    ++scored;
                }
            }
        }
        lola_perplexity_result out{};
        out.n_windows = windows;
        out.n_scored = scored;
        out.nll = nll / static_cast<double>(scored);
        out.perplexity = std::exp(out.nll);
        write_struct(result, "result", out);
        return LOLA_OK;
    });
}
