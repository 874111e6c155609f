/*
 * consumer.c: a minimal C99 program built against an *installed* liblola (through the CMake
 * package and through pkg-config) by run_install_test.sh. It uses only <lola.h> and the shared
 * library. Prints "consumer ok" and returns 0 on success; prints the failure and returns 1
 * otherwise. An optional argument is the version string lola_version() must return.
 */
#include <lola.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#define N_HEADS 2
#define N_KV_HEADS 1
#define HEAD_DIM 8
#define N_TOKENS 10
#define FIRST_CALL 7 /* fed in two calls: 7 tokens, then 3 */

static int fail_status(const char *what, lola_status st) {
    fprintf(stderr, "consumer: %s failed: %s: %s\n", what, lola_status_string(st),
            lola_last_error_message());
    return 1;
}

/* Deterministic values in [-1, 1): a 32-bit linear congruential generator. */
static float next_value(uint32_t *state) {
    *state = *state * 1664525u + 1013904223u;
    return (float)(*state >> 8) / 8388608.0f - 1.0f;
}

int main(int argc, char **argv) {
    static float q[N_TOKENS * N_HEADS * HEAD_DIM];
    static float k[N_TOKENS * N_KV_HEADS * HEAD_DIM];
    static float v[N_TOKENS * N_KV_HEADS * HEAD_DIM];
    static float y[N_TOKENS * N_HEADS * HEAD_DIM];
    const size_t q_row = N_HEADS * HEAD_DIM, kv_row = N_KV_HEADS * HEAD_DIM;
    lola_layer_params params;
    lola_attention_params attention;
    lola_layer_info info;
    lola_layer *layer = NULL;
    lola_status st;
    uint32_t rng = 12345u;
    size_t i;
    int32_t head;
    int rc = 1;

    if (lola_abi_version() != LOLA_ABI_VERSION) {
        fprintf(stderr, "consumer: library ABI %d, header ABI %d\n", (int)lola_abi_version(),
                LOLA_ABI_VERSION);
        return 1;
    }
    if (argc > 1 && strcmp(argv[1], lola_version()) != 0) {
        fprintf(stderr, "consumer: library version %s, expected %s\n", lola_version(), argv[1]);
        return 1;
    }

    st = lola_layer_params_init(&params);
    if (st != LOLA_OK) return fail_status("lola_layer_params_init", st);
    params.n_heads = N_HEADS;
    params.n_kv_heads = N_KV_HEADS;
    params.head_dim = HEAD_DIM;
    st = lola_attention_params_init(&attention);
    if (st != LOLA_OK) return fail_status("lola_attention_params_init", st);
    attention.chunk_size = 4;
    attention.sparse_capacity = 4;
    attention.feature_map = LOLA_FEATURE_MAP_ELU1;
    params.attention = &attention;
    st = lola_layer_create(&params, &layer);
    if (st != LOLA_OK) return fail_status("lola_layer_create", st);

    for (i = 0; i < sizeof q / sizeof q[0]; ++i) q[i] = next_value(&rng);
    for (i = 0; i < sizeof k / sizeof k[0]; ++i) k[i] = next_value(&rng);
    for (i = 0; i < sizeof v / sizeof v[0]; ++i) v[i] = next_value(&rng);

    /* Errors must come back as a status with a message, across the shared-library boundary. */
    st = lola_layer_feed(layer, 1, q, q_row - 1, k, kv_row, v, kv_row, y, q_row);
    if (st != LOLA_ERR_SIZE_MISMATCH || lola_last_error_message()[0] == '\0') {
        fprintf(stderr, "consumer: a wrong q_len gave %s instead of LOLA_ERR_SIZE_MISMATCH\n",
                lola_status_string(st));
        goto done;
    }

    st = lola_layer_feed(layer, FIRST_CALL, q, FIRST_CALL * q_row, k, FIRST_CALL * kv_row, v,
                         FIRST_CALL * kv_row, y, FIRST_CALL * q_row);
    if (st != LOLA_OK) { rc = fail_status("lola_layer_feed (first call)", st); goto done; }
    st = lola_layer_feed(layer, N_TOKENS - FIRST_CALL, q + FIRST_CALL * q_row,
                         (N_TOKENS - FIRST_CALL) * q_row, k + FIRST_CALL * kv_row,
                         (N_TOKENS - FIRST_CALL) * kv_row, v + FIRST_CALL * kv_row,
                         (N_TOKENS - FIRST_CALL) * kv_row, y + FIRST_CALL * q_row,
                         (N_TOKENS - FIRST_CALL) * q_row);
    if (st != LOLA_OK) { rc = fail_status("lola_layer_feed (second call)", st); goto done; }

    for (i = 0; i < sizeof y / sizeof y[0]; ++i) {
        if (!isfinite(y[i])) {
            fprintf(stderr, "consumer: output %lu is not finite\n", (unsigned long)i);
            goto done;
        }
    }

    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    st = lola_layer_get_info(layer, &info);
    if (st != LOLA_OK) { rc = fail_status("lola_layer_get_info", st); goto done; }
    if (info.n_tokens != N_TOKENS || info.n_heads != N_HEADS || info.head_dim != HEAD_DIM) {
        fprintf(stderr, "consumer: layer info n_tokens %ld n_heads %d head_dim %d\n",
                (long)info.n_tokens, (int)info.n_heads, (int)info.head_dim);
        goto done;
    }

    for (head = 0; head < N_HEADS; ++head) {
        lola_head_state hs;
        int64_t total;
        memset(&hs, 0, sizeof hs);
        hs.struct_size = sizeof hs;
        st = lola_layer_get_head_state(layer, head, &hs);
        if (st != LOLA_OK) { rc = fail_status("lola_layer_get_head_state", st); goto done; }
        total = hs.n_window + hs.n_sparse + hs.n_folded + hs.n_evicted;
        if (total != N_TOKENS || hs.n_sparse > attention.sparse_capacity || hs.n_window <= 0) {
            fprintf(stderr,
                    "consumer: head %d state: window %ld sparse %ld folded %ld evicted %ld\n",
                    (int)head, (long)hs.n_window, (long)hs.n_sparse, (long)hs.n_folded,
                    (long)hs.n_evicted);
            goto done;
        }
    }

    printf("consumer ok (liblola %s, ABI %d)\n", lola_version(), (int)lola_abi_version());
    rc = 0;
done:
    lola_layer_free(layer);
    return rc;
}
