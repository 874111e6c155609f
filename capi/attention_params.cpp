// attention_params.cpp: see attention_params.hpp.
#include "attention_params.hpp"

#include <string>

#include "struct_versions.hpp"

namespace lola::capi {

// The core's enums carry lola.h's values (the C API casts between them).
static_assert(static_cast<int>(Attention::lola) == LOLA_ATTENTION_LOLA &&
              static_cast<int>(Attention::full) == LOLA_ATTENTION_FULL &&
              static_cast<int>(Attention::window) == LOLA_ATTENTION_WINDOW);
static_assert(static_cast<int>(FeatureMapKind::hedgehog) == LOLA_FEATURE_MAP_HEDGEHOG &&
              static_cast<int>(FeatureMapKind::performer) == LOLA_FEATURE_MAP_PERFORMER &&
              static_cast<int>(FeatureMapKind::elu1) == LOLA_FEATURE_MAP_ELU1 &&
              static_cast<int>(FeatureMapKind::relu) == LOLA_FEATURE_MAP_RELU &&
              static_cast<int>(FeatureMapKind::precomputed) == LOLA_FEATURE_MAP_PRECOMPUTED);
static_assert(static_cast<int>(Mixing::lola) == LOLA_MIXING_LOLA &&
              static_cast<int>(Mixing::lolcats) == LOLA_MIXING_LOLCATS);
static_assert(static_cast<int>(Scoring::sre) == LOLA_SCORING_SRE &&
              static_cast<int>(Scoring::recency) == LOLA_SCORING_RECENCY &&
              static_cast<int>(Scoring::random) == LOLA_SCORING_RANDOM &&
              static_cast<int>(Scoring::value_norm) == LOLA_SCORING_VALUE_NORM);

lola_attention_params default_attention_params() {
    const LayerConfig d;
    lola_attention_params p{};
    p.struct_size = sizeof p;
    p.attention = LOLA_ATTENTION_LOLA;
    p.chunk_size = LOLA_MODEL_DEFAULT;
    p.sparse_capacity = LOLA_MODEL_DEFAULT;
    p.feature_map = LOLA_FEATURE_MAP_AUTO;
    p.feature_dim = 0;
    p.mixing = LOLA_MODEL_DEFAULT;
    p.scoring = LOLA_SCORING_SRE;
    p.performer_orthogonal = 0;
    p.seed = d.seed;
    p.eps = static_cast<float>(d.eps);
    return p;
}

lola_attention_params read_attention_params(const lola_attention_params *params) {
    if (!params) return default_attention_params();
    return read_struct(params, "attention", default_attention_params());
}

void resolve_model_defaults(const AttentionDefaults &d, lola_attention_params &p) {
    if (p.chunk_size == LOLA_MODEL_DEFAULT) p.chunk_size = d.chunk;
    if (p.sparse_capacity == LOLA_MODEL_DEFAULT) p.sparse_capacity = d.sparse_capacity;
    if (p.mixing == LOLA_MODEL_DEFAULT) p.mixing = d.mixing;
}

bool apply_attention_params(const lola_attention_params &p, LayerConfig &c) {
    // Enum values are range-checked by validated(); only the sentinels are handled here.
    c.attention = static_cast<Attention>(p.attention);
    c.chunk = p.chunk_size;
    c.sparse_capacity = p.sparse_capacity;
    const bool automatic = p.feature_map == LOLA_FEATURE_MAP_AUTO;
    if (!automatic) c.feature_map = static_cast<FeatureMapKind>(p.feature_map);
    c.feature_dim = p.feature_dim;
    c.mixing = static_cast<Mixing>(p.mixing);
    c.scoring = static_cast<Scoring>(p.scoring);
    c.performer_orthogonal = p.performer_orthogonal != 0;
    c.seed = p.seed;
    c.eps = p.eps;
    return automatic;
}

}  // namespace lola::capi
