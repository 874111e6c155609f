// llama_model.cpp: reading a Llama GGUF (hyperparameters, tensors, shape checks).
#include "model/llama_model.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <initializer_list>

#include "base/error.hpp"
#include "base/fnv.hpp"
#include "model/lola_tensors.hpp"
#include "quant/quant.hpp"
#include "text/tokenizer.hpp"

namespace lola::model {

namespace {

std::string blk(int64_t layer, const char *what) {
    return "blk." + std::to_string(layer) + "." + what;
}

// The byte offset of the first NaN or infinity in a tensor's data, or -1. Quantized blocks are
// finite exactly when their f16 scale fields are (the quants are small integers whose products
// with a finite f16 stay far inside the float range), so only those are read: a scan at memory
// speed rather than a dequantization of every weight.
int64_t first_non_finite(uint32_t type, const uint8_t *data, uint64_t n_bytes) {
    auto scan = [&](size_t block, std::initializer_list<size_t> fields, size_t width, uint32_t exponent) {
        for (uint64_t b = 0; b + block <= n_bytes; b += block)
            for (const size_t f : fields) {
                uint32_t bits = 0;
                std::memcpy(&bits, data + b + f, width);  // little-endian, as GGUF
                if ((bits & exponent) == exponent) return static_cast<int64_t>(b);
            }
        return int64_t{-1};
    };
    constexpr uint32_t f16 = 0x7C00u, bf16 = 0x7F80u, f32 = 0x7F800000u;
    switch (type) {
    case quant::F32: return scan(4, {0}, 4, f32);
    case quant::F16: return scan(2, {0}, 2, f16);
    case quant::BF16: return scan(2, {0}, 2, bf16);
    case quant::Q4_0: return scan(sizeof(quant::BlockQ4_0), {0}, 2, f16);
    case quant::Q4_1: return scan(sizeof(quant::BlockQ4_1), {0, 2}, 2, f16);
    case quant::Q5_0: return scan(sizeof(quant::BlockQ5_0), {0}, 2, f16);
    case quant::Q5_1: return scan(sizeof(quant::BlockQ5_1), {0, 2}, 2, f16);
    case quant::Q8_0: return scan(sizeof(quant::BlockQ8_0), {0}, 2, f16);
    case quant::Q4_K: return scan(sizeof(quant::BlockQ4_K), {0, 2}, 2, f16);
    case quant::Q5_K: return scan(sizeof(quant::BlockQ5_K), {0, 2}, 2, f16);
    case quant::Q6_K: return scan(sizeof(quant::BlockQ6_K), {offsetof(quant::BlockQ6_K, d)}, 2, f16);
    default: fail(Status::unsupported, "no finiteness check for tensor type " + std::to_string(type));
    }
}

}  // namespace

Model::Model(std::unique_ptr<gguf::File> file) : file_(std::move(file)) {}

std::unique_ptr<Model> Model::load(const std::string &path, const std::string &adapter_path) {
    std::unique_ptr<gguf::File> base = gguf::File::open(path);
    if (adapter_path.empty()) return from_file(std::move(base));
    std::unique_ptr<gguf::File> adapter;
    try {
        adapter = gguf::File::open(adapter_path);
    } catch (const Error &e) {
        fail(e.status(), "adapter '" + adapter_path + "': " + e.what());
    }
    return from_file(std::move(base), adapter.get());
}

std::unique_ptr<Model> Model::from_file(std::unique_ptr<gguf::File> file, const gguf::File *adapter) {
    std::unique_ptr<Model> m(new Model(std::move(file)));
    m->read_hparams();
    m->bind_tensors();
    m->base_fingerprint_ = m->fingerprint_;
    if (adapter) {
        try {
            m->hedgehog_dim_ = read_lola_adapter(*adapter, m->hp_, m->base_fingerprint_, m->layers_);
        } catch (const Error &e) {
            const std::string where = adapter->path().empty() ? "the adapter" : "adapter '" + adapter->path() + "'";
            fail(e.status(), where + ": " + e.what());
        }
        m->has_lola_ = true;
        m->has_adapter_ = true;
        m->fingerprint_ = fingerprint_with_adapter(m->base_fingerprint_, m->hp_, m->layers_);
    }
    try {
        auto tok = std::make_shared<const text::Tokenizer>(*m->file_);
        if (tok->n_tokens() > static_cast<size_t>(m->hp_.n_vocab))
            fail(Status::corrupt_data, "the vocabulary has " + std::to_string(tok->n_tokens()) +
                                           " tokens, the embedding " + std::to_string(m->hp_.n_vocab));
        m->tokenizer_ = std::move(tok);
    } catch (const Error &e) {
        m->tokenizer_error_ = e.what();
    }
    return m;
}

void Model::read_hparams() {
    const gguf::File &f = *file_;
    hp_.architecture = f.get_string("general.architecture");
    if (hp_.architecture != "llama")
        fail(Status::unsupported, "architecture '" + hp_.architecture +
                                      "' is not supported (supported: llama)");
    if (f.has("general.name")) hp_.name = f.get_string("general.name");
    const std::string a = hp_.architecture + ".";
    auto positive = [&](const std::string &key, int64_t v) {
        if (v <= 0 || v > (int64_t{1} << 31))
            fail(Status::corrupt_data, "metadata '" + key + "' = " + std::to_string(v) +
                                           " is out of range");
        return v;
    };
    hp_.n_embd = positive(a + "embedding_length", f.get_u64(a + "embedding_length"));
    hp_.n_layer = positive(a + "block_count", f.get_u64(a + "block_count"));
    hp_.n_ff = positive(a + "feed_forward_length", f.get_u64(a + "feed_forward_length"));
    hp_.n_head = positive(a + "attention.head_count", f.get_u64(a + "attention.head_count"));
    hp_.n_head_kv = f.has(a + "attention.head_count_kv")
                        ? positive(a + "attention.head_count_kv", f.get_u64(a + "attention.head_count_kv"))
                        : hp_.n_head;
    hp_.n_ctx_train = f.has(a + "context_length") ? static_cast<int64_t>(f.get_u64(a + "context_length")) : 0;
    if (hp_.n_head % hp_.n_head_kv != 0)
        fail(Status::corrupt_data, "attention.head_count " + std::to_string(hp_.n_head) +
                                       " is not a multiple of head_count_kv " +
                                       std::to_string(hp_.n_head_kv));
    if (hp_.n_embd % hp_.n_head != 0)
        fail(Status::corrupt_data, "embedding_length " + std::to_string(hp_.n_embd) +
                                       " is not a multiple of head_count " + std::to_string(hp_.n_head));
    hp_.head_dim = f.has(a + "attention.key_length")
                       ? positive(a + "attention.key_length", f.get_u64(a + "attention.key_length"))
                       : hp_.n_embd / hp_.n_head;
    if (hp_.head_dim % 2 != 0) fail(Status::corrupt_data, "head dimension must be even for RoPE");
    if (f.has(a + "attention.value_length") && f.get_u64(a + "attention.value_length") != static_cast<uint64_t>(hp_.head_dim))
        fail(Status::unsupported, "attention.value_length different from key_length is not supported");
    if (f.has(a + "attention.layer_norm_rms_epsilon"))
        hp_.rms_eps = f.get_f32(a + "attention.layer_norm_rms_epsilon");
    if (!(hp_.rms_eps > 0) || !std::isfinite(hp_.rms_eps))
        fail(Status::corrupt_data, "layer_norm_rms_epsilon must be positive and finite");
    if (f.has(a + "rope.freq_base")) hp_.rope.freq_base = f.get_f32(a + "rope.freq_base");
    if (!(hp_.rope.freq_base > 1) || !std::isfinite(hp_.rope.freq_base))
        fail(Status::corrupt_data, "rope.freq_base must be > 1 and finite");
    if (f.has(a + "rope.dimension_count") &&
        f.get_u64(a + "rope.dimension_count") != static_cast<uint64_t>(hp_.head_dim))
        fail(Status::unsupported, "partial RoPE (rope.dimension_count != head dim) is not supported");
    if (f.has(a + "rope.scaling.type")) hp_.rope.scaling_type = f.get_string(a + "rope.scaling.type");
    float factor = 1.f;
    if (f.has(a + "rope.scaling.factor")) factor = f.get_f32(a + "rope.scaling.factor");
    if (hp_.rope.scaling_type == "linear") {
        if (!(factor > 0) || !std::isfinite(factor))
            fail(Status::corrupt_data, "rope.scaling.factor must be positive");
        hp_.rope.freq_scale = 1.f / factor;
    } else if (hp_.rope.scaling_type != "none" && hp_.rope.scaling_type != "llama3") {
        fail(Status::unsupported, "rope.scaling.type '" + hp_.rope.scaling_type +
                                      "' is not supported (none, linear, llama3)");
    }
    read_lola_defaults();
}

void Model::read_lola_defaults() { read_lola_metadata(*file_, hp_.lola); }

void Model::bind_tensors() {
    const gguf::File &f = *file_;
    const int64_t E = hp_.n_embd, hd = hp_.head_dim;
    auto matrix = [&](const std::string &name, int64_t cols, int64_t rows, bool required = true) {
        Matrix m;
        const gguf::TensorInfo *t = f.tensor(name);
        if (!t) {
            if (required) fail(Status::corrupt_data, "tensor '" + name + "' is missing");
            return m;
        }
        const gguf::TensorInfo &ti = f.require_tensor(name, {cols, rows});
        if (!quant::supported(ti.type))
            fail(Status::unsupported, "tensor '" + name + "' has type " + std::to_string(ti.type) +
                                          ", which liblola cannot compute with");
        // A NaN or Inf weight would poison every later logit: refuse it here, naming the tensor.
        const int64_t at = first_non_finite(ti.type, ti.data, ti.n_bytes);
        if (at >= 0)
            fail(Status::corrupt_data, "tensor '" + name + "' holds a non-finite value in row " +
                                           std::to_string(at / static_cast<int64_t>(quant::row_bytes(ti.type, cols))));
        m.type = ti.type;
        m.data = ti.data;
        m.rows = rows;
        m.cols = cols;
        m.row_bytes = quant::row_bytes(ti.type, cols);
        m.name = ti.name.c_str();
        return m;
    };
    auto vector = [&](const std::string &name, int64_t n) {
        const gguf::TensorInfo &ti = f.require_tensor(name, {n});
        if (!quant::supported(ti.type) || quant::block_size(ti.type) != 1)
            fail(Status::unsupported, "tensor '" + name + "' must be F32, F16 or BF16");
        std::vector<float> out(static_cast<size_t>(n));
        quant::dequantize_row(ti.type, ti.data, out.data(), n);
        for (float x : out)
            if (!std::isfinite(x)) fail(Status::corrupt_data, "tensor '" + name + "' holds a non-finite value");
        return out;
    };

    const gguf::TensorInfo *embd = f.tensor("token_embd.weight");
    if (!embd) fail(Status::corrupt_data, "tensor 'token_embd.weight' is missing");
    hp_.n_vocab = embd->ne[1];
    if (embd->n_dims != 2 || embd->ne[0] != E || hp_.n_vocab <= 0)
        fail(Status::corrupt_data, "tensor 'token_embd.weight' must be [" + std::to_string(E) +
                                       ", n_vocab]");
    token_embd_ = matrix("token_embd.weight", E, hp_.n_vocab);
    output_norm_ = vector("output_norm.weight", E);
    output_ = matrix("output.weight", E, hp_.n_vocab, false);
    if (!output_.data) output_ = token_embd_;  // tied embeddings

    const std::string a = hp_.architecture + ".";
    if (hp_.rope.scaling_type == "llama3" || f.tensor("rope_freqs.weight")) {
        if (f.tensor("rope_freqs.weight")) {
            hp_.rope.freq_factors = vector("rope_freqs.weight", hd / 2);
            for (float x : hp_.rope.freq_factors)
                if (!(x > 0)) fail(Status::corrupt_data, "rope_freqs.weight must be positive");
            if (hp_.rope.scaling_type == "none") hp_.rope.scaling_type = "llama3";
        } else {
            fail(Status::corrupt_data, "rope.scaling.type llama3 needs the tensor 'rope_freqs.weight'");
        }
    }

    // Grown layer by layer, not sized from block_count: a count the file's tensors do not back
    // fails at the first missing tensor instead of allocating for it.
    const int64_t H = hp_.n_head, Hkv = hp_.n_head_kv;
    for (int64_t l = 0; l < hp_.n_layer; ++l) {
        LayerWeights &w = layers_.emplace_back();
        w.attn_norm = vector(blk(l, "attn_norm.weight"), E);
        w.wq = matrix(blk(l, "attn_q.weight"), E, H * hd);
        w.wk = matrix(blk(l, "attn_k.weight"), E, Hkv * hd);
        w.wv = matrix(blk(l, "attn_v.weight"), E, Hkv * hd);
        w.wo = matrix(blk(l, "attn_output.weight"), H * hd, E);
        w.ffn_norm = vector(blk(l, "ffn_norm.weight"), E);
        w.w_gate = matrix(blk(l, "ffn_gate.weight"), E, hp_.n_ff);
        w.w_up = matrix(blk(l, "ffn_up.weight"), E, hp_.n_ff);
        w.w_down = matrix(blk(l, "ffn_down.weight"), hp_.n_ff, E);
    }
    hedgehog_dim_ = read_lola_tensors(f, hp_, layers_);
    has_lola_ = hedgehog_dim_ > 0;

    Fnv h;
    h.bytes(hp_.architecture.data(), hp_.architecture.size());
    for (int64_t v : {hp_.n_vocab, hp_.n_embd, hp_.n_layer, hp_.n_head, hp_.n_head_kv, hp_.head_dim, hp_.n_ff})
        h.value(v);
    for (const gguf::TensorInfo &t : f.tensors()) {
        h.bytes(t.name.data(), t.name.size());
        h.value(t.type);
        h.bytes(t.ne, sizeof t.ne);
        // The first and last bytes of every tensor's data: models of the same shapes with other
        // weights (another fine-tune) get another fingerprint, so their states are not mixed.
        const size_t n = static_cast<size_t>(std::min<uint64_t>(t.n_bytes, 64));
        h.bytes(t.data, n);
        h.bytes(t.data + (t.n_bytes - n), n);
    }
    fingerprint_ = h.h;
}

void Model::embed(int32_t token, float *out) const {
    if (token < 0 || token >= hp_.n_vocab)
        fail(Status::invalid_argument, "token id " + std::to_string(token) + " out of range [0, " +
                                           std::to_string(hp_.n_vocab) + ")");
    quant::dequantize_row(token_embd_.type,
                          token_embd_.data + static_cast<size_t>(token) * token_embd_.row_bytes, out,
                          hp_.n_embd);
}

}  // namespace lola::model
