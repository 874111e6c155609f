// fuzz_adapter.cpp: any bytes given as a LoLA adapter of a fixed small base model are parsed
// or refused with Error(corrupt_data); an adapter that parses is applied or refused with a
// lola::Error. An applied one must have replaced every layer's maps with ones of the shapes it
// declares, finite, and given the model a fingerprint other than the base's. Any other
// exception, crash, sanitizer report, allocation above -malloc_limit_mb or hang is a finding.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "base/error.hpp"
#include "fuzz_models.hpp"
#include "gguf/gguf.hpp"
#include "model/llama_model.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const std::vector<uint8_t> base = lola_fuzz::adapter_base();
    std::unique_ptr<lola::gguf::File> adapter;
    try {
        adapter = lola::gguf::File::from_memory(std::vector<uint8_t>(data, data + size));
    } catch (const lola::Error &e) {
        if (e.status() != lola::Status::corrupt_data) {
            std::fprintf(stderr, "parse refused with status %d: %s\n", static_cast<int>(e.status()), e.what());
            std::abort();
        }
        return 0;
    }
    try {
        const auto m = lola::model::Model::from_file(lola::gguf::File::from_memory(base), adapter.get());
        const auto &hp = m->hparams();
        const int F = m->hedgehog_feature_dim();
        if (!m->has_adapter() || !m->has_lola_tensors() || F <= 0 || F % 2 != 0) std::abort();
        if (m->fingerprint() == m->base_fingerprint()) std::abort();
        const size_t n = static_cast<size_t>(hp.n_head * hp.head_dim * (F / 2));
        for (const auto &w : m->layers()) {
            if (w.hedgehog_q.size() != n || w.hedgehog_k.size() != n) std::abort();
            if (w.window_factors.size() != static_cast<size_t>(hp.n_head)) std::abort();
            for (const std::vector<double> *v : {&w.hedgehog_q, &w.hedgehog_k, &w.window_factors})
                for (double x : *v)
                    if (!std::isfinite(x)) std::abort();
        }
        if (hp.lola.chunk < 1 || hp.lola.sparse_capacity < 0) std::abort();
    } catch (const lola::Error &) {
        // refused with a status and a message: the promised behaviour
    }
    return 0;
}
