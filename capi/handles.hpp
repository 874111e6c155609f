// handles.hpp: the definitions of every opaque handle of lola.h, shared by the C API's source
// files (each file creates its own kind; others read them, e.g. lola_generate reads a context
// and a sampler).
#pragma once

#include <memory>

#include "lola.h"
#include "lola/layer.hpp"
#include "model/llama_batch.hpp"
#include "model/llama_context.hpp"
#include "model/llama_model.hpp"
#include "text/sampler.hpp"

struct lola_layer {
    explicit lola_layer(const lola::LayerConfig &config) : impl(config) {}
    lola_layer(const lola_layer &other) = default;
    lola::Layer<float> impl;
};

struct lola_model {
    std::shared_ptr<const lola::model::Model> impl;
};

struct lola_context {
    std::unique_ptr<lola::model::Context> impl;
    lola_abort_fn abort_fn = nullptr;
    void *abort_user = nullptr;
    bool logits_valid = false;
};

struct lola_batch {
    std::unique_ptr<lola::model::Batch> impl;
};

struct lola_sampler {
    explicit lola_sampler(const lola::text::SamplerParams &params) : impl(params) {}
    lola::text::Sampler impl;
};
