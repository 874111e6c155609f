// lola.cpp: the library-wide part of the C API: status names, versions, the thread-local
// last error message, the log callback, and the checks that tie the core's enums to lola.h.
// Every entry point of the C API (here, lola_layer.cpp, lola_model.cpp, lola_text.cpp,
// lola_sampling.cpp) runs inside guard() (boundary.hpp): no C++ exception reaches C.
#include "lola.h"

#include <string>
#include <type_traits>

#include "base/error.hpp"
#include "base/log.hpp"
#include "boundary.hpp"

#ifndef LOLA_VERSION_STRING
#define LOLA_VERSION_STRING "0.0.0"
#endif

// The core's statuses and log levels carry lola.h's values (guard() casts them).
static_assert(static_cast<int>(lola::Status::ok) == LOLA_OK &&
              static_cast<int>(lola::Status::invalid_argument) == LOLA_ERR_INVALID_ARGUMENT &&
              static_cast<int>(lola::Status::null_handle) == LOLA_ERR_NULL_HANDLE &&
              static_cast<int>(lola::Status::null_pointer) == LOLA_ERR_NULL_POINTER &&
              static_cast<int>(lola::Status::size_mismatch) == LOLA_ERR_SIZE_MISMATCH &&
              static_cast<int>(lola::Status::buffer_too_small) == LOLA_ERR_BUFFER_TOO_SMALL &&
              static_cast<int>(lola::Status::non_finite) == LOLA_ERR_NON_FINITE &&
              static_cast<int>(lola::Status::out_of_memory) == LOLA_ERR_OUT_OF_MEMORY &&
              static_cast<int>(lola::Status::corrupt_data) == LOLA_ERR_CORRUPT_DATA &&
              static_cast<int>(lola::Status::version_mismatch) == LOLA_ERR_VERSION_MISMATCH &&
              static_cast<int>(lola::Status::incompatible) == LOLA_ERR_INCOMPATIBLE &&
              static_cast<int>(lola::Status::unsupported) == LOLA_ERR_UNSUPPORTED &&
              static_cast<int>(lola::Status::internal) == LOLA_ERR_INTERNAL &&
              static_cast<int>(lola::Status::io) == LOLA_ERR_IO &&
              static_cast<int>(lola::Status::aborted) == LOLA_ERR_ABORTED,
              "lola::Status (core/base/error.hpp) must mirror lola_status");
static_assert(static_cast<int>(lola::LogLevel::debug) == LOLA_LOG_DEBUG &&
              static_cast<int>(lola::LogLevel::info) == LOLA_LOG_INFO &&
              static_cast<int>(lola::LogLevel::warn) == LOLA_LOG_WARN &&
              static_cast<int>(lola::LogLevel::error) == LOLA_LOG_ERROR,
              "lola::LogLevel (core/base/log.hpp) must mirror lola_log_level");
static_assert(std::is_same_v<lola_log_fn, lola::LogSink>, "lola_log_fn is the core's log sink");

using namespace lola::capi;

extern "C" {

const char *lola_status_string(lola_status status) {
    switch (status) {
        case LOLA_OK: return "LOLA_OK";
        case LOLA_ERR_INVALID_ARGUMENT: return "LOLA_ERR_INVALID_ARGUMENT";
        case LOLA_ERR_NULL_HANDLE: return "LOLA_ERR_NULL_HANDLE";
        case LOLA_ERR_NULL_POINTER: return "LOLA_ERR_NULL_POINTER";
        case LOLA_ERR_SIZE_MISMATCH: return "LOLA_ERR_SIZE_MISMATCH";
        case LOLA_ERR_BUFFER_TOO_SMALL: return "LOLA_ERR_BUFFER_TOO_SMALL";
        case LOLA_ERR_NON_FINITE: return "LOLA_ERR_NON_FINITE";
        case LOLA_ERR_OUT_OF_MEMORY: return "LOLA_ERR_OUT_OF_MEMORY";
        case LOLA_ERR_CORRUPT_DATA: return "LOLA_ERR_CORRUPT_DATA";
        case LOLA_ERR_VERSION_MISMATCH: return "LOLA_ERR_VERSION_MISMATCH";
        case LOLA_ERR_INCOMPATIBLE: return "LOLA_ERR_INCOMPATIBLE";
        case LOLA_ERR_UNSUPPORTED: return "LOLA_ERR_UNSUPPORTED";
        case LOLA_ERR_INTERNAL: return "LOLA_ERR_INTERNAL";
        case LOLA_ERR_IO: return "LOLA_ERR_IO";
        case LOLA_ERR_ABORTED: return "LOLA_ERR_ABORTED";
    }
    return "LOLA_ERR_UNKNOWN";
}

const char *lola_last_error_message(void) { return last_error().c_str(); }

const char *lola_version(void) { return LOLA_VERSION_STRING; }

int32_t lola_abi_version(void) { return LOLA_ABI_VERSION; }

void lola_set_log_callback(lola_log_fn fn, void *user_data) { lola::set_log_sink(fn, user_data); }

}  // extern "C"

namespace lola::capi {
std::string &last_error() {
    thread_local std::string message;
    return message;
}
}  // namespace lola::capi
