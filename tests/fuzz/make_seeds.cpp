// make_seeds.cpp: lola_fuzz_seeds DIR writes the seed corpora of the fuzz targets into
// DIR/<target>/ (committed as tests/fuzz/corpus/): small valid GGUF models and vocabularies,
// layer state blobs of every kind (with the selector byte of fuzz_state_blob.hpp), texts, and
// C API call sequences. Deterministic: the same bytes every run.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "fuzz_models.hpp"
#include "fuzz_state_blob.hpp"

namespace {

void put(const std::filesystem::path &dir, const std::string &name, const std::vector<uint8_t> &b) {
    std::filesystem::create_directories(dir);
    std::ofstream(dir / name, std::ios::binary).write(reinterpret_cast<const char *>(b.data()), static_cast<std::streamsize>(b.size()));
}

std::vector<uint8_t> bytes_of(const std::string &s, uint8_t first) {
    std::vector<uint8_t> b{first};
    b.insert(b.end(), s.begin(), s.end());
    return b;
}

}  // namespace

int main(int argc, char **argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    const std::filesystem::path root = argv[1];

    // fuzz_gguf: models with and without a vocabulary, one layer and two, each pre-tokenizer.
    put(root / "fuzz_gguf", "llama_1layer.gguf", lola_fuzz::small_llama(false, "default", 1));
    put(root / "fuzz_gguf", "llama_2layers.gguf", lola_fuzz::small_llama(false, "default", 2));
    put(root / "fuzz_gguf", "llama_vocab_gpt2.gguf", lola_fuzz::small_llama(true, "default", 1));
    put(root / "fuzz_gguf", "llama_vocab_smollm.gguf", lola_fuzz::small_llama(true, "smollm", 1));
    put(root / "fuzz_gguf", "llama_vocab_llama3.gguf", lola_fuzz::small_llama(true, "llama-bpe", 1));
    {
        lola_test::GgufBuilder g;  // a vocabulary alone, no model
        lola_fuzz::byte_level_vocab(g, "default", lola_fuzz::kByteVocab);
        put(root / "fuzz_gguf", "vocab_only.gguf", g.build());
    }

    // fuzz_state_blob: each layer kind after 0, 1, 4 and 11 tokens, with and without the CRC fix.
    for (int which = 0; which < lola_fuzz::kBlobLayers; ++which) {
        for (int n : {0, 1, 4, 11}) {
            lola::Layer<float> layer(lola_fuzz::blob_layer_config(which));
            if (n) lola_fuzz::feed_tokens(layer, 0, n);
            const std::vector<unsigned char> blob = layer.save();
            for (const int fix : {0, 4}) {
                std::vector<uint8_t> b{static_cast<uint8_t>(which | fix)};
                b.insert(b.end(), blob.begin(), blob.end());
                put(root / "fuzz_state_blob", "layer" + std::to_string(which) + "_t" + std::to_string(n) + (fix ? "_crcfix" : ""), b);
            }
        }
    }

    // fuzz_tokenizer: texts for each pre-tokenizer and flag combination.
    const std::vector<std::string> texts = {
        "Hello, world! The theater's 12345 tickets    sold out.\n\n",
        "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
        "caf\xC3\xA9 \xE2\x82\xAC 100 \xF0\x9F\x98\x80 \xE4\xBD\xA0\xE5\xA5\xBD \xD9\x85\xD8\xB1\xD8\xAD\xD8\xA8\xD8\xA7",
        "bad utf8: \xC3 \xE2\x82 \xF0\x9F\x98 \xFF\xFE \xED\xA0\x80 \xC0\xAF",
        "I'm you're we'VE it'll \t\r\n  x\xC5\xBF 1234567 <|endoftext|>",
    };
    for (size_t i = 0; i < texts.size(); ++i)
        for (const int sel : {0, 1, 2, 6, 9, 14})
            put(root / "fuzz_tokenizer", "text" + std::to_string(i) + "_" + std::to_string(sel), bytes_of(texts[i], static_cast<uint8_t>(sel)));

    // fuzz_adapter: adapters for its fixed base, each mixing, two feature dimensions.
    put(root / "fuzz_adapter", "adapter_f8_lolcats.gguf", lola_fuzz::small_adapter(8, "lolcats"));
    put(root / "fuzz_adapter", "adapter_f2_lola.gguf", lola_fuzz::small_adapter(2, "lola"));

    // fuzz_capi: FuzzedDataProvider reads its integers from the end of the input and its byte
    // strings from the start, so any bytes drive some sequence; these are a few of each size.
    for (size_t n : {16, 64, 256, 1024}) {
        std::vector<uint8_t> b(n);
        for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>((i * 151 + n) >> (i % 3));
        put(root / "fuzz_capi", "sequence_" + std::to_string(n), b);
    }
    return 0;
}
