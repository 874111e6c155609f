// chat_template.hpp: the chat templates liblola knows (ChatML as SmolLM2 uses it, Llama 3,
// Llama 3.1 / 3.2), recognised by marker strings in a GGUF's tokenizer.chat_template and
// rendered by hard-coded rules that give the template's exact output; the Jinja text of the
// file is never executed. Apart from the tokenizer: a model can have a vocabulary and no
// template, and rendering gives text, which the tokenizer then turns into ids (the markers are
// the vocabulary's special tokens, so tokenize with parse_special).
//
// Recognition, first rule that applies:
//   contains <|im_start|>          chatml, or chatml_smollm when it also holds SmolLM2's default
//                                  system message
//   contains <|start_header_id|>   llama3, or llama3_1 when it holds "Cutting Knowledge Date",
//                                  llama3_2 when it also calls strftime_now
//   otherwise (or no string)       none
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace lola::gguf {
class File;
}

namespace lola::text {

enum class ChatTemplate {
    none,           // no template, or one liblola does not know
    chatml,         // <|im_start|>{role}\n{content}<|im_end|>\n
    chatml_smollm,  // ChatML with SmolLM2's default system message
    llama3,         // <|start_header_id|>{role}<|end_header_id|>\n\n{content}<|eot_id|>
    llama3_1,       // Llama 3.1: llama3 after a system turn that always opens with
                    // "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n"
    llama3_2,       // Llama 3.2: llama3_1 with today's date (strftime_now("%d %b %Y"))
};

struct ChatMessage {
    std::string_view role, content;
};

// The kind of a template text (see Recognition above).
ChatTemplate detect_chat_template(std::string_view template_text);
// The kind of the file's tokenizer.chat_template; none when the key is absent or not a string.
ChatTemplate detect_chat_template(const gguf::File &file);

// Renders messages as the template does; add_assistant appends the assistant prompt (the
// template's add_generation_prompt). Error(unsupported) for `none` and for the tool messages
// (roles tool, ipython) of the Llama 3.1 / 3.2 templates.
std::string render_chat(ChatTemplate kind, const std::vector<ChatMessage> &messages,
                        bool add_assistant);

}  // namespace lola::text
