// tensor_type.hpp: the one table of ggml tensor types: every id a GGUF file may name, with its
// name, block geometry and whether liblola computes with it. The GGUF reader (sizes,
// require_tensor), the model loader and core/quant (quant::Type, type_name, block_size,
// type_size, supported) all read it; tests/quant checks that the types marked supported are
// exactly those core/quant has kernels for. Minimal and stable on purpose: the quantization
// kernels include this header.
#pragma once

#include <cstdint>

namespace lola::gguf {

// ggml type ids as stored in GGUF tensor infos. Ids 4, 5, 31-33 and 36-38 were retired by
// ggml and are unknown here, like every id not listed.
enum class TensorType : uint32_t {
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q4_1 = 3,
    Q5_0 = 6,
    Q5_1 = 7,
    Q8_0 = 8,
    Q8_1 = 9,
    Q2_K = 10,
    Q3_K = 11,
    Q4_K = 12,
    Q5_K = 13,
    Q6_K = 14,
    Q8_K = 15,
    IQ2_XXS = 16,
    IQ2_XS = 17,
    IQ3_XXS = 18,
    IQ1_S = 19,
    IQ4_NL = 20,
    IQ3_S = 21,
    IQ2_S = 22,
    IQ4_XS = 23,
    I8 = 24,
    I16 = 25,
    I32 = 26,
    I64 = 27,
    F64 = 28,
    IQ1_M = 29,
    BF16 = 30,
    TQ1_0 = 34,
    TQ2_0 = 35,
    MXFP4 = 39,
};

struct TypeTraits {
    const char *name;    // "Q4_K"
    int64_t block_size;  // elements per block (1 for plain types)
    int64_t type_size;   // bytes per block
    // liblola computes with tensors of this type: core/quant has its reference dequantization
    // and a dot kernel at every level. The only definition of "supported" in the library.
    bool supported;
};

// The traits of a type id, or nullptr when the id is not a known ggml type.
const TypeTraits *type_traits(uint32_t type);

inline const TypeTraits *type_traits(TensorType type) {
    return type_traits(static_cast<uint32_t>(type));
}

}  // namespace lola::gguf
