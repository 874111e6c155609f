/*
 * lola.hpp: a header-only C++17 convenience layer over lola.h. It is NOT part of the ABI: it
 * only calls the C functions of lola.h (which stay the documentation of every call, status,
 * ownership rule and threading contract), so it works with any liblola of the same ABI version.
 *
 * What it adds:
 *   - owners: lola::api::Model, Context, Layer, Sampler are move-only and free their handle in
 *     the destructor (a Context keeps its model alive by itself, as the C API promises);
 *   - errors as exceptions: every failed call throws lola::api::Error, carrying the lola_status
 *     and lola_last_error_message() of the failed call (read on the calling thread at once);
 *   - parameter values: AttentionParams, LayerParams, ContextParams, SamplerParams run their
 *     *_init in the constructor; LayerParams and ContextParams hold an AttentionParams and point
 *     the C struct at it only inside the create call, so no pointer can dangle;
 *   - std::vector / std::string for tokens, text, logits, positions and state blobs (size
 *     queries done for the caller).
 * Threading is lola.h's: a Model may be shared; a Context, Layer or Sampler is used by one
 * thread at a time. Lifetimes: logits_view() points into the context until its next mutating
 * call; every other result is a copy.
 *
 * The namespace is lola::api, so that code that also includes liblola's own C++ core headers
 * (namespace lola, with its own lola::Error) cannot confuse the two.
 */
#ifndef LOLA_HPP
#define LOLA_HPP

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "lola.h"

namespace lola::api {

// A failed liblola call: its status and message.
class Error : public std::runtime_error {
public:
    Error(lola_status status, const std::string &message)
        : std::runtime_error(std::string(lola_status_string(status)) + ": " + message),
          status_(status), message_(message) {}
    lola_status status() const noexcept { return status_; }
    const std::string &message() const noexcept { return message_; }  // liblola's text alone

private:
    lola_status status_;
    std::string message_;
};

// Throws Error for anything but LOLA_OK.
inline void check(lola_status status) {
    if (status != LOLA_OK) throw Error(status, lola_last_error_message());
}

// A move-only owner of a handle H freed by Free.
template <class H, void (*Free)(H *)>
class Handle {
public:
    Handle() = default;
    explicit Handle(H *h) : h_(h) {}
    Handle(Handle &&o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
    Handle &operator=(Handle &&o) noexcept {
        if (this != &o) {
            Free(h_);
            h_ = std::exchange(o.h_, nullptr);
        }
        return *this;
    }
    Handle(const Handle &) = delete;
    Handle &operator=(const Handle &) = delete;
    ~Handle() { Free(h_); }
    H *get() const noexcept { return h_; }
    explicit operator bool() const noexcept { return h_ != nullptr; }

private:
    H *h_ = nullptr;
};

// ---- parameters ------------------------------------------------------------------------------

struct AttentionParams {
    lola_attention_params c{};
    AttentionParams() { check(lola_attention_params_init(&c)); }
    AttentionParams &attention(int32_t v) { c.attention = v; return *this; }
    AttentionParams &chunk_size(int32_t v) { c.chunk_size = v; return *this; }
    AttentionParams &sparse_capacity(int32_t v) { c.sparse_capacity = v; return *this; }
    AttentionParams &feature_map(int32_t v) { c.feature_map = v; return *this; }
    AttentionParams &feature_dim(int32_t v) { c.feature_dim = v; return *this; }
    AttentionParams &mixing(int32_t v) { c.mixing = v; return *this; }
    AttentionParams &scoring(int32_t v) { c.scoring = v; return *this; }
    AttentionParams &seed(uint64_t v) { c.seed = v; return *this; }
    AttentionParams &eps(float v) { c.eps = v; return *this; }
};

struct LayerParams {
    lola_layer_params c{};  // c.attention is set to &attention during create only
    AttentionParams attention;
    LayerParams() { check(lola_layer_params_init(&c)); }
    LayerParams &shape(int32_t n_heads, int32_t n_kv_heads, int32_t head_dim) {
        c.n_heads = n_heads;
        c.n_kv_heads = n_kv_heads;
        c.head_dim = head_dim;
        return *this;
    }
    LayerParams &threads(int32_t n) { c.n_threads = n; return *this; }
};

struct ContextParams {
    lola_context_params c{};  // c.attention is set to &attention during create only
    AttentionParams attention;
    ContextParams() { check(lola_context_params_init(&c)); }
    ContextParams &threads(int32_t n) { c.n_threads = n; return *this; }
    ContextParams &batch_size(int32_t n) { c.batch_size = n; return *this; }
    ContextParams &gate_logit(float w) { c.gate_logit = w; return *this; }
};

struct SamplerParams {
    lola_sampler_params c{};
    SamplerParams() { check(lola_sampler_params_init(&c)); }
};

// Fills a caller-provided-size buffer through liblola's size query, then the call itself.
template <class T, class Call>
std::vector<T> query_vector(Call call) {
    size_t n = 0;
    check(call(static_cast<T *>(nullptr), size_t{0}, &n));
    std::vector<T> out(n);
    if (n) check(call(out.data(), out.size(), &n));
    out.resize(n);
    return out;
}

// ---- objects ---------------------------------------------------------------------------------

class Model {
public:
    explicit Model(const std::string &path, uint64_t memory_budget = 0) {
        lola_model_params p;
        check(lola_model_params_init(&p));
        p.memory_budget = memory_budget;
        lola_model *m = nullptr;
        check(lola_model_load(path.c_str(), &p, &m));
        h_ = Handle<lola_model, lola_model_free>(m);
    }
    lola_model *get() const noexcept { return h_.get(); }

    lola_model_info info() const {
        lola_model_info i{};
        i.struct_size = sizeof i;
        check(lola_model_get_info(get(), &i));
        return i;
    }
    // The settings a context on this model would use for `a` (LOLA_MODEL_DEFAULT resolved).
    AttentionParams resolve(AttentionParams a) const {
        check(lola_attention_params_resolve(get(), &a.c));
        return a;
    }
    std::vector<int32_t> tokenize(const std::string &text, uint32_t flags = 0) const {
        return query_vector<int32_t>([&](int32_t *out, size_t cap, size_t *n) {
            return lola_tokenize(get(), text.data(), text.size(), flags, out, cap, n);
        });
    }
    std::string detokenize(const std::vector<int32_t> &tokens, uint32_t flags = 0) const {
        const std::vector<char> b = query_vector<char>([&](char *out, size_t cap, size_t *n) {
            return lola_detokenize(get(), tokens.data(), tokens.size(), flags, out, cap, n);
        });
        return std::string(b.begin(), b.end());
    }
    std::string piece(int32_t token, uint32_t flags = 0) const {
        const std::vector<char> b = query_vector<char>([&](char *out, size_t cap, size_t *n) {
            return lola_token_to_piece(get(), token, flags, out, cap, n);
        });
        return std::string(b.begin(), b.end());
    }
    bool is_eog(int32_t token) const { return lola_token_is_eog(get(), token); }

private:
    Handle<lola_model, lola_model_free> h_;
};

class Context {
public:
    Context(const Model &model, const ContextParams &params = ContextParams()) {
        lola_context_params c = params.c;
        c.attention = &params.attention.c;
        lola_context *ctx = nullptr;
        check(lola_context_create(model.get(), &c, &ctx));
        h_ = Handle<lola_context, lola_context_free>(ctx);
    }
    lola_context *get() const noexcept { return h_.get(); }

    Context clone() const {
        lola_context *c = nullptr;
        check(lola_context_clone(get(), &c));
        return Context(c);
    }
    void reset() { check(lola_context_reset(get())); }
    // Feeds tokens; returns how many were fed (all unless the abort callback stopped it, which
    // throws Error with LOLA_ERR_ABORTED).
    size_t feed(const std::vector<int32_t> &tokens, uint32_t flags = 0) {
        size_t n = 0;
        check(lola_context_feed(get(), tokens.data(), tokens.size(), flags, &n));
        return n;
    }
    // A copy of one row of the logits (-1: the last).
    std::vector<float> logits(int64_t row = -1) const {
        const float *p = nullptr;
        size_t rows = 0, vocab = 0;
        check(lola_context_logits(get(), &p, &rows, &vocab));
        std::vector<float> out(vocab);
        check(lola_context_copy_logits(get(), row, out.data(), out.size()));
        return out;
    }
    lola_context_info info() const {
        lola_context_info i{};
        i.struct_size = sizeof i;
        check(lola_context_get_info(get(), &i));
        return i;
    }
    lola_head_state head_state(int32_t layer, int32_t head) const {
        lola_head_state s{};
        s.struct_size = sizeof s;
        check(lola_context_get_head_state(get(), layer, head, &s));
        return s;
    }
    std::vector<int64_t> positions(int32_t layer, int32_t head, int32_t memory) const {
        return query_vector<int64_t>([&](int64_t *out, size_t cap, size_t *n) {
            return lola_context_get_positions(get(), layer, head, memory, out, nullptr, cap, n);
        });
    }
    std::vector<unsigned char> save() const {
        size_t n = 0;
        check(lola_context_state_size(get(), &n));
        std::vector<unsigned char> blob(n);
        check(lola_context_state_save(get(), blob.data(), blob.size(), &n));
        blob.resize(n);
        return blob;
    }
    void restore(const std::vector<unsigned char> &blob) {
        check(lola_context_state_restore(get(), blob.data(), blob.size()));
    }

private:
    explicit Context(lola_context *c) : h_(c) {}
    Handle<lola_context, lola_context_free> h_;
};

class Layer {
public:
    explicit Layer(const LayerParams &params) {
        lola_layer_params c = params.c;
        c.attention = &params.attention.c;
        lola_layer *l = nullptr;
        check(lola_layer_create(&c, &l));
        h_ = Handle<lola_layer, lola_layer_free>(l);
    }
    lola_layer *get() const noexcept { return h_.get(); }

    lola_layer_info info() const {
        lola_layer_info i{};
        i.struct_size = sizeof i;
        check(lola_layer_get_info(get(), &i));
        return i;
    }
    // Feeds n tokens (q [n][H][d], k and v [n][Hkv][d]); returns y [n][H][d].
    std::vector<float> feed(int64_t n, const std::vector<float> &q, const std::vector<float> &k,
                            const std::vector<float> &v) {
        std::vector<float> y(q.size());
        check(lola_layer_feed(get(), n, q.data(), q.size(), k.data(), k.size(), v.data(), v.size(),
                              y.data(), y.size()));
        return y;
    }
    std::vector<unsigned char> save() const {
        size_t n = 0;
        check(lola_layer_state_size(get(), &n));
        std::vector<unsigned char> blob(n);
        check(lola_layer_state_save(get(), blob.data(), blob.size(), &n));
        blob.resize(n);
        return blob;
    }
    void restore(const std::vector<unsigned char> &blob) {
        check(lola_layer_state_restore(get(), blob.data(), blob.size()));
    }

private:
    Handle<lola_layer, lola_layer_free> h_;
};

class Sampler {
public:
    explicit Sampler(const SamplerParams &params = SamplerParams()) {
        lola_sampler *s = nullptr;
        check(lola_sampler_create(&params.c, &s));
        h_ = Handle<lola_sampler, lola_sampler_free>(s);
    }
    lola_sampler *get() const noexcept { return h_.get(); }
    int32_t sample(const std::vector<float> &logits) {
        int32_t t = -1;
        check(lola_sampler_sample(get(), logits.data(), logits.size(), &t));
        return t;
    }
    void accept(const std::vector<int32_t> &tokens) {
        check(lola_sampler_accept(get(), tokens.data(), tokens.size()));
    }

private:
    Handle<lola_sampler, lola_sampler_free> h_;
};

}  // namespace lola::api

#endif  // LOLA_HPP
