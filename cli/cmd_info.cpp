// cmd_info.cpp: `lola info -m MODEL`: the file's metadata and tensors, and whether liblola can
// run it. A bad file: its error (naming the field) and exit status 1.
#include <cstdio>

#include "common.hpp"

namespace cli {

int cmd_info(Args &args) {
    const std::string path = args.require("m");
    args.finish();
    size_t n = 0;
    check(lola_file_describe(path.c_str(), nullptr, 0, &n), "cannot read '" + path + "'");
    std::string text(n + 1, '\0');
    check(lola_file_describe(path.c_str(), text.data(), text.size(), &n), "cannot read '" + path + "'");
    text.resize(n);
    std::printf("%s\n", text.c_str());
    lola_model_params mp;
    lola_model_params_init(&mp);
    lola_model *model = nullptr;
    const lola_status s = lola_model_load(path.c_str(), &mp, &model);
    if (s != LOLA_OK) {
        std::printf("liblola cannot run this file: %s\n", lola_last_error_message());
        return 1;
    }
    lola_model_info i;
    i.struct_size = sizeof i;
    lola_model_get_info(model, &i);
    std::printf("liblola runs it: %s, %d layers, %d heads (%d KV), head dim %d, embedding %d, "
                "feed-forward %d, vocabulary %d, trained context %lld, %.1f MiB of weights%s\n",
                i.architecture, i.n_layer, i.n_head, i.n_head_kv, i.head_dim, i.n_embd, i.n_ff,
                i.n_vocab, static_cast<long long>(i.n_ctx_train),
                static_cast<double>(i.weight_bytes) / (1024.0 * 1024.0),
                i.has_lola_tensors ? ", with LoLA feature maps" : "");
    lola_model_free(model);
    return 0;
}

}  // namespace cli
