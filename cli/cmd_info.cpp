// cmd_info.cpp: `lola info -m MODEL [--adapter FILE]`: the file's metadata and tensors, and
// whether liblola can run it (with the adapter, when given). A bad file: its error (naming the
// field) and exit status 1.
#include <cinttypes>
#include <cstdio>

#include "common.hpp"

namespace cli {

int cmd_info(Args &args) {
    const std::string path = args.require("m");
    const lolapp::ModelParams mp = model_params(args);
    args.finish();
    const std::string text = checked("cannot read '" + path + "'", [&] { return lolapp::describe_file(path); });
    std::printf("%s\n", text.c_str());
    lola_model_info i;
    try {
        i = lolapp::Model(path, mp).info();
    } catch (const lolapp::Error &e) {
        std::printf("liblola cannot run this file: %s\n", e.message().c_str());
        return 1;
    }
    std::printf("liblola runs it: %s, %d layers, %d heads (%d KV), head dim %d, embedding %d, "
                "feed-forward %d, vocabulary %d, trained context %lld, %.1f MiB of weights%s%s; "
                "fingerprint 0x%016" PRIx64 "\n",
                i.architecture, i.n_layer, i.n_head, i.n_head_kv, i.head_dim, i.n_embd, i.n_ff,
                i.n_vocab, static_cast<long long>(i.n_ctx_train),
                static_cast<double>(i.weight_bytes) / (1024.0 * 1024.0),
                i.has_lola_tensors ? ", with LoLA feature maps" : "",
                i.has_adapter ? " (from the adapter)" : "", i.fingerprint);
    return 0;
}

}  // namespace cli
