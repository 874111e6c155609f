// fuzz_capi.cpp: the input bytes drive a sequence of C API calls with random arguments, handles
// and buffer sizes on a small Llama with a byte-level vocabulary (written to a temporary file
// once): attention settings resolved against the model, contexts with random params, feeds of
// random ids (out-of-range ones too), logits into buffers of random size, saves and restores of
// random and mutated blobs, clones, resets, abort callbacks, cache queries, tokenizer and chat
// calls, samplers and generation, and standalone layers with random shapes. Every buffer is
// allocated at exactly the size passed, so an overrun is an ASan report. Every status must be a
// defined one, every failure must leave a message, and nothing may crash, hang or allocate more
// than -malloc_limit_mb at once.
#include <fuzzer/FuzzedDataProvider.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "fuzz_models.hpp"
#include "lola.h"

namespace {

const std::string &model_path() {
    static const std::string path = [] {
        const std::string p = "/tmp/lola_fuzz_capi_" + std::to_string(::getpid()) + ".gguf";
        const std::vector<uint8_t> b = lola_fuzz::small_llama(true, "default");
        std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char *>(b.data()), static_cast<std::streamsize>(b.size()));
        return p;
    }();
    return path;
}

lola_model *shared_model() {
    static lola_model *m = [] {
        lola_model_params mp;
        lola_model_params_init(&mp);
        lola_model *out = nullptr;
        if (lola_model_load(model_path().c_str(), &mp, &out) != LOLA_OK) std::abort();
        std::remove(model_path().c_str());  // the mapping stays valid
        return out;
    }();
    return m;
}

// A status must be defined, and a failure must say why.
lola_status check(lola_status s) {
    if (static_cast<int>(s) < 0 || static_cast<int>(s) > LOLA_ERR_ABORTED) {
        std::fprintf(stderr, "undefined status %d\n", static_cast<int>(s));
        std::abort();
    }
    if (s != LOLA_OK && std::strlen(lola_last_error_message()) == 0) {
        std::fprintf(stderr, "status %s without a message\n", lola_status_string(s));
        std::abort();
    }
    return s;
}

struct Driver {
    FuzzedDataProvider in;
    lola_model *model = shared_model();
    std::vector<lola_context *> contexts;
    std::vector<lola_layer *> layers;
    // The parameters each layer was made with (the attention settings beside them).
    struct LayerRecord {
        lola_attention_params a;
        lola_layer_params p;
        LayerRecord() {
            lola_attention_params_init(&a);
            lola_layer_params_init(&p);
        }
    };
    std::vector<LayerRecord> layer_params;
    std::vector<std::vector<unsigned char>> blobs;
    lola_sampler *sampler = nullptr;
    int abort_after = -1;  // the abort callback stops the feed after this many polls

    Driver(const uint8_t *d, size_t n) : in(d, n) {}
    ~Driver() {
        for (lola_context *c : contexts) lola_context_free(c);
        for (lola_layer *l : layers) lola_layer_free(l);
        lola_sampler_free(sampler);
    }

    template <class T>
    T pick(const std::vector<T> &v) { return v[in.ConsumeIntegralInRange<size_t>(0, v.size() - 1)]; }
    float any_float() {
        switch (in.ConsumeIntegralInRange<int>(0, 3)) {
        case 0: return pick<float>({0.f, 1.f, -1.f, NAN, INFINITY, -INFINITY, 1e-30f, 1e30f});
        case 1: return in.ConsumeFloatingPointInRange<float>(-4.f, 4.f);
        default: return in.ConsumeFloatingPoint<float>();
        }
    }
    size_t struct_size(size_t good) { return in.ConsumeIntegralInRange<int>(0, 7) ? good : pick<size_t>({0, 8, good - 4, good + 8}); }
    lola_context *context() { return contexts.empty() || !in.ConsumeIntegralInRange<int>(0, 15) ? nullptr : pick(contexts); }
    lola_layer *layer(LayerRecord *r) {
        if (layers.empty() || !in.ConsumeIntegralInRange<int>(0, 15)) return nullptr;
        const size_t i = in.ConsumeIntegralInRange<size_t>(0, layers.size() - 1);
        *r = layer_params[i];
        return layers[i];
    }
    // Random attention settings, sentinels and out-of-range values included.
    void fill_attention(lola_attention_params &a) {
        a.struct_size = struct_size(sizeof a);
        a.attention = in.ConsumeIntegralInRange<int32_t>(-1, 3);
        a.chunk_size = in.ConsumeIntegralInRange<int32_t>(-2, 9);
        a.sparse_capacity = in.ConsumeIntegralInRange<int32_t>(-2, 5);
        a.feature_map = in.ConsumeIntegralInRange<int32_t>(-2, 5);
        a.feature_dim = in.ConsumeIntegralInRange<int32_t>(-1, 10);
        a.mixing = in.ConsumeIntegralInRange<int32_t>(-2, 2);
        a.scoring = in.ConsumeIntegralInRange<int32_t>(-1, 4);
        a.seed = in.ConsumeIntegral<uint64_t>();
        if (in.ConsumeBool()) a.eps = any_float();
        a.performer_orthogonal = in.ConsumeIntegralInRange<int32_t>(-1, 2);
    }
    std::vector<int32_t> tokens(size_t max) {
        std::vector<int32_t> t(in.ConsumeIntegralInRange<size_t>(0, max));
        for (int32_t &x : t) x = in.ConsumeIntegralInRange<int>(0, 9) ? in.ConsumeIntegralInRange<int32_t>(0, lola_fuzz::kByteVocab - 1) : in.ConsumeIntegral<int32_t>();
        return t;
    }
    std::vector<float> floats(size_t n) {
        std::vector<float> v(n);
        const bool wild = in.ConsumeIntegralInRange<int>(0, 7) == 0;
        for (size_t i = 0; i < n; ++i) v[i] = wild ? any_float() : std::sin(static_cast<float>(i) * 0.7f + static_cast<float>(n));
        return v;
    }
    // A length equal to `good` most of the time, else off by a little or a lot.
    size_t length(size_t good) { return in.ConsumeIntegralInRange<int>(0, 7) ? good : pick<size_t>({0, good + 1, good ? good - 1 : 1, SIZE_MAX / 4}); }

    void step();
    void resolve(const lola_attention_params &a);
    void create_context();
    void feed();
    void logits();
    void state();
    void queries();
    void text();
    void sampling();
    void layer_ops();
};

bool abort_cb(void *user) {
    int *left = static_cast<int *>(user);
    return *left >= 0 && (*left)-- == 0;
}

// lola_attention_params_resolve on these settings, with the model and with NULL (consuming no
// input): a refusal (wrong struct_size only) leaves the struct as it was; success replaces each
// LOLA_MODEL_DEFAULT field by a value in range and changes no other field.
void Driver::resolve(const lola_attention_params &a) {
    for (const lola_model *m : {static_cast<const lola_model *>(model), static_cast<const lola_model *>(nullptr)}) {
        lola_attention_params r = a;
        const lola_status s = check(lola_attention_params_resolve(m, &r));
        if ((s == LOLA_OK) != (a.struct_size == sizeof a) || (s != LOLA_OK && s != LOLA_ERR_VERSION_MISMATCH)) {
            std::fprintf(stderr, "resolve: %s for struct_size %zu\n", lola_status_string(s), a.struct_size);
            std::abort();
        }
        auto resolved = [&](int32_t before, int32_t after, int32_t lo, int32_t hi) {
            if (s != LOLA_OK || before != LOLA_MODEL_DEFAULT) return after == before;
            return after >= lo && after <= hi;
        };
        const bool ok = r.struct_size == a.struct_size && r.attention == a.attention &&
                        resolved(a.chunk_size, r.chunk_size, 1, 65536) &&
                        resolved(a.sparse_capacity, r.sparse_capacity, 0, 65536) &&
                        resolved(a.mixing, r.mixing, LOLA_MIXING_LOLA, LOLA_MIXING_LOLCATS) &&
                        r.feature_map == a.feature_map && r.feature_dim == a.feature_dim &&
                        r.scoring == a.scoring && r.performer_orthogonal == a.performer_orthogonal &&
                        r.seed == a.seed && std::memcmp(&r.eps, &a.eps, sizeof r.eps) == 0;
        if (!ok) {
            std::fprintf(stderr, "resolve changed a field it must keep (status %s)\n", lola_status_string(s));
            std::abort();
        }
    }
}

void Driver::create_context() {
    if (contexts.size() >= 3) return;
    lola_context_params p;
    lola_context_params_init(&p);
    lola_attention_params a;
    lola_attention_params_init(&a);
    p.struct_size = struct_size(sizeof p);
    p.n_threads = in.ConsumeIntegralInRange<int32_t>(0, 2);
    p.batch_size = in.ConsumeIntegralInRange<int32_t>(-1, 9);
    fill_attention(a);
    resolve(a);
    p.attention = in.ConsumeIntegralInRange<int>(0, 7) ? &a : nullptr;
    if (in.ConsumeBool()) p.gate_logit = any_float();
    int32_t kinds[4] = {0, 0, 0, 0};  // per-layer attention kinds: any count, any value, or NULL
    if (in.ConsumeBool()) {
        p.n_layer_attention = in.ConsumeIntegralInRange<size_t>(0, 4);
        for (size_t i = 0; i < p.n_layer_attention; ++i) kinds[i] = in.ConsumeIntegralInRange<int32_t>(-2, 3);
        p.layer_attention = in.ConsumeIntegralInRange<int>(0, 7) ? kinds : nullptr;
    }
    lola_context *c = reinterpret_cast<lola_context *>(0x1);
    const lola_status s = check(lola_context_create(in.ConsumeIntegralInRange<int>(0, 15) ? model : nullptr, &p, &c));
    if ((s == LOLA_OK) != (c != nullptr)) std::abort();
    if (c) {
        contexts.push_back(c);
        if (in.ConsumeBool()) check(lola_context_set_abort_callback(c, abort_cb, &abort_after));
    }
}

void Driver::feed() {
    lola_context *c = context();
    const std::vector<int32_t> t = tokens(24);
    const uint32_t flags = in.ConsumeIntegralInRange<int>(0, 3) ? in.ConsumeIntegralInRange<uint32_t>(0, 1) : in.ConsumeIntegral<uint32_t>();
    abort_after = in.ConsumeIntegralInRange<int>(-1, 3);
    size_t fed = 12345;
    const bool null_tokens = !t.empty() && in.ConsumeIntegralInRange<int>(0, 15) == 0;
    const lola_status s = check(lola_context_feed(c, null_tokens ? nullptr : t.data(), t.size(), flags, in.ConsumeBool() ? &fed : nullptr));
    if (s == LOLA_OK && fed != 12345 && fed != t.size()) std::abort();
}

void Driver::logits() {
    lola_context *c = context();
    const float *l = nullptr;
    size_t rows = 0, vocab = 0;
    if (check(lola_context_logits(c, &l, &rows, &vocab)) == LOLA_OK) {
        volatile float sink = 0;
        for (size_t i = 0; i < rows * vocab; ++i) sink = sink + l[i];  // every element readable
    }
    std::vector<float> out(in.ConsumeIntegralInRange<size_t>(0, lola_fuzz::kByteVocab + 2));
    const int64_t row = in.ConsumeIntegralInRange<int64_t>(-3, 30);
    check(lola_context_copy_logits(c, row, out.empty() && in.ConsumeBool() ? nullptr : out.data(), out.size()));
}

void Driver::state() {
    lola_context *c = context();
    switch (in.ConsumeIntegralInRange<int>(0, 4)) {
    case 0: {  // save into a buffer of random capacity
        size_t need = 0;
        if (check(lola_context_state_size(c, &need)) != LOLA_OK) return;
        const size_t cap = in.ConsumeBool() ? need : in.ConsumeIntegralInRange<size_t>(0, need + 8);
        std::vector<unsigned char> buf(cap);
        size_t written = 0;
        if (check(lola_context_state_save(c, cap ? buf.data() : nullptr, cap, &written)) == LOLA_OK) {
            if (written != need) std::abort();
            buf.resize(written);
            if (blobs.size() < 4) blobs.push_back(std::move(buf));
        }
        break;
    }
    case 1: {  // restore a saved blob, maybe mutated or cut
        if (blobs.empty()) return;
        std::vector<unsigned char> b = pick(blobs);
        const int edits = in.ConsumeIntegralInRange<int>(0, 3);
        for (int e = 0; e < edits && !b.empty(); ++e) {
            const size_t at = in.ConsumeIntegralInRange<size_t>(0, b.size() - 1);
            if (in.ConsumeBool()) b[at] = in.ConsumeIntegral<uint8_t>();
            else b.resize(at);
        }
        check(lola_context_state_restore(c, b.empty() ? nullptr : b.data(), b.size()));
        break;
    }
    case 2: {  // restore raw input bytes
        const std::vector<unsigned char> b = in.ConsumeBytes<unsigned char>(in.ConsumeIntegralInRange<size_t>(0, 256));
        check(lola_context_state_restore(c, b.data(), b.size()));
        break;
    }
    case 3: {  // clone
        lola_context *copy = nullptr;
        if (check(lola_context_clone(c, &copy)) == LOLA_OK) {
            if (contexts.size() < 4) contexts.push_back(copy);
            else lola_context_free(copy);
        }
        break;
    }
    default: check(lola_context_reset(c)); break;
    }
}

void Driver::queries() {
    lola_context *c = context();
    std::vector<unsigned char> raw(sizeof(lola_head_state) + 16);
    lola_context_info info;
    info.struct_size = struct_size(sizeof info);
    check(lola_context_get_info(c, &info));
    lola_head_state hs;
    hs.struct_size = struct_size(sizeof hs);
    check(lola_context_get_head_state(c, in.ConsumeIntegralInRange<int32_t>(-1, 3), in.ConsumeIntegralInRange<int32_t>(-1, 3), &hs));
    std::vector<int64_t> pos(in.ConsumeIntegralInRange<size_t>(0, 40));
    std::vector<float> scores(in.ConsumeBool() ? pos.size() : 0);
    size_t n = 0;
    check(lola_context_get_positions(c, in.ConsumeIntegralInRange<int32_t>(-1, 3), in.ConsumeIntegralInRange<int32_t>(-1, 3),
                                     in.ConsumeIntegralInRange<int32_t>(-1, 2), pos.empty() ? nullptr : pos.data(),
                                     scores.empty() ? nullptr : scores.data(), pos.size(), &n));
    lola_model_info mi;
    mi.struct_size = struct_size(sizeof mi);
    check(lola_model_get_info(in.ConsumeBool() ? model : nullptr, &mi));
}

void Driver::text() {
    const lola_model *m = in.ConsumeIntegralInRange<int>(0, 15) ? model : nullptr;
    switch (in.ConsumeIntegralInRange<int>(0, 3)) {
    case 0: {
        const std::string s = in.ConsumeRandomLengthString(200);
        std::vector<int32_t> out(in.ConsumeIntegralInRange<size_t>(0, 210));
        size_t n = 0;
        check(lola_tokenize(m, s.data(), s.size(), in.ConsumeIntegralInRange<uint32_t>(0, 7), out.empty() ? nullptr : out.data(), out.size(), &n));
        break;
    }
    case 1: {
        const std::vector<int32_t> t = tokens(30);
        std::vector<char> out(in.ConsumeIntegralInRange<size_t>(0, 200));
        size_t n = 0;
        check(lola_detokenize(m, t.empty() ? nullptr : t.data(), t.size(), in.ConsumeIntegralInRange<uint32_t>(0, 3), out.empty() ? nullptr : out.data(), out.size(), &n));
        check(lola_token_to_piece(m, t.empty() ? -1 : t[0], 1, out.empty() ? nullptr : out.data(), out.size(), &n));
        (void)lola_token_is_eog(m, t.empty() ? 0 : t[0]);
        break;
    }
    case 2: {
        std::vector<std::string> strs;
        std::vector<lola_chat_message> msgs(in.ConsumeIntegralInRange<size_t>(0, 3));
        strs.reserve(2 * msgs.size());
        for (lola_chat_message &msg : msgs) {
            strs.push_back(pick<std::string>({"system", "user", "assistant", "tool", ""}));
            msg.role = in.ConsumeIntegralInRange<int>(0, 15) ? strs.back().c_str() : nullptr;
            strs.push_back(in.ConsumeRandomLengthString(40));
            msg.content = strs.back().c_str();
        }
        std::vector<char> out(in.ConsumeIntegralInRange<size_t>(0, 300));
        size_t n = 0;
        check(lola_chat_apply_template(m, msgs.empty() ? nullptr : msgs.data(), msgs.size(), in.ConsumeBool(),
                                       out.empty() ? nullptr : out.data(), out.size(), &n));
        break;
    }
    default: {
        lola_special_tokens st;
        st.struct_size = struct_size(sizeof st);
        check(lola_model_special_tokens(m, &st));
        break;
    }
    }
}

void Driver::sampling() {
    switch (in.ConsumeIntegralInRange<int>(0, 3)) {
    case 0: {
        lola_sampler_params p;
        lola_sampler_params_init(&p);
        p.struct_size = struct_size(sizeof p);
        if (in.ConsumeBool()) p.temperature = any_float();
        p.top_k = in.ConsumeIntegralInRange<int32_t>(-2, 300);
        if (in.ConsumeBool()) p.top_p = any_float();
        if (in.ConsumeBool()) p.min_p = any_float();
        if (in.ConsumeBool()) p.repeat_penalty = any_float();
        p.penalty_last_n = in.ConsumeIntegralInRange<int32_t>(-2, 70);
        p.seed = in.ConsumeIntegral<uint64_t>();
        lola_sampler *s = nullptr;
        if (check(lola_sampler_create(&p, &s)) == LOLA_OK) {
            lola_sampler_free(sampler);
            sampler = s;
        }
        break;
    }
    case 1: {
        const std::vector<float> l = floats(in.ConsumeIntegralInRange<size_t>(0, 300));
        int32_t tok = -7;
        if (check(lola_sampler_sample(sampler, l.empty() ? nullptr : l.data(), l.size(), &tok)) == LOLA_OK &&
            (tok < 0 || static_cast<size_t>(tok) >= l.size()))
            std::abort();
        break;
    }
    case 2: {
        const std::vector<int32_t> t = tokens(10);
        check(lola_sampler_accept(sampler, t.empty() ? nullptr : t.data(), t.size()));
        check(lola_sampler_reset(in.ConsumeBool() ? sampler : nullptr, in.ConsumeIntegral<uint64_t>()));
        break;
    }
    default: {
        const int stop_at = in.ConsumeIntegralInRange<int>(0, 6);
        auto on_token = [](int32_t token, const char *, size_t, void *user) {
            if (token < 0 || token >= lola_fuzz::kByteVocab) std::abort();
            return (*static_cast<int *>(user))-- > 0;
        };
        int left = stop_at;
        size_t n = 0;
        abort_after = in.ConsumeIntegralInRange<int>(-1, 3);
        check(lola_generate(context(), sampler, in.ConsumeIntegralInRange<size_t>(0, 6), in.ConsumeBool() ? +on_token : nullptr, &left, &n));
        break;
    }
    }
}

void Driver::layer_ops() {
    LayerRecord rec;
    lola_layer *l = layer(&rec);
    lola_layer_params &p = rec.p;
    lola_attention_params &a = rec.a;
    switch (in.ConsumeIntegralInRange<int>(0, 4)) {
    case 0: {  // create with random shapes and weights sized as the shapes imply (or not)
        if (layers.size() >= 3) return;
        rec = LayerRecord();
        p.struct_size = struct_size(sizeof p);
        p.n_heads = in.ConsumeIntegralInRange<int32_t>(-1, 4);
        p.n_kv_heads = in.ConsumeIntegralInRange<int32_t>(-1, 4);
        p.head_dim = in.ConsumeIntegralInRange<int32_t>(-1, 8);
        fill_attention(a);
        if (in.ConsumeBool()) p.softmax_scale = any_float();
        p.n_threads = in.ConsumeIntegralInRange<int32_t>(0, 2);
        // Attention settings or none (every default) decide the feature dim the maps must have.
        const bool with_attention = in.ConsumeIntegralInRange<int>(0, 7) != 0;
        // The library reads n_heads gates and n_heads*head_dim*feature_dim/2 weights per map
        // (feature_dim 0, or no settings at all: the hedgehog default, 128).
        const size_t heads = static_cast<size_t>(std::max(p.n_heads, 0));
        const size_t f = with_attention && a.feature_dim > 0 ? static_cast<size_t>(a.feature_dim) : 128;
        std::vector<float> gates = floats(heads), hq = floats(heads * static_cast<size_t>(std::max(p.head_dim, 0)) * f / 2), hk = hq;
        if (in.ConsumeBool()) p.window_factors = gates.empty() ? nullptr : gates.data();
        if (in.ConsumeBool()) { p.hedgehog_q = hq.empty() ? nullptr : hq.data(); p.hedgehog_k = hk.empty() ? nullptr : hk.data(); }
        lola_layer *made = nullptr;
        p.attention = with_attention ? &a : nullptr;
        if (check(lola_layer_create(&p, &made)) == LOLA_OK) {
            p.window_factors = p.hedgehog_q = p.hedgehog_k = nullptr;
            layers.push_back(made);
            layer_params.push_back(rec);
        }
        break;
    }
    case 1: {  // feed, maybe with precomputed features, arrays of the given (maybe wrong) lengths
        const int64_t n = in.ConsumeIntegralInRange<int64_t>(-1, 9);
        const size_t un = static_cast<size_t>(std::max<int64_t>(n, 0));
        const size_t H = static_cast<size_t>(std::max(p.n_heads, 0)), Hkv = static_cast<size_t>(std::max(p.n_kv_heads, 0)),
                     d = static_cast<size_t>(std::max(p.head_dim, 0)), F = static_cast<size_t>(std::max(a.feature_dim, 0));
        const size_t ql = length(un * H * d), kl = length(un * Hkv * d), yl = length(un * H * d), fl = length(un * H * F);
        // Arrays are allocated at their stated length, capped: a wrong huge length must be refused unread.
        auto buf = [&](size_t len) { return floats(std::min<size_t>(len, 4096)); };
        std::vector<float> q = buf(ql), k = buf(kl), v = buf(kl), y(std::min<size_t>(yl, 4096)), fq = buf(fl), fk = buf(fl);
        // Lengths past the buffers match no shape: the call that reads them must refuse them unread
        // (the feature lengths only matter to lola_layer_feed_features).
        const bool features = a.feature_map == LOLA_FEATURE_MAP_PRECOMPUTED && in.ConsumeBool();
        const bool unbacked = ql > 4096 || kl > 4096 || yl > 4096 || (features && fl > 4096);
        lola_status s;
        if (features)
            s = check(lola_layer_feed_features(l, n, q.data(), ql, k.data(), kl, v.data(), kl, fq.data(), fl, fk.data(), fl,
                                               yl ? y.data() : nullptr, yl));
        else
            s = check(lola_layer_feed(l, n, q.data(), ql, k.data(), kl, v.data(), kl, yl ? y.data() : nullptr, yl));
        if (unbacked && s == LOLA_OK) std::abort();
        break;
    }
    case 2: {  // save and restore, maybe into another layer, maybe mutated
        size_t need = 0, written = 0;
        if (check(lola_layer_state_size(l, &need)) != LOLA_OK) return;
        std::vector<unsigned char> b(need);
        check(lola_layer_state_save(l, b.data(), b.size(), &written));
        if (!b.empty() && in.ConsumeBool()) b[in.ConsumeIntegralInRange<size_t>(0, b.size() - 1)] ^= in.ConsumeIntegralInRange<uint8_t>(1, 255);
        LayerRecord other;
        lola_layer *target = layer(&other);
        check(lola_layer_state_restore(target ? target : l, b.data(), b.size()));
        break;
    }
    case 3: {  // queries
        lola_layer_info info;
        info.struct_size = struct_size(sizeof info);
        check(lola_layer_get_info(l, &info));
        lola_head_state hs;
        hs.struct_size = struct_size(sizeof hs);
        check(lola_layer_get_head_state(l, in.ConsumeIntegralInRange<int32_t>(-1, 4), &hs));
        std::vector<int64_t> pos(in.ConsumeIntegralInRange<size_t>(0, 20));
        std::vector<float> scores(in.ConsumeBool() ? pos.size() : 0);
        size_t n = 0;
        check(lola_layer_get_positions(l, in.ConsumeIntegralInRange<int32_t>(-1, 4), in.ConsumeIntegralInRange<int32_t>(-1, 2),
                                       pos.empty() ? nullptr : pos.data(), scores.empty() ? nullptr : scores.data(), pos.size(), &n));
        break;
    }
    default: {
        lola_layer *copy = nullptr;
        if (in.ConsumeBool()) check(lola_layer_reset(l));
        else if (check(lola_layer_clone(l, &copy)) == LOLA_OK) lola_layer_free(copy);
        break;
    }
    }
}

void Driver::step() {
    switch (in.ConsumeIntegralInRange<int>(0, 9)) {
    case 0: create_context(); break;
    case 1: case 2: feed(); break;
    case 3: logits(); break;
    case 4: state(); break;
    case 5: queries(); break;
    case 6: text(); break;
    case 7: sampling(); break;
    case 8: layer_ops(); break;
    default:
        if (!contexts.empty() && in.ConsumeBool()) {
            const size_t i = in.ConsumeIntegralInRange<size_t>(0, contexts.size() - 1);
            lola_context_free(contexts[i]);
            contexts.erase(contexts.begin() + static_cast<long>(i));
        } else if (!layers.empty()) {
            lola_layer_free(layers.back());
            layers.pop_back();
            layer_params.pop_back();
        }
        break;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    Driver d(data, size);
    for (int i = 0; i < 64 && d.in.remaining_bytes() > 0; ++i) d.step();
    return 0;
}
