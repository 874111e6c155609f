// llama_model.hpp: a Llama-architecture model read from a GGUF file: hyperparameters, weight
// references into the memory-mapped file (quantized weights stay quantized), and the checks
// that every tensor the forward pass reads exists with the right shape and a supported type.
// Immutable after load, so any number of contexts may share it across threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gguf/gguf.hpp"

namespace lola::text {
class Tokenizer;
}

namespace lola::model {

// A weight matrix W with `rows` output features of `cols` inputs each (GGML ne = [cols, rows]);
// row r starts at data + r * row_bytes.
struct Matrix {
    uint32_t type = 0;
    const uint8_t *data = nullptr;
    int64_t rows = 0, cols = 0;
    size_t row_bytes = 0;
    const char *name = "";
};

struct RopeConfig {
    float freq_base = 10000.f;
    float freq_scale = 1.f;         // linear scaling: positions multiplied by this
    std::vector<float> freq_factors;  // llama3 scaling: theta_i divided by factor_i (or empty)
    std::string scaling_type = "none";
};

// The LoLA settings a converted model asks for (lola.* metadata written by lola-convert), used
// by contexts whose parameters say "model default"; the library's defaults when absent.
struct LolaDefaults {
    int chunk = 64;            // lola.chunk_size
    int sparse_capacity = 64;  // lola.sparse_capacity
    int mixing = 0;            // lola.mixing: "lola" (mode A) = 0, "lolcats" (mode B) = 1
};

struct HParams {
    std::string architecture, name;
    int64_t n_vocab = 0, n_embd = 0, n_layer = 0, n_head = 0, n_head_kv = 0, head_dim = 0,
            n_ff = 0, n_ctx_train = 0;
    float rms_eps = 1e-5f;
    RopeConfig rope;
    LolaDefaults lola;
};

struct LayerWeights {
    std::vector<float> attn_norm;  // [n_embd]
    Matrix wq, wk, wv, wo;
    std::vector<float> ffn_norm;
    Matrix w_gate, w_up, w_down;
    // LoLA tensors (hedgehog feature maps and gates), when the file carries them
    std::vector<double> hedgehog_q, hedgehog_k, window_factors;
};

class Model {
public:
    // Loads and validates; throws lola::Error (io, corrupt_data, unsupported). With an adapter
    // (a LoLA adapter GGUF, see model/lola_tensors.hpp), its feature maps, gates and defaults
    // replace the base's once it is checked against the base (its errors are prefixed with
    // "adapter '<path>': "); the adapter file is closed again after the load.
    static std::unique_ptr<Model> load(const std::string &path, const std::string &adapter_path = {});
    static std::unique_ptr<Model> from_file(std::unique_ptr<gguf::File> file,
                                            const gguf::File *adapter = nullptr);

    const HParams &hparams() const { return hp_; }
    const std::vector<LayerWeights> &layers() const { return layers_; }
    const Matrix &token_embd() const { return token_embd_; }
    const Matrix &output() const { return output_; }
    const std::vector<float> &output_norm() const { return output_norm_; }
    bool has_lola_tensors() const { return has_lola_; }
    int hedgehog_feature_dim() const { return hedgehog_dim_; }
    // Identifies the weights this model computes with: the base file's tensors, combined with
    // every value of the adapter when there is one (state blobs record it). base_fingerprint()
    // is the file's alone: what an adapter records as the model it was trained for.
    uint64_t fingerprint() const { return fingerprint_; }
    uint64_t base_fingerprint() const { return base_fingerprint_; }
    bool has_adapter() const { return has_adapter_; }
    const gguf::File &file() const { return *file_; }
    // The tokenizer of the file's vocabulary, or nullptr when it has none liblola can use
    // (tokenizer_error() says why); a tokenizer that cannot be built never fails the load.
    const text::Tokenizer *tokenizer() const { return tokenizer_.get(); }
    const std::string &tokenizer_error() const { return tokenizer_error_; }

    // Row `token` of the embedding table, dequantized into out[n_embd].
    void embed(int32_t token, float *out) const;

private:
    explicit Model(std::unique_ptr<gguf::File> file);
    void read_hparams();
    void read_lola_defaults();
    void bind_tensors();

    std::unique_ptr<gguf::File> file_;
    HParams hp_;
    Matrix token_embd_, output_;
    std::vector<float> output_norm_;
    std::vector<LayerWeights> layers_;
    bool has_lola_ = false, has_adapter_ = false;
    int hedgehog_dim_ = 0;
    uint64_t fingerprint_ = 0, base_fingerprint_ = 0;
    std::shared_ptr<const text::Tokenizer> tokenizer_;
    std::string tokenizer_error_;
};

}  // namespace lola::model
