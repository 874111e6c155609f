// tokenizer.cpp: byte-level BPE over a GGUF vocabulary, PCRE2 pre-tokenizers, special tokens
// and decoding (see tokenizer.hpp for the exact procedure). In order: GPT-2's byte mapping, the
// pre-tokenizer regexes, the BPE data structures, Impl with the steps of loading a vocabulary,
// then the steps of tokenize (special-token split, UTF-8 runs, regex split, cached BPE) and the
// public methods.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "text/tokenizer.hpp"

#include <pcre2.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <functional>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "base/error.hpp"
#include "gguf/gguf.hpp"
#include "text/utf8.hpp"

namespace lola::text {

namespace {

// ---- GPT-2 bytes_to_unicode -------------------------------------------------------------------

// Bytes that are printable stand for themselves; the other 68 get the code points 256, 257, ...
// in increasing byte order.
struct ByteMap {
    std::array<uint32_t, 256> to_cp{};
    std::array<int16_t, 512> from_cp{};  // code point -> byte, -1 where none
    ByteMap() {
        from_cp.fill(-1);
        uint32_t next = 256;
        for (uint32_t b = 0; b < 256; ++b) {
            const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
            to_cp[b] = printable ? b : next++;
            from_cp[to_cp[b]] = static_cast<int16_t>(b);
        }
    }
};

const ByteMap &byte_map() {
    static const ByteMap m;
    return m;
}

// The bytes a byte-level string stands for; false when it holds a character outside the map
// (or is not valid UTF-8).
bool byte_level_decode(std::string_view s, std::string &out) {
    const ByteMap &m = byte_map();
    const auto *p = reinterpret_cast<const unsigned char *>(s.data());
    std::string r;
    r.reserve(s.size());
    for (size_t i = 0; i < s.size();) {
        const size_t len = utf8_len(p + i, s.size() - i);
        if (len == 0) return false;
        const uint32_t cp = utf8_decode(p + i, len);
        if (cp >= m.from_cp.size() || m.from_cp[cp] < 0) return false;
        r += static_cast<char>(m.from_cp[cp]);
        i += len;
    }
    out = std::move(r);
    return true;
}

// A vocabulary string for messages: printable ASCII as is, other bytes as \xNN, cut at 40.
std::string shown(std::string_view s) {
    static const char *hex = "0123456789abcdef";
    std::string out = "'";
    for (size_t i = 0; i < s.size(); ++i) {
        if (i == 40) {
            out += "...";
            break;
        }
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c < 0x7F && c != '\'' && c != '\\') {
            out += static_cast<char>(c);
        } else {
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out + "'";
}

// ---- PCRE2 ------------------------------------------------------------------------------------

// Unicode White_Space, as Oniguruma's \s (Hugging Face tokenizers) has it: U+0009-000D, U+0020,
// U+0085 and the separators (Zs, Zl, Zp). Used inside character classes.
#define LOLA_WS R"(\t-\r\x{20}\x{85}\p{Z})"

const char *const kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^)" LOLA_WS R"(\p{L}\p{N}]+)"
    R"(|[)" LOLA_WS R"(]+(?![^)" LOLA_WS R"(])|[)" LOLA_WS R"(]+)";

const char *const kLlama3Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d))"
    R"(|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^)" LOLA_WS R"(\p{L}\p{N}]+[\r\n]*)"
    R"(|[)" LOLA_WS R"(]*[\r\n]+|[)" LOLA_WS R"(]+(?![^)" LOLA_WS R"(])|[)" LOLA_WS R"(]+)";

const char *const kDigitPattern = R"(\p{N})";

#undef LOLA_WS

class Regex {
public:
    explicit Regex(const char *pattern) {
        int err = 0;
        PCRE2_SIZE offset = 0;
        code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern), PCRE2_ZERO_TERMINATED,
                              PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK, &err, &offset, nullptr);
        if (!code_) {
            PCRE2_UCHAR buf[256];
            pcre2_get_error_message(err, buf, sizeof buf);
            fail(Status::internal, std::string("pre-tokenizer regex does not compile at offset ") +
                                       std::to_string(offset) + ": " + reinterpret_cast<char *>(buf));
        }
        jit_ = pcre2_jit_compile(code_, PCRE2_JIT_COMPLETE) == 0;
    }
    ~Regex() { pcre2_code_free(code_); }
    Regex(const Regex &) = delete;
    Regex &operator=(const Regex &) = delete;

    // The first match in s[from..) (s is valid UTF-8, `from` on a character boundary):
    // 1 with [*begin, *end), 0 for none, -1 when PCRE2 gives up (a resource limit).
    int find(std::string_view s, size_t from, pcre2_match_data *md, size_t *begin,
             size_t *end) const {
        const auto *subject = reinterpret_cast<PCRE2_SPTR>(s.data());
        int rc = pcre2_match(code_, subject, s.size(), from, PCRE2_NO_UTF_CHECK, md, nullptr);
        if (rc == PCRE2_ERROR_JIT_STACKLIMIT && jit_)
            rc = pcre2_match(code_, subject, s.size(), from, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, md,
                             nullptr);
        if (rc == PCRE2_ERROR_NOMATCH) return 0;
        if (rc < 0) return -1;
        const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        *begin = ov[0];
        *end = ov[1];
        if (*begin < from || *end < *begin || *end > s.size()) return -1;
        return 1;
    }

private:
    pcre2_code *code_ = nullptr;
    bool jit_ = false;
};

struct MatchData {
    pcre2_match_data *md;
    MatchData() : md(pcre2_match_data_create(2, nullptr)) {
        if (!md) throw std::bad_alloc();
    }
    ~MatchData() { pcre2_match_data_free(md); }
    MatchData(const MatchData &) = delete;
    MatchData &operator=(const MatchData &) = delete;
};

// ---- BPE ----------------------------------------------------------------------------------------

struct Merge {
    int32_t rank;
    int32_t id;  // the merged token
};

uint64_t pair_key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}

struct Symbol {
    int32_t id;  // -1: a byte whose character is not in the vocabulary (never merged, dropped)
    int32_t prev, next;
    bool dead;
};

struct Candidate {
    int32_t rank, left, left_id, right_id, id;
};

struct CandidateAfter {  // min-heap on (rank, left position)
    bool operator()(const Candidate &a, const Candidate &b) const {
        return a.rank != b.rank ? a.rank > b.rank : a.left > b.left;
    }
};

// Per-call scratch of tokenize().
struct Scratch {
    MatchData match;
    std::vector<Symbol> symbols;
    std::vector<Candidate> heap;
    std::vector<int32_t> piece_ids;
};

constexpr size_t kCacheShards = 16;
constexpr size_t kCacheEntriesPerShard = 2048;  // at most ~16 x 2048 x ~200 B
constexpr size_t kCacheMaxPieceBytes = 64;

struct CacheShard {
    std::mutex mutex;
    std::unordered_map<std::string, std::vector<int32_t>> map;
};

}  // namespace

// ---- Impl -------------------------------------------------------------------------------------

struct Tokenizer::Impl {
    std::vector<std::string> tokens;
    std::vector<TokenType> types;
    std::vector<std::string> pieces;  // decoded bytes of each token
    std::unordered_map<std::string_view, int32_t> to_id;  // views into `tokens`
    std::array<int32_t, 256> byte_token{};                // the token of each byte's character
    std::unordered_map<uint64_t, Merge> merges;
    SpecialTokens special;
    bool add_bos = false, add_eos = false;
    std::string pre_name;
    PreTokenizer pre = PreTokenizer::gpt2;
    bool ignore_merges = false;
    std::vector<bool> eog;

    // Tokens matched in the text before pre-tokenization, by first byte, longest first.
    struct Split {
        int32_t id;
        bool needs_parse_special;  // control / unknown; user-defined tokens always split
    };
    std::array<std::vector<Split>, 256> splits;
    bool has_splits = false;

    std::unique_ptr<Regex> main_re, digit_re;
    mutable std::array<CacheShard, kCacheShards> cache;

    // Loading: the steps load() runs, in this order (a later step relies on the earlier ones; the
    // first problem found is the error).
    void load(const gguf::File &f);
    void check_model(const gguf::File &f);          // tokenizer.ggml.model is "gpt2"
    void pick_pre_tokenizer(const gguf::File &f);   // tokenizer.ggml.pre -> pre, ignore_merges
    void read_tokens(const gguf::File &f);          // tokenizer.ggml.tokens: a non-empty array
    void read_token_types(const gguf::File &f);     // tokenizer.ggml.token_type (default normal)
    void index_tokens();                            // to_id and each token's decoded piece
    void map_byte_tokens();                         // byte_token: each byte's single-char token
    void read_merges(const gguf::File &f);          // tokenizer.ggml.merges -> merges by pair
    void read_special_ids(const gguf::File &f);     // bos, eos, unk, pad, eot (eot by text too)
    void read_add_flags(const gguf::File &f);       // add_bos_token, add_eos_token
    void mark_end_of_generation();                  // eog: EOS, EOT and the usual end markers
    void collect_splits();                          // splits: texts cut before pre-tokenization
    void compile_pre_tokenizer();                   // main_re (and digit_re for digits_gpt2)

    // Tokenizing.
    void encode_fragment(std::string_view text, std::vector<int32_t> &out, Scratch &sc) const;
    void pre_tokenize(std::string_view seg, std::vector<int32_t> &out, Scratch &sc) const;
    void regex_split(const Regex &re, std::string_view seg, std::vector<int32_t> &out,
                     Scratch &sc) const;
    void bpe(std::string_view piece, std::vector<int32_t> &out, Scratch &sc) const;
    void bpe_uncached(std::string_view piece, std::vector<int32_t> &out, Scratch &sc) const;
};

// ---- loading ------------------------------------------------------------------------------------

namespace {

// The byte of a byte token's text "<0xNN>" (hex digits of either case); false when it is not one.
bool parse_byte_token(const std::string &s, unsigned &byte) {
    unsigned v = 0;
    bool ok = s.size() == 6 && s.compare(0, 3, "<0x") == 0 && s[5] == '>';
    for (size_t k = 3; ok && k < 5; ++k) {
        const char c = s[k];
        const int d = c >= '0' && c <= '9' ? c - '0'
                      : c >= 'A' && c <= 'F' ? c - 'A' + 10
                      : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                             : -1;
        ok = d >= 0;
        v = v * 16 + static_cast<unsigned>(d);
    }
    byte = v;
    return ok;
}

// A special token id key: -1 when absent or "none" (-1, or 0xFFFFFFFF as some converters write
// it), else an id in [0, n).
int32_t read_token_id(const gguf::File &f, const char *key, size_t n) {
    const gguf::Value *v = f.find(key);
    if (!v) return -1;
    const std::optional<int64_t> x = v->to_i64();
    if (!x) fail(Status::corrupt_data, std::string(key) + " must be an integer");
    if (*x == -1 || *x == 0xFFFFFFFFll) return -1;
    if (*x < 0 || *x >= static_cast<int64_t>(n))
        fail(Status::corrupt_data, std::string(key) + " = " + std::to_string(*x) +
                                       " is out of range [0, " + std::to_string(n) + ")");
    return static_cast<int32_t>(*x);
}

// A bool key into out; out keeps its value when the key is absent.
void read_bool(const gguf::File &f, const char *key, bool &out) {
    const gguf::Value *v = f.find(key);
    if (!v) return;
    if (!v->is_bool()) fail(Status::corrupt_data, std::string(key) + " must be a bool");
    out = *v->to_bool();
}

}  // namespace

void Tokenizer::Impl::load(const gguf::File &f) {
    check_model(f);
    pick_pre_tokenizer(f);
    read_tokens(f);
    read_token_types(f);
    index_tokens();
    map_byte_tokens();
    read_merges(f);
    read_special_ids(f);
    read_add_flags(f);
    mark_end_of_generation();
    collect_splits();
    compile_pre_tokenizer();
}

void Tokenizer::Impl::check_model(const gguf::File &f) {
    const gguf::Value *model = f.find("tokenizer.ggml.model");
    if (!model) fail(Status::unsupported, "the file has no tokenizer (no tokenizer.ggml.model)");
    if (!model->is_string())
        fail(Status::corrupt_data, "tokenizer.ggml.model must be a string");
    const std::string &kind = *model->as_string();
    if (kind != "gpt2")
        fail(Status::unsupported,
             "tokenizer.ggml.model '" + kind + "'" +
                 (kind == "llama" ? " (SentencePiece)" : "") +
                 " is not supported; liblola reads 'gpt2' (byte-level BPE) vocabularies");
}

void Tokenizer::Impl::pick_pre_tokenizer(const gguf::File &f) {
    pre_name = "default";
    if (const gguf::Value *v = f.find("tokenizer.ggml.pre")) {
        if (!v->is_string()) fail(Status::corrupt_data, "tokenizer.ggml.pre must be a string");
        pre_name = *v->as_string();
    }
    if (pre_name == "default" || pre_name == "gpt2") {
        pre = PreTokenizer::gpt2;
    } else if (pre_name == "smollm" || pre_name == "starcoder" || pre_name == "refact") {
        pre = PreTokenizer::digits_gpt2;
    } else if (pre_name == "llama-bpe" || pre_name == "llama3" || pre_name == "smaug-bpe") {
        pre = PreTokenizer::llama3;
        ignore_merges = true;
        add_bos = true;  // Llama 3's default, unless read_add_flags finds the key
    } else {
        fail(Status::unsupported, "pre-tokenizer tokenizer.ggml.pre = '" + pre_name +
                                      "' is not supported (gpt2, default, smollm, starcoder, "
                                      "refact, llama-bpe, llama3, smaug-bpe)");
    }
}

void Tokenizer::Impl::read_tokens(const gguf::File &f) {
    const gguf::Value *tv = f.find("tokenizer.ggml.tokens");
    if (!tv) fail(Status::corrupt_data, "tokenizer.ggml.tokens is missing");
    if (!tv->is_array() || tv->element_type() != gguf::ValueType::string)
        fail(Status::corrupt_data, "tokenizer.ggml.tokens must be an array of strings");
    tokens = tv->strings();
    if (tokens.empty()) fail(Status::corrupt_data, "tokenizer.ggml.tokens is empty");
    if (tokens.size() > static_cast<size_t>(INT32_MAX))
        fail(Status::corrupt_data, "tokenizer.ggml.tokens has more than 2^31-1 tokens");
}

void Tokenizer::Impl::read_token_types(const gguf::File &f) {
    const size_t n = tokens.size();
    types.assign(n, TokenType::normal);
    if (!f.has("tokenizer.ggml.token_type")) return;
    const gguf::Value &v = f.get("tokenizer.ggml.token_type");
    if (!v.is_array() || v.size() != n)
        fail(Status::corrupt_data, "tokenizer.ggml.token_type has " + std::to_string(v.size()) +
                                       " entries, tokenizer.ggml.tokens " + std::to_string(n));
    const std::vector<int64_t> t = f.get_int_array("tokenizer.ggml.token_type");
    for (size_t i = 0; i < n; ++i) {
        if (t[i] < 1 || t[i] > 6)
            fail(Status::corrupt_data, "tokenizer.ggml.token_type[" + std::to_string(i) + "] = " +
                                           std::to_string(t[i]) + " is not a token type (1..6)");
        types[i] = static_cast<TokenType>(t[i]);
    }
}

void Tokenizer::Impl::index_tokens() {
    const size_t n = tokens.size();
    to_id.reserve(n);
    pieces.resize(n);
    for (size_t i = 0; i < n; ++i) {
        const std::string &s = tokens[i];
        if (s.empty()) {
            if (types[i] == TokenType::unused) continue;
            fail(Status::corrupt_data, "tokenizer.ggml.tokens[" + std::to_string(i) + "] is empty");
        }
        to_id.emplace(std::string_view(s), static_cast<int32_t>(i));  // a duplicate keeps the first id
        switch (types[i]) {
        case TokenType::byte: {
            unsigned byte = 0;
            if (!parse_byte_token(s, byte))
                fail(Status::corrupt_data, "tokenizer.ggml.tokens[" + std::to_string(i) + "] = " +
                                               shown(s) + " is a byte token (type 6) but not <0xNN>");
            pieces[i] = std::string(1, static_cast<char>(byte));
            break;
        }
        case TokenType::normal:
            if (!byte_level_decode(s, pieces[i])) pieces[i] = s;
            break;
        default:  // control, user-defined, unknown, unused: their text
            pieces[i] = s;
            break;
        }
    }
}

void Tokenizer::Impl::map_byte_tokens() {
    const ByteMap &bm = byte_map();
    for (size_t b = 0; b < 256; ++b) {
        std::string ch;
        append_utf8(ch, bm.to_cp[b]);
        const auto it = to_id.find(ch);
        byte_token[b] = it == to_id.end() ? -1 : it->second;
    }
}

void Tokenizer::Impl::read_merges(const gguf::File &f) {
    const gguf::Value *mv = f.find("tokenizer.ggml.merges");
    if (!mv) fail(Status::corrupt_data, "tokenizer.ggml.merges is missing (a gpt2 vocabulary needs it)");
    if (!mv->is_array() || mv->element_type() != gguf::ValueType::string)
        fail(Status::corrupt_data, "tokenizer.ggml.merges must be an array of strings");
    const std::vector<std::string> &ms = mv->strings();
    if (ms.size() > static_cast<size_t>(INT32_MAX))
        fail(Status::corrupt_data, "tokenizer.ggml.merges has more than 2^31-1 entries");
    merges.reserve(ms.size());
    std::string joined;
    for (size_t r = 0; r < ms.size(); ++r) {
        const std::string &m = ms[r];
        auto bad = [&](const std::string &why) {
            fail(Status::corrupt_data, "tokenizer.ggml.merges[" + std::to_string(r) + "] = " +
                                           shown(m) + " " + why);
        };
        const size_t sp = m.size() > 1 ? m.find(' ', 1) : std::string::npos;
        if (sp == std::string::npos || sp + 1 >= m.size())
            bad("is not two tokens separated by a space");
        const std::string_view a(m.data(), sp), b(m.data() + sp + 1, m.size() - sp - 1);
        const auto ia = to_id.find(a), ib = to_id.find(b);
        if (ia == to_id.end()) bad("names a token that is not in the vocabulary: " + shown(a));
        if (ib == to_id.end()) bad("names a token that is not in the vocabulary: " + shown(b));
        joined.assign(a);
        joined.append(b);
        const auto ij = to_id.find(joined);
        if (ij == to_id.end()) bad("makes " + shown(joined) + ", which is not in the vocabulary");
        merges.emplace(pair_key(ia->second, ib->second),
                       Merge{static_cast<int32_t>(r), ij->second});  // a duplicate keeps the first
    }
}

void Tokenizer::Impl::read_special_ids(const gguf::File &f) {
    const size_t n = tokens.size();
    special.bos = read_token_id(f, "tokenizer.ggml.bos_token_id", n);
    special.eos = read_token_id(f, "tokenizer.ggml.eos_token_id", n);
    special.unk = read_token_id(f, "tokenizer.ggml.unknown_token_id", n);
    special.pad = read_token_id(f, "tokenizer.ggml.padding_token_id", n);
    special.eot = read_token_id(f, "tokenizer.ggml.eot_token_id", n);
    if (special.eot >= 0) return;
    for (const char *t : {"<|im_end|>", "<|eot_id|>", "<end_of_turn>", "<|end_of_text|>"}) {
        const auto it = to_id.find(t);
        if (it != to_id.end()) {
            special.eot = it->second;
            return;
        }
    }
}

void Tokenizer::Impl::read_add_flags(const gguf::File &f) {
    read_bool(f, "tokenizer.ggml.add_bos_token", add_bos);
    read_bool(f, "tokenizer.ggml.add_eos_token", add_eos);
}

void Tokenizer::Impl::mark_end_of_generation() {
    eog.assign(tokens.size(), false);
    for (int32_t id : {special.eos, special.eot})
        if (id >= 0) eog[static_cast<size_t>(id)] = true;
    for (const char *t : {"<|endoftext|>", "<|im_end|>", "<|eot_id|>", "<|eom_id|>",
                          "<|end_of_text|>", "<end_of_turn>", "<|end|>"}) {
        const auto it = to_id.find(t);
        if (it != to_id.end()) eog[static_cast<size_t>(it->second)] = true;
    }
}

void Tokenizer::Impl::collect_splits() {
    for (size_t i = 0; i < tokens.size(); ++i) {
        const TokenType t = types[i];
        if (tokens[i].empty() ||
            (t != TokenType::control && t != TokenType::unknown && t != TokenType::user_defined))
            continue;
        const auto first = static_cast<unsigned char>(tokens[i][0]);
        splits[first].push_back(Split{static_cast<int32_t>(i), t != TokenType::user_defined});
        has_splits = true;
    }
    for (auto &v : splits)
        std::stable_sort(v.begin(), v.end(), [&](const Split &a, const Split &b) {
            return tokens[static_cast<size_t>(a.id)].size() > tokens[static_cast<size_t>(b.id)].size();
        });
}

void Tokenizer::Impl::compile_pre_tokenizer() {
    main_re = std::make_unique<Regex>(pre == PreTokenizer::llama3 ? kLlama3Pattern : kGpt2Pattern);
    if (pre == PreTokenizer::digits_gpt2) digit_re = std::make_unique<Regex>(kDigitPattern);
}

// ---- tokenizing ---------------------------------------------------------------------------------

// Text without special tokens: valid UTF-8 runs are pre-tokenized, invalid bytes stand alone.
void Tokenizer::Impl::encode_fragment(std::string_view text, std::vector<int32_t> &out,
                                      Scratch &sc) const {
    const auto *p = reinterpret_cast<const unsigned char *>(text.data());
    size_t run = 0, i = 0;
    while (i < text.size()) {
        const size_t len = utf8_len(p + i, text.size() - i);
        if (len != 0) {
            i += len;
            continue;
        }
        if (i > run) pre_tokenize(text.substr(run, i - run), out, sc);
        bpe(text.substr(i, 1), out, sc);
        run = ++i;
    }
    if (run < text.size()) pre_tokenize(text.substr(run), out, sc);
}

void Tokenizer::Impl::pre_tokenize(std::string_view seg, std::vector<int32_t> &out,
                                   Scratch &sc) const {
    if (!digit_re) {
        regex_split(*main_re, seg, out, sc);
        return;
    }
    size_t pos = 0;
    while (pos < seg.size()) {
        size_t b = 0, e = 0;
        const int rc = digit_re->find(seg, pos, sc.match.md, &b, &e);
        if (rc == 0) break;
        if (rc < 0 || e == b) {  // cannot happen for \p{N}; keep going without the split
            break;
        }
        if (b > pos) regex_split(*main_re, seg.substr(pos, b - pos), out, sc);
        bpe(seg.substr(b, e - b), out, sc);
        pos = e;
    }
    if (pos < seg.size()) regex_split(*main_re, seg.substr(pos), out, sc);
}

// Every match of `re` in seg, and every gap between matches, is a pre-token.
void Tokenizer::Impl::regex_split(const Regex &re, std::string_view seg, std::vector<int32_t> &out,
                                  Scratch &sc) const {
    const auto *p = reinterpret_cast<const unsigned char *>(seg.data());
    size_t pos = 0;
    while (pos < seg.size()) {
        size_t b = 0, e = 0;
        const int rc = re.find(seg, pos, sc.match.md, &b, &e);
        if (rc == 0) {
            bpe(seg.substr(pos), out, sc);
            return;
        }
        if (rc < 0 || e == b) {
            // PCRE2 gave up (a resource limit on a pathological input) or an empty match: take
            // one character as a pre-token and go on, so that nothing is lost or refused.
            const size_t at = rc < 0 ? pos : b;
            if (at > pos) bpe(seg.substr(pos, at - pos), out, sc);
            const size_t len = std::max<size_t>(1, utf8_len(p + at, seg.size() - at));
            bpe(seg.substr(at, len), out, sc);
            pos = at + len;
            continue;
        }
        if (b > pos) bpe(seg.substr(pos, b - pos), out, sc);
        bpe(seg.substr(b, e - b), out, sc);
        pos = e;
    }
}

void Tokenizer::Impl::bpe(std::string_view piece, std::vector<int32_t> &out, Scratch &sc) const {
    if (piece.empty()) return;
    if (piece.size() == 1) {
        const int32_t id = byte_token[static_cast<unsigned char>(piece[0])];
        if (id >= 0) out.push_back(id);
        return;
    }
    if (piece.size() > kCacheMaxPieceBytes) {
        bpe_uncached(piece, out, sc);
        return;
    }
    const size_t h = std::hash<std::string_view>()(piece);
    CacheShard &shard = cache[h % kCacheShards];
    std::string key(piece);
    {
        std::lock_guard<std::mutex> lock(shard.mutex);
        const auto it = shard.map.find(key);
        if (it != shard.map.end()) {
            out.insert(out.end(), it->second.begin(), it->second.end());
            return;
        }
    }
    sc.piece_ids.clear();
    bpe_uncached(piece, sc.piece_ids, sc);
    out.insert(out.end(), sc.piece_ids.begin(), sc.piece_ids.end());
    std::lock_guard<std::mutex> lock(shard.mutex);
    if (shard.map.size() >= kCacheEntriesPerShard) shard.map.clear();
    shard.map.emplace(std::move(key), sc.piece_ids);
}

void Tokenizer::Impl::bpe_uncached(std::string_view piece, std::vector<int32_t> &out,
                                   Scratch &sc) const {
    if (ignore_merges) {
        const auto it = to_id.find(byte_level_encode(piece));
        if (it != to_id.end()) {
            out.push_back(it->second);
            return;
        }
    }
    const auto n = static_cast<int32_t>(piece.size());
    std::vector<Symbol> &sym = sc.symbols;
    sym.resize(static_cast<size_t>(n));
    for (int32_t i = 0; i < n; ++i)
        sym[static_cast<size_t>(i)] =
            Symbol{byte_token[static_cast<unsigned char>(piece[static_cast<size_t>(i)])], i - 1,
                   i + 1 < n ? i + 1 : -1, false};
    std::vector<Candidate> &heap = sc.heap;
    heap.clear();
    auto consider = [&](int32_t left) {
        if (left < 0) return;
        const Symbol &l = sym[static_cast<size_t>(left)];
        if (l.next < 0) return;
        const Symbol &r = sym[static_cast<size_t>(l.next)];
        if (l.id < 0 || r.id < 0) return;
        const auto it = merges.find(pair_key(l.id, r.id));
        if (it == merges.end()) return;
        heap.push_back(Candidate{it->second.rank, left, l.id, r.id, it->second.id});
        std::push_heap(heap.begin(), heap.end(), CandidateAfter());
    };
    for (int32_t i = 0; i + 1 < n; ++i) consider(i);
    while (!heap.empty()) {
        std::pop_heap(heap.begin(), heap.end(), CandidateAfter());
        const Candidate c = heap.back();
        heap.pop_back();
        Symbol &l = sym[static_cast<size_t>(c.left)];
        if (l.dead || l.id != c.left_id || l.next < 0) continue;
        Symbol &r = sym[static_cast<size_t>(l.next)];
        if (r.id != c.right_id) continue;  // stale: a neighbour was merged since
        l.id = c.id;
        r.dead = true;
        l.next = r.next;
        if (r.next >= 0) sym[static_cast<size_t>(r.next)].prev = c.left;
        consider(l.prev);
        consider(c.left);
    }
    for (int32_t i = 0; i >= 0; i = sym[static_cast<size_t>(i)].next)
        if (sym[static_cast<size_t>(i)].id >= 0) out.push_back(sym[static_cast<size_t>(i)].id);
}

// ---- Tokenizer ----------------------------------------------------------------------------------

Tokenizer::Tokenizer(const gguf::File &file) : impl_(std::make_unique<Impl>()) { impl_->load(file); }
Tokenizer::~Tokenizer() = default;

size_t Tokenizer::n_tokens() const noexcept { return impl_->tokens.size(); }
const SpecialTokens &Tokenizer::special() const noexcept { return impl_->special; }
bool Tokenizer::add_bos() const noexcept { return impl_->add_bos; }
bool Tokenizer::add_eos() const noexcept { return impl_->add_eos; }
PreTokenizer Tokenizer::pre_tokenizer() const noexcept { return impl_->pre; }
const std::string &Tokenizer::pre_name() const noexcept { return impl_->pre_name; }

namespace {
void check_id(int32_t id, size_t n) {
    if (id < 0 || static_cast<size_t>(id) >= n)
        fail(Status::invalid_argument, "token id " + std::to_string(id) + " out of range [0, " +
                                           std::to_string(n) + ")");
}
}  // namespace

TokenType Tokenizer::type(int32_t id) const {
    check_id(id, impl_->tokens.size());
    return impl_->types[static_cast<size_t>(id)];
}

const std::string &Tokenizer::text(int32_t id) const {
    check_id(id, impl_->tokens.size());
    return impl_->tokens[static_cast<size_t>(id)];
}

int32_t Tokenizer::find(std::string_view token_text) const noexcept {
    const auto it = impl_->to_id.find(token_text);
    return it == impl_->to_id.end() ? -1 : it->second;
}

std::vector<int32_t> Tokenizer::tokenize(std::string_view text, bool add_special,
                                         bool parse_special) const {
    const Impl &m = *impl_;
    Scratch sc;
    std::vector<int32_t> out;
    out.reserve(text.size() / 3 + 4);
    if (add_special && m.add_bos && m.special.bos >= 0) out.push_back(m.special.bos);
    size_t start = 0;
    if (m.has_splits) {
        for (size_t i = 0; i < text.size();) {
            int32_t found = -1;
            size_t len = 0;
            for (const Impl::Split &s : m.splits[static_cast<unsigned char>(text[i])]) {
                if (s.needs_parse_special && !parse_special) continue;
                const std::string &t = m.tokens[static_cast<size_t>(s.id)];
                if (t.size() <= text.size() - i && std::memcmp(t.data(), text.data() + i, t.size()) == 0) {
                    found = s.id;
                    len = t.size();
                    break;
                }
            }
            if (found < 0) {
                ++i;
                continue;
            }
            if (i > start) m.encode_fragment(text.substr(start, i - start), out, sc);
            out.push_back(found);
            i += len;
            start = i;
        }
    }
    if (start < text.size()) m.encode_fragment(text.substr(start), out, sc);
    if (add_special && m.add_eos && m.special.eos >= 0) out.push_back(m.special.eos);
    return out;
}

void Tokenizer::append_piece(int32_t id, bool render_special, std::string &out) const {
    check_id(id, impl_->tokens.size());
    const auto i = static_cast<size_t>(id);
    const TokenType t = impl_->types[i];
    if (!render_special && (t == TokenType::control || t == TokenType::unknown || t == TokenType::unused))
        return;
    out += impl_->pieces[i];
}

std::string Tokenizer::detokenize(const int32_t *ids, size_t n, bool render_special) const {
    for (size_t i = 0; i < n; ++i) check_id(ids[i], impl_->tokens.size());
    std::string out;
    for (size_t i = 0; i < n; ++i) append_piece(ids[i], render_special, out);
    return out;
}

bool Tokenizer::is_eog(int32_t id) const noexcept {
    return id >= 0 && static_cast<size_t>(id) < impl_->eog.size() && impl_->eog[static_cast<size_t>(id)];
}

std::string byte_level_encode(std::string_view bytes) {
    const ByteMap &m = byte_map();
    std::string out;
    out.reserve(bytes.size() * 2);
    for (char c : bytes) append_utf8(out, m.to_cp[static_cast<unsigned char>(c)]);
    return out;
}

}  // namespace lola::text
