// variants.cpp: see variants.hpp.
#include "variants.hpp"

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

namespace lola_eval {

const std::vector<std::string> &variant_names() {
    static const std::vector<std::string> names = {"full",    "window", "linear", "lola", "performer",
                                                   "recency", "random", "value_norm"};
    return names;
}

Variant make_variant(const std::string &name, int32_t chunk, int32_t lambda,
                     const std::vector<int32_t> &full_layers) {
    using lolapp::Attention, lolapp::Scoring;
    if (chunk < 1 || lambda < 0)
        throw std::invalid_argument("the cache budget needs a chunk >= 1 and a sparse capacity >= 0");
    const int32_t budget = lambda + 2 * chunk;
    const int32_t half = std::max(1, budget / 2);
    auto variant = [&](std::string label, Attention attention, int32_t c, int32_t sparse, Scoring scoring) {
        Variant v;
        v.name = name;
        v.label = std::move(label);
        v.attention = attention;
        v.chunk = c;
        v.sparse = sparse;
        v.scoring = scoring;
        v.lambda = attention == Attention::full ? 0 : lambda;
        v.budget = attention == Attention::full ? 0 : budget;
        return v;
    };
    if (name == "full") return variant("full attention", Attention::full, chunk, 0, Scoring::sre);
    if (name == "window") return variant("window only", Attention::window, half, 0, Scoring::sre);
    if (name == "linear") return variant("window + linear (λ=0)", Attention::lola, half, 0, Scoring::sre);
    if (name == "lola") return variant("LoLA", Attention::lola, chunk, lambda, Scoring::sre);
    if (name == "performer") {
        Variant v = variant("LoLA, performer", Attention::lola, chunk, lambda, Scoring::sre);
        v.performer = true;
        return v;
    }
    if (name == "hybrid") {
        if (full_layers.empty())
            throw std::invalid_argument("the hybrid variant needs the layers that keep full attention (--full-layers)");
        std::string list;
        for (int32_t l : full_layers) {
            if (l < 0) throw std::invalid_argument("--full-layers: layer " + std::to_string(l) + " is negative");
            list += (list.empty() ? "" : ",") + std::to_string(l);
        }
        Variant v = variant("LoLA + full in L" + list, Attention::lola, chunk, lambda, Scoring::sre);
        v.full_layers = full_layers;
        return v;
    }
    if (name == "recency") return variant("LoLA, recency scoring", Attention::lola, chunk, lambda, Scoring::recency);
    if (name == "random") return variant("LoLA, random scoring", Attention::lola, chunk, lambda, Scoring::random);
    if (name == "value_norm")
        return variant("LoLA, value-norm scoring", Attention::lola, chunk, lambda, Scoring::value_norm);
    std::string all;
    for (const std::string &n : variant_names()) all += (all.empty() ? "" : ", ") + n;
    throw std::invalid_argument("unknown variant '" + name + "' (" + all + ", or hybrid with --full-layers)");
}

lolapp::ContextParams context_params(const Variant &v, lolapp::ContextParams base, int32_t n_layer) {
    lolapp::AttentionParams a = base.attention();
    a.attention(v.attention).chunk_size(v.chunk).sparse_capacity(v.sparse).scoring(v.scoring);
    if (v.performer) {
        a.feature_map(lolapp::FeatureMap::performer);
        base.gate_logit(0.f);
    }
    base.attention(a);
    if (!v.full_layers.empty()) {
        std::vector<std::optional<lolapp::Attention>> kinds(static_cast<size_t>(std::max(n_layer, 0)));
        for (int32_t l : v.full_layers) {
            if (l >= n_layer)
                throw std::invalid_argument("--full-layers: layer " + std::to_string(l) + " is past the model's " +
                                            std::to_string(n_layer) + " layers");
            kinds[static_cast<size_t>(l)] = lolapp::Attention::full;
        }
        base.layer_attention(std::move(kinds));
    }
    return base;
}

const char *attention_name(lolapp::Attention a) {
    switch (a) {
    case lolapp::Attention::full: return "full";
    case lolapp::Attention::window: return "window";
    default: return "lola";
    }
}

const char *scoring_name(lolapp::Scoring s) {
    switch (s) {
    case lolapp::Scoring::recency: return "recency";
    case lolapp::Scoring::random: return "random";
    case lolapp::Scoring::value_norm: return "value_norm";
    default: return "sre";
    }
}

}  // namespace lola_eval
