// fuzz_state_blob.cpp: bytes restored as a layer state blob (input format: fuzz_state_blob.hpp)
// are accepted or refused with Error(corrupt_data / version_mismatch / incompatible). A refused
// blob leaves the layer exactly as it was (its saved state compares equal); an accepted one
// gives a layer that can be fed, saved and restored again.
#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "fuzz_state_blob.hpp"
#include "base/error.hpp"

namespace {

struct Target {
    std::unique_ptr<lola::Layer<float>> layer;
    std::vector<unsigned char> saved;  // the layer's state before every input
};

std::vector<Target> &targets() {
    static std::vector<Target> t = [] {
        std::vector<Target> out;
        for (int i = 0; i < lola_fuzz::kBlobLayers; ++i) {
            Target t;
            t.layer = std::make_unique<lola::Layer<float>>(lola_fuzz::blob_layer_config(i));
            lola_fuzz::feed_tokens(*t.layer, 0, 7);
            t.saved = t.layer->save();
            out.push_back(std::move(t));
        }
        return out;
    }();
    return t;
}

bool allowed(lola::Status s) {
    return s == lola::Status::corrupt_data || s == lola::Status::version_mismatch ||
           s == lola::Status::incompatible;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    Target &t = targets()[data[0] & 3];
    std::vector<unsigned char> blob(data + 1, data + size);
    if ((data[0] & 4) && blob.size() >= 4) {
        const uint32_t crc = static_cast<uint32_t>(
            crc32(crc32(0L, Z_NULL, 0), blob.data(), static_cast<uInt>(blob.size() - 4)));
        std::memcpy(blob.data() + blob.size() - 4, &crc, 4);
    }
    const unsigned char none = 0;  // an empty vector's data() may be NULL, which is another error
    try {
        t.layer->restore(blob.empty() ? &none : blob.data(), blob.size());
    } catch (const lola::Error &e) {
        if (!allowed(e.status())) {
            std::fprintf(stderr, "restore refused with status %d: %s\n", static_cast<int>(e.status()), e.what());
            std::abort();
        }
        if (t.layer->save() != t.saved) {
            std::fprintf(stderr, "a refused blob changed the layer: %s\n", e.what());
            std::abort();
        }
        return 0;
    }
    // Accepted: the layer works, and its state survives another save and restore unchanged.
    // Extreme (finite) values in the blob may overflow when fed: save then refuses with
    // non_finite rather than write a blob that restore would refuse.
    lola_fuzz::feed_tokens(*t.layer, static_cast<int>(t.layer->n_tokens()), 2);
    try {
        const std::vector<unsigned char> after = t.layer->save();
        lola::Layer<float> copy(t.layer->config());
        copy.restore(after.data(), after.size());
        if (copy.save() != after) std::abort();
    } catch (const lola::Error &e) {
        if (e.status() != lola::Status::non_finite) {
            std::fprintf(stderr, "save or re-restore failed with status %d: %s\n", static_cast<int>(e.status()), e.what());
            std::abort();
        }
    }
    t.layer->restore(t.saved.data(), t.saved.size());
    return 0;
}
