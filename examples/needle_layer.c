/*
 * needle_layer.c: the standalone LoLA attention layer through the C API, on a synthetic
 * needle-in-a-haystack stream.
 *
 * One attention layer (4 heads, d = 64) reads a stream of random key/value pairs with one
 * "needle" pair planted early on. At the end, a query that matches the needle's key asks for
 * its value. The program compares full attention (exact KV cache, memory grows with the
 * stream), window only, window + linear state (lambda = 0) and LoLA (window + sparse cache +
 * linear state) at the same fixed cache size, printing how well each recalls the needle's value
 * (cosine similarity, 1 = perfect), where the needle ended up, and the cache memory.
 *
 * Build: cmake --build build --target needle_layer; run: ./build/examples/needle_layer [L]
 */
#include <lola.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { H = 4, D = 64, CHUNK = 64, CAPACITY = 64 };

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static double uniform(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

static float gaussian(void) {
    double u = uniform();
    while (u <= 0) u = uniform();
    return (float)(sqrt(-2.0 * log(u)) * cos(6.283185307179586 * uniform()));
}

#define CHECK(call)                                                                       \
    do {                                                                                  \
        lola_status s_ = (call);                                                          \
        if (s_ != LOLA_OK) {                                                              \
            fprintf(stderr, "%s failed: %s: %s\n", #call, lola_status_string(s_),         \
                    lola_last_error_message());                                           \
            exit(1);                                                                      \
        }                                                                                 \
    } while (0)

typedef struct {
    const char *name;
    int32_t attention;
    int32_t sparse_capacity;
} variant;

int main(int argc, char **argv) {
    const int64_t L = argc > 1 ? atoll(argv[1]) : 4096;
    const int64_t needle_pos = L / 5;
    if (L < 16 || L > 1000000) {
        fprintf(stderr, "usage: %s [L in 16..1000000]\n", argv[0]);
        return 2;
    }
    if (lola_abi_version() != LOLA_ABI_VERSION) {
        fprintf(stderr, "liblola ABI %d, built for %d\n", lola_abi_version(), LOLA_ABI_VERSION);
        return 1;
    }
    /* the stream: random pairs; the needle has a strong key and a distinctive value */
    const size_t n = (size_t)L * H * D;
    float *q = malloc(n * sizeof *q), *k = malloc(n * sizeof *k), *v = malloc(n * sizeof *v);
    float *y = malloc(n * sizeof *y);
    float needle_key[D], needle_value[D];
    if (!q || !k || !v || !y) return 1;
    for (size_t i = 0; i < n; ++i) {
        q[i] = 0.5f * gaussian();
        k[i] = 0.5f * gaussian();
        v[i] = gaussian();
    }
    for (int e = 0; e < D; ++e) {
        needle_key[e] = 0.9f * gaussian();
        needle_value[e] = (e % 2 ? 4.0f : -4.0f);
    }
    for (int h = 0; h < H; ++h) {
        memcpy(&k[((size_t)needle_pos * H + h) * D], needle_key, sizeof needle_key);
        memcpy(&v[((size_t)needle_pos * H + h) * D], needle_value, sizeof needle_value);
        memcpy(&q[((size_t)(L - 1) * H + h) * D], needle_key, sizeof needle_key); /* the question */
    }

    const variant variants[] = {
        {"full attention", LOLA_ATTENTION_FULL, 0},
        {"window only", LOLA_ATTENTION_WINDOW, 0},
        {"window + linear (lambda=0)", LOLA_ATTENTION_LOLA, 0},
        {"LoLA (window + sparse + linear)", LOLA_ATTENTION_LOLA, CAPACITY},
    };
    printf("liblola %s: one layer, %d heads, d=%d, chunk=%d; stream of %lld tokens, needle at %lld\n\n",
           lola_version(), H, D, CHUNK, (long long)L, (long long)needle_pos);
    printf("%-34s %10s %14s %12s\n", "attention", "recall", "needle kept", "cache KiB");
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; ++i) {
        lola_attention_params a; /* what the memory does */
        CHECK(lola_attention_params_init(&a));
        a.chunk_size = CHUNK;
        a.attention = variants[i].attention;
        a.sparse_capacity = variants[i].sparse_capacity;
        a.feature_map = LOLA_FEATURE_MAP_PERFORMER;
        a.feature_dim = 64;
        lola_layer_params p; /* the layer's shapes; points at a during the create call */
        CHECK(lola_layer_params_init(&p));
        p.n_heads = H;
        p.n_kv_heads = H;
        p.head_dim = D;
        p.attention = &a;
        lola_layer *layer = NULL;
        CHECK(lola_layer_create(&p, &layer));
        CHECK(lola_layer_feed(layer, L, q, n, k, n, v, n, y, n));

        /* recall: cosine of the last output (head 0) with the needle's value */
        const float *out = &y[(size_t)(L - 1) * H * D];
        double dot = 0, nn = 0, no = 0;
        for (int e = 0; e < D; ++e) {
            dot += out[e] * needle_value[e];
            nn += needle_value[e] * needle_value[e];
            no += out[e] * out[e];
        }
        /* where is the needle now? */
        const char *where = "folded";
        size_t count = 0;
        int64_t *positions = malloc((size_t)L * sizeof *positions);
        CHECK(lola_layer_get_positions(layer, 0, LOLA_MEMORY_SPARSE, positions, NULL, (size_t)L, &count));
        for (size_t j = 0; j < count; ++j)
            if (positions[j] == needle_pos) where = "sparse cache";
        CHECK(lola_layer_get_positions(layer, 0, LOLA_MEMORY_WINDOW, positions, NULL, (size_t)L, &count));
        for (size_t j = 0; j < count; ++j)
            if (positions[j] == needle_pos) where = variants[i].attention == LOLA_ATTENTION_FULL ? "KV cache" : "window";
        lola_head_state hs;
        hs.struct_size = sizeof hs;
        CHECK(lola_layer_get_head_state(layer, 0, &hs));
        if (hs.n_evicted > 0 && strcmp(where, "folded") == 0) where = "dropped";
        lola_layer_info info;
        info.struct_size = sizeof info;
        CHECK(lola_layer_get_info(layer, &info));
        printf("%-34s %10.3f %14s %12.1f\n", variants[i].name, dot / sqrt(nn * no + 1e-30), where,
               (double)info.bytes / 1024.0);
        free(positions);
        lola_layer_free(layer);
    }
    free(q);
    free(k);
    free(v);
    free(y);
    return 0;
}
