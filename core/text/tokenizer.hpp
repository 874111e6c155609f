// tokenizer.hpp: the tokenizer of a GGUF vocabulary (tokenizer.ggml.*): text <-> token ids by
// GPT-2 byte-level BPE ("gpt2" model) with the pre-tokenizer the file names, and the special
// tokens. (Chat templates, which turn messages into text, are chat_template.hpp.)
//
// What tokenize(text, add_special, parse_special) does:
//  1. Special tokens. Text is cut at occurrences of the strings of the user-defined tokens
//     (type 4, always) and, with parse_special, of the control and unknown tokens (types 3, 2);
//     at each position the leftmost, then longest string wins (Hugging Face's added-token
//     matching). Each occurrence becomes its token id; the text between goes on to step 2.
//  2. Invalid UTF-8. Each maximal run of valid UTF-8 goes on to step 3; every byte that is not
//     part of a valid sequence (stray continuation bytes, truncated or overlong sequences,
//     surrogates, code points above U+10FFFF) becomes a pre-token of its own.
//  3. Pre-tokenization with PCRE2 (UTF + UCP), every match and every unmatched gap a pre-token:
//       gpt2 / default : the GPT-2 regex
//                        's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//       smollm, starcoder, refact : every \p{N} character isolated first (Hugging Face's
//                        Digits(individual_digits=True)), then the GPT-2 regex on the rest
//       llama-bpe, llama3, smaug-bpe : the Llama 3 regex
//                        (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
//                        ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+   (one line), with
//                        "ignore merges": a pre-token that is itself in the vocabulary is
//                        that token.
//     \s is Unicode White_Space (U+0009-000D, U+0020, U+0085 and the Z categories), as in the
//     Oniguruma regexes of Hugging Face tokenizers (PCRE2's caseless matching folds like
//     Oniguruma's too: Llama 3's (?i:'s) also matches 'ſ, U+017F).
//  4. Byte-level BPE on each pre-token: its bytes mapped to characters by GPT-2's
//     bytes_to_unicode, one symbol per byte, then the merges applied lowest rank first (ties:
//     leftmost first) until none applies. A byte whose character is not in the vocabulary
//     gives no token (Hugging Face's BPE without an unk_token and llama.cpp drop it too;
//     SmolLM2's vocabulary, for one, lacks the characters of 21 bytes: U+0004, U+0006, U+0013,
//     U+0014, U+0016, U+001D and bytes that never occur in valid UTF-8).
//  5. add_special: BOS first when the vocabulary says add_bos_token, EOS last for add_eos_token.
//
// Decoding: a normal token's characters are mapped back to bytes (a token with a character
// outside the mapping gives its UTF-8 text as is); byte tokens (<0xNN>) give their byte;
// user-defined tokens their text; control, unknown and unused tokens their text only when
// special tokens are rendered, nothing otherwise.
//
// A Tokenizer is immutable after construction apart from an internal cache of BPE results
// (mutex-protected), so any number of threads may use one concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace lola::gguf {
class File;
}

namespace lola::text {

// tokenizer.ggml.token_type values.
enum class TokenType : int32_t {
    normal = 1,
    unknown = 2,
    control = 3,
    user_defined = 4,
    unused = 5,
    byte = 6,
};

enum class PreTokenizer {
    gpt2,         // the GPT-2 regex
    digits_gpt2,  // SmolLM2: digits isolated, then the GPT-2 regex
    llama3,       // the Llama 3 regex, ignore merges
};

// Ids of the special tokens; -1 where the vocabulary has none. eot is tokenizer.ggml.eot_token_id
// or else the first of <|im_end|>, <|eot_id|>, <end_of_turn>, <|end_of_text|> in the vocabulary.
struct SpecialTokens {
    int32_t bos = -1, eos = -1, eot = -1, unk = -1, pad = -1;
};

class Tokenizer {
public:
    // Reads and validates the vocabulary of `file`. Throws Error(unsupported) when the file has
    // no tokenizer, a tokenizer model other than "gpt2" or a pre-tokenizer liblola does not
    // know, and Error(corrupt_data) naming the key and the entry when the vocabulary is
    // malformed (array lengths differ, a token type, a merge or a special id is invalid, ...).
    explicit Tokenizer(const gguf::File &file);
    ~Tokenizer();
    Tokenizer(const Tokenizer &) = delete;
    Tokenizer &operator=(const Tokenizer &) = delete;

    size_t n_tokens() const noexcept;
    const SpecialTokens &special() const noexcept;
    bool add_bos() const noexcept;
    bool add_eos() const noexcept;
    PreTokenizer pre_tokenizer() const noexcept;
    const std::string &pre_name() const noexcept;  // tokenizer.ggml.pre as read ("default" if absent)

    // Token attributes; Error(invalid_argument) for an id outside [0, n_tokens()).
    TokenType type(int32_t id) const;
    const std::string &text(int32_t id) const;  // the vocabulary's string (byte-level encoded)
    // The id whose vocabulary string is exactly `token_text`, or -1.
    int32_t find(std::string_view token_text) const noexcept;

    std::vector<int32_t> tokenize(std::string_view text, bool add_special, bool parse_special) const;

    // Appends the bytes of token `id` to out (see Decoding above); Error(invalid_argument) for an
    // id out of range.
    void append_piece(int32_t id, bool render_special, std::string &out) const;
    std::string detokenize(const int32_t *ids, size_t n, bool render_special) const;

    // End of generation: EOS, EOT, and the tokens whose text is one of the usual end markers
    // (<|endoftext|>, <|im_end|>, <|eot_id|>, <|eom_id|>, <|end_of_text|>, <end_of_turn>,
    // <|end|>). False for ids out of range.
    bool is_eog(int32_t id) const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// GPT-2's bytes_to_unicode applied to each byte, as UTF-8 (e.g. " hi" -> "Ġhi").
std::string byte_level_encode(std::string_view bytes);

}  // namespace lola::text
