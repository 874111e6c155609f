// chat_template.cpp: recognition and rendering of the chat templates liblola knows (see
// chat_template.hpp); each render_* function writes what its Jinja template outputs.
#include "text/chat_template.hpp"

#include <ctime>

#include "base/error.hpp"
#include "gguf/gguf.hpp"
#include "text/utf8.hpp"

namespace lola::text {

namespace {

const char *const kSmolLMSystem = "You are a helpful AI assistant named SmolLM, trained by Hugging Face";

// Python's str.isspace(): what jinja2's `trim` filter (str.strip) removes in the templates.
bool python_space(uint32_t cp) {
    return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 ||
           cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 ||
           cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

// s without leading and trailing Python whitespace; invalid UTF-8 bytes are kept.
std::string_view trim_python_space(std::string_view s) {
    const auto *p = reinterpret_cast<const unsigned char *>(s.data());
    size_t b = 0, e = 0;
    bool found = false;
    for (size_t i = 0; i < s.size();) {
        const size_t len = utf8_len(p + i, s.size() - i);
        const size_t step = len ? len : 1;
        if (len == 0 || !python_space(utf8_decode(p + i, len))) {
            if (!found) b = i;
            found = true;
            e = i + step;
        }
        i += step;
    }
    return found ? s.substr(b, e - b) : std::string_view{};
}

// <|im_start|>{role}\n: the opening of a ChatML turn (and, for "assistant", the prompt).
void open_chatml_turn(std::string &out, std::string_view role) {
    out += "<|im_start|>";
    out += role;
    out += '\n';
}

// <|start_header_id|>{role}<|end_header_id|>\n\n: the opening of a Llama 3 turn.
void open_llama3_turn(std::string &out, std::string_view role) {
    out += "<|start_header_id|>";
    out += role;
    out += "<|end_header_id|>\n\n";
}

// A whole Llama 3 turn: `message['content'] | trim` (Python's str.strip, Unicode spaces too).
void append_llama3_turn(std::string &out, const ChatMessage &m) {
    open_llama3_turn(out, m.role);
    out += trim_python_space(m.content);
    out += "<|eot_id|>";
}

// ChatML; SmolLM2's template adds its default system turn
// ({% if loop.first and messages[0]['role'] != 'system' %}) before a chat without one.
std::string render_chatml(bool smollm, const std::vector<ChatMessage> &messages,
                          bool add_assistant) {
    std::string out;
    if (smollm && !messages.empty() && messages[0].role != "system") {
        open_chatml_turn(out, "system");
        out += kSmolLMSystem;
        out += "<|im_end|>\n";
    }
    for (const ChatMessage &m : messages) {
        open_chatml_turn(out, m.role);
        out += m.content;
        out += "<|im_end|>\n";
    }
    if (add_assistant) open_chatml_turn(out, "assistant");
    return out;
}

// Llama 3: the BOS text before the first message (none without messages).
std::string render_llama3(const std::vector<ChatMessage> &messages, bool add_assistant) {
    std::string out;
    if (!messages.empty()) out += "<|begin_of_text|>";
    for (const ChatMessage &m : messages) append_llama3_turn(out, m);
    if (add_assistant) open_llama3_turn(out, "assistant");
    return out;
}

// Llama 3.1 / 3.2, the template's output without tools: BOS, then a system turn with the cutoff,
// the date (date_string: "26 Jul 2024", or today with Llama 3.2's strftime_now, as transformers
// renders it) and the first message's trimmed content when its role is system.
std::string render_llama3_1(bool date_today, const std::vector<ChatMessage> &messages,
                            bool add_assistant) {
    char date[32] = "26 Jul 2024";
    if (date_today) {
        const std::time_t now = std::time(nullptr);
        std::tm local{};
        localtime_r(&now, &local);
        std::strftime(date, sizeof date, "%d %b %Y", &local);
    }
    size_t first = 0;
    std::string_view system;
    if (!messages.empty() && messages[0].role == "system") system = messages[first++].content;
    std::string out = "<|begin_of_text|>";
    open_llama3_turn(out, "system");
    out += "Cutting Knowledge Date: December 2023\nToday Date: ";
    out += date;
    out += "\n\n";
    out += trim_python_space(system);
    out += "<|eot_id|>";
    for (size_t i = first; i < messages.size(); ++i) {
        const ChatMessage &m = messages[i];
        if (m.role == "tool" || m.role == "ipython")
            fail(Status::unsupported, "the Llama 3.1 template's tool messages (role '" +
                                          std::string(m.role) + "') are not supported");
        append_llama3_turn(out, m);
    }
    if (add_assistant) open_llama3_turn(out, "assistant");
    return out;
}

}  // namespace

ChatTemplate detect_chat_template(std::string_view t) {
    constexpr auto npos = std::string_view::npos;
    if (t.find("<|im_start|>") != npos)
        return t.find(kSmolLMSystem) != npos ? ChatTemplate::chatml_smollm : ChatTemplate::chatml;
    if (t.find("<|start_header_id|>") != npos) {
        if (t.find("Cutting Knowledge Date") == npos) return ChatTemplate::llama3;
        return t.find("strftime_now") != npos ? ChatTemplate::llama3_2 : ChatTemplate::llama3_1;
    }
    return ChatTemplate::none;
}

ChatTemplate detect_chat_template(const gguf::File &file) {
    const gguf::Value *v = file.find("tokenizer.chat_template");
    if (!v || !v->is_string()) return ChatTemplate::none;
    return detect_chat_template(*v->as_string());
}

std::string render_chat(ChatTemplate kind, const std::vector<ChatMessage> &messages,
                        bool add_assistant) {
    switch (kind) {
    case ChatTemplate::none:
        fail(Status::unsupported, "the model has no chat template liblola knows (ChatML as "
                                  "SmolLM2 uses it, Llama 3)");
    case ChatTemplate::chatml: return render_chatml(false, messages, add_assistant);
    case ChatTemplate::chatml_smollm: return render_chatml(true, messages, add_assistant);
    case ChatTemplate::llama3: return render_llama3(messages, add_assistant);
    case ChatTemplate::llama3_1: return render_llama3_1(false, messages, add_assistant);
    case ChatTemplate::llama3_2: return render_llama3_1(true, messages, add_assistant);
    }
    fail(Status::internal, "unknown chat template");
}

}  // namespace lola::text
