// lola_make_test_model OUT.gguf [ADAPTER.gguf]: writes the language bindings' test model
// (tests/support/vocab_llama.hpp): a tiny random Llama, 2 layers, 4 query / 2 KV heads, 97 tokens
// of an ASCII byte-level vocabulary with "<|endoftext|>" (id 96) as EOS; and, when asked, a LoLA
// adapter for it (tests/support/tiny_adapter.hpp: F = 8, C = 4, lambda = 3, mixing lolcats),
// made for the model's fingerprint. Deterministic: same bytes every run.
#include <cstdio>
#include <fstream>

#include "base/error.hpp"
#include "model/llama_model.hpp"
#include "tiny_adapter.hpp"
#include "vocab_llama.hpp"

int main(int argc, char **argv) {
    if (argc != 2 && argc != 3) {
        std::fprintf(stderr, "usage: %s OUT.gguf [ADAPTER.gguf]\n", argv[0]);
        return 2;
    }
    lola_test::write_vocab_llama(argv[1], lola_test::ascii_vocab_text, lola_test::ascii_vocab_eos);
    if (!std::ifstream(argv[1]).good()) {
        std::fprintf(stderr, "%s: could not write %s\n", argv[0], argv[1]);
        return 1;
    }
    if (argc == 3) {
        try {
            lola_test::TinyAdapter a;
            a.base_fingerprint = lola::model::Model::load(argv[1])->fingerprint();
            a.write(argv[2]);
            lola::model::Model::load(argv[1], argv[2]);  // it must load
        } catch (const lola::Error &e) {
            std::fprintf(stderr, "%s: the adapter %s: %s\n", argv[0], argv[2], e.what());
            return 1;
        }
    }
    return 0;
}
