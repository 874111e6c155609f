// fuzz_gguf.cpp: any bytes given to the GGUF reader are parsed or refused with
// Error(corrupt_data); a file that parses is described and then loaded as a model, which may also
// refuse it with a lola::Error. Any other exception, crash, sanitizer report, allocation above
// -malloc_limit_mb or hang is a finding.
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <vector>

#include "gguf/gguf.hpp"
#include "base/error.hpp"
#include "model/llama_model.hpp"
#include "text/tokenizer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    std::unique_ptr<lola::gguf::File> file;
    try {
        file = lola::gguf::File::from_memory(std::vector<uint8_t>(data, data + size));
    } catch (const lola::Error &e) {
        if (e.status() != lola::Status::corrupt_data) {
            std::fprintf(stderr, "parse refused with status %d: %s\n", static_cast<int>(e.status()), e.what());
            std::abort();
        }
        return 0;
    }
    // A parsed file: every tensor lies inside it.
    for (const lola::gguf::TensorInfo &t : file->tensors())
        if (file->data_offset() + t.offset + t.n_bytes > file->size() || !t.data) std::abort();
    (void)file->describe();
    try {
        const auto model = lola::model::Model::from_file(std::move(file));
        if (const lola::text::Tokenizer *tok = model->tokenizer()) {
            const std::vector<int32_t> ids = tok->tokenize("Hello, world 123 <|im_end|>", true, true);
            for (int32_t id : ids)
                if (id < 0 || static_cast<size_t>(id) >= tok->n_tokens()) std::abort();
            (void)tok->detokenize(ids.data(), ids.size(), true);
        }
        std::vector<float> row(static_cast<size_t>(model->hparams().n_embd));
        model->embed(static_cast<int32_t>(model->hparams().n_vocab - 1), row.data());
    } catch (const lola::Error &) {
        // refused with a status and a message: the promised behaviour
    }
    return 0;
}
