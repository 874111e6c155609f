/*
 * lola.h: the stable C API of liblola, a runtime for LoLA attention
 * (Low-Rank Linear Attention with Sparse Caching, arXiv 2505.23666).
 *
 * This header is self-contained C99 and is the reference documentation of the API.
 *
 * ---------------------------------------------------------------------------------------------
 * CONVENTIONS
 *
 * Errors.      Every fallible function returns a lola_status. LOLA_OK is 0; anything else is an
 *              error, and lola_last_error_message() then describes what went wrong and where.
 *              No input (argument, array contents, byte blob) can abort the host process: C++
 *              exceptions never cross this boundary. A function that fails leaves every object it
 *              was given exactly as it was before the call ("loses nothing"), unless its
 *              documentation says otherwise.
 *
 * Handles.     Objects are opaque handles created by lola_*_create / lola_*_clone and released
 *              by the matching lola_*_free. Passing NULL to a free function is a no-op. Passing
 *              NULL where a handle is required returns LOLA_ERR_NULL_HANDLE.
 *
 * Ownership.   The library never takes ownership of caller memory and never returns memory the
 *              caller must free. Arrays passed in are read during the call only (they are copied
 *              when the library needs them later, e.g. feature-map weights at creation). Arrays
 *              the library fills are provided by the caller with their capacity; "size query"
 *              calls tell how much is needed first.
 *
 * Structs.     Parameter and info structs are never passed by value. Their first field is
 *              struct_size: set by the matching lola_*_params_init() for parameters (which also
 *              fills every default), by the caller (sizeof) for info structs the library fills.
 *              Within one ABI version fields are only ever appended, and the library accepts
 *              every size a header of that ABI version has published for the struct: a program
 *              compiled against an older header keeps working with a newer library (a smaller
 *              parameter struct: the fields it does not know take their defaults; a smaller info
 *              struct: only the fields it knows are written). Any other size is refused with
 *              LOLA_ERR_VERSION_MISMATCH and a message naming the sizes accepted. ABI version 2
 *              is the first of its line. lola_model_params and lola_model_info have two
 *              published sizes (the second appends adapter_path, has_adapter and
 *              fingerprint); every other struct has one.
 *
 * Threading.   lola_layer objects are independent of one another: any number of layers may be
 *              used concurrently from different threads. One layer must not be used from two
 *              threads at the same time when at least one of the calls mutates it (feed, reset,
 *              restore, free); calls that take a `const lola_layer *` may run concurrently with
 *              each other. A layer may move between threads. The error message is thread-local.
 *              A layer may run its own worker threads inside a call (params.n_threads); they
 *              never outlive lola_layer_free.
 *
 * Arrays.      All tensors are float32, dense, row-major and token-major: q is [T][n_heads][d],
 *              k and v are [T][n_kv_heads][d], outputs are [T][n_heads][d]. Every array argument
 *              comes with its length in elements, which must equal what the shapes imply
 *              (LOLA_ERR_SIZE_MISMATCH otherwise), so a binding's array bug cannot overrun memory.
 *
 * Versions.    LOLA_ABI_VERSION changes when a change breaks binary compatibility; the shared
 *              library's SONAME carries it (liblola.so.<ABI>). Bindings must compare
 *              lola_abi_version() with the value they were built for and refuse a mismatch.
 * ---------------------------------------------------------------------------------------------
 */
#ifndef LOLA_H
#define LOLA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#  if defined(LOLA_BUILDING_LIBRARY)
#    define LOLA_API __declspec(dllexport)
#  else
#    define LOLA_API __declspec(dllimport)
#  endif
#else
#  define LOLA_API __attribute__((visibility("default")))
#endif

/** Integer ABI version of this header. Compare with lola_abi_version() at run time. */
#define LOLA_ABI_VERSION 2

/* ============================================================================================
 * Status codes and errors
 * ============================================================================================ */

/** Result of every fallible call. Values are stable; new ones are only appended. */
typedef enum lola_status {
    LOLA_OK = 0,                     /**< success */
    LOLA_ERR_INVALID_ARGUMENT = 1,   /**< a parameter value is out of its documented range */
    LOLA_ERR_NULL_HANDLE = 2,        /**< a required handle was NULL */
    LOLA_ERR_NULL_POINTER = 3,       /**< a required array or output pointer was NULL */
    LOLA_ERR_SIZE_MISMATCH = 4,      /**< an array length does not match the shapes it implies */
    LOLA_ERR_BUFFER_TOO_SMALL = 5,   /**< an output buffer is too small; the needed size is
                                          reported through the call's size out-parameter */
    LOLA_ERR_NON_FINITE = 6,         /**< an input array contains NaN or infinity */
    LOLA_ERR_OUT_OF_MEMORY = 7,      /**< an allocation failed */
    LOLA_ERR_CORRUPT_DATA = 8,       /**< a byte blob is truncated, altered or not a LoLA blob */
    LOLA_ERR_VERSION_MISMATCH = 9,   /**< a blob (or struct) from an unsupported format version */
    LOLA_ERR_INCOMPATIBLE = 10,      /**< a valid blob made by an object with another configuration */
    LOLA_ERR_UNSUPPORTED = 11,       /**< the operation does not apply to this object's mode */
    LOLA_ERR_INTERNAL = 12,          /**< a bug in liblola; please report the message */
    LOLA_ERR_IO = 13,                /**< a file could not be opened, read or mapped */
    LOLA_ERR_ABORTED = 14            /**< the abort callback asked to stop; see the call for
                                          what state the object is left in */
} lola_status;

/** A static English name for a status, e.g. "LOLA_ERR_SIZE_MISMATCH". Never NULL; unknown
 *  values give "LOLA_ERR_UNKNOWN". The string lives forever. Thread-safe. */
LOLA_API const char *lola_status_string(lola_status status);

/** The message of the last failed call on the calling thread (empty string if none).
 *  The pointer stays valid until the next liblola call on the same thread. Thread-local. */
LOLA_API const char *lola_last_error_message(void);

/** Library version as "MAJOR.MINOR.PATCH". Static storage; thread-safe. */
LOLA_API const char *lola_version(void);

/** The ABI version the library was built with (LOLA_ABI_VERSION of its header). */
LOLA_API int32_t lola_abi_version(void);

/* ============================================================================================
 * The standalone LoLA attention layer
 *
 * One multi-head attention layer's memory system: for every head, a sliding window of the
 * most recent key/value pairs (the previous complete chunk plus the current partial chunk),
 * a sparse cache G of at most `sparse_capacity` older pairs chosen by self-recall error, and a
 * linear-attention state (H, s) that every other past pair is folded into. The caller supplies
 * q, k, v per token (RoPE, if any, already applied to q and k) and receives the attention
 * outputs. Cost per token and memory are constant in the context length (except for the
 * LOLA_ATTENTION_FULL baseline).
 * ============================================================================================ */

/** Which attention the layer computes. */
typedef enum lola_attention {
    LOLA_ATTENTION_LOLA = 0,    /**< window + sparse cache + linear state (sparse_capacity = 0
                                     gives the LoLCATs window + linear state baseline) */
    LOLA_ATTENTION_FULL = 1,    /**< exact causal softmax over every past token (memory grows) */
    LOLA_ATTENTION_WINDOW = 2   /**< softmax over the sliding window only; older pairs are
                                     dropped ("evicted"); sparse_capacity is ignored */
} lola_attention;

/** The feature map phi of the linear-attention state. */
typedef enum lola_feature_map {
    LOLA_FEATURE_MAP_HEDGEHOG = 0,    /**< learned (LoLCATs): weights given per query head;
                                           state is kept per query head */
    LOLA_FEATURE_MAP_PERFORMER = 1,   /**< positive random features, seeded: training-free
                                           approximation of exp(q.k/sqrt(d)); state per KV head */
    LOLA_FEATURE_MAP_ELU1 = 2,        /**< elu(x)+1, feature_dim = head_dim; state per KV head */
    LOLA_FEATURE_MAP_RELU = 3,        /**< relu(x), feature_dim = head_dim; state per KV head */
    LOLA_FEATURE_MAP_PRECOMPUTED = 4  /**< the caller passes phi(q) and phi(k) for every query
                                           head to lola_layer_feed_features(); state per query
                                           head */
} lola_feature_map;

/** How the softmax part (window and sparse cache) is mixed with the linear read-out. */
typedef enum lola_mixing {
    LOLA_MIXING_LOLA = 0,     /**< mode A (default, the released LoLA code):
                                   (g.N + (1-g).phi(q)H) / (g.Z + (1-g).phi(q)s + eps) */
    LOLA_MIXING_LOLCATS = 1   /**< mode B (LoLCATs Eq. 7): (g.N' + phi(q)H) / (g.Z' + phi(q)s)
                                   with N', Z' normalised by the maximum score */
} lola_mixing;

/** Which pairs the sparse cache keeps at a chunk boundary (highest score wins). */
typedef enum lola_scoring {
    LOLA_SCORING_SRE = 0,         /**< self-recall error against the linear state (LoLA) */
    LOLA_SCORING_RECENCY = 1,     /**< the most recent positions (ablation) */
    LOLA_SCORING_RANDOM = 2,      /**< a seeded random priority per (KV head, position) */
    LOLA_SCORING_VALUE_NORM = 3   /**< the L2 norm of the value vector (ablation) */
} lola_scoring;

/** Feature map choice: besides the lola_feature_map values, AUTO picks hedgehog when hedgehog
 *  weights are present (a model's LoLA tensors, or a layer's hedgehog_q/hedgehog_k) and
 *  performer otherwise. */
#define LOLA_FEATURE_MAP_AUTO (-1)

/** For chunk_size, sparse_capacity and mixing of lola_attention_params (their default): the
 *  model's value, from the lola.* metadata a converted LoLCATs model carries (lola-convert
 *  writes C = lambda = 64 for Llama-3.1-8B, 256 for Llama-3.2-1B, mixing mode A), else, and
 *  always for a standalone layer, the library's: chunk 64, sparse capacity 64, LOLA_MIXING_LOLA. */
#define LOLA_MODEL_DEFAULT (-1)

/** What every head's memory does: the settings shared by standalone layers
 *  (lola_layer_params.attention) and model contexts (lola_context_params.attention). Fill with
 *  lola_attention_params_init() first; lola_attention_params_resolve() shows what the
 *  LOLA_MODEL_DEFAULT fields become. Read during the create call only. */
typedef struct lola_attention_params {
    size_t struct_size;           /**< set by lola_attention_params_init */
    int32_t attention;            /**< a lola_attention value (default LOLA_ATTENTION_LOLA) */
    int32_t chunk_size;           /**< C: chunk and window unit, >= 1, or LOLA_MODEL_DEFAULT
                                       (default) */
    int32_t sparse_capacity;      /**< lambda: sparse cache entries per head, >= 0, or
                                       LOLA_MODEL_DEFAULT (default) */
    int32_t feature_map;          /**< LOLA_FEATURE_MAP_AUTO (default) or a lola_feature_map
                                       value (PRECOMPUTED: standalone layers only) */
    int32_t feature_dim;          /**< F. 0 (default) picks the map's: head_dim for elu1/relu/
                                       performer, 2*64 for a layer's hedgehog, the file's for a
                                       model's. hedgehog needs it even; elu1/relu need it equal
                                       to head_dim */
    int32_t mixing;               /**< a lola_mixing value, or LOLA_MODEL_DEFAULT (default) */
    int32_t scoring;              /**< a lola_scoring value (default LOLA_SCORING_SRE) */
    int32_t performer_orthogonal; /**< performer only: 1 draws orthogonal blocks of rows
                                       (default 0) */
    uint64_t seed;                /**< seeds the performer projections (layer l of a model uses
                                       seed + l) and random scoring (default 0x4C6F4C41) */
    float eps;                    /**< epsilon of the mixing and SRE denominators (default
                                       1e-6) */
} lola_attention_params;

/** Fills *params with struct_size and every default. Returns LOLA_ERR_NULL_POINTER if NULL. */
LOLA_API lola_status lola_attention_params_init(lola_attention_params *params);

/** Parameters of lola_layer_create(): the layer's shapes and weights. Fill with
 *  lola_layer_params_init() first. */
typedef struct lola_layer_params {
    size_t struct_size;          /**< sizeof(lola_layer_params); set by lola_layer_params_init */
    int32_t n_heads;             /**< query heads, >= 1 (default 1) */
    int32_t n_kv_heads;          /**< key/value heads, >= 1, divides n_heads (default 1) */
    int32_t head_dim;            /**< d, >= 1 (default 64) */
    int32_t n_threads;           /**< worker threads used inside a call, >= 1 (default 1) */
    const lola_attention_params *attention; /**< the memory's settings; NULL (default): every
                                      default of lola_attention_params_init */
    float softmax_scale;         /**< 0 means 1/sqrt(head_dim) (default 0) */
    const float *window_factors; /**< [n_heads] gate logits, g = sigmoid(w); NULL: all 0
                                      (g = 0.5, the plain hybrid). Copied at creation */
    const float *hedgehog_q;     /**< hedgehog only: [n_heads][head_dim][feature_dim/2] weights
                                      of the query map. Copied at creation */
    const float *hedgehog_k;     /**< hedgehog only: same shape, the key map */
} lola_layer_params;

/** Fills *params with struct_size and every default. Returns LOLA_ERR_NULL_POINTER if NULL. */
LOLA_API lola_status lola_layer_params_init(lola_layer_params *params);

/** Opaque handle of one attention layer and its cache state. */
typedef struct lola_layer lola_layer;

/** Creates a layer. On success *out owns a new layer (free it with lola_layer_free); on failure
 *  *out is set to NULL. Statuses: LOLA_ERR_NULL_POINTER (params or out NULL),
 *  LOLA_ERR_VERSION_MISMATCH (struct_size not one this library knows), LOLA_ERR_INVALID_ARGUMENT
 *  (a value out of range, e.g. n_heads not a multiple of n_kv_heads, hedgehog weights missing),
 *  LOLA_ERR_NON_FINITE (NaN/Inf in the weights or gates), LOLA_ERR_OUT_OF_MEMORY (also, before
 *  allocating, when the state the parameters imply exceeds the machine's physical memory). */
LOLA_API lola_status lola_layer_create(const lola_layer_params *params, lola_layer **out);

/** Releases a layer and all its memory. NULL is a no-op. */
LOLA_API void lola_layer_free(lola_layer *layer);

/** Creates an independent deep copy (same parameters and cache state) in *out. */
LOLA_API lola_status lola_layer_clone(const lola_layer *layer, lola_layer **out);

/** Forgets every token: the layer is as freshly created (weights and parameters kept). */
LOLA_API lola_status lola_layer_reset(lola_layer *layer);

/** Feeds n_tokens consecutive tokens and writes their attention outputs.
 *  q: [n_tokens][n_heads][head_dim], q_len = n_tokens*n_heads*head_dim.
 *  k, v: [n_tokens][n_kv_heads][head_dim], k_len = v_len = n_tokens*n_kv_heads*head_dim.
 *  y: [n_tokens][n_heads][head_dim] output, y_len likewise; y may be NULL (with y_len 0) to
 *  update the cache without computing outputs (e.g. to skip ahead in a benchmark).
 *  Long inputs are processed chunk by chunk with matrix products; the result equals feeding the
 *  tokens one at a time, for every split of a sequence into calls.
 *  Statuses: LOLA_ERR_NULL_HANDLE, LOLA_ERR_NULL_POINTER, LOLA_ERR_INVALID_ARGUMENT
 *  (n_tokens <= 0), LOLA_ERR_SIZE_MISMATCH, LOLA_ERR_NON_FINITE (NaN/Inf in q, k or v: nothing is
 *  fed), LOLA_ERR_UNSUPPORTED (the layer uses LOLA_FEATURE_MAP_PRECOMPUTED: use
 *  lola_layer_feed_features), LOLA_ERR_OUT_OF_MEMORY (full attention only; nothing is fed). */
LOLA_API lola_status lola_layer_feed(lola_layer *layer, int64_t n_tokens,
                                     const float *q, size_t q_len,
                                     const float *k, size_t k_len,
                                     const float *v, size_t v_len,
                                     float *y, size_t y_len);

/** As lola_layer_feed, for layers with LOLA_FEATURE_MAP_PRECOMPUTED: the caller also passes
 *  phi(q) and phi(k) for every query head, fq and fk: [n_tokens][n_heads][feature_dim].
 *  Features must be finite; with mixing mode A and SRE scoring they should be non-negative.
 *  Returns LOLA_ERR_UNSUPPORTED for layers with any other feature map. */
LOLA_API lola_status lola_layer_feed_features(lola_layer *layer, int64_t n_tokens,
                                              const float *q, size_t q_len,
                                              const float *k, size_t k_len,
                                              const float *v, size_t v_len,
                                              const float *fq, size_t fq_len,
                                              const float *fk, size_t fk_len,
                                              float *y, size_t y_len);

/** Shapes and totals of a layer. */
typedef struct lola_layer_info {
    size_t struct_size;      /**< set by the caller to sizeof(lola_layer_info) */
    int32_t n_heads;
    int32_t n_kv_heads;
    int32_t head_dim;
    int32_t feature_dim;     /**< F actually used */
    int32_t n_state_heads;   /**< heads that own a cache state: n_heads or n_kv_heads */
    int32_t chunk_size;
    int32_t sparse_capacity;
    int32_t attention;       /**< lola_attention */
    int64_t n_tokens;        /**< tokens fed since creation or reset */
    uint64_t bytes;          /**< bytes of cache state held by the layer (all heads) */
} lola_layer_info;

/** Fills *info (info->struct_size must be set by the caller). */
LOLA_API lola_status lola_layer_get_info(const lola_layer *layer, lola_layer_info *info);

/** The memories of the cache. */
typedef enum lola_memory {
    LOLA_MEMORY_WINDOW = 0,  /**< the sliding window (previous chunk + current partial chunk;
                                  for LOLA_ATTENTION_FULL: every past token) */
    LOLA_MEMORY_SPARSE = 1   /**< the sparse cache G */
} lola_memory;

/** Cache state of one query head. */
typedef struct lola_head_state {
    size_t struct_size;   /**< set by the caller to sizeof(lola_head_state) */
    int32_t state_head;   /**< index of the state this query head reads (query heads of one KV
                               group share one when the feature map allows it) */
    int64_t n_window;     /**< pairs in the window */
    int64_t n_sparse;     /**< pairs in the sparse cache G (<= sparse_capacity) */
    int64_t n_folded;     /**< pairs folded into the linear state (never come back) */
    int64_t n_evicted;    /**< pairs dropped entirely (LOLA_ATTENTION_WINDOW only) */
    uint64_t bytes;       /**< bytes held by this head's state (shared by its KV group when
                               state_head is shared) */
} lola_head_state;

/** Fills *state for query head `head` (0 <= head < n_heads). Every fed position is in exactly
 *  one of window, sparse, folded, evicted: n_window + n_sparse + n_folded + n_evicted equals the
 *  number of tokens fed. */
LOLA_API lola_status lola_layer_get_head_state(const lola_layer *layer, int32_t head,
                                               lola_head_state *state);

/** Copies the token positions (0-based, ascending) held in one memory of query head `head`
 *  into positions[0..capacity), and, for LOLA_MEMORY_SPARSE, their latest scores into
 *  scores[0..capacity) when scores is not NULL (for LOLA_MEMORY_WINDOW scores must be NULL).
 *  *n_out receives the number of positions in that memory. positions may be NULL (capacity 0)
 *  to query that number only. Returns LOLA_ERR_BUFFER_TOO_SMALL (writing nothing) when capacity
 *  is smaller than *n_out. */
LOLA_API lola_status lola_layer_get_positions(const lola_layer *layer, int32_t head,
                                              int32_t memory, int64_t *positions,
                                              float *scores, size_t capacity, size_t *n_out);

/** Bytes needed to save the layer's current state (changes as tokens are fed). */
LOLA_API lola_status lola_layer_state_size(const lola_layer *layer, size_t *size);

/** Saves the state into buffer[0..capacity) as a versioned, checksummed blob and stores its
 *  length in *written. LOLA_ERR_BUFFER_TOO_SMALL (writing nothing, *written = size needed)
 *  when capacity is too small. LOLA_ERR_NON_FINITE (writing nothing) when the state holds NaN or
 *  infinity (inputs near the float range overflowed it), which restore would refuse. */
LOLA_API lola_status lola_layer_state_save(const lola_layer *layer, void *buffer,
                                           size_t capacity, size_t *written);

/** Restores a state saved by lola_layer_state_save from a layer with the same parameters.
 *  The whole blob is validated before the layer is touched: on any error the layer is
 *  unchanged. Statuses: LOLA_ERR_CORRUPT_DATA (not a LoLA state blob, truncated, checksum
 *  mismatch, inconsistent contents), LOLA_ERR_VERSION_MISMATCH (blob format from another
 *  version), LOLA_ERR_INCOMPATIBLE (saved by a layer with different parameters or weights). */
LOLA_API lola_status lola_layer_state_restore(lola_layer *layer, const void *buffer,
                                              size_t size);

/* ============================================================================================
 * Models and contexts
 *
 * A lola_model is a Llama-architecture GGUF file, memory-mapped and validated at load. It is
 * immutable afterwards: any number of contexts on any number of threads may share it. A
 * lola_context is one inference stream over a model: every attention layer of the model is a
 * LoLA layer (or a baseline) with its own cache state. Feed token ids, read logits, inspect and
 * save the cache state.
 *
 * Lifetimes: a context holds a reference on its model; lola_model_free() with live contexts
 * only drops the caller's reference, and the model is released with its last context.
 * Threading: a model may be used from any number of threads at once. A context is used by one
 * thread at a time (calls that take a const context may run concurrently with each other).
 * lola_context_abort_callback's function may be called on the feeding thread only; a flag it
 * reads may be set from any thread.
 * ============================================================================================ */

typedef struct lola_model lola_model;
typedef struct lola_context lola_context;

/** Where a model's computation runs. */
typedef enum lola_device {
    LOLA_DEVICE_CPU = 0,   /**< the CPU (default) */
    LOLA_DEVICE_CUDA = 1   /**< a CUDA GPU (device_index). Today every load on it fails with
                                LOLA_ERR_UNSUPPORTED: without the CUDA backend in the build,
                                without a driver or a GPU (the message gives the driver's
                                words), with a GPU older than sm_80, and, in this version, on
                                any GPU (the backend is not complete); a negative
                                device_index or one past the GPUs is LOLA_ERR_INVALID_ARGUMENT */
} lola_device;

/** The number of devices of one kind this process can use, into *count: LOLA_DEVICE_CPU: 1;
 *  LOLA_DEVICE_CUDA: the GPUs the CUDA driver reports (asked through libcuda.so.1, opened at
 *  run time: liblola links no CUDA library), 0 without a driver or a GPU. Thread-safe; the
 *  driver is asked once per process. Statuses: LOLA_ERR_NULL_POINTER, LOLA_ERR_INVALID_ARGUMENT
 *  (not a lola_device value). */
LOLA_API lola_status lola_device_count(int32_t device, int32_t *count);

typedef struct lola_model_params {
    size_t struct_size;      /**< set by lola_model_params_init */
    int32_t device;          /**< a lola_device value (default LOLA_DEVICE_CPU) */
    int32_t device_index;    /**< GPU index for LOLA_DEVICE_CUDA (default 0) */
    uint64_t memory_budget;  /**< bytes the model may hold (weights and tables); 0 = no limit.
                                  A load that would exceed it fails with LOLA_ERR_OUT_OF_MEMORY
                                  and the sizes in the message */
    /* appended (second published size): a caller compiled without it loads no adapter */
    const char *adapter_path; /**< a LoLA adapter GGUF for this model (docs/ADAPTERS.md: the
                                  hedgehog feature maps, gates and chunk/lambda/mixing defaults
                                  lola-linearize trained for it), or NULL (default): none. Read
                                  during the load only; the adapter's values replace any the
                                  model file carries. The adapter records the fingerprint of the
                                  model it was trained for (lola_model_info.fingerprint of that
                                  model loaded without an adapter) and is refused on any other.
                                  An empty string is LOLA_ERR_INVALID_ARGUMENT */
} lola_model_params;

/** Fills *params with struct_size and defaults. */
LOLA_API lola_status lola_model_params_init(lola_model_params *params);

/** Loads a GGUF model. On failure *out is NULL and the message names the file, the field or
 *  tensor, and the values. Statuses: LOLA_ERR_NULL_POINTER, LOLA_ERR_VERSION_MISMATCH (struct
 *  size), LOLA_ERR_IO (cannot open or map), LOLA_ERR_CORRUPT_DATA (malformed file, or a weight
 *  that is NaN or infinite: every weight is checked at load, and the message names the tensor),
 *  LOLA_ERR_UNSUPPORTED (architecture, tensor type or device), LOLA_ERR_OUT_OF_MEMORY (budget,
 *  checked on the file sizes before they are read).
 *  With params->adapter_path, the adapter's errors say "adapter '<path>': ...":
 *  LOLA_ERR_IO (cannot open), LOLA_ERR_CORRUPT_DATA (not a LoLA adapter, a field or tensor
 *  missing, malformed or non-finite, a tensor liblola does not read), LOLA_ERR_VERSION_MISMATCH
 *  (another adapter format version), LOLA_ERR_INCOMPATIBLE (trained for another model: the
 *  message gives both fingerprints; or its shapes differ), LOLA_ERR_UNSUPPORTED (a feature map
 *  other than hedgehog). */
LOLA_API lola_status lola_model_load(const char *path, const lola_model_params *params,
                                     lola_model **out);

/** Drops the caller's reference; the model is released when no context uses it. NULL: no-op. */
LOLA_API void lola_model_free(lola_model *model);

typedef struct lola_model_info {
    size_t struct_size;        /**< set by the caller to sizeof(lola_model_info) */
    char architecture[32];     /**< NUL-terminated, e.g. "llama" */
    char name[128];            /**< general.name, NUL-terminated (truncated if longer) */
    int32_t n_layer;
    int32_t n_head;
    int32_t n_head_kv;
    int32_t head_dim;
    int32_t n_embd;
    int32_t n_ff;
    int32_t n_vocab;
    int64_t n_ctx_train;       /**< trained context length (0 if the file does not say) */
    uint64_t weight_bytes;     /**< bytes of tensor data in the file */
    int32_t has_lola_tensors;  /**< 1 if the model has hedgehog feature maps and gates (from its
                                    file or its adapter) */
    /* appended (second published size) */
    int32_t has_adapter;       /**< 1 if loaded with lola_model_params.adapter_path */
    uint64_t fingerprint;      /**< identifies the weights the model computes with: its file's
                                    tensors and, with an adapter, every adapter value. Context
                                    state blobs record it (a blob restores only on a model of the
                                    same fingerprint); an adapter records its base's */
} lola_model_info;

LOLA_API lola_status lola_model_get_info(const lola_model *model, lola_model_info *info);

/** A human-readable summary of any GGUF file (version, every metadata key and value, long
 *  values cut, tensor counts by type, the first tensors), whether or not liblola can run it,
 *  into text[0..capacity) NUL-terminated; *text_len receives the length without the NUL (text
 *  may be NULL with capacity 0 to ask). The file is validated as lola_model_load does:
 *  LOLA_ERR_IO, LOLA_ERR_CORRUPT_DATA with the field in the message. */
LOLA_API lola_status lola_file_describe(const char *path, char *text, size_t capacity,
                                        size_t *text_len);

typedef struct lola_context_params {
    size_t struct_size;        /**< set by lola_context_params_init */
    int32_t n_threads;         /**< worker threads for this context, >= 1 (default 1) */
    int32_t batch_size;        /**< tokens per forward step in a prefill, >= 1 (default 64) */
    const lola_attention_params *attention; /**< every layer's memory; NULL (default): every
                                    default of lola_attention_params_init. The feature map may
                                    not be PRECOMPUTED */
    float gate_logit;          /**< NaN (default): the model's gates when it carries LoLA
                                    tensors, else 0 (g = 0.5: the plain hybrid); a number: the
                                    gate logit w of every head, g = sigmoid(w), the weight of the
                                    window and sparse cache against the linear state */
    /* appended (second published size): a caller compiled without them gets one kind for all */
    const int32_t *layer_attention; /**< per-layer attention kinds, or NULL (default): every
                                    layer computes attention->attention. Else n_layer_attention
                                    values, one per layer of the model, each a lola_attention
                                    value or LOLA_MODEL_DEFAULT (attention->attention): a hybrid
                                    such as a few full-attention layers among LoLA ones (the
                                    full layers' cache grows with the tokens fed). Every other
                                    setting of `attention` applies to every layer. Read during
                                    the create call only */
    size_t n_layer_attention;  /**< entries of layer_attention: the model's n_layer (any other
                                    count is LOLA_ERR_INVALID_ARGUMENT); 0 with NULL */
} lola_context_params;

LOLA_API lola_status lola_context_params_init(lola_context_params *params);

/** Replaces each field of *params that holds LOLA_MODEL_DEFAULT (chunk_size, sparse_capacity,
 *  mixing) by the value a context on `model` would use, or, with model NULL, the value a
 *  standalone layer would use, leaving every other field as it is; for callers that show or
 *  compute with the settings (the create functions resolve them themselves). Statuses:
 *  LOLA_ERR_NULL_POINTER, LOLA_ERR_VERSION_MISMATCH. */
LOLA_API lola_status lola_attention_params_resolve(const lola_model *model,
                                                   lola_attention_params *params);

/** Creates a context on `model` (which it references). Statuses: LOLA_ERR_NULL_HANDLE,
 *  LOLA_ERR_NULL_POINTER, LOLA_ERR_VERSION_MISMATCH, LOLA_ERR_INVALID_ARGUMENT. */
LOLA_API lola_status lola_context_create(lola_model *model, const lola_context_params *params,
                                         lola_context **out);

/** Releases a context (and its model reference). NULL: no-op. */
LOLA_API void lola_context_free(lola_context *ctx);

/** A deep copy of the context's state on the same model (cheap: LoLA state is fixed-size). */
LOLA_API lola_status lola_context_clone(const lola_context *ctx, lola_context **out);

/** Forgets every token. */
LOLA_API lola_status lola_context_reset(lola_context *ctx);

/** Flags of lola_context_feed. */
#define LOLA_FEED_ALL_LOGITS 1u  /**< keep the logits of every fed token, not only the last */

/** Feeds n_tokens token ids (prefill chunk by chunk, or one token for decode) and computes the
 *  logits of the last token (or all, with LOLA_FEED_ALL_LOGITS). Every id is checked first: an
 *  id outside [0, n_vocab) gives LOLA_ERR_INVALID_ARGUMENT, feeds nothing and keeps the logits.
 *  If the abort callback asks to stop (checked between forward steps), returns
 *  LOLA_ERR_ABORTED: the tokens before that point were fed (n_fed, if not NULL, tells how many;
 *  the logits are then unavailable until the next feed). */
LOLA_API lola_status lola_context_feed(lola_context *ctx, const int32_t *tokens,
                                       size_t n_tokens, uint32_t flags, size_t *n_fed);

/** Borrowed pointer to the logits of the last feed: [*n_rows][*n_vocab] floats; the values are
 *  valid until the next call that mutates this context (feed, reset, restore, free). The buffer
 *  is reused: a later feed, reset or restore leaves it at the same address (holding other
 *  values) unless that feed needs more rows than every earlier feed of this context
 *  (LOLA_FEED_ALL_LOGITS), which moves it; free releases it. LOLA_ERR_UNSUPPORTED when no
 *  logits are available (nothing fed yet, or aborted). */
LOLA_API lola_status lola_context_logits(const lola_context *ctx, const float **logits,
                                         size_t *n_rows, size_t *n_vocab);

/** Copies row `row` of the logits (-1: the last row) into out[0..n_vocab); capacity must be at
 *  least n_vocab (LOLA_ERR_BUFFER_TOO_SMALL otherwise). */
LOLA_API lola_status lola_context_copy_logits(const lola_context *ctx, int64_t row, float *out,
                                              size_t capacity);

/* ---- Perplexity of a text, sliding over it as llama.cpp's perplexity tool does ----------- */

/** What lola_perplexity measured. */
typedef struct lola_perplexity_result {
    size_t struct_size;   /**< set by the caller to sizeof(lola_perplexity_result) */
    int64_t n_windows;    /**< windows evaluated */
    int64_t n_scored;     /**< tokens whose probability was scored */
    double nll;           /**< mean negative log-likelihood of a scored token, in nats */
    double perplexity;    /**< exp(nll) */
} lola_perplexity_result;

/** Perplexity of `tokens` at context length n_ctx under contexts made with `params` (NULL: the
 *  defaults), so any attention variant (full, window, LoLA with any settings) is measured the
 *  same way: the tokens are cut into consecutive windows of n_ctx tokens (the last, partial
 *  one dropped); when the model's vocabulary adds a BOS token (lola_tokenize with
 *  LOLA_TOKENIZE_ADD_SPECIAL), a window's first token is replaced by it. Each window is fed to a
 *  fresh context, and every token of its second half (positions n_ctx/2 .. n_ctx-1) is scored
 *  by the log-softmax of the logits before it, in double precision. max_windows > 0 evaluates
 *  at most that many windows (from the start), 0 all of them. The call blocks for as long as
 *  the feeds take (n_threads and batch_size of params apply); it creates and frees its own
 *  contexts, so it may run concurrently with anything else on the same model. Statuses:
 *  LOLA_ERR_NULL_HANDLE, LOLA_ERR_NULL_POINTER, LOLA_ERR_VERSION_MISMATCH (a struct size),
 *  LOLA_ERR_INVALID_ARGUMENT (n_ctx < 2, max_windows < 0, fewer than n_ctx tokens, a token id
 *  out of range, a bad context parameter), LOLA_ERR_OUT_OF_MEMORY; *result is written only on
 *  success. */
LOLA_API lola_status lola_perplexity(lola_model *model, const lola_context_params *params,
                                     const int32_t *tokens, size_t n_tokens, int64_t n_ctx,
                                     int64_t max_windows, lola_perplexity_result *result);

/* ---- Batched decode: one token for each of many contexts, every weight read once ---------- */

/** Opaque handle: the activations of one decode step for up to max_contexts contexts of one
 *  model. Made once, reused for every step (lola_batch_decode allocates nothing). */
typedef struct lola_batch lola_batch;

/** Creates a batch for contexts of `model` (the batch references the model inside liblola: it
 *  may outlive the handle). max_contexts in [1, 65536], n_threads in [1, 1024] (the threads of
 *  its matrix products): LOLA_ERR_INVALID_ARGUMENT otherwise. *out receives the batch, owned by
 *  the caller (lola_batch_free). */
LOLA_API lola_status lola_batch_create(lola_model *model, int32_t max_contexts, int32_t n_threads,
                                       lola_batch **out);
LOLA_API void lola_batch_free(lola_batch *batch);

/** Feeds tokens[i] to contexts[i] for i < n, one token each, as one step: the rows of all the
 *  contexts go through each weight matrix together (a matrix product, so the weights are read
 *  once per step, not once per context), while each context keeps its own attention state,
 *  position and logits. Afterwards every context's logits are that token's (one row), exactly as
 *  after lola_context_feed(contexts[i], &tokens[i], 1, 0, NULL): the logits and the cache state
 *  are bitwise equal to feeding the contexts one by one. Contexts may differ in attention
 *  settings (LoLA, full, window) and positions.
 *  Everything is checked first, and an error changes no context: n outside
 *  [1, max_contexts] or a token outside [0, n_vocab) -> LOLA_ERR_INVALID_ARGUMENT, a NULL
 *  contexts[i] -> LOLA_ERR_NULL_HANDLE, a context of another model or the same context twice ->
 *  LOLA_ERR_INVALID_ARGUMENT; the message names "contexts[i]". Abort callbacks are not polled
 *  (a step is one token). Threading: the batch and every context in it belong to the calling
 *  thread for the call; other contexts of the model may be used concurrently. */
LOLA_API lola_status lola_batch_decode(lola_batch *batch, lola_context *const *contexts,
                                       const int32_t *tokens, size_t n);

typedef struct lola_context_info {
    size_t struct_size;      /**< set by the caller to sizeof(lola_context_info) */
    int64_t n_past;          /**< tokens fed */
    int32_t n_layer;
    int32_t n_state_heads;   /**< state heads per layer */
    uint64_t state_bytes;    /**< cache state of all layers (constant in n_past for LoLA) */
    int64_t n_window;        /**< totals over layers and query heads */
    int64_t n_sparse;
    int64_t n_folded;
    int64_t n_evicted;
} lola_context_info;

LOLA_API lola_status lola_context_get_info(const lola_context *ctx, lola_context_info *info);

/** The cache state of query head `head` of layer `layer` (see lola_layer_get_head_state). */
LOLA_API lola_status lola_context_get_head_state(const lola_context *ctx, int32_t layer,
                                                 int32_t head, lola_head_state *state);

/** Token positions (and sparse-cache scores) of one memory of one head of one layer; the same
 *  contract as lola_layer_get_positions. */
LOLA_API lola_status lola_context_get_positions(const lola_context *ctx, int32_t layer,
                                                int32_t head, int32_t memory,
                                                int64_t *positions, float *scores,
                                                size_t capacity, size_t *n_out);

/** Bytes needed by lola_context_state_save now. */
LOLA_API lola_status lola_context_state_size(const lola_context *ctx, size_t *size);

/** Saves the context's state (model fingerprint, every layer's checksummed state). Same
 *  buffer contract as lola_layer_state_save. */
LOLA_API lola_status lola_context_state_save(const lola_context *ctx, void *buffer,
                                             size_t capacity, size_t *written);

/** Restores a saved state; validated completely before the context changes. Statuses:
 *  LOLA_ERR_CORRUPT_DATA, LOLA_ERR_VERSION_MISMATCH, LOLA_ERR_INCOMPATIBLE (another model or
 *  other LoLA parameters). Logits are unavailable until the next feed. */
LOLA_API lola_status lola_context_state_restore(lola_context *ctx, const void *buffer,
                                                size_t size);

/** Abort callback: polled between forward steps of a feed; returning true stops the feed with
 *  LOLA_ERR_ABORTED. NULL removes it. */
typedef bool (*lola_abort_fn)(void *user_data);
LOLA_API lola_status lola_context_set_abort_callback(lola_context *ctx, lola_abort_fn fn,
                                                     void *user_data);

/** Log levels and callback. The default writes warnings and errors to stderr. */
typedef enum lola_log_level {
    LOLA_LOG_DEBUG = 0,
    LOLA_LOG_INFO = 1,
    LOLA_LOG_WARN = 2,
    LOLA_LOG_ERROR = 3
} lola_log_level;
typedef void (*lola_log_fn)(int32_t level, const char *message, void *user_data);

/** Sets the process-wide log callback (NULL restores the default; pass a function that does
 *  nothing to silence). Thread-safe; the callback may be called from any thread, concurrently,
 *  and must not call back into liblola. */
LOLA_API void lola_set_log_callback(lola_log_fn fn, void *user_data);

/* ============================================================================================
 * Text: the model's tokenizer and sampling
 *
 * The tokenizer comes from the GGUF vocabulary (tokenizer.ggml.*): GPT-2 byte-level BPE with the
 * pre-tokenizer the file names (SmolLM2's "smollm", Llama 3's "llama-bpe", GPT-2's default),
 * special tokens, and the chat template of known models (hard-coded per template, never
 * executed from the file). It belongs to the model: immutable, thread-safe.
 * ============================================================================================ */

/** Flags of lola_tokenize. */
#define LOLA_TOKENIZE_ADD_SPECIAL 1u    /**< add BOS (and EOS) where the model's vocabulary says */
#define LOLA_TOKENIZE_PARSE_SPECIAL 2u  /**< text like "<|im_start|>" becomes its special token;
                                             without it such text is tokenized as plain text */

/** Tokenizes UTF-8 text (text_len bytes; need not be NUL-terminated) into tokens[0..capacity).
 *  *n_tokens receives the number of tokens; tokens may be NULL (capacity 0) to ask for it.
 *  LOLA_ERR_BUFFER_TOO_SMALL (nothing written) when capacity < *n_tokens. Invalid UTF-8 is
 *  tokenized byte by byte, never refused. LOLA_ERR_UNSUPPORTED if the model has no tokenizer. */
LOLA_API lola_status lola_tokenize(const lola_model *model, const char *text, size_t text_len,
                                   uint32_t flags, int32_t *tokens, size_t capacity,
                                   size_t *n_tokens);

/** Flags of lola_detokenize and lola_token_to_piece. */
#define LOLA_DETOKENIZE_SPECIAL 1u  /**< render special tokens as their text (else skip them) */

/** Turns tokens back into UTF-8 bytes in text[0..capacity) (not NUL-terminated); *text_len
 *  receives the byte count (text may be NULL with capacity 0 to ask for it). Ids out of range
 *  give LOLA_ERR_INVALID_ARGUMENT. The bytes of a token sequence are the concatenation of its
 *  pieces; a piece may end in the middle of a UTF-8 character (streaming callers join them). */
LOLA_API lola_status lola_detokenize(const lola_model *model, const int32_t *tokens,
                                     size_t n_tokens, uint32_t flags, char *text,
                                     size_t capacity, size_t *text_len);

/** The bytes of one token (same contract as lola_detokenize for a single token). */
LOLA_API lola_status lola_token_to_piece(const lola_model *model, int32_t token, uint32_t flags,
                                         char *piece, size_t capacity, size_t *piece_len);

/** Special tokens of the model; -1 where the vocabulary has none. */
typedef struct lola_special_tokens {
    size_t struct_size;   /**< set by the caller to sizeof(lola_special_tokens) */
    int32_t bos;
    int32_t eos;
    int32_t eot;          /**< end of turn (e.g. <|im_end|>), -1 if none */
    int32_t unk;
    int32_t pad;
} lola_special_tokens;

LOLA_API lola_status lola_model_special_tokens(const lola_model *model,
                                               lola_special_tokens *out);

/** True when generation should stop at `token` (EOS, EOT or another end-of-generation token). */
LOLA_API bool lola_token_is_eog(const lola_model *model, int32_t token);

/** One message of a chat. */
typedef struct lola_chat_message {
    const char *role;     /**< "system", "user" or "assistant" */
    const char *content;  /**< UTF-8, NUL-terminated */
} lola_chat_message;

/** Renders a chat with the model's template (known templates only: ChatML as SmolLM2 uses it,
 *  Llama 3) into text[0..capacity), NUL-terminated; *text_len receives the length without the
 *  NUL (text may be NULL with capacity 0 to ask). add_assistant appends the assistant prompt.
 *  LOLA_ERR_UNSUPPORTED if the model's template is not one liblola knows. */
LOLA_API lola_status lola_chat_apply_template(const lola_model *model,
                                              const lola_chat_message *messages,
                                              size_t n_messages, bool add_assistant,
                                              char *text, size_t capacity, size_t *text_len);

/** Sampling parameters (fill with lola_sampler_params_init). Applied in this order: repetition
 *  penalty (each distinct id of the last penalty_last_n sampled or accepted tokens, once:
 *  logit > 0 ? logit/penalty : logit*penalty); top-k (ties keep the lower id); top-p and min-p
 *  on the probabilities at temperature 1 of the tokens kept so far (top-p keeps the shortest
 *  most probable prefix reaching top_p, at least one token; min-p drops p < min_p * max p);
 *  temperature; then one draw from the seeded xoshiro256** generator, the same on every
 *  platform. temperature <= 0: greedy (the largest logit after the penalty, lowest id on ties).
 *  Ranges: temperature finite; top_p >= 0 (>= 1: off); min_p <= 1 (<= 0: off);
 *  repeat_penalty > 0 and finite (1: off); 0 <= penalty_last_n <= 1048576; otherwise
 *  lola_sampler_create returns LOLA_ERR_INVALID_ARGUMENT. */
typedef struct lola_sampler_params {
    size_t struct_size;
    float temperature;         /**< default 0.8; <= 0: greedy */
    int32_t top_k;             /**< default 40; <= 0: off */
    float top_p;               /**< default 0.95; >= 1: off */
    float min_p;               /**< default 0.05; <= 0: off */
    float repeat_penalty;      /**< default 1.0 (off); > 1 discourages repeats */
    int32_t penalty_last_n;    /**< default 64 */
    uint64_t seed;             /**< default 0x4C6F4C41; the same seed gives the same tokens */
} lola_sampler_params;

LOLA_API lola_status lola_sampler_params_init(lola_sampler_params *params);

/** A sampler: its parameters, its random generator and its token history. Used by one thread
 *  at a time. */
typedef struct lola_sampler lola_sampler;

LOLA_API lola_status lola_sampler_create(const lola_sampler_params *params, lola_sampler **out);
LOLA_API void lola_sampler_free(lola_sampler *sampler);

/** Samples a token from logits[0..n_vocab) and records it in the sampler's history (for the
 *  repetition penalty). LOLA_ERR_NON_FINITE if a logit is NaN (nothing changes); +-inf are
 *  allowed (several +inf share the probability equally). */
LOLA_API lola_status lola_sampler_sample(lola_sampler *sampler, const float *logits,
                                         size_t n_vocab, int32_t *token);

/** Adds tokens (ids >= 0) to the history without sampling (e.g. the prompt, for the repetition
 *  penalty). */
LOLA_API lola_status lola_sampler_accept(lola_sampler *sampler, const int32_t *tokens,
                                         size_t n_tokens);

/** Clears the history and reseeds the generator. */
LOLA_API lola_status lola_sampler_reset(lola_sampler *sampler, uint64_t seed);

/** Streaming generation: called with each new token and its bytes (valid during the call only;
 *  NULL with piece_len 0 when the model has no tokenizer, and then no token ends the
 *  generation); return false to stop. Must not use the context or the sampler. */
typedef bool (*lola_token_fn)(int32_t token, const char *piece, size_t piece_len,
                              void *user_data);

/** Generates up to max_tokens tokens after what the context has been fed: samples from the
 *  current logits, feeds the token, calls on_token (may be NULL), and stops at an
 *  end-of-generation token (recorded in the sampler's history, neither fed nor passed on), at
 *  max_tokens, or when on_token returns false. The context must have logits (feed the prompt
 *  first; else LOLA_ERR_UNSUPPORTED). The context's abort callback is polled before each token:
 *  LOLA_ERR_ABORTED leaves every generated token fed and the logits valid. *n_generated (may be
 *  NULL) counts the tokens fed and passed to on_token, including one it refused, and is set on
 *  errors too. */
LOLA_API lola_status lola_generate(lola_context *ctx, lola_sampler *sampler, size_t max_tokens,
                                   lola_token_fn on_token, void *user_data,
                                   size_t *n_generated);

#ifdef __cplusplus
}
#endif

#endif /* LOLA_H */
