// emulated_backend.cpp: see emulated_backend.hpp.
#include "cuda/emulated_backend.hpp"

#include <cstring>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "cpu/ops.hpp"
#include "cuda/host_state.hpp"
#include "cuda/k_elementwise.hpp"
#include "cuda/k_feature_map.hpp"
#include "cuda/k_lola_decode.hpp"
#include "cuda/k_lola_state.hpp"
#include "cuda/k_matvec_exact.hpp"
#include "lola/layer.hpp"
#include "model/llama_model.hpp"

namespace lola::cuda {

namespace {

using backend::Buf;
using backend::Bytes;
using backend::Linear;
using backend::Norm;
using model::Matrix;

void require(Buf b, size_t n, const char *what) {
    if (!b.data || b.size < n)
        fail(Status::internal, std::string(what) + ": a buffer of " + std::to_string(b.size) +
                                   " floats where " + std::to_string(n) + " are needed");
}

int kernel_feature_kind(FeatureMapKind m) {
    switch (m) {
    case FeatureMapKind::hedgehog: return k::kHedgehog;
    case FeatureMapKind::performer: return k::kPerformer;
    case FeatureMapKind::elu1: return k::kElu1;
    case FeatureMapKind::relu: return k::kRelu;
    case FeatureMapKind::precomputed: break;
    }
    fail(Status::unsupported, "the CUDA backend computes its feature maps; precomputed features are not supported");
}

class EmulatedWeights final : public backend::Weights, public std::enable_shared_from_this<EmulatedWeights> {
public:
    explicit EmulatedWeights(std::shared_ptr<const model::Model> model) : model_(std::move(model)) {
        const model::HParams &hp = model_->hparams();
        inv_freq_ = cpu::rope_inv_freq(hp.rope.freq_base, hp.rope.freq_scale, hp.rope.freq_factors, hp.head_dim);
    }
    const char *name() const override { return "cuda:emulated"; }
    const model::Model &model() const override { return *model_; }
    std::unique_ptr<backend::Backend> make_backend(const backend::BackendConfig &config) const override;

    const std::vector<float> &inv_freq() const { return inv_freq_; }
    const Matrix &matrix(Linear which, int64_t layer) const {
        if (which == Linear::output) return model_->output();
        const model::LayerWeights &w = model_->layers().at(static_cast<size_t>(layer));
        switch (which) {
        case Linear::q: return w.wq;
        case Linear::k: return w.wk;
        case Linear::v: return w.wv;
        case Linear::o: return w.wo;
        case Linear::gate: return w.w_gate;
        case Linear::up: return w.w_up;
        case Linear::down: return w.w_down;
        case Linear::output: break;
        }
        fail(Status::internal, "unknown weight role");
    }
    const std::vector<float> &norm(Norm which, int64_t layer) const {
        if (which == Norm::output) return model_->output_norm();
        const model::LayerWeights &w = model_->layers().at(static_cast<size_t>(layer));
        return which == Norm::attn ? w.attn_norm : w.ffn_norm;
    }

private:
    std::shared_ptr<const model::Model> model_;
    std::vector<float> inv_freq_;
};

// One attention layer: the host Layer for its parameters (and as the device-neutral view of
// the state), the kernels' state, the per-token buffers and the launch arguments.
class EmulatedAttention {
public:
    explicit EmulatedAttention(const LayerConfig &config) : mirror_(config) { load_from_mirror(); }

    // Feeds n tokens (q [n][H][d], k, v [n][KV][d]) with outputs y [n][H][d].
    void feed(int64_t n, const float *q, const float *kk, const float *v, float *y) {
        const LayerConfig &c = mirror_.config();
        const int H = c.n_heads, KV = c.n_kv_heads, d = c.head_dim;
        for (int64_t t = 0; t < n; ++t) {
            const float *qt = q + t * H * d, *kt = kk + t * KV * d, *vt = v + t * KV * d;
            if (linear_) {
                fa_.x = kt;
                fa_.x_index = kv_of_state_.data();
                fa_.map_head = key_map_head_.data();
                fa_.w = phi_.wk;
                fa_.f = fk_.data();
                fa_.c = fk_log_.data();
                k::feature_emulated(fa_, n_states_);
                fa_.x = qt;
                fa_.x_index = nullptr;
                fa_.map_head = query_map_head_.data();
                fa_.w = phi_.wq;
                fa_.f = fq_.data();
                fa_.c = q_log_.data();
                k::feature_emulated(fa_, H);
            }
            if (full_ && views_[0].cur.n == window_capacity_) {  // full attention: W_cur grows
                (void)layer();  // the state as it is, into the mirror
                window_capacity_ *= 2;
                load_from_mirror();
            }
            aa_.pos = n_tokens_;
            aa_.k = kt;
            aa_.v = vt;
            k::append_emulated(aa_, n_states_);
            for (int sh = 0; sh < n_states_; ++sh) {
                k::DecodeHead &h = dheads_[static_cast<size_t>(sh)];
                const int q0 = first_query_head_[static_cast<size_t>(sh)];
                h.q = qt + static_cast<int64_t>(q0) * d;
                h.y = y ? y + t * H * d + static_cast<int64_t>(q0) * d : discard_.data() + static_cast<int64_t>(q0) * d;
            }
            k::lola_decode_emulated(da_, n_states_);
            ++n_tokens_;
            if (!full_ && views_[0].cur.n == c.chunk) k::boundary_emulated(sa_, n_states_);
        }
        mirror_current_ = false;
    }

    const Layer<float> &layer() const {
        if (!mirror_current_) {
            std::vector<HeadState<float>> states;
            for (int sh = 0; sh < n_states_; ++sh)
                states.push_back(HostState::export_state(views_[static_cast<size_t>(sh)], d_, F_, pairs_F_));
            mirror_.adopt_states(std::move(states), n_tokens_);
            mirror_current_ = true;
        }
        return mirror_;
    }
    // Replaces the state by a blob's (Layer::restore validates it whole first: a bad blob
    // changes nothing).
    void restore(const Bytes &blob) {
        mirror_.restore(blob.data, blob.size);
        load_from_mirror();
    }
    void reset() {
        mirror_.reset();
        load_from_mirror();
    }
    int64_t n_tokens() const { return n_tokens_; }

private:
    // (Re)builds the kernels' state and arguments from the mirror's state.
    void load_from_mirror() {
        const LayerConfig &c = mirror_.config();
        const HeadParams<float> &p0 = mirror_.params(0);
        // Full attention keeps every pair in W_cur (no boundary), which grows by doubling: the
        // only attention whose feeds allocate.
        full_ = c.attention == Attention::full;
        if (!full_) window_capacity_ = c.chunk;
        while (full_ && window_capacity_ < mirror_.state(0).cur.size() + 1) window_capacity_ *= 2;
        n_states_ = mirror_.n_state_heads();
        d_ = c.head_dim;
        F_ = p0.F;
        linear_ = p0.linear;
        pairs_F_ = linear_ ? F_ : 0;
        n_tokens_ = mirror_.n_tokens();
        states_.clear();
        views_.clear();
        kv_of_state_.clear();
        key_map_head_.clear();
        first_query_head_.clear();
        gates_.clear();
        for (int sh = 0; sh < n_states_; ++sh) {
            const HeadParams<float> &p = mirror_.params(sh);
            states_.push_back(std::make_unique<HostState>(mirror_.state(sh), c.sparse_capacity, window_capacity_, d_, F_, p.kv_head));
            views_.push_back(states_.back()->view);
            kv_of_state_.push_back(p.kv_head);
            key_map_head_.push_back(p.first_query_head);
            first_query_head_.push_back(p.first_query_head);
            for (int j = 0; j < p.n_query_heads; ++j) gates_.push_back(p.gate[static_cast<size_t>(j)]);
        }
        query_map_head_.resize(static_cast<size_t>(c.n_heads));
        for (int h = 0; h < c.n_heads; ++h) query_map_head_[static_cast<size_t>(h)] = h;
        const size_t F1 = F_ > 0 ? static_cast<size_t>(F_) : 1u;
        fk_.assign(static_cast<size_t>(n_states_) * F1, 0.f);
        fk_log_.assign(static_cast<size_t>(n_states_), 0.f);
        fq_.assign(static_cast<size_t>(c.n_heads) * F1, 0.f);
        q_log_.assign(static_cast<size_t>(c.n_heads), 0.f);
        discard_.assign(static_cast<size_t>(c.n_heads) * static_cast<size_t>(d_), 0.f);

        if (linear_) {
            phi_ = p0.phi->view();
            fa_ = k::FeatureArgs{};
            fa_.kind = kernel_feature_kind(c.feature_map);
            fa_.d = d_;
            fa_.F = F_;
            fa_.x_stride = d_;
            fa_.omega = phi_.omega;
            fa_.x_scale = phi_.x_scale;
            fa_.log_norm = phi_.log_norm;
        }
        aa_ = k::AppendArgs{};
        aa_.heads = views_.data();
        aa_.d = d_;
        aa_.F = F_;
        aa_.kv_of_head = kv_of_state_.data();
        aa_.fk = linear_ ? fk_.data() : nullptr;
        aa_.fk_log = fk_log_.data();

        dheads_.assign(static_cast<size_t>(n_states_), k::DecodeHead{});
        for (int sh = 0; sh < n_states_; ++sh) {
            k::DecodeHead &h = dheads_[static_cast<size_t>(sh)];
            const size_t q0 = static_cast<size_t>(first_query_head_[static_cast<size_t>(sh)]);
            h.state = &views_[static_cast<size_t>(sh)];
            h.fq = fq_.data() + q0 * F1;
            h.q_log = q_log_.data() + q0;
            h.gate = gates_.data() + static_cast<size_t>(sh) * static_cast<size_t>(p0.n_query_heads);
        }
        da_ = k::DecodeArgs{};
        da_.heads = dheads_.data();
        da_.d = d_;
        da_.F = F_;
        da_.n_query_heads = p0.n_query_heads;
        da_.scale = p0.scale;
        da_.eps = p0.eps;
        da_.log_eps = p0.log_eps;
        da_.linear = linear_;
        da_.mixing = static_cast<int>(c.mixing);
        da_.max_pairs = full_ ? window_capacity_ : c.sparse_capacity + 2 * c.chunk;
        dscratch_.assign(static_cast<size_t>(n_states_) * static_cast<size_t>(k::decode_scratch_floats(da_)), 0.f);
        da_.scratch = dscratch_.data();

        sa_ = k::StateArgs{};
        sa_.heads = views_.data();
        sa_.d = d_;
        sa_.F = F_;
        sa_.chunk = c.chunk;
        sa_.capacity = c.sparse_capacity;
        sa_.attention = c.attention == Attention::window ? k::kWindow : k::kLola;
        sa_.scoring = static_cast<int>(c.scoring);
        sa_.seed = c.seed;
        sa_.eps = p0.eps;
        sscratch_.assign(static_cast<size_t>(n_states_) * static_cast<size_t>(k::state_scratch_floats(sa_)), 0.f);
        sa_.scratch = sscratch_.data();
        mirror_current_ = true;
    }

    mutable Layer<float> mirror_;
    mutable bool mirror_current_ = true;
    int n_states_ = 0, d_ = 0, F_ = 0, pairs_F_ = 0;
    int window_capacity_ = 64;  // W_prev's and W_cur's (full attention: W_cur's, growing)
    bool linear_ = false, full_ = false;
    int64_t n_tokens_ = 0;
    std::vector<std::unique_ptr<HostState>> states_;
    std::vector<k::HeadView> views_;  // the kernels' state (one contiguous array, as on a device)
    std::vector<int32_t> kv_of_state_, key_map_head_, query_map_head_, first_query_head_;
    std::vector<float> gates_, fk_, fk_log_, fq_, q_log_, discard_, dscratch_, sscratch_;
    FeatureMap<float>::View phi_{};
    k::FeatureArgs fa_;
    k::AppendArgs aa_;
    std::vector<k::DecodeHead> dheads_;
    k::DecodeArgs da_;
    k::StateArgs sa_;
};

class EmulatedBackend final : public backend::Backend {
public:
    EmulatedBackend(std::shared_ptr<const EmulatedWeights> weights, const backend::BackendConfig &config)
        : weights_(std::move(weights)), config_(config) {
        for (const LayerConfig &c : config_.layers) layers_.push_back(std::make_unique<EmulatedAttention>(c));
        const size_t half = weights_->inv_freq().size();
        normed_ = alloc(static_cast<size_t>(config_.max_tokens * hp().n_embd));
        rope_table_.assign(static_cast<size_t>(config_.max_tokens) * half * 2, 0.f);
    }

    const char *name() const override { return weights_->name(); }
    std::unique_ptr<backend::Backend> clone() const override {
        auto copy = std::make_unique<EmulatedBackend>(weights_, config_);
        std::vector<std::vector<unsigned char>> saved;
        std::vector<Bytes> blobs;
        for (const auto &l : layers_) saved.push_back(l->layer().save());
        for (const auto &b : saved) blobs.push_back({b.data(), b.size()});
        copy->restore_attention(blobs, layers_.empty() ? 0 : layers_[0]->n_tokens());
        return copy;
    }

    Buf alloc(size_t n) override {
        arena_.push_back(std::make_unique<float[]>(n));
        return Buf{arena_.back().get(), n};
    }
    void write(Buf dst, const float *src, size_t n) override {
        require(dst, n, "write");
        std::memcpy(dst.data, src, n * sizeof(float));
    }
    void read(Buf src, float *dst, size_t n) override {
        require(src, n, "read");
        std::memcpy(dst, src.data, n * sizeof(float));
    }

    void embed(const int32_t *tokens, int64_t n, Buf x) override {
        const Matrix &t = weights_->model().token_embd();
        require(x, static_cast<size_t>(n * hp().n_embd), "embed");
        k::embed_emulated(k::EmbedArgs{t.type, t.data, t.row_bytes, hp().n_embd, tokens, x.data}, n);
    }
    void rms_norm(Norm which, int64_t layer, Buf x, int64_t n, Buf out) override {
        const int64_t E = hp().n_embd;
        require(x, static_cast<size_t>(n * E), "rms_norm");
        require(out, static_cast<size_t>(n * E), "rms_norm");
        k::rms_norm_emulated(k::RmsNormArgs{x.data, weights_->norm(which, layer).data(), hp().rms_eps, E, out.data}, n);
    }
    void linear(Linear which, int64_t layer, Buf x, int64_t n, Buf y) override {
        const Matrix &w = weights_->matrix(which, layer);
        require(x, static_cast<size_t>(n * w.cols), "linear");
        require(y, static_cast<size_t>(n * w.rows), "linear");
        k::matmul_emulated(k::matmul_args(w.type, w.data, w.row_bytes, w.rows, w.cols, x.data, y.data), n);
    }
    void rope(Buf x, int64_t n, int64_t n_heads, int64_t pos0) override {
        require(x, static_cast<size_t>(n * n_heads * hp().head_dim), "rope");
        if (static_cast<size_t>(n) * weights_->inv_freq().size() * 2 > rope_table_.size())
            fail(Status::internal, "rope: more rows than the backend's max_tokens");
        cpu::rope_table(pos0, n, weights_->inv_freq(), rope_table_.data());  // host-built, as on a device
        k::rope_emulated(k::RopeArgs{x.data, n_heads, hp().head_dim, rope_table_.data()}, n);
    }
    void add(Buf x, Buf y, size_t n) override {
        require(x, n, "add");
        require(y, n, "add");
        k::add_emulated(k::AddArgs{x.data, y.data, static_cast<int64_t>(n)});
    }
    void swiglu(Buf gate, Buf up, size_t n) override {
        require(gate, n, "swiglu");
        require(up, n, "swiglu");
        k::swiglu_emulated(k::SwigluArgs{gate.data, up.data, static_cast<int64_t>(n)});
    }
    void attention(int64_t layer, int64_t n, Buf q, Buf k, Buf v, Buf y) override {
        const size_t nq = static_cast<size_t>(n * hp().n_head * hp().head_dim);
        const size_t nkv = static_cast<size_t>(n * hp().n_head_kv * hp().head_dim);
        require(q, nq, "attention");
        require(k, nkv, "attention");
        require(v, nkv, "attention");
        if (y.data) require(y, nq, "attention");
        at(layer).feed(n, q.data, k.data, v.data, y.data);
    }
    void logits(Buf x, int64_t rows, float *out) override {
        require(x, static_cast<size_t>(rows * hp().n_embd), "logits");
        rms_norm(Norm::output, 0, x, rows, normed_);
        linear(Linear::output, 0, normed_, rows, Buf{out, static_cast<size_t>(rows * hp().n_vocab)});
    }

    int64_t n_layers() const override { return static_cast<int64_t>(layers_.size()); }
    const Layer<float> &attention_state(int64_t layer) const override {
        return const_cast<EmulatedBackend *>(this)->at(layer).layer();
    }
    void restore_attention(const std::vector<Bytes> &blobs, int64_t n_tokens) override {
        if (blobs.size() != layers_.size())
            fail(Status::corrupt_data, "state has " + std::to_string(blobs.size()) + " layers, the model " +
                                           std::to_string(layers_.size()));
        // Every blob validated (on a copy) before any layer changes.
        for (size_t l = 0; l < blobs.size(); ++l) {
            Layer<float> probe(layers_[l]->layer());
            probe.restore(blobs[l].data, blobs[l].size);
            if (probe.n_tokens() != n_tokens)
                fail(Status::corrupt_data, "layer " + std::to_string(l) + " holds a different token count");
        }
        for (size_t l = 0; l < blobs.size(); ++l) layers_[l]->restore(blobs[l]);
    }
    void reset_attention() override {
        for (auto &l : layers_) l->reset();
    }

private:
    const model::HParams &hp() const { return weights_->model().hparams(); }
    EmulatedAttention &at(int64_t layer) {
        if (layer < 0 || layer >= n_layers())
            fail(Status::internal, "attention layer " + std::to_string(layer) + " out of range");
        return *layers_[static_cast<size_t>(layer)];
    }

    std::shared_ptr<const EmulatedWeights> weights_;
    backend::BackendConfig config_;
    std::vector<std::unique_ptr<EmulatedAttention>> layers_;
    std::vector<std::unique_ptr<float[]>> arena_;
    Buf normed_;
    std::vector<float> rope_table_;
};

std::unique_ptr<backend::Backend> EmulatedWeights::make_backend(const backend::BackendConfig &config) const {
    if (config.layers.size() != static_cast<size_t>(model_->hparams().n_layer))
        fail(Status::internal, "a backend needs one attention config per model layer");
    return std::make_unique<EmulatedBackend>(shared_from_this(), config);
}

}  // namespace

std::shared_ptr<const backend::Weights> upload_emulated(std::shared_ptr<const model::Model> model) {
    return std::make_shared<EmulatedWeights>(std::move(model));
}

}  // namespace lola::cuda
