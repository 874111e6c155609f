// constants.cpp: the values of lola.h, as module attributes of lola._lola named as in C
// (LOLA_ATTENTION_FULL, LOLA_ERR_IO, LOLA_TOKENIZE_ADD_SPECIAL, ...): every enumerator and every
// integer #define. The compiler reads them from the header, so the IntEnums of lola/enums.py,
// the status codes of lola/errors.py and the flags the wrappers pass are built from these and
// no value is written in Python. Each name stands here once; tests/test_constants.py parses
// lola.h and checks that this list holds every one of its constants, with the same value.
#include "common.h"

#include <utility>

namespace lolapy {

#define LOLA_PY_CONSTANT(name) {#name, static_cast<long long>(name)}

void bind_constants(py::module_ &m) {
    static const std::pair<const char *, long long> constants[] = {
        // #defines
        LOLA_PY_CONSTANT(LOLA_ABI_VERSION), LOLA_PY_CONSTANT(LOLA_MODEL_DEFAULT),
        LOLA_PY_CONSTANT(LOLA_FEED_ALL_LOGITS), LOLA_PY_CONSTANT(LOLA_TOKENIZE_ADD_SPECIAL),
        LOLA_PY_CONSTANT(LOLA_TOKENIZE_PARSE_SPECIAL), LOLA_PY_CONSTANT(LOLA_DETOKENIZE_SPECIAL),
        // lola_status
        LOLA_PY_CONSTANT(LOLA_OK), LOLA_PY_CONSTANT(LOLA_ERR_INVALID_ARGUMENT),
        LOLA_PY_CONSTANT(LOLA_ERR_NULL_HANDLE), LOLA_PY_CONSTANT(LOLA_ERR_NULL_POINTER),
        LOLA_PY_CONSTANT(LOLA_ERR_SIZE_MISMATCH), LOLA_PY_CONSTANT(LOLA_ERR_BUFFER_TOO_SMALL),
        LOLA_PY_CONSTANT(LOLA_ERR_NON_FINITE), LOLA_PY_CONSTANT(LOLA_ERR_OUT_OF_MEMORY),
        LOLA_PY_CONSTANT(LOLA_ERR_CORRUPT_DATA), LOLA_PY_CONSTANT(LOLA_ERR_VERSION_MISMATCH),
        LOLA_PY_CONSTANT(LOLA_ERR_INCOMPATIBLE), LOLA_PY_CONSTANT(LOLA_ERR_UNSUPPORTED),
        LOLA_PY_CONSTANT(LOLA_ERR_INTERNAL), LOLA_PY_CONSTANT(LOLA_ERR_IO),
        LOLA_PY_CONSTANT(LOLA_ERR_ABORTED),
        // lola_attention
        LOLA_PY_CONSTANT(LOLA_ATTENTION_LOLA), LOLA_PY_CONSTANT(LOLA_ATTENTION_FULL),
        LOLA_PY_CONSTANT(LOLA_ATTENTION_WINDOW),
        // lola_feature_map, and its AUTO #define
        LOLA_PY_CONSTANT(LOLA_FEATURE_MAP_AUTO), LOLA_PY_CONSTANT(LOLA_FEATURE_MAP_HEDGEHOG),
        LOLA_PY_CONSTANT(LOLA_FEATURE_MAP_PERFORMER), LOLA_PY_CONSTANT(LOLA_FEATURE_MAP_ELU1),
        LOLA_PY_CONSTANT(LOLA_FEATURE_MAP_RELU), LOLA_PY_CONSTANT(LOLA_FEATURE_MAP_PRECOMPUTED),
        // lola_mixing, lola_scoring
        LOLA_PY_CONSTANT(LOLA_MIXING_LOLA), LOLA_PY_CONSTANT(LOLA_MIXING_LOLCATS),
        LOLA_PY_CONSTANT(LOLA_SCORING_SRE), LOLA_PY_CONSTANT(LOLA_SCORING_RECENCY),
        LOLA_PY_CONSTANT(LOLA_SCORING_RANDOM), LOLA_PY_CONSTANT(LOLA_SCORING_VALUE_NORM),
        // lola_memory, lola_device, lola_log_level
        LOLA_PY_CONSTANT(LOLA_MEMORY_WINDOW), LOLA_PY_CONSTANT(LOLA_MEMORY_SPARSE),
        LOLA_PY_CONSTANT(LOLA_DEVICE_CPU), LOLA_PY_CONSTANT(LOLA_DEVICE_CUDA),
        LOLA_PY_CONSTANT(LOLA_LOG_DEBUG), LOLA_PY_CONSTANT(LOLA_LOG_INFO),
        LOLA_PY_CONSTANT(LOLA_LOG_WARN), LOLA_PY_CONSTANT(LOLA_LOG_ERROR),
    };
    for (const auto &[name, value] : constants) m.attr(name) = value;
}

#undef LOLA_PY_CONSTANT

}  // namespace lolapy
