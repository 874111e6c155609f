// vocab_llama.hpp: the tiny random Llama (TinyLlama's weights) with a GPT-2 style byte-level
// vocabulary and no merges, so that text tokenizes character by character: the test model of the
// C API's text functions and of every language binding.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "tiny_llama.hpp"

namespace lola_test {

// Writes the model to `path` with the vocabulary `text(id)` for ids 0..96; `eos` >= 0 makes that
// id a control token and the end-of-sequence token. Returns the path.
inline std::string write_vocab_llama(const std::string &path, const std::function<std::string(int)> &text,
                                     int eos) {
    TinyLlama t;
    t.name = "tiny random llama with a vocabulary";
    t.extra_kv = [&t, &text, eos](GgufBuilder &g) {
        std::vector<std::string> tokens;
        Bytes types;
        for (int i = 0; i < t.n_vocab; ++i) {
            tokens.push_back(text(i));
            types.i32(i == eos ? 3 : 1);  // control / normal
        }
        g.kv_str("tokenizer.ggml.model", "gpt2").kv_strings("tokenizer.ggml.tokens", tokens);
        g.kv_array("tokenizer.ggml.token_type", gguf_type::i32, tokens.size(), types);
        g.kv_strings("tokenizer.ggml.merges", {});
        if (eos >= 0) g.kv_u32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(eos));
    };
    return t.write(path);
}

// The bindings' vocabulary: 0..93 the printable ASCII characters '!'..'~', 94 "Ġ" (a space in
// GPT-2's byte-level alphabet), 95 "Ċ" (a newline) and 96 "<|endoftext|>" (EOS). Any ASCII text of
// printable characters, spaces and newlines tokenizes to one token per character.
inline std::string ascii_vocab_text(int id) {
    if (id < 94) return std::string(1, static_cast<char>(33 + id));
    if (id == 94) return "\xC4\xA0";
    if (id == 95) return "\xC4\x8A";
    return "<|endoftext|>";
}
constexpr int ascii_vocab_eos = 96;

}  // namespace lola_test
