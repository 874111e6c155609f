// error.hpp: the one exception type of the core. It carries a status code that the C API turns
// into a lola_status plus the message (exceptions never cross the C boundary).
#pragma once

#include <stdexcept>
#include <string>

namespace lola {

// Mirrors lola_status in capi/lola.h (same values); the core does not include the C header.
enum class Status : int {
    ok = 0,
    invalid_argument = 1,
    null_handle = 2,
    null_pointer = 3,
    size_mismatch = 4,
    buffer_too_small = 5,
    non_finite = 6,
    out_of_memory = 7,
    corrupt_data = 8,
    version_mismatch = 9,
    incompatible = 10,
    unsupported = 11,
    internal = 12,
    io = 13,
    aborted = 14,
};

class Error : public std::runtime_error {
public:
    Error(Status status, const std::string &message)
        : std::runtime_error(message), status_(status) {}
    Status status() const noexcept { return status_; }

private:
    Status status_;
};

[[noreturn]] inline void fail(Status status, const std::string &message) {
    throw Error(status, message);
}

}  // namespace lola
