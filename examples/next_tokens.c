/*
 * next_tokens.c: load a GGUF model through the C API, feed the token ids given on the command
 * line, print the five most likely next tokens (ids and logits) and what LoLA's memory holds.
 *
 *   ./build/examples/next_tokens MODEL.gguf ID [ID ...]
 *
 * Uses LoLA attention with the library's defaults (chunk 64, sparse capacity 64, feature map
 * chosen from the file). Set LOLA_ATTENTION=full|window to run a baseline instead.
 */
#include <lola.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check(lola_status s, const char *what) {
    if (s != LOLA_OK) {
        fprintf(stderr, "%s: %s: %s\n", what, lola_status_string(s), lola_last_error_message());
        return 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL.gguf TOKEN_ID [TOKEN_ID ...]\n", argv[0]);
        return 2;
    }
    const size_t n = (size_t)(argc - 2);
    int32_t *tokens = malloc(n * sizeof *tokens);
    if (!tokens) return 1;
    for (size_t i = 0; i < n; ++i) {
        char *end = NULL;
        const long v = strtol(argv[i + 2], &end, 10);
        if (!end || *end != '\0' || v < 0 || v > INT32_MAX) {
            fprintf(stderr, "not a token id: '%s'\n", argv[i + 2]);
            free(tokens);
            return 2;
        }
        tokens[i] = (int32_t)v;
    }

    lola_model_params mp;
    lola_model *model = NULL;
    if (check(lola_model_params_init(&mp), "params") ||
        check(lola_model_load(argv[1], &mp, &model), "load")) {
        free(tokens);
        return 1;
    }
    lola_model_info info;
    info.struct_size = sizeof info;
    lola_model_get_info(model, &info);
    printf("model: %s (%s), %d layers, %d heads (%d KV), head dim %d, vocabulary %d\n", info.name,
           info.architecture, info.n_layer, info.n_head, info.n_head_kv, info.head_dim,
           info.n_vocab);

    lola_attention_params ap; /* every layer's memory: the model's defaults unless overridden */
    lola_attention_params_init(&ap);
    const char *attention = getenv("LOLA_ATTENTION");
    if (attention && strcmp(attention, "full") == 0) ap.attention = LOLA_ATTENTION_FULL;
    if (attention && strcmp(attention, "window") == 0) ap.attention = LOLA_ATTENTION_WINDOW;
    lola_context_params cp;
    lola_context_params_init(&cp);
    cp.attention = &ap;
    lola_context *ctx = NULL;
    int rc = check(lola_context_create(model, &cp, &ctx), "context");
    lola_model_free(model); /* the context keeps the model alive */
    if (!rc) rc = check(lola_context_feed(ctx, tokens, n, 0, NULL), "feed");
    if (!rc) {
        const float *logits = NULL;
        size_t rows = 0, vocab = 0;
        rc = check(lola_context_logits(ctx, &logits, &rows, &vocab), "logits");
        if (!rc) {
            int32_t best[5] = {-1, -1, -1, -1, -1};
            for (size_t v = 0; v < vocab; ++v) {
                for (int k = 0; k < 5; ++k) {
                    if (best[k] < 0 || logits[v] > logits[best[k]]) {
                        memmove(&best[k + 1], &best[k], (size_t)(4 - k) * sizeof best[0]);
                        best[k] = (int32_t)v;
                        break;
                    }
                }
            }
            printf("after %zu tokens, the top 5 next tokens:\n", n);
            for (int k = 0; k < 5; ++k) printf("  id %6d  logit %9.4f\n", best[k], logits[best[k]]);
        }
    }
    if (!rc) {
        lola_context_info ci;
        ci.struct_size = sizeof ci;
        rc = check(lola_context_get_info(ctx, &ci), "info");
        if (!rc) {
            printf("cache (all layers and heads): %lld in windows, %lld in sparse caches, %lld folded,"
                   " %lld evicted; %.1f KiB of state\n",
                   (long long)ci.n_window, (long long)ci.n_sparse, (long long)ci.n_folded,
                   (long long)ci.n_evicted, (double)ci.state_bytes / 1024.0);
            size_t count = 0;
            lola_context_get_positions(ctx, 0, 0, LOLA_MEMORY_SPARSE, NULL, NULL, 0, &count);
            int64_t *positions = malloc((count ? count : 1) * sizeof *positions);
            if (positions && check(lola_context_get_positions(ctx, 0, 0, LOLA_MEMORY_SPARSE, positions,
                                                              NULL, count, &count), "positions") == 0) {
                printf("layer 0, head 0, sparse cache:");
                for (size_t i = 0; i < count; ++i) printf(" %lld", (long long)positions[i]);
                printf("%s\n", count ? "" : " (empty)");
            }
            free(positions);
        }
    }
    lola_context_free(ctx);
    free(tokens);
    return rc;
}
