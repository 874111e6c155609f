// cmd_perplexity.cpp: `lola perplexity -m MODEL -f FILE`: the perplexity of a text file at a
// context length (lola_perplexity: consecutive windows of --ctx tokens, each on a fresh
// context, the second half of each scored, as llama.cpp's perplexity tool does), for the
// attention the context options give, or for each of --variants at one cache budget (the
// variants of `lola eval`, made from the resolved C and lambda), beside full attention's.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>

#include "common.hpp"
#include "variants.hpp"

namespace cli {

int cmd_perplexity(Args &args) {
    const std::string path = args.require("m");
    const std::string file = args.require("f");
    const long long n_ctx = args.get_int("ctx", 2048);
    const long long windows = args.get_int("windows", 0);
    const std::string variant_list = args.get("variants", "");
    const std::vector<int32_t> full_layers = layer_list(args, "full-layers");
    lolapp::ContextParams base = context_params(args);
    const lolapp::ModelParams mp = model_params(args);
    args.finish();
    if (n_ctx < 2) throw Failure("--ctx must be at least 2", 2);
    if (windows < 0) throw Failure("--windows must be >= 0 (0: every window)", 2);
    std::ifstream in(file, std::ios::binary);
    if (!in) throw Failure("cannot read '" + file + "'");
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());

    const lolapp::Model model = load_model(path, mp);
    const std::vector<int32_t> tokens = tokenize(model, text, false);
    if (tokens.size() < static_cast<size_t>(n_ctx))
        throw Failure("'" + file + "' has " + std::to_string(tokens.size()) + " tokens, fewer than --ctx " +
                      std::to_string(n_ctx));
    base.attention(resolved(base.attention(), model));
    const int32_t chunk = base.attention().chunk_size(), sparse = base.attention().sparse_capacity();

    struct Row {
        std::string label;
        lolapp::ContextParams params;
    };
    std::vector<Row> rows;
    if (variant_list.empty()) {
        rows.push_back({"as given", base});
    } else {
        for (const std::string &name : word_list("variants", variant_list)) {
            try {
                const lola_eval::Variant v = lola_eval::make_variant(name, chunk, sparse, full_layers);
                rows.push_back({v.label, lola_eval::context_params(v, base, model.info().n_layer)});
            } catch (const std::invalid_argument &e) {
                throw Failure(std::string("--variants: ") + e.what(), 2);
            }
        }
    }
    std::printf("perplexity of %s (%zu tokens) at context %lld: %s; LoLA chunk %d, sparse %d\n\n", file.c_str(),
                tokens.size(), n_ctx, path.c_str(), chunk, sparse);
    std::printf("| attention | windows | tokens scored | NLL (nats) | perplexity |\n|---|---:|---:|---:|---:|\n");
    for (const Row &r : rows) {
        const lola_perplexity_result p = checked("perplexity (" + r.label + ")", [&] {
            return model.perplexity(tokens, n_ctx, r.params, windows);
        });
        std::printf("| %s | %lld | %lld | %.4f | %.3f |\n", r.label.c_str(), static_cast<long long>(p.n_windows),
                    static_cast<long long>(p.n_scored), p.nll, p.perplexity);
        std::fflush(stdout);
    }
    return 0;
}

}  // namespace cli
