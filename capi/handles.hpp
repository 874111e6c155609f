// handles.hpp: the definitions of the opaque model and context handles of lola.h, shared by the
// C API's source files (lola_model.cpp creates them; lola_sampling.cpp, for one, reads them).
#pragma once

#include <memory>

#include "lola.h"
#include "model/llama_context.hpp"
#include "model/llama_model.hpp"

struct lola_model {
    std::shared_ptr<const lola::model::Model> impl;
};

struct lola_context {
    std::unique_ptr<lola::model::Context> impl;
    lola_abort_fn abort_fn = nullptr;
    void *abort_user = nullptr;
    bool logits_valid = false;
};
