// struct_versions.hpp: the struct_size contract of lola.h ("Structs" in its conventions). Every
// struct whose first field is struct_size lists here the sizes a header of this ABI version has
// published for it, oldest first. A caller's struct of any listed size is accepted: parameters
// are read over the defaults (fields past its size keep them), info structs are written up to
// its size. Any other size is refused with LOLA_ERR_VERSION_MISMATCH naming the sizes accepted.
//
// Each published version is {size, used}: the struct_size an older caller passes (its sizeof,
// tail padding included) and the bytes its fields occupy (where its last field ends): a newer
// field may sit in the old tail padding, so only `used` bytes of an old caller's struct are read.
// Appending a field: list {old sizeof, offsetof(new field)} before {sizeof, sizeof}, give the new
// field a default in the struct's *_init; tests/capi/test_struct_sizes.cpp checks every list.
#pragma once

#include <cstddef>
#include <cstring>
#include <string>

#include "boundary.hpp"
#include "lola.h"

namespace lola::capi {

template <class S>
struct Published;  // specialised below for every versioned struct of lola.h

struct StructVersion {
    size_t size;  // the struct_size the caller passes
    size_t used;  // the bytes of its fields (<= size)
};

#define LOLA_PUBLISHED_STRUCT(S)                                            \
    template <>                                                             \
    struct Published<S> {                                                   \
        static constexpr const char *name = #S;                             \
        static constexpr StructVersion versions[] = {{sizeof(S), sizeof(S)}}; \
    };
// ABI version 2: the first of its line, one published size each but for the two below.
LOLA_PUBLISHED_STRUCT(lola_attention_params)
LOLA_PUBLISHED_STRUCT(lola_layer_params)
LOLA_PUBLISHED_STRUCT(lola_layer_info)
LOLA_PUBLISHED_STRUCT(lola_head_state)
LOLA_PUBLISHED_STRUCT(lola_context_info)
LOLA_PUBLISHED_STRUCT(lola_special_tokens)
LOLA_PUBLISHED_STRUCT(lola_sampler_params)
LOLA_PUBLISHED_STRUCT(lola_perplexity_result)
#undef LOLA_PUBLISHED_STRUCT

// The first sizes of these three ended where the appended fields begin (has_adapter sits in the
// old lola_model_info's tail padding: an old caller's struct is written only up to its size).
template <>
struct Published<lola_model_params> {
    static constexpr const char *name = "lola_model_params";
    static constexpr StructVersion versions[] = {
        {offsetof(lola_model_params, adapter_path), offsetof(lola_model_params, adapter_path)},
        {sizeof(lola_model_params), sizeof(lola_model_params)}};
};
template <>
struct Published<lola_context_params> {
    static constexpr const char *name = "lola_context_params";
    static constexpr StructVersion versions[] = {
        {offsetof(lola_context_params, layer_attention), offsetof(lola_context_params, layer_attention)},
        {sizeof(lola_context_params), sizeof(lola_context_params)}};
};
template <>
struct Published<lola_model_info> {
    static constexpr const char *name = "lola_model_info";
    static constexpr StructVersion versions[] = {
        {offsetof(lola_model_info, fingerprint), offsetof(lola_model_info, has_adapter)},
        {sizeof(lola_model_info), sizeof(lola_model_info)}};
};

// The caller's struct: present, and of a published size; returns that version. `Versions` is
// the list to check against (Published<S> unless a test brings its own).
template <class S, class Versions = Published<S>>
StructVersion require_struct(const S *s, const char *name) {
    static_assert(sizeof(S) >= sizeof(size_t), "struct_size comes first");
    require_pointer(s, name);
    const size_t size = s->struct_size;
    std::string accepted;
    for (const StructVersion &v : Versions::versions) {
        if (size == v.size && v.used <= v.size && v.size <= sizeof(S)) return v;
        accepted += (accepted.empty() ? "" : " or ") + std::to_string(v.size);
    }
    fail(LOLA_ERR_VERSION_MISMATCH, std::string(name) + "->struct_size is " + std::to_string(size) +
                                        "; this liblola accepts " + accepted + " for " +
                                        Versions::name + " (set it with the matching *_init, or to sizeof)");
}

// A parameter struct as this library sees it: `defaults` overlaid with the caller's fields (the
// bytes its version's fields occupy), struct_size set to this library's.
template <class S, class Versions = Published<S>>
S read_struct(const S *s, const char *name, const S &defaults) {
    const StructVersion v = require_struct<S, Versions>(s, name);
    S out = defaults;
    std::memcpy(static_cast<void *>(&out), static_cast<const void *>(s), v.used);
    out.struct_size = sizeof(S);
    return out;
}

// Writes `value` into the caller's info struct, up to its struct_size (checked first: nothing
// is written to a struct of an unknown size), keeping that struct_size.
template <class S, class Versions = Published<S>>
void write_struct(S *out, const char *name, S value) {
    const StructVersion v = require_struct<S, Versions>(out, name);
    value.struct_size = v.size;
    std::memcpy(static_cast<void *>(out), static_cast<const void *>(&value), v.size);
}

}  // namespace lola::capi
