// capi_check.hpp: helpers for tests that use the C API: an owning layer handle and a save
// helper that goes through the size query, as a user would.
#pragma once

#include <gtest/gtest.h>

#include <vector>

#include "lola.h"

namespace lola_test {

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
