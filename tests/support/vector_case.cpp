// vector_case.cpp: JSON reading with nlohmann/json (Debian's nlohmann-json3-dev).
#include "vector_case.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace lola_test {

namespace {

using nlohmann::json;

void flatten(const json &j, std::vector<double> &out) {
    if (j.is_array()) {
        for (const json &e : j) flatten(e, out);
    } else {
        out.push_back(j.get<double>());
    }
}

std::vector<double> flat(const json &j) {
    std::vector<double> out;
    flatten(j, out);
    return out;
}

}  // namespace

lola::LayerConfig VectorCase::config(lola::FeatureMapKind map) const {
    lola::LayerConfig c;
    c.n_heads = n_heads;
    c.n_kv_heads = n_kv_heads;
    c.head_dim = head_dim;
    c.feature_dim = feature_dim;
    c.chunk = chunk;
    c.sparse_capacity = capacity;
    c.eps = eps;
    c.softmax_scale = scale;
    c.mixing = mixing == "lola" ? lola::Mixing::lola : lola::Mixing::lolcats;
    c.window_factors = window_factor;
    c.feature_map = map;
    if (map == lola::FeatureMapKind::hedgehog) {
        c.hedgehog_q = wq;
        c.hedgehog_k = wk;
    }
    return c;
}

VectorCase load_vector_case(const std::string &path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open " + path);
    const json j = json::parse(in);
    VectorCase c;
    c.path = path;
    c.name = j.at("name").get<std::string>();
    const json &cfg = j.at("config");
    c.chunk = cfg.at("chunk").get<int>();
    c.capacity = cfg.at("sparse_capacity").get<int>();
    c.n_heads = cfg.at("n_heads").get<int>();
    c.n_kv_heads = cfg.value("n_kv_heads", c.n_heads);
    c.head_dim = cfg.at("head_dim").get<int>();
    c.feature_dim = cfg.at("feature_dim").get<int>();
    c.eps = cfg.at("eps").get<double>();
    c.scale = cfg.at("softmax_scale").get<double>();
    c.mixing = cfg.value("mixing", std::string("lola"));
    if (c.mixing != "lola" && c.mixing != "lolcats")
        throw std::runtime_error(path + ": unknown mixing '" + c.mixing + "'");
    c.window_factor = flat(j.at("window_factor"));
    if (j.contains("gate")) {
        c.gate = flat(j.at("gate"));
    } else {
        for (double w : c.window_factor) c.gate.push_back(1.0 / (1.0 + std::exp(-w)));
    }
    const json &fm = j.at("feature_map");
    c.feature_map_kind = fm.at("kind").get<std::string>();
    if (c.feature_map_kind == "hedgehog") {  // other maps run from the precomputed fq, fk
        c.wq = flat(fm.at("wq"));
        c.wk = flat(fm.at("wk"));
    }
    c.L = static_cast<int>(j.at("q").size());
    c.q = flat(j.at("q"));
    c.k = flat(j.at("k"));
    c.v = flat(j.at("v"));
    c.fq = flat(j.at("fq"));
    c.fk = flat(j.at("fk"));
    c.y = flat(j.at("y"));
    for (const json &h : j.at("final_state")) {
        FinalHeadState s;
        s.sparse = h.at("sparse_positions").get<std::vector<long long>>();
        s.window = h.at("window_positions").get<std::vector<long long>>();
        s.folded = h.at("folded_positions").get<std::vector<long long>>();
        s.has_linear = !h.at("H").is_null();
        if (s.has_linear) {
            s.H = flat(h.at("H"));
            s.s = flat(h.at("s"));
        }
        c.final_state.push_back(std::move(s));
    }
    return c;
}

std::vector<std::string> json_files_in(const std::string &dir) {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto &entry : std::filesystem::directory_iterator(dir, ec))
        if (entry.is_regular_file() && entry.path().extension() == ".json")
            out.push_back(entry.path().string());
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<std::string> vector_files() {
    return json_files_in(LOLA_TEST_VECTORS_DIR);
}

}  // namespace lola_test
