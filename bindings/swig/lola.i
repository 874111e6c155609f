/* lola.i: the language-neutral SWIG interface of liblola, shared by the Java and C# bindings.
 *
 * Each language has its own top file (bindings/java/lola_java.i, bindings/csharp/...) that
 * declares %module, its %exception and the array typemaps (both described below), and then
 * %includes this file.
 *
 * What this file does:
 *   - reads capi/lola.h in whitelist style: everything is ignored, then the enums, the
 *     parameter and info structs and four free functions are taken back one by one;
 *   - gives the four handles (lola_model, lola_context, lola_layer, lola_sampler) a constructor
 *     and a destructor with %extend, and methods that are thin calls into the C API;
 *   - records a failing lola_status in a thread-local and returns at once, so that the
 *     language's %exception (which runs right after the call, on the same thread) can read it
 *     together with lola_last_error_message() and throw;
 *   - refuses NULL (closed) handles with a `check` typemap that records LOLA_ERR_NULL_HANDLE
 *     instead of letting NULL reach C.
 * No callbacks are exposed (directors stay off): streaming is done by the idiomatic layers from
 * sampler.sample_context + context.feed + model.token_to_piece + model.token_is_eog, and
 * cancellation by a flag in C that the abort callback reads (lola_abort_flag, lola_handles.i).
 *
 * Each language's %exception runs $action only when no failure is pending (a `check` typemap may
 * have recorded one), then calls lola_swig_take_status() and, when that is not LOLA_OK, raises
 * its error with lola_swig_take_message(). It must not return early: the freearg typemaps that
 * release the arrays run after it.
 * Array argument patterns each language gives typemaps for (a null array may pass NULL, 0):
 *   (const int32_t *LOLA_IN_I32, size_t LOLA_IN_LEN)     ints read during the call
 *   (const float *LOLA_IN_F32, size_t LOLA_IN_LEN)       floats read during the call
 *   (const char *LOLA_IN_BYTES, size_t LOLA_IN_LEN)      bytes read during the call
 *   (int32_t *LOLA_OUT_I32, size_t LOLA_OUT_LEN)         caller array the call fills
 *   (int64_t *LOLA_OUT_I64, size_t LOLA_OUT_LEN)
 *   (float *LOLA_OUT_F32, size_t LOLA_OUT_LEN)
 *   (char *LOLA_OUT_BYTES, size_t LOLA_OUT_LEN)
 *   (float *LOLA_OUT_BUFFER, size_t LOLA_OUT_LEN)        caller-owned native memory (Java: a
 *                                                        direct FloatBuffer; C#: may ignore)
 */

/* ---- thread-local status of the last wrapped call ------------------------------------------ */
%{
#include <stdlib.h>
#include <string.h>
#include "lola.h"

#if defined(_MSC_VER)
#  define LOLA_SWIG_TLS __declspec(thread)
#else
#  define LOLA_SWIG_TLS __thread
#endif
/* Set by the %extend code below when a C call fails; read and cleared by %exception. */
static LOLA_SWIG_TLS lola_status lola_swig_status = LOLA_OK;

/* Records a failure; returns nonzero when `s` is an error, so callers write
 * `if (lola_swig_fail(s)) return ...;` and return before any other liblola call. */
static int lola_swig_fail(lola_status s) {
    if (s == LOLA_OK) return 0;
    lola_swig_status = s;
    return 1;
}
/* A failure the binding finds itself (before any liblola call), with its own message. */
static LOLA_SWIG_TLS const char *lola_swig_message = NULL;
static void lola_swig_fail_with(lola_status s, const char *message) {
    lola_swig_status = s;
    lola_swig_message = message;
}
/* The message of the recorded failure: the binding's own, else liblola's thread-local one
 * (which describes the last liblola call on this thread: the one that failed). */
static const char *lola_swig_take_message(void) {
    const char *m = lola_swig_message;
    lola_swig_message = NULL;
    return m ? m : lola_last_error_message();
}
/* True when a failure is recorded and the C call must not run. */
static int lola_swig_pending(void) { return lola_swig_status != LOLA_OK; }
/* Takes the recorded status (LOLA_OK if none) and clears it. */
static lola_status lola_swig_take_status(void) {
    lola_status s = lola_swig_status;
    lola_swig_status = LOLA_OK;
    return s;
}
%}

/* ---- whitelist over lola.h ------------------------------------------------------------------ */
%ignore "";
%rename("%s") lola_status;
%rename("%s") lola_attention;
%rename("%s") lola_feature_map;
%rename("%s") lola_mixing;
%rename("%s") lola_scoring;
%rename("%s") lola_memory;
%rename("%s") lola_device;
%rename("%s", %$isenumitem) "";
/* The handles' typedefs, so that `lola_model *` is the proxy class declared below. */
%rename("%s") lola_model;
%rename("%s") lola_context;
%rename("%s") lola_layer;
%rename("%s") lola_sampler;
%rename("%s") lola_status_string;
%rename("%s") lola_last_error_message;
%rename("%s") lola_version;
%rename("%s") lola_abi_version;
%rename("%s") LOLA_ABI_VERSION;
%rename("%s") LOLA_FEED_ALL_LOGITS;
%rename("%s") LOLA_TOKENIZE_ADD_SPECIAL;
%rename("%s") LOLA_TOKENIZE_PARSE_SPECIAL;
%rename("%s") LOLA_DETOKENIZE_SPECIAL;
%rename("%s") LOLA_FEATURE_MAP_AUTO;
%rename("%s") LOLA_MODEL_DEFAULT;
/* Parameter and info structs: plain values. Their fields are taken back below; struct_size is
 * set by the constructors and read-only, and so are the info structs' strings. */
%rename("%s") lola_model_params;
%rename("%s") lola_attention_params;
%rename("%s") lola_context_params;
%rename("%s") lola_layer_params;
%rename("%s") lola_sampler_params;
%rename("%s") lola_model_info;
%rename("%s") lola_context_info;
%rename("%s") lola_layer_info;
%rename("%s") lola_head_state;
%rename("%s") lola_special_tokens;
%rename("%s") lola_perplexity_result;
%rename("%s", %$isvariable, %$ismember) "";
/* Pointer fields would let a proxy store a pointer to memory the GC owns (the "setter flips
 * ownership" trap); the arrays are arguments of the lola_layer constructor instead. */
%ignore lola_layer_params::window_factors;
%ignore lola_layer_params::hedgehog_q;
%ignore lola_layer_params::hedgehog_k;
/* The same for the attention settings both create calls read: the lola_layer and lola_context
 * constructors (lola_handles.i) take a lola_attention_params proxy as an argument and set the
 * pointer in a copy of the struct for the duration of the create call, so no stored pointer
 * can outlive the proxy it points into. */
%ignore lola_layer_params::attention;
%ignore lola_context_params::attention;
/* The per-layer kinds likewise: an array argument of the lola_context constructor and of
 * lola_model::perplexity (null: one kind for every layer). */
%ignore lola_context_params::layer_attention;
%ignore lola_context_params::n_layer_attention;
/* The adapter's path likewise: an argument of the lola_model constructor. */
%ignore lola_model_params::adapter_path;
%immutable lola_model_params::struct_size;
%immutable lola_attention_params::struct_size;
%immutable lola_context_params::struct_size;
%immutable lola_layer_params::struct_size;
%immutable lola_sampler_params::struct_size;
%immutable lola_model_info::architecture;
%immutable lola_model_info::name;

%include <stdint.i>
/* LOLA_API is __attribute__((visibility)) under GCC, which the SWIG parser does not read. */
#define __attribute__(x)
%include "lola.h"

%mutable;
/* From here on nothing is ignored: the declarations below are the binding's own. Their C
 * names carry a w_ prefix (SWIG names the C function of lola_context::feed lola_context_feed,
 * which is taken by lola.h); the languages see them without it. */
%rename("%(strip:[w_])s") "";

/* The parameter structs' constructors fill every default (the C calls cannot fail on a valid
 * pointer); their destructors are SWIG's free(). */
%extend lola_model_params {
    lola_model_params() {
        lola_model_params *p = (lola_model_params *)calloc(1, sizeof *p);
        if (p) lola_model_params_init(p); else lola_swig_fail(LOLA_ERR_OUT_OF_MEMORY);
        return p;
    }
}
%extend lola_attention_params {
    lola_attention_params() {
        lola_attention_params *p = (lola_attention_params *)calloc(1, sizeof *p);
        if (p) lola_attention_params_init(p); else lola_swig_fail(LOLA_ERR_OUT_OF_MEMORY);
        return p;
    }
}
%extend lola_context_params {
    lola_context_params() {
        lola_context_params *p = (lola_context_params *)calloc(1, sizeof *p);
        if (p) lola_context_params_init(p); else lola_swig_fail(LOLA_ERR_OUT_OF_MEMORY);
        return p;
    }
}
%extend lola_layer_params {
    lola_layer_params() {
        lola_layer_params *p = (lola_layer_params *)calloc(1, sizeof *p);
        if (p) lola_layer_params_init(p); else lola_swig_fail(LOLA_ERR_OUT_OF_MEMORY);
        return p;
    }
}
%extend lola_sampler_params {
    lola_sampler_params() {
        lola_sampler_params *p = (lola_sampler_params *)calloc(1, sizeof *p);
        if (p) lola_sampler_params_init(p); else lola_swig_fail(LOLA_ERR_OUT_OF_MEMORY);
        return p;
    }
}

/* ---- the handles ---------------------------------------------------------------------------- */
/* A closed proxy passes NULL: refuse it before C sees it. */
%typemap(check) struct lola_model *self, const struct lola_model *self,
                struct lola_context *self, const struct lola_context *self,
                struct lola_layer *self, const struct lola_layer *self,
                struct lola_sampler *self, const struct lola_sampler *self,
                struct lola_swig_batch *self, const struct lola_swig_batch *self,
                lola_model *model, lola_context *ctx, const lola_context *ctx {
    if (!$1) lola_swig_fail_with(LOLA_ERR_NULL_HANDLE, "$1_basetype: the handle is closed or null");
}

/* Returns new objects the caller owns. */
%newobject lola_model::w_info;
%newobject lola_model::w_special_tokens;
%newobject lola_model::w_perplexity;
%newobject lola_context::w_clone;
%newobject lola_context::w_info;
%newobject lola_context::w_head_state;
%newobject lola_layer::w_clone;
%newobject lola_layer::w_info;
%newobject lola_layer::w_head_state;

/* Array patterns (see the top): the descriptive C names map to the generic patterns. */
%apply (const int32_t *LOLA_IN_I32, size_t LOLA_IN_LEN) { (const int32_t *tokens, size_t n_tokens),
                                                         (const int32_t *layer_attention, size_t n_layer_attention) };
%apply (const char *LOLA_IN_BYTES, size_t LOLA_IN_LEN) { (const char *text, size_t text_len),
                                                         (const char *blob, size_t blob_len) };
%apply (const float *LOLA_IN_F32, size_t LOLA_IN_LEN) {
    (const float *logits, size_t n_logits), (const float *q, size_t q_len),
    (const float *k, size_t k_len), (const float *v, size_t v_len),
    (const float *fq, size_t fq_len), (const float *fk, size_t fk_len),
    (const float *window_factors, size_t window_factors_len),
    (const float *hedgehog_q, size_t hedgehog_q_len),
    (const float *hedgehog_k, size_t hedgehog_k_len) };
%apply (int32_t *LOLA_OUT_I32, size_t LOLA_OUT_LEN) { (int32_t *out_tokens, size_t capacity) };
%apply (int64_t *LOLA_OUT_I64, size_t LOLA_OUT_LEN) { (int64_t *out_positions, size_t capacity) };
%apply (float *LOLA_OUT_F32, size_t LOLA_OUT_LEN) { (float *out, size_t capacity),
                                                    (float *y, size_t y_len) };
%apply (char *LOLA_OUT_BYTES, size_t LOLA_OUT_LEN) { (char *out_bytes, size_t capacity) };
%apply (float *LOLA_OUT_BUFFER, size_t LOLA_OUT_LEN) { (float *out_buffer, size_t capacity) };

/* The handles: opaque in C; an empty body lets SWIG make a proxy class of each (the wrapper
 * never needs their size). Declared after every typemap above: SWIG wraps a class, %extend
 * members included, with the typemaps in force where the class is declared. */
struct lola_model {};
struct lola_context {};
struct lola_layer {};
struct lola_sampler {};

%include "lola_handles.i"
