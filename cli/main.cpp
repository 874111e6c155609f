// main.cpp: the `lola` command: dispatch to the subcommands; every failure is a message and a
// non-zero exit status, never a crash.
#include <cstdio>
#include <cstring>
#include <string>

#include "common.hpp"

namespace {

void usage(FILE *out) {
    std::fprintf(out,
                 "lola %s: run LoLA language models (constant-memory long-context attention)\n\n"
                 "usage:\n"
                 "  lola run -m MODEL -p PROMPT [-n N] [--system TEXT] [--raw] [--stats] [options]\n"
                 "      stream a continuation (instruct models: PROMPT is a user message unless --raw)\n"
                 "  lola info -m MODEL [--adapter FILE]\n"
                 "      metadata and tensors of a GGUF file, and whether liblola can run it\n"
                 "  lola passkey -m MODEL [--lengths 1024,2048] [--depths 0.2,0.5,0.8] [--trials 2]\n"
                 "               [--variants full,window,linear,lola,performer] [--lola-only] [options]\n"
                 "               [--full-layers 23,24 (with the variant hybrid)]\n"
                 "      pass-key retrieval: full attention, window only, lambda = 0, LoLA and LoLA\n"
                 "      with performer features at the same cache size (hybrid: LoLA with full\n"
                 "      attention kept in the --full-layers)\n"
                 "  lola perplexity -m MODEL -f FILE [--ctx 2048] [--windows 0 (all)]\n"
                 "               [--variants full,window,linear,lola,performer,hybrid]\n"
                 "               [--full-layers L,..] [options]\n"
                 "      perplexity of a text file in windows of --ctx tokens (the second half of\n"
                 "      each scored), for the attention given or for each variant\n"
                 "  lola cache -m MODEL -p PROMPT [--layer L] [--no-color] [options]\n"
                 "      which prompt tokens each layer's sparse cache kept\n"
                 "  lola eval -m MODEL [--tasks all|passkey,niah_prose,niah_multikey,niah_multivalue,\n"
                 "            niah_multiquery,mqar,perplexity,cost] [--variants all|full,window,linear,\n"
                 "            lola,performer,recency,random,value_norm] [--lengths 1024,2048]\n"
                 "            [--depths 0,0.25,0.5,0.75,1] [--trials 1] [--seed 1]\n"
                 "            [--lambdas 16,64,256|none] [--sweep-task passkey] [--sweep-length N]\n"
                 "            [--cost-lengths L,..] [--decode-tokens 32] [--haystack FILE] [--text FILE]\n"
                 "            [--ppl-windows 4] [--no-residency] [-o DIR] [--no-plots] [--python PY]\n"
                 "      the evaluation suite: every variant at the same cache budget; writes\n"
                 "      DIR/report.json, DIR/summary.md and PNG plots (matplotlib) (docs/EVAL.md)\n\n"
                 "%s\n%s\n%s",
                 lolapp::version(), cli::model_options_help(), cli::context_options_help(),
                 cli::sampler_options_help());
}

}  // namespace

int main(int argc, char **argv) {
    if (argc < 2 || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "--help") ||
        !std::strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (lolapp::abi_version() != LOLA_ABI_VERSION) {
        std::fprintf(stderr, "lola: liblola ABI %d, this program was built for %d\n",
                     lolapp::abi_version(), LOLA_ABI_VERSION);
        return 1;
    }
    const std::string command = argv[1];
    try {
        cli::Args args(argc, argv, 2);
        if (command == "run") return cli::cmd_run(args);
        if (command == "info") return cli::cmd_info(args);
        if (command == "passkey") return cli::cmd_passkey(args);
        if (command == "cache") return cli::cmd_cache(args);
        if (command == "eval") return cli::cmd_eval(args);
        if (command == "perplexity") return cli::cmd_perplexity(args);
        throw cli::Failure("unknown command '" + command + "' (run, info, passkey, cache, eval, perplexity)", 2);
    } catch (const cli::Failure &f) {
        std::fprintf(stderr, "lola: %s\n", f.what());
        if (f.code == 2) std::fprintf(stderr, "run 'lola --help' for usage\n");
        return f.code;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "lola: %s\n", e.what());
        return 1;
    }
}
