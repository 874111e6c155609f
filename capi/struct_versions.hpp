// struct_versions.hpp: the struct_size contract of lola.h ("Structs" in its conventions). Every
// struct whose first field is struct_size lists here the sizes a header of this ABI version has
// published for it, oldest first. A caller's struct of any listed size is accepted: parameters
// are read over the defaults (fields past its size keep them), info structs are written up to
// its size. Any other size is refused with LOLA_ERR_VERSION_MISMATCH naming the sizes accepted.
//
// Appending a field to a struct: list its sizeof before the change (as the older header compiled
// it, tail padding included) before the new sizeof, and give the new field a default in the
// struct's *_init; tests/capi/test_struct_sizes.cpp checks every list.
#pragma once

#include <cstddef>
#include <cstring>
#include <string>

#include "boundary.hpp"
#include "lola.h"

namespace lola::capi {

template <class S>
struct Published;  // specialised below for every versioned struct of lola.h

#define LOLA_PUBLISHED_STRUCT(S, ...)                                \
    template <>                                                      \
    struct Published<S> {                                            \
        static constexpr const char *name = #S;                      \
        static constexpr size_t sizes[] = {__VA_ARGS__};             \
    };
// ABI version 2: the first of its line, one published size each.
LOLA_PUBLISHED_STRUCT(lola_attention_params, sizeof(lola_attention_params))
LOLA_PUBLISHED_STRUCT(lola_layer_params, sizeof(lola_layer_params))
LOLA_PUBLISHED_STRUCT(lola_layer_info, sizeof(lola_layer_info))
LOLA_PUBLISHED_STRUCT(lola_head_state, sizeof(lola_head_state))
LOLA_PUBLISHED_STRUCT(lola_model_params, sizeof(lola_model_params))
LOLA_PUBLISHED_STRUCT(lola_model_info, sizeof(lola_model_info))
LOLA_PUBLISHED_STRUCT(lola_context_params, sizeof(lola_context_params))
LOLA_PUBLISHED_STRUCT(lola_context_info, sizeof(lola_context_info))
LOLA_PUBLISHED_STRUCT(lola_special_tokens, sizeof(lola_special_tokens))
LOLA_PUBLISHED_STRUCT(lola_sampler_params, sizeof(lola_sampler_params))
#undef LOLA_PUBLISHED_STRUCT

// The caller's struct: present, and of a published size, which is returned. `Versions` is the
// list to check against (Published<S> unless a test brings its own).
template <class S, class Versions = Published<S>>
size_t require_struct(const S *s, const char *name) {
    require_pointer(s, name);
    const size_t size = s->struct_size;
    std::string accepted;
    for (size_t known : Versions::sizes) {
        static_assert(sizeof(S) >= sizeof(size_t), "struct_size comes first");
        if (size == known && known <= sizeof(S)) return size;
        accepted += (accepted.empty() ? "" : " or ") + std::to_string(known);
    }
    fail(LOLA_ERR_VERSION_MISMATCH, std::string(name) + "->struct_size is " + std::to_string(size) +
                                        "; this liblola accepts " + accepted + " for " +
                                        Versions::name + " (set it with the matching *_init, or to sizeof)");
}

// A parameter struct as this library sees it: `defaults` overlaid with the caller's fields (as
// many bytes as its struct_size says), struct_size set to this library's.
template <class S, class Versions = Published<S>>
S read_struct(const S *s, const char *name, const S &defaults) {
    const size_t size = require_struct<S, Versions>(s, name);
    S out = defaults;
    std::memcpy(static_cast<void *>(&out), static_cast<const void *>(s), size);
    out.struct_size = sizeof(S);
    return out;
}

// Writes `value` into the caller's info struct, up to its struct_size (checked first: nothing
// is written to a struct of an unknown size), keeping that struct_size.
template <class S, class Versions = Published<S>>
void write_struct(S *out, const char *name, S value) {
    const size_t size = require_struct<S, Versions>(out, name);
    value.struct_size = size;
    std::memcpy(static_cast<void *>(out), static_cast<const void *>(&value), size);
}

}  // namespace lola::capi
