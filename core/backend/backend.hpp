// backend.hpp: the compute seam between the Llama forward pass (model/llama_context.cpp) and
// the kernels that run it. The forward pass is written once against `Backend`; each backend
// (core/cpu/ today, core/cuda/ next) implements the ops in its own memory.
//
//   Weights   a model's weights as one backend holds them ("resident": the CPU backend views the
//             mapped file, a GPU backend keeps device copies). Made once per model and backend,
//             immutable, shared by every context on it; it makes the Backends of those contexts.
//   Backend   one context's executor: its activation arena, its LoLA attention layers (the
//             cache state), its threads or streams, and the ops. Used by one thread at a time.
//   Buf       a range of floats in a backend's memory. The forward pass passes them from op to
//             op and never dereferences them; write()/read() move data to and from the host.
//
// Ops name weights by role (layer, which matrix), not by pointer, so a backend resolves them to
// its resident copy. Every op is checked against the CPU reference by tests/backend/ (the parity
// harness), on awkward sizes, with the tolerance each op states there.
//
// The attention state is device-neutral: attention_state() shows it as the host lola::Layer, so
// cache queries and the state blob (Layer::save / restore, one byte format) are the same on every
// backend; a device backend copies its state to or from that form on those calls.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "lola/layer.hpp"

namespace lola::model {
class Model;
}

namespace lola::backend {

// A range of `size` floats at `data` in a backend's memory.
struct Buf {
    float *data = nullptr;
    size_t size = 0;
    // The sub-range [offset, offset + n); throws Status::internal when it does not fit.
    Buf slice(size_t offset, size_t n) const;
};

// Bytes in host memory (a state blob).
struct Bytes {
    const unsigned char *data = nullptr;
    size_t size = 0;
};

// The weight matrices of a Llama model, by role.
enum class Linear : int { q, k, v, o, gate, up, down, output };
// The rms-norm weight vectors, by role.
enum class Norm : int { attn, ffn, output };

// What a context asks of its backend.
struct BackendConfig {
    int n_threads = 1;
    int64_t max_tokens = 64;  // the most tokens one forward step feeds (the arena is sized by it)
    // The attention layers' settings, one per model layer (shapes filled in).
    std::vector<LayerConfig> layers;
};

class Backend;

class Weights {
public:
    virtual ~Weights() = default;
    virtual const char *name() const = 0;  // "cpu", "cpu:avx2", ...
    virtual const model::Model &model() const = 0;
    // A new executor for one context over these weights (which it keeps alive).
    virtual std::unique_ptr<Backend> make_backend(const BackendConfig &config) const = 0;
};

class Backend {
public:
    virtual ~Backend() = default;
    virtual const char *name() const = 0;
    // An independent copy: the same weights and settings, the attention state copied.
    virtual std::unique_ptr<Backend> clone() const = 0;

    // ---- memory ------------------------------------------------------------------------------
    // n floats of the context's arena, valid as long as the backend. The arena is fixed: the
    // forward pass takes every buffer it needs once, at context creation.
    virtual Buf alloc(size_t n) = 0;
    virtual void write(Buf dst, const float *src, size_t n) = 0;  // host -> backend, n <= dst.size
    virtual void read(Buf src, float *dst, size_t n) = 0;         // backend -> host

    // ---- ops (rows are token-major; every size is checked against the Bufs) ------------------
    // x[t] = the embedding row of tokens[t] (host ids, already range-checked), t < n.
    virtual void embed(const int32_t *tokens, int64_t n, Buf x) = 0;
    // out[t] = x[t] / rms(x[t]) * w, for n rows of n_embd; layer is ignored for Norm::output.
    virtual void rms_norm(Norm which, int64_t layer, Buf x, int64_t n, Buf out) = 0;
    // y[t] = W x[t] for n rows (a matrix-vector product when n == 1, a block product else).
    virtual void linear(Linear which, int64_t layer, Buf x, int64_t n, Buf y) = 0;
    // RoPE (adjacent pairs, GGUF layout) on n rows of n_heads heads, row t at position pos0 + t.
    virtual void rope(Buf x, int64_t n, int64_t n_heads, int64_t pos0) = 0;
    // x[i] += y[i] for i < n.
    virtual void add(Buf x, Buf y, size_t n) = 0;
    // gate[i] = silu(gate[i]) * up[i] for i < n.
    virtual void swiglu(Buf gate, Buf up, size_t n) = 0;
    // The LoLA attention layer `layer` fed n tokens (q [n][H][d], k and v [n][Hkv][d]): its state
    // advances, y [n][H][d] gets the outputs.
    virtual void attention(int64_t layer, int64_t n, Buf q, Buf k, Buf v, Buf y) = 0;
    // The logits of `rows` rows of x (output norm, output head) into host memory
    // out[rows][n_vocab].
    virtual void logits(Buf x, int64_t rows, float *out) = 0;

    // ---- the attention state, device-neutral ---------------------------------------------------
    virtual int64_t n_layers() const = 0;
    virtual const Layer<float> &attention_state(int64_t layer) const = 0;
    // Replaces every layer's state by a state blob per layer (Layer::save's byte format), each
    // holding n_tokens tokens; all are validated first: on an exception nothing changed.
    virtual void restore_attention(const std::vector<Bytes> &blobs, int64_t n_tokens) = 0;
    virtual void reset_attention() = 0;
};

}  // namespace lola::backend
