// cursor.hpp: a bounds-checked little-endian reader over a (pointer, size) span. Internal to the
// GGUF reader. Every read checks the bytes left first; a short read throws
// Error(corrupt_data, "truncated while reading <context> <field> ...").
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "base/error.hpp"

namespace lola::gguf::detail {

class Cursor {
public:
    Cursor(const uint8_t *data, size_t size) noexcept : data_(data), size_(size) {}

    size_t pos() const noexcept { return pos_; }
    size_t size() const noexcept { return size_; }
    size_t remaining() const noexcept { return size_ - pos_; }
    const uint8_t *here() const noexcept { return data_ + pos_; }  // read only remaining() bytes

    // What is being read ("tensor 3 'blk.0.attn_q.weight'"); prefixed to the field in errors.
    void set_context(std::string context) { context_ = std::move(context); }
    const std::string &context() const noexcept { return context_; }

    uint8_t u8(const char *field) { return static_cast<uint8_t>(read_le(1, field)); }
    uint16_t u16(const char *field) { return static_cast<uint16_t>(read_le(2, field)); }
    uint32_t u32(const char *field) { return static_cast<uint32_t>(read_le(4, field)); }
    uint64_t u64(const char *field) { return read_le(8, field); }

    // n raw bytes; returns where they start and moves past them.
    const uint8_t *bytes(size_t n, const char *field) {
        need(n, field);
        const uint8_t *p = data_ + pos_;
        pos_ += n;
        return p;
    }

    // "<context> <field>" for messages.
    std::string where(const char *field) const {
        return context_.empty() ? std::string(field) : context_ + " " + field;
    }

    [[noreturn]] void truncated(const char *field, size_t n) const {
        fail(Status::corrupt_data,
             "truncated while reading " + where(field) + " (needs " + std::to_string(n) +
                 " bytes at offset " + std::to_string(pos_) + ", the file has " +
                 std::to_string(size_) + " bytes)");
    }

private:
    void need(size_t n, const char *field) const {
        if (n > size_ - pos_) truncated(field, n);
    }

    uint64_t read_le(size_t n, const char *field) {
        need(n, field);
        uint64_t v = 0;
        for (size_t i = 0; i < n; ++i) v |= static_cast<uint64_t>(data_[pos_ + i]) << (8 * i);
        pos_ += n;
        return v;
    }

    const uint8_t *data_;
    size_t size_;
    size_t pos_ = 0;
    std::string context_;
};

}  // namespace lola::gguf::detail
