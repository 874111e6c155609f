// test_tokenizer.cpp: the GGUF tokenizer (core/text/tokenizer) on a tiny hand-made byte-level
// vocabulary with exact expected ids: BPE merge order, the three pre-tokenizers, special tokens
// with and without parse_special, invalid UTF-8, decoding, hostile vocabularies; the chat
// templates (core/text/chat_template) rendered exactly; and the C API of both (size queries,
// small buffers, statuses, chat templates, models without a usable tokenizer, one model
// tokenizing from several threads).
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <ctime>
#include <random>
#include <thread>

#include "gguf/gguf.hpp"
#include "gguf_builder.hpp"
#include "capi_check.hpp"
#include "lola.h"
#include "base/error.hpp"
#include "text/chat_template.hpp"
#include "text/tokenizer.hpp"

using lola::text::Tokenizer;
using lola_test::GgufBuilder;
using Ids = std::vector<int32_t>;

namespace {

// ---- the tiny vocabulary ----------------------------------------------------------------------
//   0..255  the byte-level character of byte b (so unmerged bytes have id = byte)
//   256 "Ġt"  257 "he"  258 "Ġthe"  259 "ll"  260 "hell"  261 "hello"  262 "ĠĠ"  263 "12"
//   264 <|endoftext|> (control)  265 <|im_start|> (control)  266 <|im_end|> (control)
//   267 <0x41> (byte)  268 "<|im" (control)  269 "<tool>" (user-defined)
//   270 "Ġworld" (normal, no merge makes it)  271 "Ġ1"
// merges, by rank: Ġ t, h e, Ġt he, l l, he ll, hell o, Ġ Ġ, 1 2, Ġ 1
constexpr int32_t kT = 256, kHe = 257, kThe = 258, kLL = 259, kHell = 260, kHello = 261,
                  kSpSp = 262, k12 = 263, kEndOfText = 264, kImStart = 265, kImEnd = 266,
                  kByteA = 267, kIm = 268, kTool = 269, kWorld = 270, kSp1 = 271;

const char *const kSp = "\xC4\xA0";  // Ġ, the character of the space byte

const char *const kChatMLTemplate =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] "
    "+ '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' "
    "}}{% endif %}";
// SmolLM2-135M-Instruct's tokenizer.chat_template, as the GGUF holds it.
const char *const kSmolLMTemplate =
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ "
    "'<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
    "Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] "
    "+ '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ "
    "'<|im_start|>assistant\n' }}{% endif %}";
const char *const kLlama3Template =
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
    "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim "
    "+ '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif "
    "%}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ "
    "'<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}";

struct Vocab {
    std::optional<std::string> model = std::string("gpt2");
    std::optional<std::string> pre = std::string("gpt2");
    std::vector<std::string> tokens;
    std::vector<int32_t> types;  // empty: no token_type key
    std::optional<std::vector<std::string>> merges;
    std::optional<int64_t> bos = kImStart, eos = kImEnd, unk, pad = kEndOfText, eot;
    std::optional<bool> add_bos, add_eos;
    std::optional<std::string> chat_template;
    std::function<void(GgufBuilder &)> extra;  // more (or replacing) keys

    void add_to(GgufBuilder &g) const {
        if (model) g.kv_str("tokenizer.ggml.model", *model);
        if (pre) g.kv_str("tokenizer.ggml.pre", *pre);
        g.kv_strings("tokenizer.ggml.tokens", tokens);
        if (!types.empty()) {
            lola_test::Bytes b;
            for (int32_t t : types) b.i32(t);
            g.kv_array("tokenizer.ggml.token_type", lola_test::gguf_type::i32, types.size(), b);
        }
        if (merges) g.kv_strings("tokenizer.ggml.merges", *merges);
        auto id = [&](const char *key, const std::optional<int64_t> &v) {
            if (v) g.kv_i64(key, *v);
        };
        id("tokenizer.ggml.bos_token_id", bos);
        id("tokenizer.ggml.eos_token_id", eos);
        id("tokenizer.ggml.unknown_token_id", unk);
        id("tokenizer.ggml.padding_token_id", pad);
        id("tokenizer.ggml.eot_token_id", eot);
        if (add_bos) g.kv_bool("tokenizer.ggml.add_bos_token", *add_bos);
        if (add_eos) g.kv_bool("tokenizer.ggml.add_eos_token", *add_eos);
        if (chat_template) g.kv_str("tokenizer.chat_template", *chat_template);
        if (extra) extra(g);
    }
};

std::string sp(const std::string &rest) { return kSp + rest; }

Vocab tiny_vocab(const std::string &pre = "gpt2") {
    Vocab v;
    v.pre = pre;
    for (int b = 0; b < 256; ++b) {
        v.tokens.push_back(lola::text::byte_level_encode(std::string(1, static_cast<char>(b))));
        v.types.push_back(1);
    }
    const std::vector<std::pair<std::string, int32_t>> more = {
        {sp("t"), 1}, {"he", 1}, {sp("the"), 1}, {"ll", 1}, {"hell", 1}, {"hello", 1},
        {sp(kSp), 1}, {"12", 1}, {"<|endoftext|>", 3}, {"<|im_start|>", 3}, {"<|im_end|>", 3},
        {"<0x41>", 6}, {"<|im", 3}, {"<tool>", 4}, {sp("world"), 1}, {sp("1"), 1}};
    for (const auto &[t, ty] : more) {
        v.tokens.push_back(t);
        v.types.push_back(ty);
    }
    v.merges = std::vector<std::string>{sp(" t"), "h e", sp("t he"), "l l", "he ll", "hell o",
                                        sp(std::string(" ") + kSp), "1 2", sp(" 1")};
    return v;
}

std::unique_ptr<lola::gguf::File> file_of(const Vocab &v) {
    GgufBuilder g;
    g.kv_str("general.architecture", "llama");
    v.add_to(g);
    return lola::gguf::File::from_memory(g.build());
}

std::unique_ptr<Tokenizer> make(const Vocab &v) { return std::make_unique<Tokenizer>(*file_of(v)); }

// The error a vocabulary gives (status and message), or "ok".
std::pair<lola::Status, std::string> build_error(const Vocab &v) {
    try {
        make(v);
    } catch (const lola::Error &e) {
        return {e.status(), e.what()};
    }
    return {lola::Status::ok, "ok"};
}

Ids bytes_of(const std::string &s) {
    Ids out;
    for (char c : s) out.push_back(static_cast<unsigned char>(c));
    return out;
}

Ids cat(std::initializer_list<Ids> parts) {
    Ids out;
    for (const Ids &p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

}  // namespace

// ---- byte-level mapping and BPE -----------------------------------------------------------------

TEST(Tokenizer, ByteLevelMappingIsGpt2s) {
    using lola::text::byte_level_encode;
    EXPECT_EQ(byte_level_encode(" "), "\xC4\xA0");                 // U+0120 Ġ
    EXPECT_EQ(byte_level_encode("\n"), "\xC4\x8A");                // U+010A Ċ
    EXPECT_EQ(byte_level_encode(std::string(1, '\0')), "\xC4\x80");  // U+0100
    EXPECT_EQ(byte_level_encode("\x7F"), "\xC4\xA1");              // U+0121 ġ
    EXPECT_EQ(byte_level_encode("\xA0"), "\xC5\x82");              // U+0142 ł
    EXPECT_EQ(byte_level_encode("\xAD"), "\xC5\x83");              // U+0143 Ń
    EXPECT_EQ(byte_level_encode("a~!\xA1\xAC\xAE\xFF"), "a~!\xC2\xA1\xC2\xAC\xC2\xAE\xC3\xBF");
}

TEST(Tokenizer, MergesApplyByRankLeftmostFirst) {
    auto t = make(tiny_vocab());
    EXPECT_EQ(t->n_tokens(), 272u);
    EXPECT_EQ(t->tokenize("hello", false, false), (Ids{kHello}));
    EXPECT_EQ(t->tokenize("hell", false, false), (Ids{kHell}));
    EXPECT_EQ(t->tokenize("lll", false, false), (Ids{kLL, 'l'}));
    EXPECT_EQ(t->tokenize("llll", false, false), (Ids{kLL, kLL}));
    EXPECT_EQ(t->tokenize(" the", false, false), (Ids{kThe}));
    EXPECT_EQ(t->tokenize(" t", false, false), (Ids{kT}));
    EXPECT_EQ(t->tokenize("the", false, false), (Ids{'t', kHe}));
    EXPECT_EQ(t->tokenize("", false, false), Ids{});
    // "hello the  world": pieces "hello", " the", " ", " world" (no merge makes Ġworld)
    EXPECT_EQ(t->tokenize("hello the  world", false, false),
              cat({{kHello, kThe, ' '}, bytes_of(" world")}));
}

TEST(Tokenizer, Gpt2WhitespaceRunsKeepTheLastSpaceForTheNextWord) {
    auto t = make(tiny_vocab());
    EXPECT_EQ(t->tokenize("a   b", false, false), (Ids{'a', kSpSp, ' ', 'b'}));
    EXPECT_EQ(t->tokenize("a  ", false, false), (Ids{'a', kSpSp}));
    EXPECT_EQ(t->tokenize("    ", false, false), (Ids{kSpSp, kSpSp}));
    EXPECT_EQ(t->tokenize("a\n  b", false, false), (Ids{'a', '\n', ' ', ' ', 'b'}));
}

TEST(Tokenizer, PreTokenizersSplitDigitsDifferently) {
    auto gpt2 = make(tiny_vocab("gpt2"));
    auto deflt = make(tiny_vocab("default"));
    auto smollm = make(tiny_vocab("smollm"));
    auto llama3 = make(tiny_vocab("llama-bpe"));
    EXPECT_EQ(gpt2->pre_tokenizer(), lola::text::PreTokenizer::gpt2);
    EXPECT_EQ(smollm->pre_tokenizer(), lola::text::PreTokenizer::digits_gpt2);
    EXPECT_EQ(llama3->pre_tokenizer(), lola::text::PreTokenizer::llama3);
    // " 13": GPT-2 keeps " 13" together (Ġ 1 merges); SmolLM2 isolates each digit; Llama 3 puts
    // the space apart and groups digits by three.
    EXPECT_EQ(gpt2->tokenize("x 13", false, false), (Ids{'x', kSp1, '3'}));
    EXPECT_EQ(deflt->tokenize("x 13", false, false), (Ids{'x', kSp1, '3'}));
    EXPECT_EQ(smollm->tokenize("x 13", false, false), (Ids{'x', ' ', '1', '3'}));
    EXPECT_EQ(llama3->tokenize("x 13", false, false), (Ids{'x', ' ', '1', '3'}));
    EXPECT_EQ(gpt2->tokenize("1212", false, false), (Ids{k12, k12}));
    EXPECT_EQ(smollm->tokenize("1212", false, false), (Ids{'1', '2', '1', '2'}));
    EXPECT_EQ(llama3->tokenize("1212", false, false), (Ids{k12, '1', '2'}));
    // other numerals are \p{N} too (U+00B2 superscript two, U+2167 roman eight)
    EXPECT_EQ(smollm->tokenize("a\xC2\xB2\xE2\x85\xA7", false, false),
              (Ids{'a', 0xC2, 0xB2, 0xE2, 0x85, 0xA7}));
    // Llama 3 ignores merges for a pre-token in the vocabulary: " world" is one token
    EXPECT_EQ(llama3->tokenize(" world", false, false), (Ids{kWorld}));
    EXPECT_EQ(gpt2->tokenize(" world", false, false), bytes_of(" world"));
    EXPECT_EQ(llama3->tokenize("hello the", false, false), (Ids{kHello, kThe}));
}

TEST(Tokenizer, SpecialTokensWithAndWithoutParseSpecial) {
    auto t = make(tiny_vocab());
    const std::string s = "<|im_start|>hello<|im_end|>";
    EXPECT_EQ(t->tokenize(s, false, true), (Ids{kImStart, kHello, kImEnd}));
    // plain text without parse_special (no merge applies inside the markers)
    EXPECT_EQ(t->tokenize(s, false, false),
              cat({bytes_of("<|im_start|>"), {kHello}, bytes_of("<|im_end|>")}));
    // longest match first: <|im_start|> rather than <|im + "_start|>"; <|im alone when that is all
    EXPECT_EQ(t->tokenize("<|im_start|><|imx", false, true), (Ids{kImStart, kIm, 'x'}));
    // user-defined tokens are always split (Hugging Face's non-special added tokens)
    EXPECT_EQ(t->tokenize("a<tool>b", false, false), (Ids{'a', kTool, 'b'}));
    EXPECT_EQ(t->tokenize("a<tool>b", false, true), (Ids{'a', kTool, 'b'}));
    // text around a special token is pre-tokenized on its own: " the" after the marker
    EXPECT_EQ(t->tokenize("<|endoftext|> the", false, true), (Ids{kEndOfText, kThe}));
    EXPECT_EQ(t->tokenize("<|im_end", false, true), cat({{kIm}, bytes_of("_end")}));
}

TEST(Tokenizer, AddSpecialFollowsTheVocabulary) {
    Vocab v = tiny_vocab();
    EXPECT_EQ(make(v)->tokenize("hello", true, false), (Ids{kHello}));  // gpt2 default: no BOS
    v.add_bos = true;
    EXPECT_EQ(make(v)->tokenize("hello", true, false), (Ids{kImStart, kHello}));
    EXPECT_EQ(make(v)->tokenize("hello", false, false), (Ids{kHello}));
    v.add_eos = true;
    EXPECT_EQ(make(v)->tokenize("hello", true, false), (Ids{kImStart, kHello, kImEnd}));
    EXPECT_EQ(make(v)->tokenize("", true, false), (Ids{kImStart, kImEnd}));
    v.bos.reset();
    EXPECT_EQ(make(v)->tokenize("hello", true, false), (Ids{kHello, kImEnd}));
    // Llama 3 adds BOS unless the file says otherwise
    Vocab l = tiny_vocab("llama-bpe");
    EXPECT_TRUE(make(l)->add_bos());
    l.add_bos = false;
    EXPECT_FALSE(make(l)->add_bos());
}

TEST(Tokenizer, InvalidUtf8IsTokenizedByteByByte) {
    auto t = make(tiny_vocab());
    EXPECT_EQ(t->tokenize("a\xFF" "b\xC3", false, false), (Ids{'a', 0xFF, 'b', 0xC3}));
    // stray continuation, overlong, surrogate, above U+10FFFF, truncated: each byte alone,
    // the valid text between them pre-tokenized as usual
    EXPECT_EQ(t->tokenize("\x80hello\xC0\xAF the\xED\xA0\x80\xF4\x90\x80\x80\xE2\x82", false, false),
              (Ids{0x80, kHello, 0xC0, 0xAF, kThe, 0xED, 0xA0, 0x80, 0xF4, 0x90, 0x80, 0x80, 0xE2,
                   0x82}));
    std::mt19937 rng(7);
    for (int trial = 0; trial < 500; ++trial) {
        std::string s(rng() % 40, '\0');
        for (char &c : s) c = static_cast<char>(rng() % 256);
        const Ids ids = t->tokenize(s, false, trial % 2 == 0);
        EXPECT_EQ(t->detokenize(ids.data(), ids.size(), true), s);
    }
}

TEST(Tokenizer, DecodingRendersSpecialTokensOnlyWhenAsked) {
    auto t = make(tiny_vocab());
    const Ids ids = {kImStart, kHello, kThe, kByteA, kTool, kImEnd, ' ', 0xC3, 0xA9};
    EXPECT_EQ(t->detokenize(ids.data(), ids.size(), false), "hello theA<tool> \xC3\xA9");
    EXPECT_EQ(t->detokenize(ids.data(), ids.size(), true),
              "<|im_start|>hello theA<tool><|im_end|> \xC3\xA9");
    std::string piece;
    t->append_piece(kSpSp, false, piece);
    EXPECT_EQ(piece, "  ");
    const Ids bad = {1, 272};
    EXPECT_THROW(t->detokenize(bad.data(), bad.size(), false), lola::Error);
    EXPECT_THROW(t->append_piece(-1, false, piece), lola::Error);
    for (const std::string &s : {std::string("hello the  world\n\n\tx 1212 <tool>"),
                                 std::string("\xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x92\xBB")}) {
        const Ids x = t->tokenize(s, false, false);
        EXPECT_EQ(t->detokenize(x.data(), x.size(), false), s);
    }
}

TEST(Tokenizer, SpecialIdsAndEndOfGeneration) {
    Vocab v = tiny_vocab();
    auto t = make(v);
    EXPECT_EQ(t->special().bos, kImStart);
    EXPECT_EQ(t->special().eos, kImEnd);
    EXPECT_EQ(t->special().eot, kImEnd);  // found by its text
    EXPECT_EQ(t->special().unk, -1);
    EXPECT_EQ(t->special().pad, kEndOfText);
    EXPECT_TRUE(t->is_eog(kImEnd));
    EXPECT_TRUE(t->is_eog(kEndOfText));
    EXPECT_FALSE(t->is_eog(kImStart));
    EXPECT_FALSE(t->is_eog(kHello));
    EXPECT_FALSE(t->is_eog(-1));
    EXPECT_FALSE(t->is_eog(100000));
    v.eot = kTool;
    v.unk = 0;
    v.pad = -1;  // "none"
    t = make(v);
    EXPECT_EQ(t->special().eot, kTool);
    EXPECT_EQ(t->special().unk, 0);
    EXPECT_EQ(t->special().pad, -1);
    EXPECT_TRUE(t->is_eog(kTool));
    EXPECT_EQ(t->find("<tool>"), kTool);
    EXPECT_EQ(t->find("nope"), -1);
    EXPECT_EQ(t->type(kByteA), lola::text::TokenType::byte);
    EXPECT_EQ(t->text(kThe), sp("the"));
}

// ---- hostile vocabularies -----------------------------------------------------------------------

TEST(Tokenizer, UnsupportedVocabulariesSaySo) {
    Vocab v = tiny_vocab();
    v.model = "llama";
    auto [st, msg] = build_error(v);
    EXPECT_EQ(st, lola::Status::unsupported);
    EXPECT_NE(msg.find("SentencePiece"), std::string::npos) << msg;
    v.model.reset();
    std::tie(st, msg) = build_error(v);
    EXPECT_EQ(st, lola::Status::unsupported);
    EXPECT_NE(msg.find("tokenizer.ggml.model"), std::string::npos) << msg;
    v = tiny_vocab("qwen2");
    std::tie(st, msg) = build_error(v);
    EXPECT_EQ(st, lola::Status::unsupported);
    EXPECT_NE(msg.find("qwen2"), std::string::npos) << msg;
}

TEST(Tokenizer, MalformedVocabulariesAreCorruptData) {
    struct Case {
        const char *what;
        std::function<void(Vocab &)> edit;
        const char *in_message;
    };
    const std::vector<Case> cases = {
        {"token_type shorter", [](Vocab &v) { v.types.pop_back(); }, "token_type"},
        {"token type 9", [](Vocab &v) { v.types[5] = 9; }, "token_type[5]"},
        {"token type 0", [](Vocab &v) { v.types[5] = 0; }, "token_type[5]"},
        {"merge without space", [](Vocab &v) { v.merges->push_back("ab"); }, "merges[9]"},
        {"merge ending in space", [](Vocab &v) { v.merges->push_back("a "); }, "merges[9]"},
        {"merge of one space", [](Vocab &v) { v.merges->push_back(" "); }, "merges[9]"},
        {"merge of an unknown token", [](Vocab &v) { v.merges->push_back("a zz"); }, "zz"},
        {"merge making an unknown token", [](Vocab &v) { v.merges->push_back("a b"); }, "'ab'"},
        {"merges missing", [](Vocab &v) { v.merges.reset(); }, "merges"},
        {"bos out of range", [](Vocab &v) { v.bos = 272; }, "bos_token_id"},
        {"eos negative", [](Vocab &v) { v.eos = -7; }, "eos_token_id"},
        {"unk huge", [](Vocab &v) { v.unk = int64_t{1} << 40; }, "unknown_token_id"},
        {"eot out of range", [](Vocab &v) { v.eot = 100000; }, "eot_token_id"},
        {"empty token", [](Vocab &v) { v.tokens[kWorld] = ""; }, "tokens[270]"},
        {"no tokens", [](Vocab &v) { v.tokens.clear(); v.types.clear(); v.merges->clear(); }, "empty"},
        {"bad byte token", [](Vocab &v) { v.tokens[kByteA] = "<0xZZ>"; }, "tokens[267]"},
        {"byte token too long", [](Vocab &v) { v.tokens[kByteA] = "<0x411>"; }, "tokens[267]"},
        {"bos is a string",
         [](Vocab &v) {
             v.bos.reset();
             v.extra = [](GgufBuilder &g) { g.kv_str("tokenizer.ggml.bos_token_id", "1"); };
         },
         "bos_token_id"},
        {"add_bos_token is an integer",
         [](Vocab &v) { v.extra = [](GgufBuilder &g) { g.kv_u32("tokenizer.ggml.add_bos_token", 1); }; },
         "add_bos_token"},
        {"model is an integer",
         [](Vocab &v) {
             v.model.reset();
             v.extra = [](GgufBuilder &g) { g.kv_u32("tokenizer.ggml.model", 2); };
         },
         "tokenizer.ggml.model"},
        {"pre is an integer",
         [](Vocab &v) {
             v.pre.reset();
             v.extra = [](GgufBuilder &g) { g.kv_u32("tokenizer.ggml.pre", 2); };
         },
         "tokenizer.ggml.pre"},
    };
    for (const Case &c : cases) {
        Vocab v = tiny_vocab();
        c.edit(v);
        const auto [st, msg] = build_error(v);
        EXPECT_EQ(st, lola::Status::corrupt_data) << c.what << ": " << msg;
        EXPECT_NE(msg.find(c.in_message), std::string::npos) << c.what << ": " << msg;
    }
    // tokens that are not an array of strings
    {
        Vocab v = tiny_vocab();
        GgufBuilder g;
        g.kv_str("tokenizer.ggml.model", "gpt2");
        lola_test::Bytes b;
        b.u32(1).u32(2);
        g.kv_array("tokenizer.ggml.tokens", lola_test::gguf_type::u32, 2, b);
        g.kv_strings("tokenizer.ggml.merges", {});
        EXPECT_THROW(Tokenizer(*lola::gguf::File::from_memory(g.build())), lola::Error);
    }
    // without token_type every token is normal: still a valid vocabulary
    Vocab v = tiny_vocab();
    v.types.clear();
    auto t = make(v);
    EXPECT_EQ(t->tokenize("<tool>hello", false, true), cat({bytes_of("<tool>"), {kHello}}));
}

TEST(Tokenizer, RandomVocabularyEditsNeverCrash) {
    // Merge lists in random order with repeats, sometimes junk; random single-character tokens
    // turned into control or user-defined tokens. Either the vocabulary is refused as corrupt_data, or every
    // text round-trips exactly (every byte has its token, and merges only join tokens).
    std::mt19937 rng(11);
    const Vocab base = tiny_vocab();
    const char junk[][8] = {"ab", "a zz", "a b", " ", "he", "l  l"};
    const char alphabet[] = "ab l1<|>\xC4\xA0 \nhe2t\xFF";
    int accepted = 0, refused = 0;
    for (int trial = 0; trial < 300; ++trial) {
        Vocab v = base;
        std::vector<std::string> merges;
        for (int k = 0; k < 12; ++k) merges.push_back((*base.merges)[rng() % base.merges->size()]);
        if (rng() % 4 == 0) merges.insert(merges.begin() + rng() % merges.size(), junk[rng() % 6]);
        v.merges = merges;
        // (printable ASCII only: a control token decodes to its text, which for these is the byte)
        for (int k = 0; k < 3; ++k) v.types[33 + rng() % 94] = rng() % 2 ? 3 : 4;
        try {
            auto t = make(v);
            ++accepted;
            std::string s(rng() % 40, '\0');
            for (char &c : s) c = alphabet[rng() % (sizeof alphabet - 1)];
            const Ids ids = t->tokenize(s, true, trial % 2 == 0);
            EXPECT_EQ(t->detokenize(ids.data(), ids.size(), true), s);
        } catch (const lola::Error &e) {
            ++refused;
            EXPECT_EQ(e.status(), lola::Status::corrupt_data) << e.what();
        }
    }
    EXPECT_GT(accepted, 100);
    EXPECT_GT(refused, 10);
}

TEST(Tokenizer, ConcurrentUseGivesIdenticalResults) {
    const auto file = file_of(tiny_vocab("smollm"));
    const Tokenizer shared(*file), reference(*file);
    // many distinct words, so that the BPE cache fills and is cleared while threads use it
    std::mt19937 rng(5);
    std::vector<std::string> texts(64);
    const char alphabet[] = "helo tw12\xC3\xA9";
    for (std::string &s : texts) {
        for (int w = 0; w < 600; ++w) {
            s += " ";
            const int len = 1 + static_cast<int>(rng() % 9);
            for (int i = 0; i < len; ++i) s += alphabet[rng() % (sizeof alphabet - 1)];
        }
    }
    std::vector<Ids> want;
    for (const std::string &s : texts) want.push_back(reference.tokenize(s, true, true));
    std::vector<int> mismatches(4, 0);
    std::vector<std::thread> threads;
    for (int th = 0; th < 4; ++th)
        threads.emplace_back([&, th] {
            for (int round = 0; round < 3; ++round)
                for (size_t i = 0; i < texts.size(); ++i) {
                    const size_t k = (i * 7 + static_cast<size_t>(th) * 13 + static_cast<size_t>(round)) % texts.size();
                    if (shared.tokenize(texts[k], true, true) != want[k]) ++mismatches[static_cast<size_t>(th)];
                }
        });
    for (auto &t : threads) t.join();
    EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

TEST(ChatTemplate, KnownTemplatesRenderExactly) {
    using lola::text::ChatMessage;
    using lola::text::ChatTemplate;
    using lola::text::render_chat;
    const std::vector<ChatMessage> chat = {{"system", "Be brief."}, {"user", "Hi!"}, {"assistant", "Hello."}};
    const std::vector<ChatMessage> no_system = {{"user", "Hi!"}};
    auto kind_of = [](const Vocab &v) { return lola::text::detect_chat_template(*file_of(v)); };

    Vocab v = tiny_vocab();
    EXPECT_EQ(kind_of(v), ChatTemplate::none);
    EXPECT_THROW(render_chat(kind_of(v), chat, true), lola::Error);
    v.chat_template = "{{ messages }} something unknown";
    EXPECT_EQ(kind_of(v), ChatTemplate::none);

    v.chat_template = kChatMLTemplate;
    auto t = kind_of(v);
    EXPECT_EQ(t, ChatTemplate::chatml);
    EXPECT_EQ(render_chat(t, chat, true),
              "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n"
              "<|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>assistant\n");
    EXPECT_EQ(render_chat(t, no_system, false), "<|im_start|>user\nHi!<|im_end|>\n");

    v.chat_template = kSmolLMTemplate;
    t = kind_of(v);
    EXPECT_EQ(t, ChatTemplate::chatml_smollm);
    EXPECT_EQ(render_chat(t, chat, false),
              "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n"
              "<|im_start|>assistant\nHello.<|im_end|>\n");
    EXPECT_EQ(render_chat(t, no_system, true),
              "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
              "Face<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n");
    EXPECT_EQ(render_chat(t, {}, true), "<|im_start|>assistant\n");
    EXPECT_EQ(render_chat(t, {}, false), "");

    v.chat_template = kLlama3Template;
    t = kind_of(v);
    EXPECT_EQ(t, ChatTemplate::llama3);
    EXPECT_EQ(render_chat(t, {{"system", " Be brief.\n"}, {"user", "Hi!"}}, true),
              "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
              "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>"
              "<|start_header_id|>assistant<|end_header_id|>\n\n");
    EXPECT_EQ(render_chat(t, {}, true), "<|start_header_id|>assistant<|end_header_id|>\n\n");
    // `| trim` is Python's str.strip: U+00A0, U+3000, U+2028 ... go too
    EXPECT_EQ(render_chat(t, {{"user", "\xc2\xa0hi\xe3\x80\x80"}}, false),
              "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>");

    // Llama 3.1: a system turn with the cutoff and the fixed date always comes first
    v.chat_template = std::string(kLlama3Template) + "{{- \"Cutting Knowledge Date: December 2023\\n\" }}";
    t = kind_of(v);
    EXPECT_EQ(t, ChatTemplate::llama3_1);
    EXPECT_EQ(render_chat(t, {{"user", "Hi!"}}, true),
              "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge "
              "Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|>"
              "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>"
              "<|start_header_id|>assistant<|end_header_id|>\n\n");
    EXPECT_THROW(render_chat(t, {{"tool", "42"}}, true), lola::Error);

    // Llama 3.2: the same with today's date (strftime_now("%d %b %Y"))
    v.chat_template = *v.chat_template + "{{- strftime_now(\"%d %b %Y\") }}";
    t = kind_of(v);
    EXPECT_EQ(t, ChatTemplate::llama3_2);
    const std::string rendered = render_chat(t, {{"system", "Be brief."}}, false);
    const std::time_t now = std::time(nullptr);
    std::tm local{};
    localtime_r(&now, &local);
    char today[32];
    std::strftime(today, sizeof today, "%d %b %Y", &local);
    EXPECT_EQ(rendered, "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge "
                        "Date: December 2023\nToday Date: " + std::string(today) + "\n\nBe brief.<|eot_id|>")
        << "(fails only if the date changed during the test)";
}

// ---- the C API ----------------------------------------------------------------------------------

namespace {

std::string temp_path(const std::string &name) {
    return (std::filesystem::temp_directory_path() /
            ("lola_test_tok_" + std::to_string(::getpid()) + "_" + name))
        .string();
}

// A one-layer random Llama (F32) with `rows` embedding rows and the given vocabulary keys.
std::string write_model(const std::string &name, const Vocab *vocab, uint64_t rows) {
    GgufBuilder g;
    g.kv_str("general.architecture", "llama").kv_str("general.name", "tiny tokenizer llama");
    g.kv_u32("llama.context_length", 256).kv_u32("llama.embedding_length", 8);
    g.kv_u32("llama.block_count", 1).kv_u32("llama.feed_forward_length", 16);
    g.kv_u32("llama.attention.head_count", 2).kv_u32("llama.attention.head_count_kv", 1);
    g.kv_f32("llama.attention.layer_norm_rms_epsilon", 1e-5f).kv_f32("llama.rope.freq_base", 10000.f);
    if (vocab) vocab->add_to(g);
    const uint64_t E = 8, F = 16, hd = 4;
    g.tensor("token_embd.weight", {E, rows});
    g.tensor("output_norm.weight", {E});
    g.tensor("blk.0.attn_norm.weight", {E});
    g.tensor("blk.0.attn_q.weight", {E, 2 * hd});
    g.tensor("blk.0.attn_k.weight", {E, hd});
    g.tensor("blk.0.attn_v.weight", {E, hd});
    g.tensor("blk.0.attn_output.weight", {2 * hd, E});
    g.tensor("blk.0.ffn_norm.weight", {E});
    g.tensor("blk.0.ffn_gate.weight", {E, F});
    g.tensor("blk.0.ffn_up.weight", {E, F});
    g.tensor("blk.0.ffn_down.weight", {F, E});
    size_t start = 0;
    std::vector<uint8_t> bytes = g.build(&start);
    const std::vector<uint64_t> offsets = g.offsets();
    for (size_t i = 0; i < g.tensors.size(); ++i) {
        uint64_t n = 1;
        for (uint64_t d : g.tensors[i].dims) n *= d;
        for (uint64_t j = 0; j < n; ++j) {
            const float x = g.tensors[i].dims.size() == 1 ? 1.f : 0.02f * static_cast<float>(static_cast<int>((i * 31 + j * 7) % 13) - 6);
            std::memcpy(bytes.data() + start + offsets[i] + 4 * j, &x, 4);
        }
    }
    const std::string path = temp_path(name);
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char *>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    return path;
}

lola_model *load(const std::string &path) {
    lola_model_params mp;
    EXPECT_EQ(lola_model_params_init(&mp), LOLA_OK);
    lola_model *m = nullptr;
    EXPECT_EQ(lola_model_load(path.c_str(), &mp, &m), LOLA_OK) << lola_last_error_message();
    std::filesystem::remove(path);
    return m;
}

struct TextCapi : testing::Test {
    void SetUp() override {
        Vocab v = tiny_vocab("smollm");
        v.chat_template = kSmolLMTemplate;
        model_ = load(write_model("vocab.gguf", &v, 272));
        ASSERT_NE(model_, nullptr);
    }
    void TearDown() override { lola_model_free(model_); }

    Ids tokenize(const std::string &s, uint32_t flags) const {
        size_t n = 0;
        EXPECT_EQ(lola_tokenize(model_, s.data(), s.size(), flags, nullptr, 0, &n), LOLA_OK)
            << lola_last_error_message();
        Ids out(n);
        EXPECT_EQ(lola_tokenize(model_, s.data(), s.size(), flags, out.data(), out.size(), &n), LOLA_OK);
        EXPECT_EQ(n, out.size());
        return out;
    }

    lola_model *model_ = nullptr;
};

}  // namespace

TEST_F(TextCapi, TokenizeSizeQueryAndSmallBuffers) {
    const std::string s = "<|im_start|>hello the 12<|im_end|>";
    EXPECT_EQ(tokenize(s, LOLA_TOKENIZE_PARSE_SPECIAL), (Ids{kImStart, kHello, kThe, ' ', '1', '2', kImEnd}));
    // plain text: 12 + 10 byte tokens for the markers, hello, " the", " ", 1, 2
    EXPECT_EQ(tokenize(s, 0).size(), 27u);
    EXPECT_EQ(tokenize("hello", LOLA_TOKENIZE_ADD_SPECIAL), (Ids{kHello}));  // add_bos_token absent

    size_t n = 99;
    Ids buf(6, -5);
    EXPECT_EQ(lola_tokenize(model_, s.data(), s.size(), LOLA_TOKENIZE_PARSE_SPECIAL, buf.data(), 6, &n),
              LOLA_ERR_BUFFER_TOO_SMALL);
    EXPECT_EQ(n, 7u);
    EXPECT_EQ(buf, Ids(6, -5));  // nothing written
    EXPECT_NE(std::string(lola_last_error_message()).find("capacity 6"), std::string::npos);
    EXPECT_EQ(lola_tokenize(model_, s.data(), s.size(), LOLA_TOKENIZE_PARSE_SPECIAL, nullptr, 3, &n),
              LOLA_ERR_NULL_POINTER);
    EXPECT_EQ(lola_tokenize(model_, nullptr, 0, 0, nullptr, 0, &n), LOLA_OK);
    EXPECT_EQ(n, 0u);
    EXPECT_EQ(lola_tokenize(model_, nullptr, 3, 0, nullptr, 0, &n), LOLA_ERR_NULL_POINTER);
    EXPECT_EQ(lola_tokenize(model_, "a", 1, 4, nullptr, 0, &n), LOLA_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(lola_tokenize(nullptr, "a", 1, 0, nullptr, 0, &n), LOLA_ERR_NULL_HANDLE);
    EXPECT_EQ(lola_tokenize(model_, "a", 1, 0, nullptr, 0, nullptr), LOLA_ERR_NULL_POINTER);
    // text with NUL bytes and invalid UTF-8 is taken as it is
    const std::string odd("a\0\xFF" "b", 4);
    EXPECT_EQ(tokenize(odd, 0), (Ids{'a', 0, 0xFF, 'b'}));
}

TEST_F(TextCapi, DetokenizeAndPieces) {
    const Ids ids = {kImStart, kHello, kThe, kByteA, kImEnd};
    size_t n = 0;
    ASSERT_EQ(lola_detokenize(model_, ids.data(), ids.size(), 0, nullptr, 0, &n), LOLA_OK);
    EXPECT_EQ(n, 10u);
    std::string out(n, '#');
    ASSERT_EQ(lola_detokenize(model_, ids.data(), ids.size(), 0, out.data(), out.size(), &n), LOLA_OK);
    EXPECT_EQ(out, "hello theA");
    ASSERT_EQ(lola_detokenize(model_, ids.data(), ids.size(), LOLA_DETOKENIZE_SPECIAL, nullptr, 0, &n), LOLA_OK);
    out.assign(n, '#');
    ASSERT_EQ(lola_detokenize(model_, ids.data(), ids.size(), LOLA_DETOKENIZE_SPECIAL, out.data(), out.size(), &n), LOLA_OK);
    EXPECT_EQ(out, "<|im_start|>hello theA<|im_end|>");
    std::string small(5, '#');
    EXPECT_EQ(lola_detokenize(model_, ids.data(), ids.size(), 0, small.data(), small.size(), &n),
              LOLA_ERR_BUFFER_TOO_SMALL);
    EXPECT_EQ(n, 10u);
    EXPECT_EQ(small, "#####");
    const Ids bad = {kHello, 272};
    EXPECT_EQ(lola_detokenize(model_, bad.data(), bad.size(), 0, nullptr, 0, &n), LOLA_ERR_INVALID_ARGUMENT);
    const Ids negative = {-1};
    EXPECT_EQ(lola_detokenize(model_, negative.data(), 1, 0, nullptr, 0, &n), LOLA_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(lola_detokenize(model_, nullptr, 2, 0, nullptr, 0, &n), LOLA_ERR_NULL_POINTER);
    EXPECT_EQ(lola_detokenize(model_, nullptr, 0, 0, nullptr, 0, &n), LOLA_OK);
    EXPECT_EQ(n, 0u);
    EXPECT_EQ(lola_detokenize(model_, ids.data(), ids.size(), 2, nullptr, 0, &n), LOLA_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(lola_detokenize(model_, ids.data(), ids.size(), 0, nullptr, 4, &n), LOLA_ERR_NULL_POINTER);

    char piece[16];
    ASSERT_EQ(lola_token_to_piece(model_, kThe, 0, piece, sizeof piece, &n), LOLA_OK);
    EXPECT_EQ(std::string(piece, n), " the");
    ASSERT_EQ(lola_token_to_piece(model_, kImEnd, 0, piece, sizeof piece, &n), LOLA_OK);
    EXPECT_EQ(n, 0u);
    ASSERT_EQ(lola_token_to_piece(model_, kImEnd, LOLA_DETOKENIZE_SPECIAL, nullptr, 0, &n), LOLA_OK);
    EXPECT_EQ(n, 10u);
    EXPECT_EQ(lola_token_to_piece(model_, kImEnd, LOLA_DETOKENIZE_SPECIAL, piece, 9, &n), LOLA_ERR_BUFFER_TOO_SMALL);
    EXPECT_EQ(n, 10u);
    EXPECT_EQ(lola_token_to_piece(model_, 272, 0, piece, sizeof piece, &n), LOLA_ERR_INVALID_ARGUMENT);
    // a piece may end inside a UTF-8 character; the pieces join to the text
    const std::string text = "h\xC3\xA9llo \xF0\x9F\x98\x80";
    const Ids t = tokenize(text, 0);
    std::string joined;
    for (int32_t id : t) {
        ASSERT_EQ(lola_token_to_piece(model_, id, 0, piece, sizeof piece, &n), LOLA_OK);
        joined.append(piece, n);
    }
    EXPECT_EQ(joined, text);
}

TEST_F(TextCapi, SpecialTokensAndEndOfGeneration) {
    lola_special_tokens st;
    st.struct_size = sizeof st;
    ASSERT_EQ(lola_model_special_tokens(model_, &st), LOLA_OK);
    EXPECT_EQ(st.bos, kImStart);
    EXPECT_EQ(st.eos, kImEnd);
    EXPECT_EQ(st.eot, kImEnd);
    EXPECT_EQ(st.unk, -1);
    EXPECT_EQ(st.pad, kEndOfText);
    st.struct_size = 8;
    EXPECT_EQ(lola_model_special_tokens(model_, &st), LOLA_ERR_VERSION_MISMATCH);
    EXPECT_EQ(lola_model_special_tokens(model_, nullptr), LOLA_ERR_NULL_POINTER);
    EXPECT_EQ(lola_model_special_tokens(nullptr, &st), LOLA_ERR_NULL_HANDLE);
    EXPECT_TRUE(lola_token_is_eog(model_, kImEnd));
    EXPECT_TRUE(lola_token_is_eog(model_, kEndOfText));
    EXPECT_FALSE(lola_token_is_eog(model_, kImStart));
    EXPECT_FALSE(lola_token_is_eog(model_, kHello));
    EXPECT_FALSE(lola_token_is_eog(model_, -3));
    EXPECT_FALSE(lola_token_is_eog(model_, 1 << 30));
    EXPECT_FALSE(lola_token_is_eog(nullptr, kImEnd));
}

TEST_F(TextCapi, ChatTemplate) {
    const lola_chat_message msgs[] = {{"user", "Hi!"}, {"assistant", "Hello."}};
    const std::string want =
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face"
        "<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\nHello.<|im_end|>\n"
        "<|im_start|>assistant\n";
    size_t n = 0;
    ASSERT_EQ(lola_chat_apply_template(model_, msgs, 2, true, nullptr, 0, &n), LOLA_OK);
    EXPECT_EQ(n, want.size());
    std::vector<char> buf(n + 1, '#');
    EXPECT_EQ(lola_chat_apply_template(model_, msgs, 2, true, buf.data(), n, &n), LOLA_ERR_BUFFER_TOO_SMALL);
    EXPECT_EQ(n, want.size());
    EXPECT_EQ(buf[0], '#');
    ASSERT_EQ(lola_chat_apply_template(model_, msgs, 2, true, buf.data(), buf.size(), &n), LOLA_OK);
    EXPECT_EQ(std::string(buf.data()), want);  // NUL-terminated
    EXPECT_EQ(lola_chat_apply_template(model_, nullptr, 0, true, nullptr, 0, &n), LOLA_OK);
    EXPECT_EQ(n, std::strlen("<|im_start|>assistant\n"));
    EXPECT_EQ(lola_chat_apply_template(model_, nullptr, 1, true, nullptr, 0, &n), LOLA_ERR_NULL_POINTER);
    const lola_chat_message bad[] = {{"user", nullptr}};
    EXPECT_EQ(lola_chat_apply_template(model_, bad, 1, true, nullptr, 0, &n), LOLA_ERR_NULL_POINTER);
    EXPECT_NE(std::string(lola_last_error_message()).find("messages[0].content"), std::string::npos);
    // the rendered chat tokenizes with its markers as special tokens
    const Ids ids = tokenize(want, LOLA_TOKENIZE_PARSE_SPECIAL);
    EXPECT_EQ(ids.front(), kImStart);
    EXPECT_EQ(ids.back(), '\n');
}

TEST(TextCapiModels, ModelsWithoutAUsableTokenizerStillLoad) {
    struct Case {
        const char *name;
        std::optional<Vocab> vocab;
        uint64_t rows;
        const char *reason;
    };
    Vocab spm = tiny_vocab();
    spm.model = "llama";
    Vocab broken = tiny_vocab();
    broken.types.pop_back();
    const std::vector<Case> cases = {
        {"none", std::nullopt, 272, "tokenizer.ggml.model"},
        {"spm", spm, 272, "SentencePiece"},
        {"broken", broken, 272, "token_type"},
        {"too_many_tokens", tiny_vocab(), 200, "vocabulary has 272 tokens"},
    };
    for (const Case &c : cases) {
        lola_model *m = load(write_model(std::string(c.name) + ".gguf", c.vocab ? &*c.vocab : nullptr, c.rows));
        ASSERT_NE(m, nullptr) << c.name;
        size_t n = 0;
        EXPECT_EQ(lola_tokenize(m, "hi", 2, 0, nullptr, 0, &n), LOLA_ERR_UNSUPPORTED) << c.name;
        EXPECT_NE(std::string(lola_last_error_message()).find(c.reason), std::string::npos)
            << c.name << ": " << lola_last_error_message();
        const int32_t t = 1;
        EXPECT_EQ(lola_detokenize(m, &t, 1, 0, nullptr, 0, &n), LOLA_ERR_UNSUPPORTED);
        EXPECT_EQ(lola_token_to_piece(m, 1, 0, nullptr, 0, &n), LOLA_ERR_UNSUPPORTED);
        const lola_chat_message msg = {"user", "hi"};
        EXPECT_EQ(lola_chat_apply_template(m, &msg, 1, true, nullptr, 0, &n), LOLA_ERR_UNSUPPORTED);
        lola_special_tokens st;
        st.struct_size = sizeof st;
        ASSERT_EQ(lola_model_special_tokens(m, &st), LOLA_OK);
        EXPECT_EQ(st.bos, -1);
        EXPECT_EQ(st.eos, -1);
        EXPECT_EQ(st.eot, -1);
        EXPECT_FALSE(lola_token_is_eog(m, 2));
        // the model itself works
        lola_test::ContextSpec cp;
        lola_context *ctx = nullptr;
        ASSERT_EQ(lola_context_create(m, &cp.p, &ctx), LOLA_OK) << lola_last_error_message();
        EXPECT_EQ(lola_context_feed(ctx, &t, 1, 0, nullptr), LOLA_OK) << lola_last_error_message();
        lola_context_free(ctx);
        lola_model_free(m);
    }
}

TEST(TextCapiModels, OneModelTokenizesFromFourThreads) {
    const Vocab v = tiny_vocab("smollm");
    lola_model *shared = load(write_model("shared.gguf", &v, 272));
    lola_model *reference = load(write_model("reference.gguf", &v, 272));
    ASSERT_TRUE(shared && reference);
    std::mt19937 rng(9);
    std::vector<std::string> texts(48);
    const char alphabet[] = "hello the 12 <|im_end|>\xC3\xA9\xFF\n\t";
    for (std::string &s : texts)
        for (int i = 0; i < 3000; ++i) s += alphabet[rng() % (sizeof alphabet - 1)];
    auto run = [](const lola_model *m, const std::string &s) {
        size_t n = 0;
        if (lola_tokenize(m, s.data(), s.size(), LOLA_TOKENIZE_PARSE_SPECIAL, nullptr, 0, &n) != LOLA_OK) return Ids{-1};
        Ids out(n);
        if (lola_tokenize(m, s.data(), s.size(), LOLA_TOKENIZE_PARSE_SPECIAL, out.data(), n, &n) != LOLA_OK) return Ids{-2};
        std::string back(s.size() * 2, '\0');
        size_t len = 0;
        if (lola_detokenize(m, out.data(), out.size(), LOLA_DETOKENIZE_SPECIAL, back.data(), back.size(), &len) != LOLA_OK ||
            back.substr(0, len) != s)
            return Ids{-3};
        return out;
    };
    std::vector<Ids> want;
    for (const std::string &s : texts) want.push_back(run(reference, s));
    std::vector<int> bad(4, 0);
    std::vector<std::thread> threads;
    for (int th = 0; th < 4; ++th)
        threads.emplace_back([&, th] {
            for (size_t i = 0; i < texts.size(); ++i) {
                const size_t k = (i + static_cast<size_t>(th) * 11) % texts.size();
                if (run(shared, texts[k]) != want[k]) ++bad[static_cast<size_t>(th)];
            }
        });
    for (auto &t : threads) t.join();
    EXPECT_EQ(bad, std::vector<int>(4, 0));
    for (const Ids &w : want) EXPECT_GT(w.size(), 1u);
    lola_model_free(shared);
    lola_model_free(reference);
}
