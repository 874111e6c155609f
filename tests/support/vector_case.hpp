// vector_case.hpp: reads a reference vector file (tests/vectors/README.md describes the format)
// and lists the vector files the suite runs: the shipped ones and those in $LOLA_VECTORS_DIR.
#pragma once

#include <string>
#include <vector>

#include "lola/config.hpp"

namespace lola_test {

struct FinalHeadState {
    std::vector<long long> sparse, window, folded;
    bool has_linear = false;
    std::vector<double> H, s;  // [F][d], [F]
};

struct VectorCase {
    std::string path, name;
    int L = 0, n_heads = 0, n_kv_heads = 0, head_dim = 0, feature_dim = 0, chunk = 0, capacity = 0;
    double eps = 0, scale = 0;
    std::string mixing;            // "lola" (mode A) or "lolcats" (mode B)
    std::string feature_map_kind;  // "hedgehog" has weights; any other runs on fq, fk
    std::vector<double> window_factor, gate;
    std::vector<double> wq, wk;          // [H][d][F/2]
    std::vector<double> q, k, v, fq, fk; // token-major
    std::vector<double> y;               // [L][H][d]
    std::vector<FinalHeadState> final_state;

    // A layer config reproducing the case with the given feature map (hedgehog or precomputed).
    lola::LayerConfig config(lola::FeatureMapKind map) const;
};

VectorCase load_vector_case(const std::string &path);

// Every *.json in `dir`, sorted (none when it cannot be read).
std::vector<std::string> json_files_in(const std::string &dir);

// Every *.json in the shipped vectors folder (tests/vectors), sorted.
std::vector<std::string> vector_files();

}  // namespace lola_test
