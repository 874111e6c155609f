// lola_tensors.cpp: the LoLA tensors and defaults of a model, from its own file or an adapter.
#include "model/lola_tensors.hpp"

#include <cmath>
#include <cstring>
#include <set>
#include <sstream>

#include "base/error.hpp"
#include "base/fnv.hpp"
#include "quant/quant.hpp"

namespace lola::model {

namespace {

std::string blk(int64_t layer, const char *what) {
    return "blk." + std::to_string(layer) + "." + what;
}

std::string hex(uint64_t v) {
    std::ostringstream s;
    s << "0x" << std::hex << v;
    return s.str();
}

// A finite F32/F16/BF16 vector of n values.
std::vector<double> finite_vector(const gguf::File &f, const std::string &name, int64_t n) {
    const gguf::TensorInfo &ti = f.require_tensor(name, {n});
    if (!quant::supported(ti.type) || quant::block_size(ti.type) != 1)
        fail(Status::unsupported, "tensor '" + name + "' must be F32, F16 or BF16");
    std::vector<float> row(static_cast<size_t>(n));
    quant::dequantize_row(ti.type, ti.data, row.data(), n);
    for (float x : row)
        if (!std::isfinite(x)) fail(Status::corrupt_data, "tensor '" + name + "' holds a non-finite value");
    return std::vector<double>(row.begin(), row.end());
}

}  // namespace

void read_lola_metadata(const gguf::File &f, LolaDefaults &d) {
    auto count = [&](const char *key, int64_t lo, int &out) {
        if (!f.has(key)) return;
        const uint64_t v = f.get_u64(key);
        if (v < static_cast<uint64_t>(lo) || v > 65536)
            fail(Status::corrupt_data, std::string("metadata '") + key + "' = " + std::to_string(v) +
                                           " is out of range [" + std::to_string(lo) + ", 65536]");
        out = static_cast<int>(v);
    };
    count("lola.chunk_size", 1, d.chunk);
    count("lola.sparse_capacity", 0, d.sparse_capacity);
    if (f.has("lola.mixing")) {
        const std::string &m = f.get_string("lola.mixing");
        if (m == "lola") d.mixing = 0;
        else if (m == "lolcats") d.mixing = 1;
        else fail(Status::corrupt_data, "metadata 'lola.mixing' = '" + m + "' (expected lola or lolcats)");
    }
    if (f.has("lola.feature_map") && f.get_string("lola.feature_map") != "hedgehog")
        fail(Status::unsupported, "metadata 'lola.feature_map' = '" + f.get_string("lola.feature_map") +
                                      "' (liblola reads hedgehog maps from files)");
}

int read_lola_tensors(const gguf::File &f, const HParams &hp, std::vector<LayerWeights> &layers) {
    const int64_t H = hp.n_head, hd = hp.head_dim;
    int dim = 0;
    if (f.tensor(blk(0, "lola.fmap_q.weight"))) {
        for (int64_t l = 0; l < hp.n_layer; ++l) {
            const gguf::TensorInfo *fq = f.tensor(blk(l, "lola.fmap_q.weight"));
            if (!fq) fail(Status::corrupt_data, "tensor '" + blk(l, "lola.fmap_q.weight") + "' is missing");
            const int64_t half = fq->ne[0];
            if (l == 0) dim = static_cast<int>(2 * half);
            if (half <= 0 || 2 * half != dim)
                fail(Status::corrupt_data, "LoLA feature maps differ in size between layers");
            auto weights = [&](const char *what) {
                const std::string name = blk(l, what);
                const gguf::TensorInfo &ti = f.require_tensor(name, {half, hd, H});
                if (ti.type != quant::F32) fail(Status::unsupported, "tensor '" + name + "' must be F32");
                const size_t n = static_cast<size_t>(half * hd * H);
                std::vector<double> out(n);
                for (size_t i = 0; i < n; ++i) {
                    float x;
                    std::memcpy(&x, ti.data + 4 * i, 4);
                    if (!std::isfinite(x))
                        fail(Status::corrupt_data, "tensor '" + name + "' holds a non-finite value");
                    out[i] = x;
                }
                return out;
            };
            LayerWeights &w = layers.at(static_cast<size_t>(l));
            w.hedgehog_q = weights("lola.fmap_q.weight");
            w.hedgehog_k = weights("lola.fmap_k.weight");
            w.window_factors = finite_vector(f, blk(l, "lola.window_factors"), H);
        }
    }
    if (f.has("lola.feature_map") && dim == 0)
        fail(Status::corrupt_data, "metadata 'lola.feature_map' names hedgehog maps but tensor '" +
                                       blk(0, "lola.fmap_q.weight") + "' is missing");
    if (f.has("lola.feature_dim") && f.get_u64("lola.feature_dim") != static_cast<uint64_t>(dim))
        fail(Status::corrupt_data, "metadata 'lola.feature_dim' = " +
                                       std::to_string(f.get_u64("lola.feature_dim")) +
                                       ", the hedgehog tensors have F = " + std::to_string(dim));
    return dim;
}

int read_lola_adapter(const gguf::File &a, HParams &hp, uint64_t base_fingerprint,
                      std::vector<LayerWeights> &layers) {
    const std::string type = a.find_string("general.type").value_or("");
    if (type != "adapter" || a.find_string("adapter.type").value_or("") != "lola")
        fail(Status::corrupt_data, "not a LoLA adapter (general.type is '" + type +
                                       "', expected 'adapter' with adapter.type 'lola'; a full "
                                       "model is loaded as the model, not as its adapter)");
    const uint64_t version = a.get_u64("lola.adapter.version");
    if (version != 1)
        fail(Status::version_mismatch, "adapter format version " + std::to_string(version) +
                                           " (this liblola reads version 1)");
    const uint64_t made_for = a.get_u64("lola.adapter.base_fingerprint");
    if (made_for != base_fingerprint) {
        const std::string name = a.find_string("lola.adapter.base_name").value_or("");
        fail(Status::incompatible, "the adapter was trained for another model: its base fingerprint is " +
                                       hex(made_for) + (name.empty() ? "" : " ('" + name + "')") +
                                       ", this model's is " + hex(base_fingerprint));
    }
    auto same = [&](const std::string &key, int64_t want) {
        const uint64_t v = a.get_u64(key);
        if (v != static_cast<uint64_t>(want))
            fail(Status::incompatible, "adapter metadata '" + key + "' = " + std::to_string(v) +
                                           ", the model has " + std::to_string(want));
    };
    const std::string arch = a.get_string("general.architecture");
    if (arch != hp.architecture)
        fail(Status::incompatible, "the adapter is for architecture '" + arch + "', the model is '" +
                                       hp.architecture + "'");
    same(arch + ".block_count", hp.n_layer);
    same(arch + ".attention.head_count", hp.n_head);
    same("lola.adapter.head_dim", hp.head_dim);
    if (!a.has("lola.feature_map"))
        fail(Status::corrupt_data, "adapter metadata 'lola.feature_map' is missing");
    LolaDefaults d = hp.lola;
    read_lola_metadata(a, d);
    // Every tensor must be one liblola reads: a misnamed one would otherwise be ignored silently.
    std::set<std::string> expected;
    for (int64_t l = 0; l < hp.n_layer; ++l)
        for (const char *what : {"lola.fmap_q.weight", "lola.fmap_k.weight", "lola.window_factors"})
            expected.insert(blk(l, what));
    for (const gguf::TensorInfo &t : a.tensors())
        if (!expected.count(t.name))
            fail(Status::corrupt_data, "adapter tensor '" + t.name + "' is not one liblola reads "
                                       "(blk.N.lola.fmap_q.weight, fmap_k.weight, window_factors)");
    std::vector<LayerWeights> read(layers.size());
    const int dim = read_lola_tensors(a, hp, read);
    if (dim == 0) fail(Status::corrupt_data, "tensor '" + blk(0, "lola.fmap_q.weight") + "' is missing");
    for (size_t l = 0; l < layers.size(); ++l) {
        layers[l].hedgehog_q = std::move(read[l].hedgehog_q);
        layers[l].hedgehog_k = std::move(read[l].hedgehog_k);
        layers[l].window_factors = std::move(read[l].window_factors);
    }
    hp.lola = d;
    return dim;
}

uint64_t fingerprint_with_adapter(uint64_t base_fingerprint, const HParams &hp,
                                  const std::vector<LayerWeights> &layers) {
    Fnv f;
    f.value(base_fingerprint);
    f.value(hp.lola.chunk);
    f.value(hp.lola.sparse_capacity);
    f.value(hp.lola.mixing);
    for (const LayerWeights &w : layers) {
        f.doubles(w.hedgehog_q);
        f.doubles(w.hedgehog_k);
        f.doubles(w.window_factors);
    }
    return f.h;
}

}  // namespace lola::model
