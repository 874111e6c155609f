/* lola_handles.i: constructors, destructors and methods of the four liblola handles, for lola.i.
 *
 * Methods are named w_<name> in C (see lola.i); the languages see <name>.
 * Every method is a thin call into capi/lola.h. A failing call records its status with
 * lola_swig_fail() and returns immediately, so the last liblola call on this thread is the one
 * that failed and lola_last_error_message() (read by the language's %exception) describes it.
 * Size-query methods return the size needed; they write only when the caller's array is large
 * enough (LOLA_ERR_BUFFER_TOO_SMALL is then not an error but the answer).
 */

/* ---- cancellation: lola_abort_flag ---------------------------------------------------------
 * A context's abort callback is a C function (lola_abort_fn); the languages get no callbacks
 * (directors stay off), so cancellation is a flag in C that any thread may set and the callback
 * reads. It is a small object of its own rather than a hidden part of the context proxy: the C
 * API has no getter for the callback's user_data, so a flag allocated inside the context's
 * constructor could not be found again by its destructor. The language's Context creates one
 * flag per context, attaches it right after creating (or cloning) the context, and frees it
 * after freeing the context (liblola reads it only during that context's calls).
 * Semantics: request() marks an abort; the next poll consumes it (feed polls between forward
 * steps, so a feed of one step is never aborted; the languages' generation loops poll with
 * take() before each token) and the call fails with LOLA_ERR_ABORTED. clear() withdraws a
 * request that no call has consumed yet. */
%{
/* The wrappers are C99 (no <stdatomic.h>): the compilers' own atomic operations. */
#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
typedef struct lola_abort_flag { volatile long requested; } lola_abort_flag;
#define LOLA_SWIG_ABORT_SET(f, v) ((void)_InterlockedExchange(&(f)->requested, (v)))
#define LOLA_SWIG_ABORT_TAKE(f) (_InterlockedExchange(&(f)->requested, 0) != 0)
#else
typedef struct lola_abort_flag { int requested; } lola_abort_flag;
#define LOLA_SWIG_ABORT_SET(f, v) __atomic_store_n(&(f)->requested, (v), __ATOMIC_SEQ_CST)
#define LOLA_SWIG_ABORT_TAKE(f) (__atomic_exchange_n(&(f)->requested, 0, __ATOMIC_SEQ_CST) != 0)
#endif

/* The lola_abort_fn that lola_abort_flag::w_attach installs; runs on the feeding thread. */
static bool lola_swig_abort_poll(void *flag) {
    return LOLA_SWIG_ABORT_TAKE((lola_abort_flag *)flag);
}
%}

typedef struct lola_abort_flag lola_abort_flag;
/* A closed flag proxy passes NULL (see lola.i's typemap for the handles). */
%typemap(check) struct lola_abort_flag *self {
    if (!$1) lola_swig_fail_with(LOLA_ERR_NULL_HANDLE, "lola_abort_flag: the handle is closed or null");
}
struct lola_abort_flag {};

%extend lola_abort_flag {
    lola_abort_flag() {
        lola_abort_flag *f = (lola_abort_flag *)calloc(1, sizeof *f);
        if (!f) { lola_swig_fail(LOLA_ERR_OUT_OF_MEMORY); return NULL; }
        LOLA_SWIG_ABORT_SET(f, 0);
        return f;
    }
    ~lola_abort_flag() { free($self); }

    /* Installs the flag as ctx's abort callback, polled between the forward steps of every
     * later feed. The flag must stay allocated while ctx can run (free it after ctx). A method
     * of the flag, not of the context: SWIG emits the context's methods where lola.i declares
     * it, before this file's C code. */
    void w_attach(lola_context *ctx) {
        lola_swig_fail(lola_context_set_abort_callback(ctx, lola_swig_abort_poll, $self));
    }

    /* Thread-safe, and never waits: a feed running on another thread stops at its next poll. */
    void w_request() { LOLA_SWIG_ABORT_SET($self, 1); }
    void w_clear() { LOLA_SWIG_ABORT_SET($self, 0); }
    /* The poll of a loop the language runs itself (generation): consumes a pending request
     * and fails with LOLA_ERR_ABORTED, as lola_generate does before each token. */
    void w_take() {
        if (LOLA_SWIG_ABORT_TAKE($self))
            lola_swig_fail_with(LOLA_ERR_ABORTED, "aborted on request before the next token");
    }
}

%extend lola_model {
    /* lola_model_load; params NULL means the defaults; adapter_path NULL means none (set in a
     * copy of the params for the call only). */
    lola_model(const char *path, const lola_model_params *params, const char *adapter_path) {
        lola_model_params p;
        lola_model *m = NULL;
        lola_model_params_init(&p);
        if (params) p = *params;
        p.adapter_path = adapter_path;
        if (lola_swig_fail(lola_model_load(path, &p, &m))) return NULL;
        return m;
    }
    ~lola_model() { lola_model_free($self); }

    lola_model_info *w_info() const {
        lola_model_info *i = (lola_model_info *)calloc(1, sizeof *i);
        if (!i) { lola_swig_fail(LOLA_ERR_OUT_OF_MEMORY); return NULL; }
        i->struct_size = sizeof *i;
        if (lola_swig_fail(lola_model_get_info($self, i))) { free(i); return NULL; }
        return i;
    }
    /* lola_perplexity; params NULL: the defaults. `attention` (NULL: every default) is set into
     * a copy of params for this call only, as for the lola_context constructor. */
    lola_perplexity_result *w_perplexity(const int32_t *tokens, size_t n_tokens, int64_t n_ctx,
                                         const lola_context_params *params,
                                         const lola_attention_params *attention,
                                         int64_t max_windows, const int32_t *layer_attention,
                                         size_t n_layer_attention) {
        lola_context_params p;
        lola_perplexity_result *r = (lola_perplexity_result *)calloc(1, sizeof *r);
        if (!r) { lola_swig_fail(LOLA_ERR_OUT_OF_MEMORY); return NULL; }
        if (params) p = *params; else lola_context_params_init(&p);
        p.attention = attention;
        p.layer_attention = layer_attention;
        p.n_layer_attention = n_layer_attention;
        r->struct_size = sizeof *r;
        if (lola_swig_fail(lola_perplexity($self, &p, tokens, n_tokens, n_ctx, max_windows, r))) {
            free(r);
            return NULL;
        }
        return r;
    }
    lola_special_tokens *w_special_tokens() const {
        lola_special_tokens *t = (lola_special_tokens *)calloc(1, sizeof *t);
        if (!t) { lola_swig_fail(LOLA_ERR_OUT_OF_MEMORY); return NULL; }
        t->struct_size = sizeof *t;
        if (lola_swig_fail(lola_model_special_tokens($self, t))) { free(t); return NULL; }
        return t;
    }
    /* Tokens of UTF-8 `text`; returns how many there are (written when they fit). */
    size_t w_tokenize(const char *text, size_t text_len, uint32_t flags,
                    int32_t *out_tokens, size_t capacity) const {
        size_t n = 0;
        lola_status s = lola_tokenize($self, text, text_len, flags,
                                      capacity ? out_tokens : NULL, capacity, &n);
        if (s != LOLA_ERR_BUFFER_TOO_SMALL && lola_swig_fail(s)) return 0;
        return n;
    }
    /* UTF-8 bytes of `tokens`; returns the byte count (written when it fits). */
    size_t w_detokenize(const int32_t *tokens, size_t n_tokens, uint32_t flags,
                      char *out_bytes, size_t capacity) const {
        size_t n = 0;
        lola_status s = lola_detokenize($self, tokens, n_tokens, flags,
                                        capacity ? out_bytes : NULL, capacity, &n);
        if (s != LOLA_ERR_BUFFER_TOO_SMALL && lola_swig_fail(s)) return 0;
        return n;
    }
    /* The bytes of one token; returns the byte count (written when it fits). */
    size_t w_token_to_piece(int32_t token, uint32_t flags, char *out_bytes, size_t capacity) const {
        size_t n = 0;
        lola_status s = lola_token_to_piece($self, token, flags,
                                            capacity ? out_bytes : NULL, capacity, &n);
        if (s != LOLA_ERR_BUFFER_TOO_SMALL && lola_swig_fail(s)) return 0;
        return n;
    }
    bool w_token_is_eog(int32_t token) const { return lola_token_is_eog($self, token); }
    /* lola_chat_apply_template over a chat the language packs into one UTF-8 blob:
     * role NUL content NUL, once per message (a C string cannot hold a NUL, so the separator
     * is unambiguous). Returns the length of the rendered text (written, without its NUL,
     * when it fits: the text is copied out through a buffer one byte larger). */
    size_t w_chat_apply_template(const char *blob, size_t blob_len, bool add_assistant,
                                 char *out_bytes, size_t capacity) const {
        lola_chat_message *messages = NULL;
        size_t n_messages = 0, n_strings = 0, i, len = 0;
        const char *at = blob;
        char *text = NULL;
        lola_status s;
        for (i = 0; i < blob_len; ++i) n_strings += blob[i] == '\0';
        if (blob_len && blob[blob_len - 1] != '\0') n_strings = 1; /* odd: refused below */
        if (n_strings % 2 != 0) {
            lola_swig_fail_with(LOLA_ERR_INVALID_ARGUMENT,
                                "chat: the packed messages must be role NUL content NUL pairs");
            return 0;
        }
        n_messages = n_strings / 2;
        if (n_messages) {
            messages = (lola_chat_message *)calloc(n_messages, sizeof *messages);
            if (!messages) { lola_swig_fail(LOLA_ERR_OUT_OF_MEMORY); return 0; }
        }
        for (i = 0; i < n_messages; ++i) {
            messages[i].role = at;
            at += strlen(at) + 1;
            messages[i].content = at;
            at += strlen(at) + 1;
        }
        s = lola_chat_apply_template($self, messages, n_messages, add_assistant, NULL, 0, &len);
        if (s != LOLA_OK && s != LOLA_ERR_BUFFER_TOO_SMALL) {
            free(messages);
            lola_swig_fail(s);
            return 0;
        }
        if (capacity >= len) {
            text = (char *)malloc(len + 1);
            if (!text) { free(messages); lola_swig_fail(LOLA_ERR_OUT_OF_MEMORY); return 0; }
            s = lola_chat_apply_template($self, messages, n_messages, add_assistant, text,
                                         len + 1, &len);
            if (s == LOLA_OK && len) memcpy(out_bytes, text, len);
            free(text);
            if (lola_swig_fail(s)) { free(messages); return 0; }
        }
        free(messages);
        return len;
    }
    /* lola_attention_params_resolve for a context on this model: the LOLA_MODEL_DEFAULT
     * fields of *params become this model's values. */
    void w_resolve_attention(lola_attention_params *params) const {
        lola_swig_fail(lola_attention_params_resolve($self, params));
    }
}

/* lola_attention_params_resolve with no model: the values a standalone layer uses. */
%inline %{
static void w_resolve_attention_for_layer(lola_attention_params *params) {
    lola_swig_fail(lola_attention_params_resolve(NULL, params));
}
%}

/* lola_device_count: the devices of one kind this process can use. */
%inline %{
static int32_t w_device_count(int32_t device) {
    int32_t n = 0;
    lola_swig_fail(lola_device_count(device, &n));
    return n;
}
%}

%extend lola_context {
    /* lola_context_create on `model` (the context references it); params NULL: defaults.
     * `attention` (NULL: every default) is set into a copy of params for this call only: the
     * proxy it comes from is an argument, so it is alive while liblola reads it. */
    lola_context(lola_model *model, const lola_context_params *params,
                 const lola_attention_params *attention, const int32_t *layer_attention,
                 size_t n_layer_attention) {
        lola_context_params p;
        lola_context *c = NULL;
        if (!params) {
            lola_context_params_init(&p);
        } else {
            p = *params;
        }
        p.attention = attention;
        p.layer_attention = layer_attention;  /* per-layer kinds: an array argument, as attention */
        p.n_layer_attention = n_layer_attention;
        if (lola_swig_fail(lola_context_create(model, &p, &c))) return NULL;
        return c;
    }
    ~lola_context() { lola_context_free($self); }

    lola_context *w_clone() const {
        lola_context *c = NULL;
        if (lola_swig_fail(lola_context_clone($self, &c))) return NULL;
        return c;
    }
    void w_reset() { lola_swig_fail(lola_context_reset($self)); }
    /* Feeds the tokens; returns how many were fed (all: an abort fails with LOLA_ERR_ABORTED,
     * and the context's n_past then tells how many were fed). */
    size_t w_feed(const int32_t *tokens, size_t n_tokens, uint32_t flags) {
        size_t fed = 0;
        if (lola_swig_fail(lola_context_feed($self, tokens, n_tokens, flags, &fed))) return 0;
        return fed;
    }
    /* Rows of logits the last feed kept (1, or every token with LOLA_FEED_ALL_LOGITS). */
    size_t w_logits_rows() const {
        const float *l = NULL;
        size_t rows = 0, n_vocab = 0;
        if (lola_swig_fail(lola_context_logits($self, &l, &rows, &n_vocab))) return 0;
        return rows;
    }
    /* Row `row` (-1: last) of the logits into a caller array of at least n_vocab floats. */
    void w_copy_logits(int64_t row, float *out, size_t capacity) const {
        lola_swig_fail(lola_context_copy_logits($self, row, out, capacity));
    }
    /* The same into caller-owned native memory (a direct buffer). */
    void w_copy_logits_to_buffer(int64_t row, float *out_buffer, size_t capacity) const {
        lola_swig_fail(lola_context_copy_logits($self, row, out_buffer, capacity));
    }
    lola_context_info *w_info() const {
        lola_context_info *i = (lola_context_info *)calloc(1, sizeof *i);
        if (!i) { lola_swig_fail(LOLA_ERR_OUT_OF_MEMORY); return NULL; }
        i->struct_size = sizeof *i;
        if (lola_swig_fail(lola_context_get_info($self, i))) { free(i); return NULL; }
        return i;
    }
    lola_head_state *w_head_state(int32_t layer, int32_t head) const {
        lola_head_state *h = (lola_head_state *)calloc(1, sizeof *h);
        if (!h) { lola_swig_fail(LOLA_ERR_OUT_OF_MEMORY); return NULL; }
        h->struct_size = sizeof *h;
        if (lola_swig_fail(lola_context_get_head_state($self, layer, head, h))) {
            free(h);
            return NULL;
        }
        return h;
    }
    /* Positions held in one memory (lola_memory) of one head; returns their count (written
     * when they fit). */
    size_t w_positions(int32_t layer, int32_t head, int32_t memory,
                     int64_t *out_positions, size_t capacity) const {
        size_t n = 0;
        lola_status s = lola_context_get_positions($self, layer, head, memory,
                                                   capacity ? out_positions : NULL, NULL,
                                                   capacity, &n);
        if (s != LOLA_ERR_BUFFER_TOO_SMALL && lola_swig_fail(s)) return 0;
        return n;
    }
    size_t w_state_size() const {
        size_t n = 0;
        if (lola_swig_fail(lola_context_state_size($self, &n))) return 0;
        return n;
    }
    /* Saves the state; returns the bytes written (BUFFER_TOO_SMALL is an error here). */
    size_t w_state_save(char *out_bytes, size_t capacity) const {
        size_t n = 0;
        if (lola_swig_fail(lola_context_state_save($self, out_bytes, capacity, &n))) return 0;
        return n;
    }
    void w_state_restore(const char *blob, size_t blob_len) {
        lola_swig_fail(lola_context_state_restore($self, blob, blob_len));
    }
}

%extend lola_sampler {
    /* lola_sampler_create; params NULL: defaults. */
    lola_sampler(const lola_sampler_params *params) {
        lola_sampler_params defaults;
        lola_sampler *s = NULL;
        if (!params) {
            lola_sampler_params_init(&defaults);
            params = &defaults;
        }
        if (lola_swig_fail(lola_sampler_create(params, &s))) return NULL;
        return s;
    }
    ~lola_sampler() { lola_sampler_free($self); }

    int32_t w_sample(const float *logits, size_t n_logits) {
        int32_t t = -1;
        if (lola_swig_fail(lola_sampler_sample($self, logits, n_logits, &t))) return -1;
        return t;
    }
    /* Samples from the last logits row of `ctx` without copying it out. */
    int32_t w_sample_context(const lola_context *ctx) {
        const float *l = NULL;
        size_t rows = 0, n_vocab = 0;
        int32_t t = -1;
        if (lola_swig_fail(lola_context_logits(ctx, &l, &rows, &n_vocab))) return -1;
        if (lola_swig_fail(lola_sampler_sample($self, l + (rows - 1) * n_vocab, n_vocab, &t)))
            return -1;
        return t;
    }
    void w_accept(const int32_t *tokens, size_t n_tokens) {
        lola_swig_fail(lola_sampler_accept($self, tokens, n_tokens));
    }
    void w_reset(uint64_t seed) { lola_swig_fail(lola_sampler_reset($self, seed)); }
}

%extend lola_layer {
    /* lola_layer_create with the params' pointer fields taken from the arguments (an empty or
     * null array: NULL; attention NULL: every default), set in a copy of params for this call
     * only; the arrays' lengths are checked against the shapes the params imply. */
    lola_layer(const lola_layer_params *params, const lola_attention_params *attention,
               const float *window_factors, size_t window_factors_len,
               const float *hedgehog_q, size_t hedgehog_q_len,
               const float *hedgehog_k, size_t hedgehog_k_len) {
        lola_layer_params p;
        lola_layer *l = NULL;
        size_t map_len;
        /* 0 is the hedgehog default, 2*64 (lola.h, lola_attention_params.feature_dim). */
        int32_t feature_dim = attention ? attention->feature_dim : 0;
        if (feature_dim == 0) feature_dim = 128;
        if (!params) {
            lola_layer_params_init(&p);
        } else {
            p = *params;
        }
        p.attention = attention;
        map_len = (size_t)(p.n_heads > 0 ? p.n_heads : 0) * (size_t)(p.head_dim > 0 ? p.head_dim : 0) *
                  (size_t)(feature_dim > 0 ? feature_dim / 2 : 0);
        if ((window_factors_len && window_factors_len != (size_t)p.n_heads) ||
            (hedgehog_q_len && hedgehog_q_len != map_len) ||
            (hedgehog_k_len && hedgehog_k_len != map_len)) {
            lola_swig_fail_with(LOLA_ERR_SIZE_MISMATCH,
                                "lola_layer: window_factors needs n_heads floats and each "
                                "hedgehog map n_heads*head_dim*feature_dim/2 floats");
            return NULL;
        }
        p.window_factors = window_factors_len ? window_factors : NULL;
        p.hedgehog_q = hedgehog_q_len ? hedgehog_q : NULL;
        p.hedgehog_k = hedgehog_k_len ? hedgehog_k : NULL;
        if (lola_swig_fail(lola_layer_create(&p, &l))) return NULL;
        return l;
    }
    ~lola_layer() { lola_layer_free($self); }

    lola_layer *w_clone() const {
        lola_layer *c = NULL;
        if (lola_swig_fail(lola_layer_clone($self, &c))) return NULL;
        return c;
    }
    void w_reset() { lola_swig_fail(lola_layer_reset($self)); }
    void w_feed(int64_t n_tokens, const float *q, size_t q_len, const float *k, size_t k_len,
              const float *v, size_t v_len, float *y, size_t y_len) {
        lola_swig_fail(lola_layer_feed($self, n_tokens, q, q_len, k, k_len, v, v_len,
                                       y_len ? y : NULL, y_len));
    }
    void w_feed_features(int64_t n_tokens, const float *q, size_t q_len, const float *k,
                       size_t k_len, const float *v, size_t v_len, const float *fq,
                       size_t fq_len, const float *fk, size_t fk_len, float *y, size_t y_len) {
        lola_swig_fail(lola_layer_feed_features($self, n_tokens, q, q_len, k, k_len, v, v_len,
                                                fq, fq_len, fk, fk_len, y_len ? y : NULL, y_len));
    }
    lola_layer_info *w_info() const {
        lola_layer_info *i = (lola_layer_info *)calloc(1, sizeof *i);
        if (!i) { lola_swig_fail(LOLA_ERR_OUT_OF_MEMORY); return NULL; }
        i->struct_size = sizeof *i;
        if (lola_swig_fail(lola_layer_get_info($self, i))) { free(i); return NULL; }
        return i;
    }
    lola_head_state *w_head_state(int32_t head) const {
        lola_head_state *h = (lola_head_state *)calloc(1, sizeof *h);
        if (!h) { lola_swig_fail(LOLA_ERR_OUT_OF_MEMORY); return NULL; }
        h->struct_size = sizeof *h;
        if (lola_swig_fail(lola_layer_get_head_state($self, head, h))) { free(h); return NULL; }
        return h;
    }
    size_t w_positions(int32_t head, int32_t memory, int64_t *out_positions, size_t capacity) const {
        size_t n = 0;
        lola_status s = lola_layer_get_positions($self, head, memory,
                                                 capacity ? out_positions : NULL, NULL,
                                                 capacity, &n);
        if (s != LOLA_ERR_BUFFER_TOO_SMALL && lola_swig_fail(s)) return 0;
        return n;
    }
    size_t w_state_size() const {
        size_t n = 0;
        if (lola_swig_fail(lola_layer_state_size($self, &n))) return 0;
        return n;
    }
    size_t w_state_save(char *out_bytes, size_t capacity) const {
        size_t n = 0;
        if (lola_swig_fail(lola_layer_state_save($self, out_bytes, capacity, &n))) return 0;
        return n;
    }
    void w_state_restore(const char *blob, size_t blob_len) {
        lola_swig_fail(lola_layer_state_restore($self, blob, blob_len));
    }
}

/* ---- batched decode: lola_swig_batch ---------------------------------------------------------
 * lola_batch_decode takes an array of context pointers, which the languages cannot pass as
 * such: this object owns a lola_batch and an array of max_contexts context slots. The language
 * sets slot i to contexts[i] (set), then decodes n tokens for slots 0..n-1 (decode). The slots
 * are only read during decode, under the language's locks of those contexts. */
%{
typedef struct lola_swig_batch {
    lola_batch *batch;
    lola_context **contexts;
    size_t capacity;
} lola_swig_batch;
%}
struct lola_swig_batch {};
%extend lola_swig_batch {
    lola_swig_batch(lola_model *model, int32_t max_contexts, int32_t n_threads) {
        lola_swig_batch *b = (lola_swig_batch *)calloc(1, sizeof *b);
        if (!b) { lola_swig_fail(LOLA_ERR_OUT_OF_MEMORY); return NULL; }
        if (lola_swig_fail(lola_batch_create(model, max_contexts, n_threads, &b->batch))) { free(b); return NULL; }
        b->capacity = (size_t)max_contexts;
        b->contexts = (lola_context **)calloc(b->capacity, sizeof *b->contexts);
        if (!b->contexts) {
            lola_batch_free(b->batch);
            free(b);
            lola_swig_fail(LOLA_ERR_OUT_OF_MEMORY);
            return NULL;
        }
        return b;
    }
    ~lola_swig_batch() {
        lola_batch_free($self->batch);
        free($self->contexts);
        free($self);
    }
    size_t w_capacity() const { return $self->capacity; }
    /* Slot i (< capacity) holds ctx for the next decode. */
    void w_set(size_t i, lola_context *ctx) {
        if (i >= $self->capacity) {
            lola_swig_fail_with(LOLA_ERR_INVALID_ARGUMENT, "more contexts than the batch's max_contexts");
            return;
        }
        $self->contexts[i] = ctx;
    }
    /* lola_batch_decode of tokens[i] for slot i, i < n_tokens. */
    void w_decode(const int32_t *tokens, size_t n_tokens) {
        if (n_tokens > $self->capacity) {
            lola_swig_fail_with(LOLA_ERR_INVALID_ARGUMENT, "more contexts than the batch's max_contexts");
            return;
        }
        lola_swig_fail(lola_batch_decode($self->batch, $self->contexts, tokens, n_tokens));
    }
}
