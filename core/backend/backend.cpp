// backend.cpp: the little of backend.hpp that is not an interface.
#include "backend/backend.hpp"

#include <string>

#include "base/error.hpp"

namespace lola::backend {

Buf Buf::slice(size_t offset, size_t n) const {
    if (offset > size || n > size - offset)
        fail(Status::internal, "buffer slice [" + std::to_string(offset) + ", +" + std::to_string(n) +
                                   ") outside a buffer of " + std::to_string(size) + " floats");
    return Buf{data + offset, n};
}

}  // namespace lola::backend
