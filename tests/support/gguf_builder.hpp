// gguf_builder.hpp: builds GGUF files byte by byte for the reader's tests. Valid by default; every
// header count, string length, value type, n_dims, dim, type and offset can be overridden so a
// test can corrupt exactly one field.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "gguf/gguf.hpp"
#include "gguf/tensor_type.hpp"

namespace lola_test {

// Little-endian byte sink.
class Bytes {
public:
    Bytes &u8(uint8_t x) { return le(x, 1); }
    Bytes &u16(uint16_t x) { return le(x, 2); }
    Bytes &u32(uint32_t x) { return le(x, 4); }
    Bytes &u64(uint64_t x) { return le(x, 8); }
    Bytes &i8(int8_t x) { return le(static_cast<uint8_t>(x), 1); }
    Bytes &i16(int16_t x) { return le(static_cast<uint16_t>(x), 2); }
    Bytes &i32(int32_t x) { return le(static_cast<uint32_t>(x), 4); }
    Bytes &i64(int64_t x) { return le(static_cast<uint64_t>(x), 8); }
    Bytes &f32(float x) {
        uint32_t b;
        std::memcpy(&b, &x, 4);
        return u32(b);
    }
    Bytes &f64(double x) {
        uint64_t b;
        std::memcpy(&b, &x, 8);
        return u64(b);
    }
    // GGUF string: u64 length (the real one unless overridden) + bytes.
    Bytes &str(const std::string &s, std::optional<uint64_t> length = std::nullopt) {
        u64(length ? *length : s.size());
        return raw(s.data(), s.size());
    }
    Bytes &raw(const void *p, size_t n) {
        const auto *b = static_cast<const uint8_t *>(p);
        v.insert(v.end(), b, b + n);
        return *this;
    }
    Bytes &append(const Bytes &o) { return raw(o.v.data(), o.v.size()); }
    Bytes &pad_to(size_t alignment) {
        while (v.size() % alignment) v.push_back(0);
        return *this;
    }
    size_t size() const { return v.size(); }

    std::vector<uint8_t> v;

private:
    Bytes &le(uint64_t x, int n) {
        for (int i = 0; i < n; ++i) v.push_back(static_cast<uint8_t>(x >> (8 * i)));
        return *this;
    }
};

namespace gguf_type {  // metadata value type ids
constexpr uint32_t u8 = 0, i8 = 1, u16 = 2, i16 = 3, u32 = 4, i32 = 5, f32 = 6, boolean = 7,
                   string = 8, array = 9, u64 = 10, i64 = 11, f64 = 12;
}

class GgufBuilder {
public:
    struct Tensor {
        std::string name;
        std::vector<uint64_t> dims;
        uint32_t type = 0;
        std::optional<uint64_t> offset;       // default: after the previous one, aligned
        std::optional<uint32_t> n_dims;       // default: dims.size()
        std::optional<uint64_t> name_length;  // default: name.size()
        std::optional<uint64_t> n_bytes;      // data bytes reserved; default: from the shape
    };

    uint32_t version = 3;
    std::optional<uint64_t> tensor_count;  // header overrides
    std::optional<uint64_t> kv_count;
    size_t alignment = 32;  // padding and default offsets (general.alignment is a separate kv)
    size_t data_extra = 0;  // bytes appended after the last tensor's data
    std::optional<size_t> data_size;  // data section bytes; default: up to the last tensor's end
    std::vector<Tensor> tensors;

    // A key/value whose value bytes (after the type) are given as is.
    GgufBuilder &kv_raw(const std::string &key, uint32_t type, const Bytes &value,
                        std::optional<uint64_t> key_length = std::nullopt) {
        Bytes b;
        b.str(key, key_length).u32(type).append(value);
        kvs_.push_back(b);
        return *this;
    }
    GgufBuilder &kv_u8(const std::string &k, uint8_t x) { return kv_raw(k, gguf_type::u8, Bytes().u8(x)); }
    GgufBuilder &kv_i8(const std::string &k, int8_t x) { return kv_raw(k, gguf_type::i8, Bytes().i8(x)); }
    GgufBuilder &kv_u16(const std::string &k, uint16_t x) { return kv_raw(k, gguf_type::u16, Bytes().u16(x)); }
    GgufBuilder &kv_i16(const std::string &k, int16_t x) { return kv_raw(k, gguf_type::i16, Bytes().i16(x)); }
    GgufBuilder &kv_u32(const std::string &k, uint32_t x) { return kv_raw(k, gguf_type::u32, Bytes().u32(x)); }
    GgufBuilder &kv_i32(const std::string &k, int32_t x) { return kv_raw(k, gguf_type::i32, Bytes().i32(x)); }
    GgufBuilder &kv_u64(const std::string &k, uint64_t x) { return kv_raw(k, gguf_type::u64, Bytes().u64(x)); }
    GgufBuilder &kv_i64(const std::string &k, int64_t x) { return kv_raw(k, gguf_type::i64, Bytes().i64(x)); }
    GgufBuilder &kv_f32(const std::string &k, float x) { return kv_raw(k, gguf_type::f32, Bytes().f32(x)); }
    GgufBuilder &kv_f64(const std::string &k, double x) { return kv_raw(k, gguf_type::f64, Bytes().f64(x)); }
    GgufBuilder &kv_bool(const std::string &k, bool x) { return kv_raw(k, gguf_type::boolean, Bytes().u8(x ? 1 : 0)); }
    GgufBuilder &kv_str(const std::string &k, const std::string &s) {
        return kv_raw(k, gguf_type::string, Bytes().str(s));
    }
    // An array: element type, count (the real one unless overridden), then the element bytes.
    GgufBuilder &kv_array(const std::string &k, uint32_t element_type, uint64_t count,
                          const Bytes &elements) {
        return kv_raw(k, gguf_type::array, Bytes().u32(element_type).u64(count).append(elements));
    }
    GgufBuilder &kv_strings(const std::string &k, const std::vector<std::string> &items) {
        Bytes e;
        for (const std::string &s : items) e.str(s);
        return kv_array(k, gguf_type::string, items.size(), e);
    }

    GgufBuilder &tensor(const std::string &name, std::vector<uint64_t> dims, uint32_t type = 0,
                        std::optional<uint64_t> offset = std::nullopt) {
        Tensor t;
        t.name = name;
        t.dims = std::move(dims);
        t.type = type;
        t.offset = offset;
        tensors.push_back(t);
        return *this;
    }

    // Bytes of a tensor's data as the real format would have them (0 for unknown types).
    static uint64_t shape_bytes(const Tensor &t) {
        const lola::gguf::TypeTraits *tt = lola::gguf::type_traits(t.type);
        if (!tt) return 0;
        uint64_t n = 1;
        for (const uint64_t d : t.dims) n *= d;
        return n / static_cast<uint64_t>(tt->block_size) * static_cast<uint64_t>(tt->type_size);
    }

    // The offsets each tensor gets (explicit or automatic).
    std::vector<uint64_t> offsets() const {
        std::vector<uint64_t> out;
        uint64_t next = 0;
        for (const Tensor &t : tensors) {
            const uint64_t off = t.offset ? *t.offset : next;
            out.push_back(off);
            const uint64_t end = off + (t.n_bytes ? *t.n_bytes : shape_bytes(t));
            next = (end + alignment - 1) / alignment * alignment;
        }
        return out;
    }

    // The pattern byte j of tensor i's data holds.
    static uint8_t pattern(size_t i, size_t j) { return static_cast<uint8_t>(i * 37 + j * 7 + 1); }

    std::vector<uint8_t> build(size_t *data_start = nullptr) const {
        Bytes b;
        b.raw("GGUF", 4).u32(version);
        b.u64(tensor_count ? *tensor_count : tensors.size());
        b.u64(kv_count ? *kv_count : kvs_.size());
        for (const Bytes &kv : kvs_) b.append(kv);
        const std::vector<uint64_t> offs = offsets();
        for (size_t i = 0; i < tensors.size(); ++i) {
            const Tensor &t = tensors[i];
            b.str(t.name, t.name_length);
            b.u32(t.n_dims ? *t.n_dims : static_cast<uint32_t>(t.dims.size()));
            for (const uint64_t d : t.dims) b.u64(d);
            b.u32(t.type).u64(offs[i]);
        }
        if (tensors.empty()) {
            if (data_start) *data_start = b.size();
            return b.v;
        }
        b.pad_to(alignment);
        const size_t start = b.size();
        if (data_start) *data_start = start;
        uint64_t end = 0;
        for (size_t i = 0; i < tensors.size(); ++i) {
            const uint64_t n = tensors[i].n_bytes ? *tensors[i].n_bytes : shape_bytes(tensors[i]);
            if (offs[i] + n > end) end = offs[i] + n;
        }
        const size_t size = data_size ? *data_size : static_cast<size_t>(end);
        b.v.resize(start + size + data_extra, 0);
        for (size_t i = 0; i < tensors.size(); ++i) {
            const uint64_t n = tensors[i].n_bytes ? *tensors[i].n_bytes : shape_bytes(tensors[i]);
            for (uint64_t j = 0; j < n && offs[i] < size && j < size - offs[i]; ++j)
                b.v[start + static_cast<size_t>(offs[i] + j)] = pattern(i, static_cast<size_t>(j));
        }
        return b.v;
    }

private:
    std::vector<Bytes> kvs_;
};

}  // namespace lola_test
