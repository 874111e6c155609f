// lola_make_test_model OUT.gguf: writes the language bindings' test model (tests/support/
// vocab_llama.hpp): a tiny random Llama, 2 layers, 4 query / 2 KV heads, 97 tokens of an ASCII
// byte-level vocabulary with "<|endoftext|>" (id 96) as EOS. Deterministic: same bytes every run.
#include <cstdio>
#include <fstream>

#include "vocab_llama.hpp"

int main(int argc, char **argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s OUT.gguf\n", argv[0]);
        return 2;
    }
    lola_test::write_vocab_llama(argv[1], lola_test::ascii_vocab_text, lola_test::ascii_vocab_eos);
    if (!std::ifstream(argv[1]).good()) {
        std::fprintf(stderr, "%s: could not write %s\n", argv[0], argv[1]);
        return 1;
    }
    return 0;
}
