// variants.hpp: the attention variants `lola eval` compares, all at one cache budget of
// lambda + 2C pairs per head (LoLA's window of 2C plus its sparse cache of lambda):
//   full        full softmax attention (no budget: the ceiling)
//   window      window only, chunk (lambda + 2C) / 2 so that its window holds the budget
//   linear      window + linear state (lambda = 0), the same window
//   lola        LoLA: chunk C, sparse cache lambda chosen by self-recall error
//   performer   LoLA with random performer features and gate logit 0 (g = 1/2): the
//               training-free LoLA of a softmax model, whatever maps the model or its
//               adapter carries (the row learned maps are compared against)
//   hybrid      LoLA in every layer but the listed ones, which keep full attention (their
//               cache grows with the context): the per-layer lever of docs/QUALITY.md
//   recency, random, value_norm   LoLA with the sparse cache chosen by that ablation policy
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lola.hpp"

namespace lola_eval {

struct Variant {
    std::string name;   // as in the report and on the command line
    std::string label;  // for tables and plots
    lolapp::Attention attention = lolapp::Attention::lola;
    int32_t chunk = 64;
    int32_t sparse = 0;
    lolapp::Scoring scoring = lolapp::Scoring::sre;
    int32_t lambda = 0;  // the sweep point it was made for (0 for full attention)
    int32_t budget = 0;  // pairs per head; 0 for full attention
    bool performer = false;  // performer features and gate logit 0 instead of the model's
    std::vector<int32_t> full_layers;  // hybrid: the layers that keep full attention
};

// The variants `all` stands for (hybrid, which needs its layers, is not one of them).
const std::vector<std::string> &variant_names();

// The variant `name` at chunk C and sparse capacity lambda (hybrid: with full attention in
// `full_layers`, which it needs); std::invalid_argument for an unknown name, C < 1, lambda < 0,
// a hybrid without layers or a negative layer.
Variant make_variant(const std::string &name, int32_t chunk, int32_t lambda,
                     const std::vector<int32_t> &full_layers = {});

// `base` with the variant's attention, chunk, sparse capacity, scoring (for performer, feature
// map and gate logit; for hybrid, the per-layer kinds of a model of n_layer layers) set: the
// parameters of a context of this variant. std::invalid_argument for a hybrid layer >= n_layer.
lolapp::ContextParams context_params(const Variant &v, lolapp::ContextParams base, int32_t n_layer);

// Names of lolapp enum values in the report ("lola", "full", "window"; "sre", ...).
const char *attention_name(lolapp::Attention a);
const char *scoring_name(lolapp::Scoring s);

}  // namespace lola_eval
