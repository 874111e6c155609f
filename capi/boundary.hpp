// boundary.hpp: what every C entry point uses: guard() turns any C++ exception into a
// lola_status and a thread-local message; argument checks that throw the right status.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <new>
#include <stdexcept>
#include <cstring>
#include <string>
#include <vector>

#include "lola.h"
#include "base/error.hpp"

namespace lola::capi {

// The calling thread's last error message (lola_last_error_message).
std::string &last_error();

inline lola_status set_error(lola_status status, const std::string &message) {
    last_error() = message;
    return status;
}

template <class Fn>
lola_status guard(const char *function, Fn &&fn) noexcept {
    try {
        last_error().clear();
        return fn();
    } catch (const lola::Error &e) {
        return set_error(static_cast<lola_status>(e.status()), std::string(function) + ": " + e.what());
    } catch (const std::bad_alloc &) {
        return set_error(LOLA_ERR_OUT_OF_MEMORY, std::string(function) + ": out of memory");
    } catch (const std::length_error &e) {
        return set_error(LOLA_ERR_OUT_OF_MEMORY, std::string(function) + ": allocation too large (" + e.what() + ")");
    } catch (const std::exception &e) {
        return set_error(LOLA_ERR_INTERNAL, std::string(function) + ": internal error: " + e.what());
    } catch (...) {
        return set_error(LOLA_ERR_INTERNAL, std::string(function) + ": unknown internal error");
    }
}

[[noreturn]] inline void fail(lola_status status, const std::string &message) {
    lola::fail(static_cast<lola::Status>(status), message);
}

template <class H>
void require_handle(H *handle, const char *name) {
    if (!handle) fail(LOLA_ERR_NULL_HANDLE, std::string(name) + " is NULL");
}

inline void require_pointer(const void *p, const char *name) {
    if (!p) fail(LOLA_ERR_NULL_POINTER, std::string(name) + " is NULL");
}

// Overflow-checked product of non-negative factors.
inline size_t checked_product(std::initializer_list<uint64_t> factors) {
    uint64_t r = 1;
    for (uint64_t f : factors) {
        if (f != 0 && r > SIZE_MAX / f) fail(LOLA_ERR_INVALID_ARGUMENT, "array size overflows");
        r *= f;
    }
    return static_cast<size_t>(r);
}

inline void require_length(const void *p, size_t len, size_t expected, const char *name) {
    if (len != expected)
        fail(LOLA_ERR_SIZE_MISMATCH, std::string(name) + "_len is " + std::to_string(len) +
                                         ", the shapes need " + std::to_string(expected));
    require_pointer(p, name);
}
// Copies a saved state blob into a caller's buffer (the *_state_save contract): *written gets
// the blob's size; BUFFER_TOO_SMALL, writing nothing, when capacity is smaller.
inline void copy_out(const std::vector<unsigned char> &blob, void *buffer, size_t capacity,
                     size_t *written) {
    require_pointer(written, "written");
    *written = blob.size();
    if (capacity < blob.size())
        fail(LOLA_ERR_BUFFER_TOO_SMALL, "capacity " + std::to_string(capacity) +
                                            " < state size " + std::to_string(blob.size()));
    require_pointer(buffer, "buffer");
    std::memcpy(buffer, blob.data(), blob.size());
}

}  // namespace lola::capi
