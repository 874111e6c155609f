/*
 * lola.hpp: header-only C++17 RAII over the C API of lola.h. It is NOT part of liblola's ABI: it
 * only calls the lola_* functions of lola.h (installed beside it), so it compiles into the
 * program that includes it and works with any liblola of the same LOLA_ABI_VERSION.
 *
 * ---------------------------------------------------------------------------------------------
 * NAMESPACE
 *
 * Everything is in `lolapp` ("lola++"), a top-level namespace of its own, not in `lola`: the
 * library's core (core/, linked statically into liblola.so and into its C++ tests) owns `lola::`
 * and its nested namespaces, and has its own lola::Error, lola::Status and more. Types of the
 * same qualified name in two headers would break the one-definition rule as soon as both are in
 * one program (inline members, typeinfo), and a nested lola::cpp would still pull core names
 * into unqualified lookup wherever a core header is also included. `lolapp` shares no name with
 * the core, so this header may be included next to core headers (tests/capi/test_lola_hpp.cpp
 * does) and nothing can clash.
 *
 * CONVENTIONS (lola.h's, in C++ terms)
 *
 * Errors.      Every failing call throws lolapp::Error, which carries the lola_status
 *              (status()), liblola's message (message(), copied on the calling thread right
 *              after the failed call) and what() = "<message> (<LOLA_ERR_NAME>)". check(status)
 *              is the helper that turns a status into that exception; the few checks this
 *              header makes itself (array sizes the C API cannot see, the ABI version) throw the
 *              same type with the status lola.h would use. A call that throws leaves its objects
 *              as they were, exactly as the C call does. Allocation failures in this header are
 *              std::bad_alloc.
 *
 * Ownership.   Model, Context, Layer and Sampler are move-only owners of one handle each (a
 *              std::unique_ptr whose deleter is the matching lola_*_free). Destruction frees it;
 *              a moved-from object holds NULL, and any call on it throws Error with
 *              LOLA_ERR_NULL_HANDLE (from liblola itself: the NULL is passed through). get()
 *              lends the raw handle for direct lola.h calls; release() gives up ownership and
 *              adopt() takes it over. Every std::vector / std::string returned is a copy the
 *              caller owns. The *Params classes are plain values (copyable): their constructors
 *              run the lola_*_params_init, and they own the arrays the C struct points at.
 *
 * Lifetimes.   A Context holds a reference on its model inside liblola, so it may outlive the
 *              Model object it was created from (the model is released with its last context).
 *              Context::logits_view() borrows liblola's buffer: valid until the next call that
 *              mutates that context (feed, generate, reset, restore_state, destruction).
 *              Context::logits() copies. Callbacks given as std::function are owned by the
 *              object they are installed on.
 *
 * Threading.   As lola.h: a Model may be used from any number of threads at once (its methods
 *              are const). A Context, Layer or Sampler is used by one thread at a time; its const
 *              methods may run concurrently with each other. Moving, assigning or destroying an
 *              object mutates it. The abort callback runs on the thread that feeds; it may read
 *              flags other threads set (e.g. a std::atomic<bool>). An exception thrown by a
 *              callback is caught before it reaches C code (the callback then stops the feed or
 *              the generation) and rethrown from the call that ran it.
 *
 * Versions.    The constructors of Model, Layer and Sampler compare lola_abi_version() with the
 *              LOLA_ABI_VERSION this header was compiled against and throw Error
 *              (LOLA_ERR_VERSION_MISMATCH) on a mismatch.
 * ---------------------------------------------------------------------------------------------
 */
#ifndef LOLA_HPP
#define LOLA_HPP

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lola.h"

namespace lolapp {

/* ============================================================================================
 * Errors and versions
 * ============================================================================================ */

/** A failed liblola call: its status and liblola's message. */
class Error : public std::runtime_error {
public:
    Error(lola_status status, const std::string &message)
        : std::runtime_error(describe(status, message)), status_(status), message_(message) {}
    lola_status status() const noexcept { return status_; }
    /** liblola's message alone (what() adds the status name). */
    const std::string &message() const noexcept { return message_; }
    /** The status as "LOLA_ERR_...". */
    const char *status_name() const noexcept { return lola_status_string(status_); }

private:
    static std::string describe(lola_status status, const std::string &message) {
        const std::string name = lola_status_string(status);
        return message.empty() ? name : message + " (" + name + ")";
    }
    lola_status status_;
    std::string message_;
};

/** Throws Error with the calling thread's last liblola message when status is not LOLA_OK. */
inline void check(lola_status status) {
    if (status != LOLA_OK) throw Error(status, lola_last_error_message());
}

inline const char *version() noexcept { return lola_version(); }
inline int32_t abi_version() noexcept { return lola_abi_version(); }

/** Throws Error(LOLA_ERR_VERSION_MISMATCH) unless the loaded liblola has this header's ABI. */
inline void check_abi_version() {
    if (lola_abi_version() != LOLA_ABI_VERSION)
        throw Error(LOLA_ERR_VERSION_MISMATCH,
                    "liblola has ABI version " + std::to_string(lola_abi_version()) +
                        "; this program was built against lola.h of ABI version " +
                        std::to_string(LOLA_ABI_VERSION));
}

/* ============================================================================================
 * Enumerations (the values of lola.h's)
 * ============================================================================================ */

enum class Attention : int32_t {
    lola = LOLA_ATTENTION_LOLA,
    full = LOLA_ATTENTION_FULL,
    window = LOLA_ATTENTION_WINDOW,
};

enum class FeatureMap : int32_t {
    automatic = LOLA_FEATURE_MAP_AUTO,  // hedgehog when its weights are present, else performer
    hedgehog = LOLA_FEATURE_MAP_HEDGEHOG,
    performer = LOLA_FEATURE_MAP_PERFORMER,
    elu1 = LOLA_FEATURE_MAP_ELU1,
    relu = LOLA_FEATURE_MAP_RELU,
    precomputed = LOLA_FEATURE_MAP_PRECOMPUTED,  // standalone layers only
};

enum class Mixing : int32_t {
    model_default = LOLA_MODEL_DEFAULT,
    lola = LOLA_MIXING_LOLA,
    lolcats = LOLA_MIXING_LOLCATS,
};

enum class Scoring : int32_t {
    sre = LOLA_SCORING_SRE,
    recency = LOLA_SCORING_RECENCY,
    random = LOLA_SCORING_RANDOM,
    value_norm = LOLA_SCORING_VALUE_NORM,
};

enum class Memory : int32_t {
    window = LOLA_MEMORY_WINDOW,
    sparse = LOLA_MEMORY_SPARSE,
};

enum class Device : int32_t {
    cpu = LOLA_DEVICE_CPU,
    cuda = LOLA_DEVICE_CUDA,
};

/** For chunk_size and sparse_capacity: the model's value (the library's for a layer). */
inline constexpr int32_t model_default = LOLA_MODEL_DEFAULT;

/** The sparse cache of one head: positions ascending, with their latest scores. */
struct SparseEntries {
    std::vector<int64_t> positions;
    std::vector<float> scores;
};

class Model;

namespace detail {

/** The owner every handle class derives from: one handle, freed by Free. */
template <class T, void (*Free)(T *)>
class Handle {
public:
    /** The raw handle (NULL when moved from or released), for direct lola.h calls. */
    T *get() const noexcept { return ptr_.get(); }
    /** Gives up ownership: the caller frees the returned handle. */
    T *release() noexcept { return ptr_.release(); }
    explicit operator bool() const noexcept { return ptr_ != nullptr; }

protected:
    Handle() = default;
    explicit Handle(T *owned) noexcept : ptr_(owned) {}
    struct Deleter {
        void operator()(T *p) const noexcept { Free(p); }
    };
    std::unique_ptr<T, Deleter> ptr_;
};

/** An info struct with struct_size set, for the lola_*_get_info family. */
template <class S>
S info_struct() {
    S s{};
    s.struct_size = sizeof(S);
    return s;
}

/** The size-query-then-fill pattern of lola.h: query(nullptr, 0, &n), then into n elements. */
template <class T, class Query>
std::vector<T> query_array(Query query) {
    size_t n = 0;
    check(query(static_cast<T *>(nullptr), size_t{0}, &n));
    std::vector<T> out(n);
    check(query(out.data(), out.size(), &n));
    out.resize(n);
    return out;
}

/** The same for bytes (not NUL-terminated). */
template <class Query>
std::string query_bytes(Query query) {
    size_t n = 0;
    check(query(static_cast<char *>(nullptr), size_t{0}, &n));
    std::string out(n, '\0');
    check(query(out.data(), out.size(), &n));
    out.resize(n);
    return out;
}

/** The same for NUL-terminated text (the capacity counts the NUL). */
template <class Query>
std::string query_text(Query query) {
    size_t n = 0;
    check(query(static_cast<char *>(nullptr), size_t{0}, &n));
    std::string out(n + 1, '\0');
    check(query(out.data(), out.size(), &n));
    out.resize(n);
    return out;
}

/** Runs a std::function for a C callback; keeps what it throws for the C++ caller. */
struct AbortHook {
    std::function<bool()> fn;
    std::exception_ptr error;

    static bool call(void *self) noexcept {
        auto *hook = static_cast<AbortHook *>(self);
        try {
            return hook->fn();
        } catch (...) {
            hook->error = std::current_exception();
            return true;  // stop: the exception is rethrown once liblola has returned
        }
    }
    void rethrow() {
        if (error) std::rethrow_exception(std::exchange(error, nullptr));
    }
};

}  // namespace detail

/* ============================================================================================
 * Parameters: values whose constructors run the lola_*_params_init
 * ============================================================================================ */

/** What every head's memory does, for a Layer (LayerParams::attention) and for every layer of
 *  a Context (ContextParams::attention) alike: lola_attention_params. */
class AttentionParams {
public:
    AttentionParams() { check(lola_attention_params_init(&p_)); }

    Attention attention() const noexcept { return static_cast<Attention>(p_.attention); }
    AttentionParams &attention(Attention value) noexcept {
        p_.attention = static_cast<int32_t>(value);
        return *this;
    }
    /** C: chunk and window unit; model_default (default) or >= 1. */
    int32_t chunk_size() const noexcept { return p_.chunk_size; }
    AttentionParams &chunk_size(int32_t value) noexcept {
        p_.chunk_size = value;
        return *this;
    }
    /** lambda: sparse cache entries per head; model_default (default) or >= 0. */
    int32_t sparse_capacity() const noexcept { return p_.sparse_capacity; }
    AttentionParams &sparse_capacity(int32_t value) noexcept {
        p_.sparse_capacity = value;
        return *this;
    }
    FeatureMap feature_map() const noexcept { return static_cast<FeatureMap>(p_.feature_map); }
    AttentionParams &feature_map(FeatureMap value) noexcept {
        p_.feature_map = static_cast<int32_t>(value);
        return *this;
    }
    /** F; 0 (default): the map's. */
    int32_t feature_dim() const noexcept { return p_.feature_dim; }
    AttentionParams &feature_dim(int32_t value) noexcept {
        p_.feature_dim = value;
        return *this;
    }
    Mixing mixing() const noexcept { return static_cast<Mixing>(p_.mixing); }
    AttentionParams &mixing(Mixing value) noexcept {
        p_.mixing = static_cast<int32_t>(value);
        return *this;
    }
    Scoring scoring() const noexcept { return static_cast<Scoring>(p_.scoring); }
    AttentionParams &scoring(Scoring value) noexcept {
        p_.scoring = static_cast<int32_t>(value);
        return *this;
    }
    bool performer_orthogonal() const noexcept { return p_.performer_orthogonal != 0; }
    AttentionParams &performer_orthogonal(bool value) noexcept {
        p_.performer_orthogonal = value ? 1 : 0;
        return *this;
    }
    uint64_t seed() const noexcept { return p_.seed; }
    AttentionParams &seed(uint64_t value) noexcept {
        p_.seed = value;
        return *this;
    }
    float eps() const noexcept { return p_.eps; }
    AttentionParams &eps(float value) noexcept {
        p_.eps = value;
        return *this;
    }

    /** A copy with the model_default fields replaced by what a standalone layer uses. */
    AttentionParams resolved() const {
        AttentionParams r = *this;
        check(lola_attention_params_resolve(nullptr, &r.p_));
        return r;
    }
    /** A copy with the model_default fields replaced by what a context on `model` uses. */
    AttentionParams resolved(const Model &model) const;

    /** The C struct itself, every field as lola.h documents it. */
    const lola_attention_params &c_struct() const noexcept { return p_; }
    lola_attention_params &c_struct() noexcept { return p_; }

private:
    lola_attention_params p_{};
};

/** The shapes and weights of a standalone Layer: lola_layer_params plus the arrays it names. */
class LayerParams {
public:
    LayerParams() { check(lola_layer_params_init(&p_)); }

    /** Query heads, KV heads (dividing n_heads) and head dimension d. */
    LayerParams &heads(int32_t n_heads, int32_t n_kv_heads, int32_t head_dim) noexcept {
        p_.n_heads = n_heads;
        p_.n_kv_heads = n_kv_heads;
        p_.head_dim = head_dim;
        return *this;
    }
    int32_t n_heads() const noexcept { return p_.n_heads; }
    int32_t n_kv_heads() const noexcept { return p_.n_kv_heads; }
    int32_t head_dim() const noexcept { return p_.head_dim; }
    int32_t n_threads() const noexcept { return p_.n_threads; }
    LayerParams &n_threads(int32_t value) noexcept {
        p_.n_threads = value;
        return *this;
    }
    /** 0 (default): 1/sqrt(head_dim). */
    float softmax_scale() const noexcept { return p_.softmax_scale; }
    LayerParams &softmax_scale(float value) noexcept {
        p_.softmax_scale = value;
        return *this;
    }
    const AttentionParams &attention() const noexcept { return attention_; }
    AttentionParams &attention() noexcept { return attention_; }
    LayerParams &attention(const AttentionParams &value) {
        attention_ = value;
        return *this;
    }
    /** [n_heads] gate logits; empty (default): all 0. */
    const std::vector<float> &window_factors() const noexcept { return window_factors_; }
    LayerParams &window_factors(std::vector<float> value) {
        window_factors_ = std::move(value);
        return *this;
    }
    /** Hedgehog weights of the query and key maps, each [n_heads][head_dim][feature_dim/2]
     *  flattened; both empty (default): none. With feature_dim 0 the layer's feature_dim is
     *  taken from their length. */
    const std::vector<float> &hedgehog_q() const noexcept { return hedgehog_q_; }
    const std::vector<float> &hedgehog_k() const noexcept { return hedgehog_k_; }
    LayerParams &hedgehog(std::vector<float> q, std::vector<float> k) {
        hedgehog_q_ = std::move(q);
        hedgehog_k_ = std::move(k);
        return *this;
    }

    /** The C struct: its scalar fields as lola.h documents them. Its pointer fields are not
     *  read: Layer points them at this object's attention() and arrays when it creates the
     *  layer. */
    const lola_layer_params &c_struct() const noexcept { return p_; }
    lola_layer_params &c_struct() noexcept { return p_; }

private:
    lola_layer_params p_{};
    AttentionParams attention_;
    std::vector<float> window_factors_, hedgehog_q_, hedgehog_k_;
};

/** A Context's parameters: lola_context_params plus the attention settings it points at. */
class ContextParams {
public:
    ContextParams() { check(lola_context_params_init(&p_)); }

    int32_t n_threads() const noexcept { return p_.n_threads; }
    ContextParams &n_threads(int32_t value) noexcept {
        p_.n_threads = value;
        return *this;
    }
    /** Tokens per forward step of a prefill. */
    int32_t batch_size() const noexcept { return p_.batch_size; }
    ContextParams &batch_size(int32_t value) noexcept {
        p_.batch_size = value;
        return *this;
    }
    /** The gate logit of every head; nullopt (default): the model's gates, else 0. */
    std::optional<float> gate_logit() const noexcept {
        if (std::isnan(p_.gate_logit)) return std::nullopt;
        return p_.gate_logit;
    }
    ContextParams &gate_logit(std::optional<float> value) noexcept {
        p_.gate_logit = value ? *value : std::numeric_limits<float>::quiet_NaN();
        return *this;
    }
    const AttentionParams &attention() const noexcept { return attention_; }
    AttentionParams &attention() noexcept { return attention_; }
    ContextParams &attention(const AttentionParams &value) {
        attention_ = value;
        return *this;
    }

    /** Per-layer attention kinds (lola_context_params.layer_attention): empty (default), every
     *  layer computes attention().attention(); else one per layer of the model, each an
     *  Attention or nullopt for attention().attention(). */
    const std::vector<std::optional<Attention>> &layer_attention() const noexcept { return layers_; }
    ContextParams &layer_attention(std::vector<std::optional<Attention>> kinds) {
        layers_ = std::move(kinds);
        kinds_.clear();
        for (const std::optional<Attention> &k : layers_)
            kinds_.push_back(k ? static_cast<int32_t>(*k) : LOLA_MODEL_DEFAULT);
        return *this;
    }

    /** The C struct: its scalar fields as lola.h documents them, its layer_attention pointing
     *  into this object (valid while it lives unchanged); its attention pointer is not read
     *  (Context points it at attention()). */
    const lola_context_params &c_struct() const noexcept {
        p_.layer_attention = kinds_.empty() ? nullptr : kinds_.data();
        p_.n_layer_attention = kinds_.size();
        return p_;
    }
    lola_context_params &c_struct() noexcept {
        static_cast<const ContextParams &>(*this).c_struct();
        return p_;
    }

private:
    mutable lola_context_params p_{};
    AttentionParams attention_;
    std::vector<std::optional<Attention>> layers_;
    std::vector<int32_t> kinds_;
};

class ModelParams {
public:
    ModelParams() { check(lola_model_params_init(&p_)); }

    Device device() const noexcept { return static_cast<Device>(p_.device); }
    ModelParams &device(Device value, int32_t index = 0) noexcept {
        p_.device = static_cast<int32_t>(value);
        p_.device_index = index;
        return *this;
    }
    int32_t device_index() const noexcept { return p_.device_index; }
    /** Bytes the model may hold; 0 (default): no limit. */
    uint64_t memory_budget() const noexcept { return p_.memory_budget; }
    ModelParams &memory_budget(uint64_t bytes) noexcept {
        p_.memory_budget = bytes;
        return *this;
    }

    /** A LoLA adapter GGUF to apply at load (lola_model_params.adapter_path); "" (default):
     *  none. The path is kept in this object. */
    const std::string &adapter() const noexcept { return adapter_; }
    ModelParams &adapter(std::string path) {
        adapter_ = std::move(path);
        return *this;
    }

    /** The C struct; its adapter_path points into this object (NULL without an adapter), so it
     *  is valid while this object lives unchanged. */
    const lola_model_params &c_struct() const noexcept {
        p_.adapter_path = adapter_.empty() ? nullptr : adapter_.c_str();
        return p_;
    }
    lola_model_params &c_struct() noexcept {
        p_.adapter_path = adapter_.empty() ? nullptr : adapter_.c_str();
        return p_;
    }

private:
    mutable lola_model_params p_{};
    std::string adapter_;
};

/** Sampling parameters (lola_sampler_params; ranges and order of the steps in lola.h). */
class SamplerParams {
public:
    SamplerParams() { check(lola_sampler_params_init(&p_)); }

    /** <= 0: greedy. */
    float temperature() const noexcept { return p_.temperature; }
    SamplerParams &temperature(float value) noexcept {
        p_.temperature = value;
        return *this;
    }
    int32_t top_k() const noexcept { return p_.top_k; }
    SamplerParams &top_k(int32_t value) noexcept {
        p_.top_k = value;
        return *this;
    }
    float top_p() const noexcept { return p_.top_p; }
    SamplerParams &top_p(float value) noexcept {
        p_.top_p = value;
        return *this;
    }
    float min_p() const noexcept { return p_.min_p; }
    SamplerParams &min_p(float value) noexcept {
        p_.min_p = value;
        return *this;
    }
    float repeat_penalty() const noexcept { return p_.repeat_penalty; }
    SamplerParams &repeat_penalty(float value) noexcept {
        p_.repeat_penalty = value;
        return *this;
    }
    int32_t penalty_last_n() const noexcept { return p_.penalty_last_n; }
    SamplerParams &penalty_last_n(int32_t value) noexcept {
        p_.penalty_last_n = value;
        return *this;
    }
    uint64_t seed() const noexcept { return p_.seed; }
    SamplerParams &seed(uint64_t value) noexcept {
        p_.seed = value;
        return *this;
    }

    const lola_sampler_params &c_struct() const noexcept { return p_; }
    lola_sampler_params &c_struct() noexcept { return p_; }

private:
    lola_sampler_params p_{};
};

/* ============================================================================================
 * The standalone attention layer
 * ============================================================================================ */

/** One LoLA attention layer (lola_layer). Arrays are float32, token-major: q and y are
 *  [T][n_heads][head_dim], k and v [T][n_kv_heads][head_dim], flattened. */
class Layer : public detail::Handle<lola_layer, lola_layer_free> {
public:
    explicit Layer(const LayerParams &params = LayerParams()) {
        check_abi_version();
        lola_layer_params p = params.c_struct();
        lola_attention_params a = params.attention().c_struct();
        p.attention = &a;
        p.window_factors = nullptr;
        p.hedgehog_q = nullptr;
        p.hedgehog_k = nullptr;
        // The C API reads as many floats as the shapes imply from these pointers; their
        // lengths are checked here, where they are known.
        const std::vector<float> &w = params.window_factors();
        if (!w.empty()) {
            if (p.n_heads < 1 || w.size() != static_cast<size_t>(p.n_heads))
                throw Error(LOLA_ERR_SIZE_MISMATCH, "window_factors has " + std::to_string(w.size()) +
                                                        " values, n_heads is " + std::to_string(p.n_heads));
            p.window_factors = w.data();
        }
        const std::vector<float> &hq = params.hedgehog_q(), &hk = params.hedgehog_k();
        const bool reads_hedgehog = a.feature_map == LOLA_FEATURE_MAP_HEDGEHOG ||
                                    a.feature_map == LOLA_FEATURE_MAP_AUTO;
        if (!hq.empty() || !hk.empty()) {
            if (reads_hedgehog) {
                const size_t per_feature = p.n_heads > 0 && p.head_dim > 0
                                               ? static_cast<size_t>(p.n_heads) * static_cast<size_t>(p.head_dim)
                                               : 0;
                if (a.feature_dim == 0 && per_feature != 0 && hq.size() % per_feature == 0 &&
                    hq.size() / per_feature <= static_cast<size_t>(std::numeric_limits<int32_t>::max() / 2))
                    a.feature_dim = static_cast<int32_t>(2 * (hq.size() / per_feature));
                const size_t half = a.feature_dim > 0 ? static_cast<size_t>(a.feature_dim / 2) : 0;
                const size_t want = per_feature * half;
                if (want == 0 || hq.size() != want || hk.size() != want)
                    throw Error(LOLA_ERR_SIZE_MISMATCH,
                                "hedgehog_q has " + std::to_string(hq.size()) + " and hedgehog_k " +
                                    std::to_string(hk.size()) + " values; n_heads * head_dim * feature_dim/2 is " +
                                    std::to_string(p.n_heads) + " * " + std::to_string(p.head_dim) + " * " +
                                    std::to_string(half));
            }
            // Not read by a layer of another feature map, which refuses them with its message.
            p.hedgehog_q = hq.empty() ? nullptr : hq.data();
            p.hedgehog_k = hk.empty() ? nullptr : hk.data();
        }
        lola_layer *out = nullptr;
        check(lola_layer_create(&p, &out));
        ptr_.reset(out);
        read_shapes();
    }

    /** Takes ownership of a handle made by lola_layer_create / lola_layer_clone. */
    static Layer adopt(lola_layer *owned) {
        Layer l(Adopt{}, owned);
        if (owned) l.read_shapes();
        return l;
    }

    Layer clone() const {
        lola_layer *out = nullptr;
        check(lola_layer_clone(get(), &out));
        return adopt(out);
    }
    void reset() { check(lola_layer_reset(get())); }

    /** Feeds T = q.size() / (n_heads * head_dim) tokens; returns y (as long as q). */
    std::vector<float> feed(const std::vector<float> &q, const std::vector<float> &k,
                            const std::vector<float> &v) {
        std::vector<float> y(q.size());
        feed(tokens_in(q), q.data(), q.size(), k.data(), k.size(), v.data(), v.size(), y.data(),
             y.size());
        return y;
    }
    /** Feeds the tokens into the cache without computing outputs. */
    void update(const std::vector<float> &q, const std::vector<float> &k, const std::vector<float> &v) {
        feed(tokens_in(q), q.data(), q.size(), k.data(), k.size(), v.data(), v.size(), nullptr, 0);
    }
    /** lola_layer_feed itself (y may be NULL with y_len 0). */
    void feed(int64_t n_tokens, const float *q, size_t q_len, const float *k, size_t k_len,
              const float *v, size_t v_len, float *y, size_t y_len) {
        check(lola_layer_feed(get(), n_tokens, q, q_len, k, k_len, v, v_len, y, y_len));
    }
    /** For FeatureMap::precomputed layers: fq and fk are [T][n_heads][feature_dim]. */
    std::vector<float> feed_features(const std::vector<float> &q, const std::vector<float> &k,
                                     const std::vector<float> &v, const std::vector<float> &fq,
                                     const std::vector<float> &fk) {
        std::vector<float> y(q.size());
        check(lola_layer_feed_features(get(), tokens_in(q), q.data(), q.size(), k.data(), k.size(),
                                       v.data(), v.size(), fq.data(), fq.size(), fk.data(), fk.size(),
                                       y.data(), y.size()));
        return y;
    }

    lola_layer_info info() const {
        auto i = detail::info_struct<lola_layer_info>();
        check(lola_layer_get_info(get(), &i));
        return i;
    }
    lola_head_state head_state(int32_t head) const {
        auto s = detail::info_struct<lola_head_state>();
        check(lola_layer_get_head_state(get(), head, &s));
        return s;
    }
    /** Token positions in one memory of query head `head`, ascending. */
    std::vector<int64_t> positions(int32_t head, Memory memory) const {
        return detail::query_array<int64_t>([&](int64_t *out, size_t capacity, size_t *n) {
            return lola_layer_get_positions(get(), head, static_cast<int32_t>(memory), out, nullptr,
                                            capacity, n);
        });
    }
    SparseEntries sparse_entries(int32_t head) const {
        SparseEntries e;
        size_t n = 0;
        const int32_t sparse = LOLA_MEMORY_SPARSE;
        check(lola_layer_get_positions(get(), head, sparse, nullptr, nullptr, 0, &n));
        e.positions.resize(n);
        e.scores.resize(n);
        check(lola_layer_get_positions(get(), head, sparse, e.positions.data(), e.scores.data(), n, &n));
        return e;
    }

    size_t state_size() const {
        size_t n = 0;
        check(lola_layer_state_size(get(), &n));
        return n;
    }
    /** The checksummed state blob (lola_layer_state_save). */
    std::vector<uint8_t> save_state() const {
        std::vector<uint8_t> blob(state_size());
        size_t written = 0;
        check(lola_layer_state_save(get(), blob.data(), blob.size(), &written));
        blob.resize(written);
        return blob;
    }
    /** Validated completely first: on an Error the layer is unchanged. */
    void restore_state(const std::vector<uint8_t> &blob) { restore_state(blob.data(), blob.size()); }
    void restore_state(const void *blob, size_t size) { check(lola_layer_state_restore(get(), blob, size)); }

private:
    struct Adopt {};
    Layer(Adopt, lola_layer *owned) noexcept : Handle(owned) {}
    void read_shapes() {
        const lola_layer_info i = info();
        q_per_token_ = static_cast<size_t>(i.n_heads) * static_cast<size_t>(i.head_dim);
    }
    // T from q's length; a length that is no multiple is passed on for liblola to refuse.
    int64_t tokens_in(const std::vector<float> &q) const noexcept {
        return q_per_token_ ? static_cast<int64_t>(q.size() / q_per_token_) : 0;
    }
    size_t q_per_token_ = 0;  // n_heads * head_dim
};

/* ============================================================================================
 * Models, contexts, text and sampling
 * ============================================================================================ */

/** One message of a chat (lola_chat_message). */
struct ChatMessage {
    std::string role;  // "system", "user" or "assistant"
    std::string content;
};

/** A loaded GGUF model (lola_model): immutable, shareable by any number of threads. */
class Model : public detail::Handle<lola_model, lola_model_free> {
public:
    /** Loads a GGUF file; a NULL path is refused with LOLA_ERR_NULL_POINTER. */
    explicit Model(const char *path, const ModelParams &params = ModelParams()) {
        check_abi_version();
        lola_model *out = nullptr;
        check(lola_model_load(path, &params.c_struct(), &out));
        ptr_.reset(out);
    }
    explicit Model(const std::string &path, const ModelParams &params = ModelParams())
        : Model(path.c_str(), params) {}

    /** Takes ownership of (the caller's reference on) a handle made by lola_model_load. */
    static Model adopt(lola_model *owned) noexcept { return Model(Adopt{}, owned); }

    /** Perplexity of `tokens` at context length n_ctx under contexts of `params`
     *  (lola_perplexity: windows of n_ctx, the second half of each scored); max_windows 0: all. */
    lola_perplexity_result perplexity(const std::vector<int32_t> &tokens, int64_t n_ctx,
                                      const ContextParams &params, int64_t max_windows = 0) const;

    lola_model_info info() const {
        auto i = detail::info_struct<lola_model_info>();
        check(lola_model_get_info(get(), &i));
        return i;
    }

    /** flags: LOLA_TOKENIZE_ADD_SPECIAL, LOLA_TOKENIZE_PARSE_SPECIAL. */
    std::vector<int32_t> tokenize(std::string_view text, uint32_t flags = 0) const {
        const char *data = text.empty() ? "" : text.data();
        return detail::query_array<int32_t>([&](int32_t *out, size_t capacity, size_t *n) {
            return lola_tokenize(get(), data, text.size(), flags, out, capacity, n);
        });
    }
    /** flags: LOLA_DETOKENIZE_SPECIAL. Ids out of range: LOLA_ERR_INVALID_ARGUMENT. */
    std::string detokenize(const std::vector<int32_t> &tokens, uint32_t flags = 0) const {
        return detokenize(tokens.data(), tokens.size(), flags);
    }
    std::string detokenize(const int32_t *tokens, size_t n_tokens, uint32_t flags = 0) const {
        return detail::query_bytes([&](char *out, size_t capacity, size_t *n) {
            return lola_detokenize(get(), tokens, n_tokens, flags, out, capacity, n);
        });
    }
    /** The bytes of one token (may end inside a UTF-8 character). */
    std::string token_to_piece(int32_t token, uint32_t flags = 0) const {
        return detail::query_bytes([&](char *out, size_t capacity, size_t *n) {
            return lola_token_to_piece(get(), token, flags, out, capacity, n);
        });
    }
    lola_special_tokens special_tokens() const {
        auto s = detail::info_struct<lola_special_tokens>();
        check(lola_model_special_tokens(get(), &s));
        return s;
    }
    /** True for an end-of-generation token (false on a moved-from model). */
    bool is_eog(int32_t token) const noexcept { return lola_token_is_eog(get(), token); }
    /** The chat in the model's template; LOLA_ERR_UNSUPPORTED for a template liblola lacks. */
    std::string apply_chat_template(const std::vector<ChatMessage> &messages,
                                    bool add_assistant = true) const {
        std::vector<lola_chat_message> c;
        c.reserve(messages.size());
        for (const ChatMessage &m : messages) c.push_back({m.role.c_str(), m.content.c_str()});
        return detail::query_text([&](char *out, size_t capacity, size_t *n) {
            return lola_chat_apply_template(get(), c.data(), c.size(), add_assistant, out, capacity, n);
        });
    }

private:
    struct Adopt {};
    Model(Adopt, lola_model *owned) noexcept : Handle(owned) {}
};

inline AttentionParams AttentionParams::resolved(const Model &model) const {
    AttentionParams r = *this;
    check(lola_attention_params_resolve(model.get(), &r.p_));
    return r;
}

inline lola_perplexity_result Model::perplexity(const std::vector<int32_t> &tokens, int64_t n_ctx,
                                                const ContextParams &params, int64_t max_windows) const {
    lola_context_params p = params.c_struct();
    p.attention = &params.attention().c_struct();
    auto r = detail::info_struct<lola_perplexity_result>();
    check(lola_perplexity(get(), &p, tokens.data(), tokens.size(), n_ctx, max_windows, &r));
    return r;
}

/** The summary of any GGUF file (lola_file_describe), whether or not liblola can run it. */
inline std::string describe_file(const std::string &path) {
    return detail::query_text([&](char *out, size_t capacity, size_t *n) {
        return lola_file_describe(path.c_str(), out, capacity, n);
    });
}

/** A sampler (lola_sampler): its parameters, seeded generator and token history. */
class Sampler : public detail::Handle<lola_sampler, lola_sampler_free> {
public:
    explicit Sampler(const SamplerParams &params = SamplerParams()) {
        check_abi_version();
        lola_sampler *out = nullptr;
        check(lola_sampler_create(&params.c_struct(), &out));
        ptr_.reset(out);
    }
    static Sampler adopt(lola_sampler *owned) noexcept { return Sampler(Adopt{}, owned); }

    /** Samples from one row of logits and records the token in the history. */
    int32_t sample(const std::vector<float> &logits) { return sample(logits.data(), logits.size()); }
    int32_t sample(const float *logits, size_t n_vocab) {
        int32_t token = -1;
        check(lola_sampler_sample(get(), logits, n_vocab, &token));
        return token;
    }
    /** Adds tokens to the history without sampling (e.g. the prompt). */
    void accept(const std::vector<int32_t> &tokens) {
        check(lola_sampler_accept(get(), tokens.data(), tokens.size()));
    }
    /** Clears the history and reseeds. */
    void reset(uint64_t seed) { check(lola_sampler_reset(get(), seed)); }

private:
    struct Adopt {};
    Sampler(Adopt, lola_sampler *owned) noexcept : Handle(owned) {}
};

/** The logits of a context's last feed, borrowed (see Context::logits_view). */
struct LogitsView {
    const float *data = nullptr;  // [n_rows][n_vocab]
    size_t n_rows = 0;
    size_t n_vocab = 0;
    const float *row(size_t i) const noexcept { return data + i * n_vocab; }
    const float *last() const noexcept { return row(n_rows - 1); }
};

/** Called by Context::generate with each token and its bytes (empty when the model has no
 *  tokenizer); return false to stop. Must not use the context or the sampler. */
using TokenCallback = std::function<bool(int32_t token, std::string_view piece)>;

/** One inference stream over a model (lola_context). */
class Context : public detail::Handle<lola_context, lola_context_free> {
public:
    /** The context references the model inside liblola: it may outlive `model`. */
    explicit Context(const Model &model, const ContextParams &params = ContextParams()) {
        lola_context_params p = params.c_struct();
        p.attention = &params.attention().c_struct();
        lola_context *out = nullptr;
        check(lola_context_create(model.get(), &p, &out));
        ptr_.reset(out);
    }
    static Context adopt(lola_context *owned) noexcept { return Context(Adopt{}, owned); }
    ~Context() { ptr_.reset(); }  // the handle before the abort callback it may name
    Context(Context &&) noexcept = default;
    Context &operator=(Context &&) noexcept = default;

    /** A deep copy of the state on the same model; the abort callback is not copied. */
    Context clone() const {
        lola_context *out = nullptr;
        check(lola_context_clone(get(), &out));
        return adopt(out);
    }
    void reset() { check(lola_context_reset(get())); }

    /** Feeds tokens and computes the logits of the last one. An id out of range: Error
     *  (LOLA_ERR_INVALID_ARGUMENT), nothing fed. Stopped by the abort callback: Error
     *  (LOLA_ERR_ABORTED), info().n_past tells how many tokens were fed. */
    void feed(const std::vector<int32_t> &tokens) { feed(tokens.data(), tokens.size(), 0); }
    /** The same, keeping the logits of every token (LOLA_FEED_ALL_LOGITS). */
    void feed_all_logits(const std::vector<int32_t> &tokens) {
        feed(tokens.data(), tokens.size(), LOLA_FEED_ALL_LOGITS);
    }
    void feed(const int32_t *tokens, size_t n_tokens, uint32_t flags) {
        const lola_status s = lola_context_feed(get(), tokens, n_tokens, flags, nullptr);
        if (abort_) abort_->rethrow();
        check(s);
    }

    /** A copy of logits row `row` (-1: the last). */
    std::vector<float> logits(int64_t row = -1) const {
        const LogitsView view = logits_view();
        std::vector<float> out(view.n_vocab);
        check(lola_context_copy_logits(get(), row, out.data(), out.size()));
        return out;
    }
    /** liblola's logits buffer, borrowed: valid until the next call that mutates this
     *  context. LOLA_ERR_UNSUPPORTED when there are none (nothing fed, or aborted). */
    LogitsView logits_view() const {
        LogitsView v;
        check(lola_context_logits(get(), &v.data, &v.n_rows, &v.n_vocab));
        return v;
    }

    lola_context_info info() const {
        auto i = detail::info_struct<lola_context_info>();
        check(lola_context_get_info(get(), &i));
        return i;
    }
    lola_head_state head_state(int32_t layer, int32_t head) const {
        auto s = detail::info_struct<lola_head_state>();
        check(lola_context_get_head_state(get(), layer, head, &s));
        return s;
    }
    std::vector<int64_t> positions(int32_t layer, int32_t head, Memory memory) const {
        return detail::query_array<int64_t>([&](int64_t *out, size_t capacity, size_t *n) {
            return lola_context_get_positions(get(), layer, head, static_cast<int32_t>(memory), out,
                                              nullptr, capacity, n);
        });
    }
    SparseEntries sparse_entries(int32_t layer, int32_t head) const {
        SparseEntries e;
        size_t n = 0;
        const int32_t sparse = LOLA_MEMORY_SPARSE;
        check(lola_context_get_positions(get(), layer, head, sparse, nullptr, nullptr, 0, &n));
        e.positions.resize(n);
        e.scores.resize(n);
        check(lola_context_get_positions(get(), layer, head, sparse, e.positions.data(),
                                         e.scores.data(), n, &n));
        return e;
    }

    size_t state_size() const {
        size_t n = 0;
        check(lola_context_state_size(get(), &n));
        return n;
    }
    /** The state blob: model fingerprint and every layer's checksummed state. */
    std::vector<uint8_t> save_state() const {
        std::vector<uint8_t> blob(state_size());
        size_t written = 0;
        check(lola_context_state_save(get(), blob.data(), blob.size(), &written));
        blob.resize(written);
        return blob;
    }
    /** Validated completely first: on an Error the context is unchanged. The logits are
     *  unavailable until the next feed. */
    void restore_state(const std::vector<uint8_t> &blob) { restore_state(blob.data(), blob.size()); }
    void restore_state(const void *blob, size_t size) {
        check(lola_context_state_restore(get(), blob, size));
    }

    /** Polled on the feeding thread between forward steps (and before each generated token);
     *  returning true stops with Error(LOLA_ERR_ABORTED). An empty function removes it. */
    void set_abort_callback(std::function<bool()> fn) {
        if (!fn) {
            check(lola_context_set_abort_callback(get(), nullptr, nullptr));
            abort_.reset();
            return;
        }
        auto hook = std::make_unique<detail::AbortHook>();
        hook->fn = std::move(fn);
        check(lola_context_set_abort_callback(get(), &detail::AbortHook::call, hook.get()));
        abort_ = std::move(hook);  // the previous one is no longer named by the context
    }

    /** Samples, feeds and streams up to max_tokens tokens after what was fed (lola_generate);
     *  returns how many were fed. Stops early at an end-of-generation token or when on_token
     *  returns false; an exception from on_token stops it and is rethrown here. */
    size_t generate(Sampler &sampler, size_t max_tokens, const TokenCallback &on_token = {}) {
        struct TokenHook {
            const TokenCallback *fn;
            std::exception_ptr error;
            static bool call(int32_t token, const char *piece, size_t len, void *self) noexcept {
                auto *hook = static_cast<TokenHook *>(self);
                try {
                    return (*hook->fn)(token, piece ? std::string_view(piece, len) : std::string_view());
                } catch (...) {
                    hook->error = std::current_exception();
                    return false;
                }
            }
        } hook{&on_token, nullptr};
        size_t n = 0;
        const lola_status s = lola_generate(get(), sampler.get(), max_tokens,
                                            on_token ? &TokenHook::call : nullptr, &hook, &n);
        if (hook.error) std::rethrow_exception(hook.error);
        if (abort_) abort_->rethrow();
        check(s);
        return n;
    }

private:
    struct Adopt {};
    Context(Adopt, lola_context *owned) noexcept : Handle(owned) {}
    std::unique_ptr<detail::AbortHook> abort_;
};

/** Batched decode (lola_batch): one token for each of many contexts of one model in one step,
 *  every weight read once; each context's logits and cache are then bitwise those of feeding
 *  its token alone. An Error (naming contexts[i]) feeds no context. */
class Batch : public detail::Handle<lola_batch, lola_batch_free> {
public:
    Batch(const Model &model, int32_t max_contexts, int32_t n_threads = 2) {
        lola_batch *out = nullptr;
        check(lola_batch_create(model.get(), max_contexts, n_threads, &out));
        ptr_.reset(out);
    }
    void decode(const std::vector<Context *> &contexts, const std::vector<int32_t> &tokens) {
        if (contexts.size() != tokens.size())
            throw Error(LOLA_ERR_SIZE_MISMATCH, std::to_string(contexts.size()) + " contexts but " +
                                                    std::to_string(tokens.size()) + " tokens");
        raw_.resize(contexts.size());
        for (size_t i = 0; i < contexts.size(); ++i) raw_[i] = contexts[i] ? contexts[i]->get() : nullptr;
        check(lola_batch_decode(get(), raw_.data(), tokens.data(), tokens.size()));
    }

private:
    std::vector<lola_context *> raw_;  // reused: a decode loop allocates nothing once grown
};

}  // namespace lolapp

#endif /* LOLA_HPP */
