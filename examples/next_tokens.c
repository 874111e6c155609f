/*
 * next_tokens.c: load a GGUF model through the C API, tokenize and feed a prompt, print the
 * five most likely next tokens (their text, ids and logits) and what LoLA's memory holds.
 *
 *   ./build/examples/next_tokens MODEL.gguf "The capital of France is"
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

/* Prints token `id` as text, with the special tokens by name and control bytes escaped. */
static void print_piece(const lola_model *model, int32_t id) {
    char piece[256];
    size_t n = 0;
    if (lola_token_to_piece(model, id, LOLA_DETOKENIZE_SPECIAL, piece, sizeof piece, &n) != LOLA_OK) {
        printf("?");
        return;
    }
    putchar('"');
    for (size_t i = 0; i < n; ++i) {
        const unsigned char c = (unsigned char)piece[i];
        if (c == '\n') printf("\\n");
        else if (c < 0x20) printf("\\x%02x", c);
        else putchar(c);
    }
    putchar('"');
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s MODEL.gguf PROMPT\n", argv[0]);
        return 2;
    }
    lola_model_params mp;
    lola_model *model = NULL;
    if (check(lola_model_params_init(&mp), "params") ||
        check(lola_model_load(argv[1], &mp, &model), "load")) {
        return 1;
    }
    lola_model_info info;
    info.struct_size = sizeof info;
    lola_model_get_info(model, &info);
    printf("model: %s (%s), %d layers, %d heads (%d KV), head dim %d, vocabulary %d\n", info.name,
           info.architecture, info.n_layer, info.n_head, info.n_head_kv, info.head_dim,
           info.n_vocab);

    size_t n = 0;
    lola_tokenize(model, argv[2], strlen(argv[2]), LOLA_TOKENIZE_ADD_SPECIAL, NULL, 0, &n);
    int32_t *tokens = malloc((n ? n : 1) * sizeof *tokens);
    if (!tokens || check(lola_tokenize(model, argv[2], strlen(argv[2]), LOLA_TOKENIZE_ADD_SPECIAL,
                                       tokens, n, &n), "tokenize")) {
        free(tokens);
        lola_model_free(model);
        return 1;
    }
    if (n == 0) {
        fprintf(stderr, "the prompt has no tokens\n");
        free(tokens);
        lola_model_free(model);
        return 2;
    }
    printf("prompt: %zu tokens\n", n);

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
            for (int k = 0; k < 5; ++k) {
                printf("  %9.4f  id %6d  ", logits[best[k]], best[k]);
                print_piece(model, best[k]);
                printf("\n");
            }
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
                printf("%s\n", count ? "" : " (empty: it receives pairs only once more than 2 chunks,"
                                            " 2C tokens, have been fed)");
            }
            free(positions);
        }
    }
    lola_context_free(ctx);
    lola_model_free(model); /* after the last use of its tokenizer; either order is safe */
    free(tokens);
    return rc;
}
