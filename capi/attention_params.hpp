// attention_params.hpp: lola_attention_params, shared by the layer and the context API: its
// defaults, the resolution of LOLA_MODEL_DEFAULT, and its translation into the core's
// LayerConfig (one place, so a layer and a context read the same fields the same way).
#pragma once

#include "lola.h"
#include "lola/config.hpp"

namespace lola::capi {

// The settings of lola_attention_params_init.
lola_attention_params default_attention_params();

// The caller's settings over the defaults (NULL: the defaults), struct_size checked.
lola_attention_params read_attention_params(const lola_attention_params *params);

// The values LOLA_MODEL_DEFAULT stands for: a converted model's lola.* metadata, or the
// library's (a standalone layer, a model without them).
struct AttentionDefaults {
    int chunk = 64, sparse_capacity = 64, mixing = LOLA_MIXING_LOLA;
};
void resolve_model_defaults(const AttentionDefaults &defaults, lola_attention_params &params);

// Copies the (resolved) settings into `config`. feature_map AUTO leaves config.feature_map as
// it is and returns true; the caller decides (a layer: hedgehog when weights are given; a
// context: hedgehog when the model carries LoLA tensors).
bool apply_attention_params(const lola_attention_params &params, LayerConfig &config);

}  // namespace lola::capi
