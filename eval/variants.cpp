// variants.cpp: see variants.hpp.
#include "variants.hpp"

#include <algorithm>
#include <stdexcept>

namespace lola_eval {

const std::vector<std::string> &variant_names() {
    static const std::vector<std::string> names = {"full",    "window", "linear", "lola", "performer",
                                                   "recency", "random", "value_norm"};
    return names;
}

Variant make_variant(const std::string &name, int32_t chunk, int32_t lambda) {
    using lolapp::Attention, lolapp::Scoring;
    if (chunk < 1 || lambda < 0)
        throw std::invalid_argument("the cache budget needs a chunk >= 1 and a sparse capacity >= 0");
    const int32_t budget = lambda + 2 * chunk;
    const int32_t half = std::max(1, budget / 2);
    if (name == "full") return {name, "full attention", Attention::full, chunk, 0, Scoring::sre, 0, 0};
    if (name == "window") return {name, "window only", Attention::window, half, 0, Scoring::sre, lambda, budget};
    if (name == "linear")
        return {name, "window + linear (λ=0)", Attention::lola, half, 0, Scoring::sre, lambda, budget};
    if (name == "lola") return {name, "LoLA", Attention::lola, chunk, lambda, Scoring::sre, lambda, budget};
    if (name == "performer") {
        Variant v{name, "LoLA, performer", Attention::lola, chunk, lambda, Scoring::sre, lambda, budget};
        v.performer = true;
        return v;
    }
    if (name == "recency")
        return {name, "LoLA, recency scoring", Attention::lola, chunk, lambda, Scoring::recency, lambda, budget};
    if (name == "random")
        return {name, "LoLA, random scoring", Attention::lola, chunk, lambda, Scoring::random, lambda, budget};
    if (name == "value_norm")
        return {name, "LoLA, value-norm scoring", Attention::lola, chunk, lambda, Scoring::value_norm, lambda,
                budget};
    std::string all;
    for (const std::string &n : variant_names()) all += (all.empty() ? "" : ", ") + n;
    throw std::invalid_argument("unknown variant '" + name + "' (" + all + ")");
}

lolapp::ContextParams context_params(const Variant &v, lolapp::ContextParams base) {
    lolapp::AttentionParams a = base.attention();
    a.attention(v.attention).chunk_size(v.chunk).sparse_capacity(v.sparse).scoring(v.scoring);
    if (v.performer) {
        a.feature_map(lolapp::FeatureMap::performer);
        base.gate_logit(0.f);
    }
    base.attention(a);
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
