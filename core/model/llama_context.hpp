// llama_context.hpp: one inference stream over a shared Model: the Llama forward pass with
// every attention layer a lola::Layer (LoLA, or one of the baselines), chunk by chunk. The pass
// is written once against backend::Backend (backend/backend.hpp); the context itself holds no
// kernel and no device memory, only the host logits and the token count.
//
// forward(x):  per layer  x += Wo . attn(rope(Wq rms(x)), rope(Wk rms(x)), Wv rms(x))
//                         x += Wdown . (silu(Wgate rms(x)) * Wup rms(x))
//              logits = Wout . rms(x)
// Used by one thread at a time; many contexts may share one Model concurrently.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "backend/backend.hpp"
#include "lola/layer.hpp"
#include "model/forward.hpp"
#include "model/llama_model.hpp"

namespace lola::model {

struct ContextConfig {
    // Attention of every layer. Shapes (heads, head_dim) come from the model; the feature map
    // is hedgehog when the model carries LoLA tensors and `feature_map_auto` is set.
    LayerConfig attention;
    // Per-layer attention kinds: empty, every layer computes attention.attention; else one
    // per layer of the model (a hybrid, e.g. a few full-attention layers among LoLA ones). The
    // other fields of `attention` apply to every layer.
    std::vector<Attention> layer_attention;
    bool feature_map_auto = true;
    // Gate logit for every head (g = sigmoid); empty: the model's gates when it carries LoLA
    // tensors, else 0 (g = 0.5, the plain hybrid).
    std::optional<double> gate_logit;
    int n_threads = 1;
    int batch = 64;  // tokens per forward step in a prefill
};

class Batch;

class Context {
public:
    // A context on the CPU backend.
    Context(std::shared_ptr<const Model> model, const ContextConfig &config);
    // A context on the backend that holds `weights` (one model's resident weights).
    Context(std::shared_ptr<const backend::Weights> weights, const ContextConfig &config);
    Context(const Context &other);  // clone: same weights, copied state
    Context &operator=(const Context &) = delete;

    // Feeds tokens; afterwards logits() holds the last token's logits, or every token's when
    // all_logits. Validates every token id before changing anything. `abort` (may be empty) is
    // polled between steps; returns the number of tokens fed (n unless aborted).
    int64_t feed(const int32_t *tokens, int64_t n, bool all_logits,
                 const std::function<bool()> &abort = {});

    // Throws invalid_argument naming the first token id outside [0, n_vocab); changes nothing.
    void check_tokens(const int32_t *tokens, int64_t n) const;

    const std::vector<float> &logits() const { return logits_; }  // [rows][n_vocab]
    int64_t logit_rows() const { return logit_rows_; }
    int64_t n_past() const { return n_past_; }
    const Model &model() const { return weights_->model(); }
    const ContextConfig &config() const { return config_; }
    const char *backend_name() const { return backend_->name(); }
    // The attention state of layer l, as the host form every backend shows (backend.hpp).
    const Layer<float> &layer(int64_t l) const { return backend_->attention_state(l); }
    size_t state_bytes() const;

    void reset();

    // The state blob: [magic "LOLACTX1"][u64 model fingerprint][u64 n_past][u32 n_layers] then
    // per layer [u64 size][Layer::save blob]; the same bytes on every backend.
    std::vector<unsigned char> save() const;
    size_t save_size() const;  // == save().size(), without building the blob
    void restore(const unsigned char *data, size_t size);

private:
    friend class Batch;  // llama_batch.hpp: one decode step for many contexts
    // Sizes the logits buffer for `rows` rows (its address stays put unless it must grow; it
    // allocates before any change) and marks it unfilled.
    void prepare_logits(int64_t rows);
    // A decode step done by a Batch: the token's logits row, one more position.
    void accept_decoded(const float *logits_row);
    backend::Backend &backend() { return *backend_; }

    void allocate();  // the activations of one forward step, [batch][...], in the backend's arena
    void step(const int32_t *tokens, int64_t n, bool want_logits, bool all_logits);

    std::shared_ptr<const backend::Weights> weights_;
    ContextConfig config_;
    std::unique_ptr<backend::Backend> backend_;
    Activations act_;
    std::vector<float> logits_;  // host
    int64_t logit_rows_ = 0;
    int64_t logit_fill_ = 0;  // rows of logits_ written by the current feed
    int64_t n_past_ = 0;
};

// The attention config a context will use for `model` (shapes filled in, hedgehog weights
// attached when the model carries them and the map is automatic).
LayerConfig layer_config(const Model &model, const ContextConfig &config, int64_t layer);

}  // namespace lola::model
