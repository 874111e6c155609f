// cmd_info.cpp: `lola info -m MODEL`: the file's metadata and tensors, and whether liblola can
// run it. A bad file: its error (naming the field) and exit status 1.
#include <cstdio>

#include "common.hpp"

namespace cli {

int cmd_info(Args &args) {
    const std::string path = args.require("m");
    args.finish();
    const std::string text = checked("cannot read '" + path + "'", [&] { return lolapp::describe_file(path); });
    std::printf("%s\n", text.c_str());
    lola_model_info i;
    try {
        i = lolapp::Model(path).info();
    } catch (const lolapp::Error &e) {
        std::printf("liblola cannot run this file: %s\n", e.message().c_str());
        return 1;
    }
    std::printf("liblola runs it: %s, %d layers, %d heads (%d KV), head dim %d, embedding %d, "
                "feed-forward %d, vocabulary %d, trained context %lld, %.1f MiB of weights%s\n",
                i.architecture, i.n_layer, i.n_head, i.n_head_kv, i.head_dim, i.n_embd, i.n_ff,
                i.n_vocab, static_cast<long long>(i.n_ctx_train),
                static_cast<double>(i.weight_bytes) / (1024.0 * 1024.0),
                i.has_lola_tensors ? ", with LoLA feature maps" : "");
    return 0;
}

}  // namespace cli
