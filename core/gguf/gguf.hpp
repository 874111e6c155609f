// gguf.hpp: a hardened, memory-mapped reader of GGUF model files (versions 2 and 3, little-endian).
//
// Every count, length, offset, shape and byte size in the file is checked against the file size
// with overflow-checked arithmetic before it is used or allocated; nothing is read out of bounds.
// A malformed file throws Error(Status::corrupt_data, message) where the message names the field,
// key or tensor and the offending values; a file that cannot be opened or mapped throws
// Error(Status::io, ...) with the path and the system's reason. docs/GGUF.md lists every check.
//
// Lifetime: a File owns its bytes (the mapping, or the vector given to from_memory). TensorInfo
// data pointers point into them and are valid while the File lives. Values own their contents.
// A File is immutable after opening, so concurrent reads from several threads are safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "gguf/tensor_type.hpp"

namespace lola::gguf {

// GGUF metadata value types (the ids stored in the file).
enum class ValueType : uint32_t {
    u8 = 0,
    i8 = 1,
    u16 = 2,
    i16 = 3,
    u32 = 4,
    i32 = 5,
    f32 = 6,
    boolean = 7,
    string = 8,
    array = 9,
    u64 = 10,
    i64 = 11,
    f64 = 12,
};

// "u8", "i32", "f32", "bool", "string", "array", ...; "?" for an id outside the enum.
const char *value_type_name(ValueType type) noexcept;

namespace detail {
class Parser;
}

// One metadata value: a scalar, a string, or an array of scalars or strings (nested arrays are
// refused by the reader). The to_* conversions never throw; they return nullopt when the value
// is not of a kind that converts exactly (see each).
class Value {
public:
    Value() = default;

    ValueType type() const noexcept { return type_; }
    bool is_integer() const noexcept;  // u8..u64, i8..i64 (not bool)
    bool is_float() const noexcept;    // f32, f64
    bool is_bool() const noexcept { return type_ == ValueType::boolean; }
    bool is_string() const noexcept { return type_ == ValueType::string; }
    bool is_array() const noexcept { return type_ == ValueType::array; }

    std::optional<uint64_t> to_u64() const noexcept;  // any integer type holding a value >= 0
    std::optional<int64_t> to_i64() const noexcept;   // any integer type holding a value <= 2^63-1
    std::optional<uint32_t> to_u32() const noexcept;  // any integer type, value in [0, 2^32)
    std::optional<int32_t> to_i32() const noexcept;   // any integer type, value in int32 range
    std::optional<double> to_f64() const noexcept;    // f32, f64, or any integer type
    std::optional<float> to_f32() const noexcept;     // as to_f64, when finite values fit a float
    std::optional<bool> to_bool() const noexcept;     // bool only
    const std::string *as_string() const noexcept;    // string only, else nullptr

    // Arrays. element_type() is meaningful for arrays only.
    ValueType element_type() const noexcept { return element_type_; }
    size_t size() const noexcept { return static_cast<size_t>(count_); }  // 0 for non-arrays
    // Element i as a scalar Value; throws Error(invalid_argument) if not an array or out of range.
    Value at(size_t i) const;
    // The elements of an array of strings (empty for any other value).
    const std::vector<std::string> &strings() const noexcept { return strings_; }

    // A one-line rendering for messages and describe(): 42, 1.5, true, "text", [1, 2, 3, ...];
    // long strings are cut to about max_chars and control bytes escaped.
    std::string display(size_t max_chars = 60) const;

private:
    friend class detail::Parser;

    ValueType type_ = ValueType::u8;
    ValueType element_type_ = ValueType::u8;
    uint64_t bits_ = 0;                 // scalars: the stored bits, zero-extended
    uint64_t count_ = 0;                // arrays: element count
    std::string string_;                // strings
    std::vector<uint8_t> raw_;          // arrays of fixed-size elements: the file's bytes (LE)
    std::vector<std::string> strings_;  // arrays of strings
};

struct TensorInfo {
    std::string name;
    uint32_t n_dims = 0;                 // 1..4
    int64_t ne[4] = {1, 1, 1, 1};        // ne[0] is the contiguous (row) dim, GGML order
    uint32_t type = 0;                   // a ggml type id; type_traits(type) is never null
    uint64_t offset = 0;                 // from the start of the data section
    uint64_t n_bytes = 0;                // ne[0]*ne[1]*ne[2]*ne[3] / block_size * type_size
    const uint8_t *data = nullptr;       // the raw bytes, inside the File (type may be unsupported)

    int64_t n_elements() const noexcept { return ne[0] * ne[1] * ne[2] * ne[3]; }
};

class File {
public:
    // Maps the file read-only (the descriptor is closed once mapped) and parses it.
    // Throws Error(io) when it cannot be opened, is not a regular file or cannot be mapped;
    // Error(corrupt_data) "<path>: <what is wrong>" when it is not a valid GGUF file.
    static std::unique_ptr<File> open(const std::string &path);
    // Parses bytes held in memory (tests, fuzzing, embedded models); the File keeps them.
    static std::unique_ptr<File> from_memory(std::vector<uint8_t> bytes);

    ~File();
    File(const File &) = delete;
    File &operator=(const File &) = delete;

    uint32_t version() const noexcept { return version_; }
    size_t alignment() const noexcept { return alignment_; }
    size_t size() const noexcept { return size_; }                // bytes in the file
    size_t data_offset() const noexcept { return data_offset_; }  // start of the data section
    const std::string &path() const noexcept { return path_; }    // "" for from_memory

    // ---- metadata ----
    const std::vector<std::string> &keys() const noexcept { return keys_; }  // file order
    bool has(const std::string &key) const { return find(key) != nullptr; }
    const Value *find(const std::string &key) const;  // nullptr when absent
    const Value &get(const std::string &key) const;   // throws corrupt_data when absent

    // Typed getters: throw Error(corrupt_data) naming the key when it is absent or its value does
    // not convert (integers accept any integer type whose value fits; floats accept f32, f64 and
    // integers; bool and string only themselves).
    uint32_t get_u32(const std::string &key) const;
    int32_t get_i32(const std::string &key) const;
    uint64_t get_u64(const std::string &key) const;
    int64_t get_i64(const std::string &key) const;
    float get_f32(const std::string &key) const;
    double get_f64(const std::string &key) const;
    bool get_bool(const std::string &key) const;
    const std::string &get_string(const std::string &key) const;

    // Optional variants: nullopt when the key is absent; throw like the above when present with a
    // value that does not convert.
    std::optional<uint32_t> find_u32(const std::string &key) const;
    std::optional<int32_t> find_i32(const std::string &key) const;
    std::optional<uint64_t> find_u64(const std::string &key) const;
    std::optional<int64_t> find_i64(const std::string &key) const;
    std::optional<float> find_f32(const std::string &key) const;
    std::optional<double> find_f64(const std::string &key) const;
    std::optional<bool> find_bool(const std::string &key) const;
    std::optional<std::string> find_string(const std::string &key) const;

    // Arrays (throw like the getters): strings; integers of any integer element type (values
    // must fit int64); floats of element type f32, f64 or any integer type.
    const std::vector<std::string> &get_string_array(const std::string &key) const;
    std::vector<int64_t> get_int_array(const std::string &key) const;
    std::vector<float> get_f32_array(const std::string &key) const;

    // ---- tensors ----
    const std::vector<TensorInfo> &tensors() const noexcept { return tensors_; }  // file order
    const TensorInfo *tensor(const std::string &name) const;  // nullptr when absent

    // The tensor, checked: present (else corrupt_data), shape exactly expected_ne in GGML order
    // (missing trailing dims count as 1; else corrupt_data naming both shapes), of a type liblola
    // supports (else unsupported) and, when allowed_types is not empty, one of them (else
    // unsupported). An expected shape of 0 or more than 4 dims is an invalid_argument.
    const TensorInfo &require_tensor(const std::string &name,
                                     std::initializer_list<int64_t> expected_ne,
                                     std::initializer_list<TensorType> allowed_types = {}) const;

    // A short human-readable summary: version, sizes, every key with its value (long values cut),
    // tensor type counts and the first max_tensors tensors.
    std::string describe(size_t max_tensors = 64) const;

private:
    friend class detail::Parser;
    File() = default;
    void parse();

    std::string path_;
    std::vector<uint8_t> owned_;  // from_memory
    void *map_ = nullptr;         // open
    size_t map_size_ = 0;
    const uint8_t *bytes_ = nullptr;
    size_t size_ = 0;

    uint32_t version_ = 0;
    size_t alignment_ = 32;
    size_t data_offset_ = 0;
    std::vector<std::string> keys_;
    std::vector<Value> values_;  // parallel to keys_
    std::unordered_map<std::string, size_t> key_index_;
    std::vector<TensorInfo> tensors_;
    std::unordered_map<std::string, size_t> tensor_index_;
};

}  // namespace lola::gguf
