// lola_tensors.hpp: the LoLA part of a model: the hedgehog feature maps, the gates and the
// lola.* defaults, read from the model's own GGUF (a converted or linearized model) or from a
// separate adapter GGUF (docs/ADAPTERS.md), which is checked against the base it was trained for
// before anything of it is used.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gguf/gguf.hpp"
#include "model/llama_model.hpp"

namespace lola::model {

// The lola.* metadata of `f` over `d` (lola.chunk_size, lola.sparse_capacity, lola.mixing) and
// the check of lola.feature_map. Throws corrupt_data (a value out of range) or unsupported.
void read_lola_metadata(const gguf::File &f, LolaDefaults &d);

// The blk.N.lola.fmap_q/fmap_k.weight ([F/2, head_dim, n_head], F32, finite) and
// blk.N.lola.window_factors ([n_head], F32/F16/BF16, finite) of every layer into
// layers[N].hedgehog_q/hedgehog_k/window_factors; returns F, or 0 (nothing read) when the file
// has no blk.0.lola.fmap_q.weight. Checks lola.feature_dim against F. Throws corrupt_data or
// unsupported naming the tensor.
int read_lola_tensors(const gguf::File &f, const HParams &hp, std::vector<LayerWeights> &layers);

// An adapter file (general.type "adapter", adapter.type "lola", lola.adapter.version 1) for the
// base whose fingerprint is `base_fingerprint` and hyperparameters `hp`: its tensors as above
// (replacing the base's) and its defaults into hp.lola; returns F. Throws corrupt_data (not an
// adapter, a field or tensor malformed or missing, a tensor liblola does not read),
// version_mismatch (another adapter version), incompatible (made for another base: the
// fingerprints, or the shapes, differ) or unsupported (another feature map).
int read_lola_adapter(const gguf::File &adapter, HParams &hp, uint64_t base_fingerprint,
                      std::vector<LayerWeights> &layers);

// The fingerprint of a base combined with the adapter applied to it: every LoLA value the
// adapter supplied, so state saved with one adapter is not restored under another.
uint64_t fingerprint_with_adapter(uint64_t base_fingerprint, const HParams &hp,
                                  const std::vector<LayerWeights> &layers);

}  // namespace lola::model
