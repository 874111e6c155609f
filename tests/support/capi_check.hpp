// capi_check.hpp: helpers for tests that use the C API: parameter structs with the attention
// settings they point at (LayerSpec, ContextSpec), an owning layer handle, and a save helper
// that goes through the size query, as a user would.
#pragma once

#include <gtest/gtest.h>

#include <vector>

#include "lola.h"

namespace lola_test {

// lola_layer_params (p) with its own lola_attention_params (a), both initialised by the
// library; p.attention points at a, also in copies (so a test copies one, changes a field and
// creates a layer with &spec.p).
struct LayerSpec {
    lola_attention_params a{};
    lola_layer_params p{};
    LayerSpec() {
        EXPECT_EQ(lola_attention_params_init(&a), LOLA_OK);
        EXPECT_EQ(lola_layer_params_init(&p), LOLA_OK);
        p.attention = &a;
    }
    LayerSpec(const LayerSpec &o) : a(o.a), p(o.p) { p.attention = &a; }
    LayerSpec &operator=(const LayerSpec &o) {
        a = o.a;
        p = o.p;
        p.attention = &a;
        return *this;
    }
};

// The same for lola_context_params.
struct ContextSpec {
    lola_attention_params a{};
    lola_context_params p{};
    ContextSpec() {
        EXPECT_EQ(lola_attention_params_init(&a), LOLA_OK);
        EXPECT_EQ(lola_context_params_init(&p), LOLA_OK);
        p.attention = &a;
    }
    ContextSpec(const ContextSpec &o) : a(o.a), p(o.p) { p.attention = &a; }
    ContextSpec &operator=(const ContextSpec &o) {
        a = o.a;
        p = o.p;
        p.attention = &a;
        return *this;
    }
};

struct LayerPtr {
    lola_layer *p = nullptr;
    LayerPtr() = default;
    LayerPtr(const LayerPtr &) = delete;
    LayerPtr &operator=(const LayerPtr &) = delete;
    ~LayerPtr() { lola_layer_free(p); }
};

inline std::vector<unsigned char> save_blob(const lola_layer *l) {
    size_t n = 0;
    EXPECT_EQ(lola_layer_state_size(l, &n), LOLA_OK);
    std::vector<unsigned char> blob(n);
    size_t written = 0;
    EXPECT_EQ(lola_layer_state_save(l, blob.data(), blob.size(), &written), LOLA_OK);
    EXPECT_EQ(written, n);
    return blob;
}

}  // namespace lola_test
