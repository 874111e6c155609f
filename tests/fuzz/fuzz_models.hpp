// fuzz_models.hpp: the GGUF files the fuzz targets and their seed corpora start from, built in
// memory with the tests' GgufBuilder: a small Llama (with or without a vocabulary) and a
// byte-level BPE vocabulary covering all 256 bytes, a few merges and special tokens.
#pragma once

#include <string>
#include <vector>

#include "model/llama_model.hpp"
#include "text/tokenizer.hpp"
#include "tiny_adapter.hpp"
#include "tiny_llama.hpp"

namespace lola_fuzz {

// Every byte as a token (ids 0..255), then merged tokens, then three special tokens.
inline void byte_level_vocab(lola_test::GgufBuilder &g, const std::string &pre, int n_vocab) {
    std::vector<std::string> tokens;
    lola_test::Bytes types;
    for (int b = 0; b < 256; ++b) tokens.push_back(lola::text::byte_level_encode(std::string(1, static_cast<char>(b))));
    const std::vector<std::string> merges = {"\xC4\xA0 t", "h e", "\xC4\xA0t he", "i n", "e r", "1 2", "\xC4\xA0 \xC4\xA0"};
    for (const std::string &m : merges) {
        const size_t sp = m.find(' ');
        tokens.push_back(m.substr(0, sp) + m.substr(sp + 1));
    }
    for (const char *s : {"<|endoftext|>", "<|im_start|>", "<|im_end|>"}) tokens.push_back(s);
    while (static_cast<int>(tokens.size()) < n_vocab) tokens.push_back("<unused" + std::to_string(tokens.size()) + ">");
    for (size_t i = 0; i < tokens.size(); ++i) {
        const bool special = tokens[i][0] == '<' && tokens[i].size() > 1;
        types.i32(special ? (tokens[i].rfind("<unused", 0) == 0 ? 5 : 3) : 1);
    }
    g.kv_str("tokenizer.ggml.model", "gpt2").kv_str("tokenizer.ggml.pre", pre);
    g.kv_strings("tokenizer.ggml.tokens", tokens);
    g.kv_array("tokenizer.ggml.token_type", lola_test::gguf_type::i32, tokens.size(), types);
    g.kv_strings("tokenizer.ggml.merges", merges);
    g.kv_u32("tokenizer.ggml.eos_token_id", 256 + static_cast<uint32_t>(merges.size()));
    g.kv_str("tokenizer.chat_template", "{% for message in messages %}<|im_start|>...");
}
constexpr int kByteVocab = 256 + 7 + 3;

// A small Llama: n_vocab 266 (the byte-level vocabulary) or 16 without one.
inline std::vector<uint8_t> small_llama(bool vocab, const std::string &pre = "default",
                                        int n_layer = 2) {
    lola_test::TinyLlama t;
    t.n_vocab = vocab ? kByteVocab : 16;
    t.n_embd = 16;
    t.n_layer = n_layer;
    t.n_head = 2;
    t.n_head_kv = 1;
    t.n_ff = 24;
    if (vocab) t.extra_kv = [pre](lola_test::GgufBuilder &g) { byte_level_vocab(g, pre, kByteVocab); };
    return t.bytes();
}

// The base of fuzz_adapter: small_llama without a vocabulary (2 layers, 2 heads, head dim 8).
inline std::vector<uint8_t> adapter_base() { return small_llama(false); }

// A valid adapter for adapter_base(): feature dimension F, the given mixing.
inline std::vector<uint8_t> small_adapter(int feature_dim, const std::string &mixing) {
    lola_test::TinyAdapter a;
    a.n_layer = 2;
    a.n_head = 2;
    a.head_dim = 8;
    a.feature_dim = feature_dim;
    a.mixing = mixing;
    a.base_fingerprint = lola::model::Model::from_file(lola::gguf::File::from_memory(adapter_base()))->fingerprint();
    return a.bytes();
}

}  // namespace lola_fuzz
