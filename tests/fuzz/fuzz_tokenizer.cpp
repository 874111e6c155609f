// fuzz_tokenizer.cpp: bytes tokenized by a byte-level BPE vocabulary that covers all 256 bytes
// (fuzz_models.hpp), with each of the three pre-tokenizers. Byte 0 picks the pre-tokenizer
// (bits 0-1) and the flags (bit 2 add_special, bit 3 parse_special); the rest is the text.
// Every id is in range; decoding (special tokens rendered) gives back exactly the input bytes,
// with or without parse_special (no input is lost or altered); add_special only adds BOS/EOS.
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "fuzz_models.hpp"
#include "gguf/gguf.hpp"
#include "text/tokenizer.hpp"

namespace {

const lola::text::Tokenizer &tokenizer(int which) {
    static const std::vector<std::unique_ptr<lola::text::Tokenizer>> all = [] {
        std::vector<std::unique_ptr<lola::text::Tokenizer>> out;
        for (const char *pre : {"default", "smollm", "llama-bpe"}) {
            lola_test::GgufBuilder g;
            lola_fuzz::byte_level_vocab(g, pre, lola_fuzz::kByteVocab);
            const auto file = lola::gguf::File::from_memory(g.build());
            out.push_back(std::make_unique<lola::text::Tokenizer>(*file));
        }
        return out;
    }();
    return *all[static_cast<size_t>(which % 3)];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > 4096) return 0;
    const lola::text::Tokenizer &tok = tokenizer(data[0] & 3);
    const bool add_special = (data[0] & 4) != 0, parse_special = (data[0] & 8) != 0;
    const std::string_view text(reinterpret_cast<const char *>(data + 1), size - 1);
    const std::vector<int32_t> plain = tok.tokenize(text, false, parse_special);
    for (int32_t id : plain)
        if (id < 0 || static_cast<size_t>(id) >= tok.n_tokens()) std::abort();
    const std::string back = tok.detokenize(plain.data(), plain.size(), true);
    if (back != text) {
        std::fprintf(stderr, "round trip differs: %zu bytes in, %zu out\n", text.size(), back.size());
        std::abort();
    }
    // add_special adds BOS / EOS (where the vocabulary has them) around the same tokens.
    const std::vector<int32_t> ids = tok.tokenize(text, add_special, parse_special);
    const lola::text::SpecialTokens &sp = tok.special();
    std::vector<int32_t> expected;
    if (add_special && tok.add_bos() && sp.bos >= 0) expected.push_back(sp.bos);
    expected.insert(expected.end(), plain.begin(), plain.end());
    if (add_special && tok.add_eos() && sp.eos >= 0) expected.push_back(sp.eos);
    if (ids != expected) {
        std::fprintf(stderr, "add_special changed the tokens of the text\n");
        std::abort();
    }
    (void)tok.detokenize(ids.data(), ids.size(), false);
    return 0;
}
