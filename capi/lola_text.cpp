// lola_text.cpp: the text part of the C API: tokenize, detokenize, special tokens (over the
// model's core/text tokenizer) and chat templates (core/text/chat_template, recognised in the
// model's GGUF at each call).
#include <cstring>
#include <string>
#include <vector>

#include "boundary.hpp"
#include "struct_versions.hpp"
#include "handles.hpp"
#include "lola.h"
#include "text/chat_template.hpp"
#include "text/tokenizer.hpp"

namespace {

using namespace lola::capi;

// The model's tokenizer; LOLA_ERR_UNSUPPORTED with the reason when it has none.
const lola::text::Tokenizer &tokenizer_of(const lola_model *model) {
    require_handle(model, "model");
    const lola::text::Tokenizer *t = model->impl->tokenizer();
    if (!t) fail(LOLA_ERR_UNSUPPORTED, "the model has no tokenizer liblola can use: " +
                                           model->impl->tokenizer_error());
    return *t;
}

void check_flags(uint32_t flags, uint32_t known) {
    if (flags & ~known) fail(LOLA_ERR_INVALID_ARGUMENT, "unknown flags " + std::to_string(flags));
}

// The size-query convention of the byte outputs: *len = bytes; a NULL buffer with capacity 0
// only asks; `nul` adds a terminating NUL that the capacity must hold too.
lola_status copy_bytes(const std::string &s, char *buf, size_t capacity, size_t *len, bool nul,
                       const char *name) {
    *len = s.size();
    if (!buf) {
        if (capacity != 0)
            fail(LOLA_ERR_NULL_POINTER, std::string(name) + " is NULL with a non-zero capacity");
        return LOLA_OK;
    }
    const size_t need = s.size() + (nul ? 1 : 0);
    if (capacity < need)
        fail(LOLA_ERR_BUFFER_TOO_SMALL, "capacity " + std::to_string(capacity) + " < " +
                                            std::to_string(need) + " bytes");
    if (!s.empty()) std::memcpy(buf, s.data(), s.size());
    if (nul) buf[s.size()] = '\0';
    return LOLA_OK;
}

}  // namespace

extern "C" {

lola_status lola_tokenize(const lola_model *model, const char *text, size_t text_len,
                          uint32_t flags, int32_t *tokens, size_t capacity, size_t *n_tokens) {
    if (n_tokens) *n_tokens = 0;
    return guard(__func__, [&] {
        require_handle(model, "model");
        require_pointer(n_tokens, "n_tokens");
        if (text_len != 0) require_pointer(text, "text");
        check_flags(flags, LOLA_TOKENIZE_ADD_SPECIAL | LOLA_TOKENIZE_PARSE_SPECIAL);
        if (!tokens && capacity != 0) fail(LOLA_ERR_NULL_POINTER, "tokens is NULL with a non-zero capacity");
        const lola::text::Tokenizer &tok = tokenizer_of(model);
        const std::vector<int32_t> ids =
            tok.tokenize(std::string_view(text_len ? text : "", text_len),
                         (flags & LOLA_TOKENIZE_ADD_SPECIAL) != 0,
                         (flags & LOLA_TOKENIZE_PARSE_SPECIAL) != 0);
        *n_tokens = ids.size();
        if (!tokens) return LOLA_OK;
        if (capacity < ids.size())
            fail(LOLA_ERR_BUFFER_TOO_SMALL, "capacity " + std::to_string(capacity) + " < " +
                                                std::to_string(ids.size()) + " tokens");
        if (!ids.empty()) std::memcpy(tokens, ids.data(), ids.size() * sizeof(int32_t));
        return LOLA_OK;
    });
}

lola_status lola_detokenize(const lola_model *model, const int32_t *tokens, size_t n_tokens,
                            uint32_t flags, char *text, size_t capacity, size_t *text_len) {
    if (text_len) *text_len = 0;
    return guard(__func__, [&] {
        require_handle(model, "model");
        require_pointer(text_len, "text_len");
        if (n_tokens != 0) require_pointer(tokens, "tokens");
        check_flags(flags, LOLA_DETOKENIZE_SPECIAL);
        const lola::text::Tokenizer &tok = tokenizer_of(model);
        const std::string s = tok.detokenize(tokens, n_tokens, (flags & LOLA_DETOKENIZE_SPECIAL) != 0);
        return copy_bytes(s, text, capacity, text_len, false, "text");
    });
}

lola_status lola_token_to_piece(const lola_model *model, int32_t token, uint32_t flags,
                                char *piece, size_t capacity, size_t *piece_len) {
    if (piece_len) *piece_len = 0;
    return guard(__func__, [&] {
        require_handle(model, "model");
        require_pointer(piece_len, "piece_len");
        check_flags(flags, LOLA_DETOKENIZE_SPECIAL);
        const lola::text::Tokenizer &tok = tokenizer_of(model);
        std::string s;
        tok.append_piece(token, (flags & LOLA_DETOKENIZE_SPECIAL) != 0, s);
        return copy_bytes(s, piece, capacity, piece_len, false, "piece");
    });
}

lola_status lola_model_special_tokens(const lola_model *model, lola_special_tokens *out) {
    return guard(__func__, [&] {
        require_handle(model, "model");
        require_struct(out, "out");
        lola::text::SpecialTokens s;  // all -1 when the model has no tokenizer
        if (const lola::text::Tokenizer *t = model->impl->tokenizer()) s = t->special();
        lola_special_tokens v{};
        v.bos = s.bos;
        v.eos = s.eos;
        v.eot = s.eot;
        v.unk = s.unk;
        v.pad = s.pad;
        write_struct(out, "out", v);
        return LOLA_OK;
    });
}

bool lola_token_is_eog(const lola_model *model, int32_t token) {
    if (!model) return false;
    const lola::text::Tokenizer *t = model->impl->tokenizer();
    return t && t->is_eog(token);
}

lola_status lola_chat_apply_template(const lola_model *model, const lola_chat_message *messages,
                                     size_t n_messages, bool add_assistant, char *text,
                                     size_t capacity, size_t *text_len) {
    if (text_len) *text_len = 0;
    return guard(__func__, [&] {
        require_handle(model, "model");
        require_pointer(text_len, "text_len");
        if (n_messages != 0) require_pointer(messages, "messages");
        std::vector<lola::text::ChatMessage> ms;
        ms.reserve(n_messages);
        for (size_t i = 0; i < n_messages; ++i) {
            const std::string at = "messages[" + std::to_string(i) + "]";
            require_pointer(messages[i].role, (at + ".role").c_str());
            require_pointer(messages[i].content, (at + ".content").c_str());
            ms.push_back({messages[i].role, messages[i].content});
        }
        tokenizer_of(model);  // a model without a usable tokenizer has no chat either
        const std::string s = lola::text::render_chat(
            lola::text::detect_chat_template(model->impl->file()), ms, add_assistant);
        return copy_bytes(s, text, capacity, text_len, true, "text");
    });
}

}  // extern "C"
