// gguf.cpp: the GGUF parser and the File / Value accessors.
//
// Layout read (GGUF v2/v3, all integers little-endian):
//   "GGUF"  u32 version  u64 tensor_count  u64 metadata_kv_count
//   metadata_kv_count x { string key, u32 value_type, value }
//       string = u64 length + bytes (no NUL); array = u32 element_type, u64 count, elements
//   tensor_count x { string name, u32 n_dims, u64 ne[n_dims], u32 ggml_type, u64 offset }
//   padding to general.alignment (default 32), then the data section; tensor offsets are
//   relative to its start.
// The parser never trusts a number from the file: counts are bounded by the bytes left before
// anything is reserved, all arithmetic on file values is overflow-checked, and every read goes
// through the bounds-checked Cursor.
#include "gguf/gguf.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <system_error>

#include "gguf/cursor.hpp"
#include "base/error.hpp"

namespace lola::gguf {

namespace {

constexpr uint32_t kMagic = 0x46554747u;         // "GGUF" read as a little-endian u32
constexpr uint32_t kSwappedMagic = 0x47475546u;  // "FUGG"
constexpr uint64_t kMaxNameBytes = uint64_t{1} << 20;  // keys and tensor names
constexpr uint32_t kMaxDims = 4;
constexpr uint32_t kDefaultAlignment = 32;
// Smallest encodings, used to bound counts by the bytes left before anything is reserved:
// a kv is key length (8) + type (4) + a 1-byte value at least; a tensor info is name length (8)
// + n_dims (4) + one dim (8) + type (4) + offset (8) at least.
constexpr uint64_t kMinKvBytes = 8 + 4 + 1;
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;
constexpr uint64_t kMinStringBytes = 8;
constexpr size_t kReserveCap = 4096;  // never reserve more than this from a file's count

std::string u2s(uint64_t v) { return std::to_string(v); }

// A key or name for messages: control bytes, quote and backslash escaped as \xNN, cut after
// max_chars characters.
std::string printable(const std::string &s, size_t max_chars = 120) {
    std::string out;
    size_t n = 0;
    for (const char ch : s) {
        if (n++ >= max_chars) {
            out += "...";
            break;
        }
        const unsigned char c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c == 0x7F || c == '\'' || c == '\\') {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            out += ch;  // UTF-8 bytes pass through
        }
    }
    return out;
}

std::string quoted(const std::string &s) { return "'" + printable(s) + "'"; }

bool mul_overflows(uint64_t a, uint64_t b, uint64_t *out) {
    if (a != 0 && b > std::numeric_limits<uint64_t>::max() / a) return true;
    *out = a * b;
    return false;
}

bool add_overflows(uint64_t a, uint64_t b, uint64_t *out) {
    if (b > std::numeric_limits<uint64_t>::max() - a) return true;
    *out = a + b;
    return false;
}

bool is_pow2(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

uint32_t bswap32(uint32_t v) {
    return ((v & 0xFFu) << 24) | ((v & 0xFF00u) << 8) | ((v >> 8) & 0xFF00u) | (v >> 24);
}

// Bytes of one element of a fixed-size value type; 0 for string and array.
size_t fixed_size(ValueType t) {
    switch (t) {
    case ValueType::u8:
    case ValueType::i8:
    case ValueType::boolean: return 1;
    case ValueType::u16:
    case ValueType::i16: return 2;
    case ValueType::u32:
    case ValueType::i32:
    case ValueType::f32: return 4;
    case ValueType::u64:
    case ValueType::i64:
    case ValueType::f64: return 8;
    case ValueType::string:
    case ValueType::array: return 0;
    }
    return 0;
}

bool valid_value_type(uint32_t t) { return t <= static_cast<uint32_t>(ValueType::f64); }

uint64_t load_le(const uint8_t *p, size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
    return v;
}

std::string shape_string(const int64_t *ne, size_t n) {
    std::string s = "[";
    for (size_t i = 0; i < n; ++i) {
        if (i) s += ", ";
        s += std::to_string(ne[i]);
    }
    return s + "]";
}

std::string type_name(uint32_t type) {
    const TypeTraits *t = type_traits(type);
    return t ? std::string(t->name) : "type " + std::to_string(type);
}

std::string human_bytes(uint64_t n) {
    const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(n);
    size_t u = 0;
    while (v >= 1024.0 && u + 1 < sizeof units / sizeof units[0]) {
        v /= 1024.0;
        ++u;
    }
    char buf[32];
    if (u == 0)
        std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(n));
    else
        std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
    return buf;
}

// "string", "i32 -1", "array<u32>[3]": what a getter found, for its error message.
std::string brief(const Value &v) {
    if (v.is_array())
        return std::string("array<") + value_type_name(v.element_type()) + ">[" +
               std::to_string(v.size()) + "]";
    if (v.is_string()) return "string " + v.display(40);
    return std::string(value_type_name(v.type())) + " " + v.display();
}

[[noreturn]] void wrong_type(const std::string &key, const char *expected, const Value &v) {
    fail(Status::corrupt_data,
         "metadata key " + quoted(key) + ": expected " + expected + ", found " + brief(v));
}

}  // namespace

const char *value_type_name(ValueType type) noexcept {
    switch (type) {
    case ValueType::u8: return "u8";
    case ValueType::i8: return "i8";
    case ValueType::u16: return "u16";
    case ValueType::i16: return "i16";
    case ValueType::u32: return "u32";
    case ValueType::i32: return "i32";
    case ValueType::f32: return "f32";
    case ValueType::boolean: return "bool";
    case ValueType::string: return "string";
    case ValueType::array: return "array";
    case ValueType::u64: return "u64";
    case ValueType::i64: return "i64";
    case ValueType::f64: return "f64";
    }
    return "?";
}

// ---------------------------------------------------------------------------------------------
// Value

bool Value::is_integer() const noexcept {
    switch (type_) {
    case ValueType::u8:
    case ValueType::i8:
    case ValueType::u16:
    case ValueType::i16:
    case ValueType::u32:
    case ValueType::i32:
    case ValueType::u64:
    case ValueType::i64: return true;
    default: return false;
    }
}

bool Value::is_float() const noexcept {
    return type_ == ValueType::f32 || type_ == ValueType::f64;
}

std::optional<int64_t> Value::to_i64() const noexcept {
    switch (type_) {
    case ValueType::u8:
    case ValueType::u16:
    case ValueType::u32:
    case ValueType::u64:
        if (bits_ > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
        return static_cast<int64_t>(bits_);
    case ValueType::i8: return static_cast<int8_t>(static_cast<uint8_t>(bits_));
    case ValueType::i16: return static_cast<int16_t>(static_cast<uint16_t>(bits_));
    case ValueType::i32: return static_cast<int32_t>(static_cast<uint32_t>(bits_));
    case ValueType::i64: return static_cast<int64_t>(bits_);
    default: return std::nullopt;
    }
}

std::optional<uint64_t> Value::to_u64() const noexcept {
    switch (type_) {
    case ValueType::u8:
    case ValueType::u16:
    case ValueType::u32:
    case ValueType::u64: return bits_;
    default: break;
    }
    const std::optional<int64_t> v = to_i64();
    if (!v || *v < 0) return std::nullopt;
    return static_cast<uint64_t>(*v);
}

std::optional<uint32_t> Value::to_u32() const noexcept {
    const std::optional<uint64_t> v = to_u64();
    if (!v || *v > std::numeric_limits<uint32_t>::max()) return std::nullopt;
    return static_cast<uint32_t>(*v);
}

std::optional<int32_t> Value::to_i32() const noexcept {
    const std::optional<int64_t> v = to_i64();
    if (!v || *v < std::numeric_limits<int32_t>::min() || *v > std::numeric_limits<int32_t>::max())
        return std::nullopt;
    return static_cast<int32_t>(*v);
}

std::optional<double> Value::to_f64() const noexcept {
    if (type_ == ValueType::f32) {
        const uint32_t b = static_cast<uint32_t>(bits_);
        float f;
        std::memcpy(&f, &b, sizeof f);
        return static_cast<double>(f);
    }
    if (type_ == ValueType::f64) {
        double d;
        std::memcpy(&d, &bits_, sizeof d);
        return d;
    }
    if (!is_integer()) return std::nullopt;
    if (const std::optional<int64_t> i = to_i64()) return static_cast<double>(*i);
    return static_cast<double>(bits_);  // u64 above 2^63
}

std::optional<float> Value::to_f32() const noexcept {
    const std::optional<double> d = to_f64();
    if (!d) return std::nullopt;
    if (std::isfinite(*d) && std::fabs(*d) > static_cast<double>(FLT_MAX)) return std::nullopt;
    return static_cast<float>(*d);
}

std::optional<bool> Value::to_bool() const noexcept {
    if (type_ != ValueType::boolean) return std::nullopt;
    return bits_ != 0;
}

const std::string *Value::as_string() const noexcept {
    return type_ == ValueType::string ? &string_ : nullptr;
}

Value Value::at(size_t i) const {
    if (type_ != ValueType::array)
        fail(Status::invalid_argument,
             std::string("Value::at on a non-array value of type ") + value_type_name(type_));
    if (i >= count_)
        fail(Status::invalid_argument, "Value::at(" + std::to_string(i) + ") on an array of " +
                                           std::to_string(count_) + " elements");
    Value v;
    v.type_ = element_type_;
    if (element_type_ == ValueType::string) {
        v.string_ = strings_[i];
    } else {
        const size_t es = fixed_size(element_type_);
        v.bits_ = load_le(raw_.data() + i * es, es);
    }
    return v;
}

namespace {

void append_escaped(std::string &out, const std::string &s, size_t max_chars) {
    out += '"';
    size_t n = 0;
    for (const char ch : s) {
        if (n >= max_chars) {
            out += "...";
            break;
        }
        const unsigned char c = static_cast<unsigned char>(ch);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += ch;
        } else if (c == '\n') {
            out += "\\n";
        } else if (c < 0x20 || c == 0x7F) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            out += ch;  // UTF-8 bytes pass through
        }
        ++n;
    }
    out += '"';
}

}  // namespace

std::string Value::display(size_t max_chars) const {
    switch (type_) {
    case ValueType::boolean: return bits_ ? "true" : "false";
    case ValueType::f32:
    case ValueType::f64: {
        char buf[40];
        std::snprintf(buf, sizeof buf, "%.9g", *to_f64());
        return buf;
    }
    case ValueType::string: {
        std::string out;
        append_escaped(out, string_, max_chars);
        return out;
    }
    case ValueType::array: {
        std::string out = "[";
        for (size_t i = 0; i < count_; ++i) {
            if (i) out += ", ";
            if (out.size() >= max_chars) {
                out += "... (" + std::to_string(count_) + " elements)";
                break;
            }
            out += at(i).display(24);
        }
        return out + "]";
    }
    default: break;
    }
    if (const std::optional<int64_t> i = to_i64()) return std::to_string(*i);
    return std::to_string(bits_);
}

// ---------------------------------------------------------------------------------------------
// Parser

namespace detail {

class Parser {
public:
    explicit Parser(File &file) : f_(file), c_(file.bytes_, file.size_) {}

    void run() {
        header();
        for (uint64_t i = 0; i < kv_count_; ++i) kv(i);
        alignment();
        for (uint64_t i = 0; i < tensor_count_; ++i) tensor_info(i);
        data_section();
    }

private:
    [[noreturn]] static void corrupt(const std::string &msg) { fail(Status::corrupt_data, msg); }

    void header() {
        const uint8_t *m = c_.bytes(4, "magic");
        const uint32_t magic = static_cast<uint32_t>(load_le(m, 4));
        if (magic == kSwappedMagic)
            corrupt("big-endian GGUF not supported (the magic reads 'FUGG', byte-swapped)");
        if (magic != kMagic) {
            char buf[80];
            std::snprintf(buf, sizeof buf, "bad magic %02x %02x %02x %02x (expected 'GGUF' = 47 47 55 46)",
                          m[0], m[1], m[2], m[3]);
            corrupt(buf);
        }
        const uint32_t version = c_.u32("version");
        if (version == 0 || version > 0xFFFF) {
            const uint32_t swapped = bswap32(version);
            if (swapped >= 1 && swapped <= 0xFFFF)
                corrupt("big-endian GGUF not supported (version field reads " + u2s(version) +
                        ", byte-swapped " + u2s(swapped) + ")");
        }
        if (version == 1)
            corrupt("GGUF version 1 is not supported (it has 32-bit counts); only versions 2 "
                    "and 3 are read");
        if (version != 2 && version != 3)
            corrupt("GGUF version " + u2s(version) + " is not supported; only versions 2 and 3 "
                    "are read");
        f_.version_ = version;

        tensor_count_ = c_.u64("tensor_count");
        kv_count_ = c_.u64("metadata_kv_count");
        const uint64_t left = c_.remaining();
        if (tensor_count_ > left / kMinTensorInfoBytes)
            corrupt("tensor_count " + u2s(tensor_count_) + " cannot fit in a file of " +
                    u2s(c_.size()) + " bytes (each tensor info takes at least " +
                    u2s(kMinTensorInfoBytes) + " bytes)");
        if (kv_count_ > left / kMinKvBytes)
            corrupt("metadata_kv_count " + u2s(kv_count_) + " cannot fit in a file of " +
                    u2s(c_.size()) + " bytes (each key/value takes at least " +
                    u2s(kMinKvBytes) + " bytes)");
        // Both bounded by the file size above, so these products and the sum cannot overflow.
        if (kv_count_ * kMinKvBytes + tensor_count_ * kMinTensorInfoBytes > left)
            corrupt("metadata_kv_count " + u2s(kv_count_) + " and tensor_count " +
                    u2s(tensor_count_) + " together cannot fit in a file of " + u2s(c_.size()) +
                    " bytes");
    }

    // A u64-length string; what_len / what name the two fields in messages.
    std::string read_string(const char *what_len, const char *what, uint64_t cap) {
        const uint64_t len = c_.u64(what_len);
        if (len > cap)
            corrupt(c_.where(what_len) + " " + u2s(len) + " exceeds the limit of " + u2s(cap) +
                    " bytes");
        if (len > c_.remaining())
            corrupt(c_.where(what_len) + " " + u2s(len) + " exceeds the " + u2s(c_.remaining()) +
                    " bytes left in the file (at offset " + u2s(c_.pos()) + " of " +
                    u2s(c_.size()) + ")");
        const uint8_t *p = c_.bytes(static_cast<size_t>(len), what);
        return std::string(reinterpret_cast<const char *>(p), static_cast<size_t>(len));
    }

    void check_bool(uint64_t b, const std::string &where) {
        if (b > 1) corrupt(where + ": bool value " + u2s(b) + " is neither 0 nor 1");
    }

    void kv(uint64_t i) {
        c_.set_context("metadata kv " + u2s(i));
        std::string key = read_string("key length", "key", kMaxNameBytes);
        if (key.empty()) corrupt("metadata kv " + u2s(i) + " has an empty key");
        if (key.find('\0') != std::string::npos)
            corrupt("metadata kv " + u2s(i) + " key " + quoted(key) + " contains a NUL byte");
        if (f_.key_index_.count(key))
            corrupt("duplicate metadata key " + quoted(key) + " (kv " +
                    u2s(f_.key_index_.at(key)) + " and kv " + u2s(i) + ")");
        const std::string ctx = "metadata key " + quoted(key);
        c_.set_context(ctx);
        const uint32_t t = c_.u32("value type");
        if (!valid_value_type(t))
            corrupt(ctx + ": bad value type " + u2s(t) + " (valid types are 0..12)");
        Value v;
        v.type_ = static_cast<ValueType>(t);
        if (v.type_ == ValueType::array) {
            array(v, ctx);
        } else if (v.type_ == ValueType::string) {
            v.string_ = read_string("string length", "string", std::numeric_limits<uint64_t>::max());
        } else {
            v.bits_ = read_fixed(v.type_, "value");
            if (v.type_ == ValueType::boolean) check_bool(v.bits_, ctx);
        }
        f_.key_index_.emplace(key, f_.keys_.size());
        f_.keys_.push_back(std::move(key));
        f_.values_.push_back(std::move(v));
    }

    uint64_t read_fixed(ValueType t, const char *field) {
        switch (fixed_size(t)) {
        case 1: return c_.u8(field);
        case 2: return c_.u16(field);
        case 4: return c_.u32(field);
        default: return c_.u64(field);
        }
    }

    void array(Value &v, const std::string &ctx) {
        const uint32_t et = c_.u32("array element type");
        if (!valid_value_type(et))
            corrupt(ctx + ": bad array element type " + u2s(et) + " (valid types are 0..12)");
        v.element_type_ = static_cast<ValueType>(et);
        if (v.element_type_ == ValueType::array)
            corrupt(ctx + ": nested arrays (array of array) are not supported");
        const uint64_t n = c_.u64("array length");
        const size_t es = fixed_size(v.element_type_);
        const uint64_t min_each = es ? es : kMinStringBytes;
        if (n > c_.remaining() / min_each)
            corrupt(ctx + ": array length " + u2s(n) + " of " + value_type_name(v.element_type_) +
                    " (at least " + u2s(min_each) + " bytes each) exceeds the " +
                    u2s(c_.remaining()) + " bytes left in the file (at offset " + u2s(c_.pos()) +
                    ")");
        v.count_ = n;
        if (es) {
            const size_t bytes = static_cast<size_t>(n) * es;  // <= remaining, checked above
            const uint8_t *p = c_.bytes(bytes, "array elements");
            v.raw_.assign(p, p + bytes);
            if (v.element_type_ == ValueType::boolean) {
                for (size_t k = 0; k < bytes; ++k)
                    if (p[k] > 1) check_bool(p[k], ctx + " element " + u2s(k));
            }
            return;
        }
        v.strings_.reserve(static_cast<size_t>(std::min<uint64_t>(n, kReserveCap)));
        for (uint64_t k = 0; k < n; ++k) {
            // Name the element in the message when its string is about to fail.
            if (c_.remaining() < kMinStringBytes ||
                load_le(c_.here(), kMinStringBytes) > c_.remaining() - kMinStringBytes)
                c_.set_context(ctx + " element " + u2s(k));
            v.strings_.push_back(read_string("string length", "string",
                                        std::numeric_limits<uint64_t>::max()));
        }
    }

    void alignment() {
        c_.set_context("");
        const Value *a = f_.find("general.alignment");
        if (!a) {
            f_.alignment_ = kDefaultAlignment;
            return;
        }
        const std::optional<uint32_t> v = a->to_u32();
        if (!v)
            corrupt("general.alignment must be an unsigned 32-bit integer, found " + brief(*a));
        if (!is_pow2(*v))
            corrupt("general.alignment " + u2s(*v) + " is not a non-zero power of two");
        f_.alignment_ = *v;
    }

    void tensor_info(uint64_t i) {
        c_.set_context("tensor " + u2s(i));
        TensorInfo t;
        t.name = read_string("name length", "name", kMaxNameBytes);
        if (t.name.empty()) corrupt("tensor " + u2s(i) + " has an empty name");
        if (t.name.find('\0') != std::string::npos)
            corrupt("tensor " + u2s(i) + " name " + quoted(t.name) + " contains a NUL byte");
        const std::string ctx = "tensor " + u2s(i) + " " + quoted(t.name);
        c_.set_context(ctx);
        if (f_.tensor_index_.count(t.name))
            corrupt("duplicate tensor name " + quoted(t.name) + " (tensors " +
                    u2s(f_.tensor_index_.at(t.name)) + " and " + u2s(i) + ")");

        t.n_dims = c_.u32("n_dims");
        if (t.n_dims == 0 || t.n_dims > kMaxDims)
            corrupt(ctx + ": n_dims " + u2s(t.n_dims) + " is out of range (1.." + u2s(kMaxDims) +
                    ")");
        uint64_t dims[kMaxDims] = {1, 1, 1, 1};
        for (uint32_t d = 0; d < t.n_dims; ++d) dims[d] = c_.u64("dims");
        int64_t n = 1;
        for (uint32_t d = 0; d < t.n_dims; ++d) {
            if (dims[d] == 0)
                corrupt(ctx + ": dim " + u2s(d) + " is 0 (every dim must be at least 1)");
            if (dims[d] > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
                corrupt(ctx + ": dim " + u2s(d) + " = " + u2s(dims[d]) +
                        " exceeds the int64 range");
            t.ne[d] = static_cast<int64_t>(dims[d]);
        }
        for (uint32_t d = 0; d < t.n_dims; ++d) {
            if (n > std::numeric_limits<int64_t>::max() / t.ne[d])
                corrupt(ctx + ": the element count of shape " + shape_string(t.ne, t.n_dims) +
                        " overflows int64");
            n *= t.ne[d];
        }

        t.type = c_.u32("type");
        const TypeTraits *tt = type_traits(t.type);
        if (!tt) corrupt(ctx + " has unknown ggml type id " + u2s(t.type));
        if (t.ne[0] % tt->block_size != 0)
            corrupt(ctx + " (" + tt->name + "): ne[0] = " + std::to_string(t.ne[0]) +
                    " is not a multiple of the block size " + std::to_string(tt->block_size));
        uint64_t bytes = 0;
        if (mul_overflows(static_cast<uint64_t>(n / tt->block_size),
                          static_cast<uint64_t>(tt->type_size), &bytes))
            corrupt(ctx + ": the byte size of " + shape_string(t.ne, t.n_dims) + " " + tt->name +
                    " overflows 64 bits");
        t.n_bytes = bytes;

        t.offset = c_.u64("offset");
        if (t.offset % f_.alignment_ != 0)
            corrupt(ctx + ": offset " + u2s(t.offset) + " is not a multiple of the alignment " +
                    u2s(f_.alignment_));

        f_.tensor_index_.emplace(t.name, f_.tensors_.size());
        f_.tensors_.push_back(std::move(t));
    }

    void data_section() {
        c_.set_context("");
        uint64_t start = 0;
        if (add_overflows(c_.pos(), f_.alignment_ - 1, &start))
            corrupt("the data section start overflows");
        start &= ~static_cast<uint64_t>(f_.alignment_ - 1);
        const uint64_t size = c_.size();
        // A file without tensors may end before the padding; it then has an empty data section.
        f_.data_offset_ = static_cast<size_t>(std::min(start, size));
        if (f_.tensors_.empty()) return;
        if (start > size)
            corrupt("the data section would start at offset " + u2s(start) +
                    " (tensor infos end at " + u2s(c_.pos()) + ", alignment " +
                    u2s(f_.alignment_) + "), past the end of the file (" + u2s(size) +
                    " bytes), but there are " + u2s(f_.tensors_.size()) + " tensors");
        const uint64_t avail = size - start;
        for (size_t i = 0; i < f_.tensors_.size(); ++i) {
            TensorInfo &t = f_.tensors_[i];
            const std::string ctx = "tensor " + u2s(i) + " " + quoted(t.name);
            if (t.offset > avail)
                corrupt(ctx + ": offset " + u2s(t.offset) + " is past the end of the data "
                        "section (" + u2s(avail) + " bytes from file offset " + u2s(start) + ")");
            if (t.n_bytes > avail - t.offset)
                corrupt(ctx + ": data [" + u2s(t.offset) + ", " + u2s(t.offset) + " + " +
                        u2s(t.n_bytes) + ") extends past the end of the data section (" +
                        u2s(avail) + " bytes from file offset " + u2s(start) + ", file " +
                        u2s(size) + " bytes)");
            t.data = f_.bytes_ + static_cast<size_t>(start + t.offset);
        }
        std::vector<size_t> order(f_.tensors_.size());
        for (size_t i = 0; i < order.size(); ++i) order[i] = i;
        std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
            return f_.tensors_[a].offset < f_.tensors_[b].offset;
        });
        for (size_t k = 1; k < order.size(); ++k) {
            const TensorInfo &a = f_.tensors_[order[k - 1]];
            const TensorInfo &b = f_.tensors_[order[k]];
            if (a.offset + a.n_bytes > b.offset)  // both inside the file: no overflow
                corrupt("tensors " + quoted(a.name) + " [" + u2s(a.offset) + ", " +
                        u2s(a.offset + a.n_bytes) + ") and " + quoted(b.name) + " [" +
                        u2s(b.offset) + ", " + u2s(b.offset + b.n_bytes) + ") overlap");
        }
    }

    File &f_;
    Cursor c_;
    uint64_t tensor_count_ = 0;
    uint64_t kv_count_ = 0;
};

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// File

File::~File() {
    if (map_) ::munmap(map_, map_size_);
}

void File::parse() {
    detail::Parser parser(*this);
    parser.run();
}

std::unique_ptr<File> File::from_memory(std::vector<uint8_t> bytes) {
    std::unique_ptr<File> f(new File());
    f->owned_ = std::move(bytes);
    f->bytes_ = f->owned_.data();
    f->size_ = f->owned_.size();
    f->parse();
    return f;
}

std::unique_ptr<File> File::open(const std::string &path) {
    std::unique_ptr<File> f(new File());
    f->path_ = path;
    const auto io_fail = [&](const char *what, int err) {
        fail(Status::io, std::string(what) + " GGUF file '" + path +
                             "': " + std::generic_category().message(err));
    };
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) io_fail("cannot open", errno);
    struct stat st;
    if (::fstat(fd, &st) != 0) {
        const int err = errno;
        ::close(fd);
        io_fail("cannot stat", err);
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        fail(Status::io, "GGUF file '" + path + "' is not a regular file");
    }
    if (st.st_size < 0 ||
        static_cast<uint64_t>(st.st_size) > std::numeric_limits<size_t>::max()) {
        ::close(fd);
        fail(Status::io, "GGUF file '" + path + "' is too large to map");
    }
    const size_t size = static_cast<size_t>(st.st_size);
    if (size > 0) {
        void *p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            const int err = errno;
            ::close(fd);
            io_fail("cannot map", err);
        }
        f->map_ = p;
        f->map_size_ = size;
        f->bytes_ = static_cast<const uint8_t *>(p);
    }
    ::close(fd);
    f->size_ = size;
    try {
        f->parse();
    } catch (const Error &e) {
        fail(e.status(), path + ": " + e.what());
    }
    return f;
}

const Value *File::find(const std::string &key) const {
    const auto it = key_index_.find(key);
    return it == key_index_.end() ? nullptr : &values_[it->second];
}

const Value &File::get(const std::string &key) const {
    const Value *v = find(key);
    if (!v) fail(Status::corrupt_data, "metadata key " + quoted(key) + " is missing");
    return *v;
}

namespace {

template <class T>
T converted(const std::string &key, const Value &v, std::optional<T> (Value::*conv)() const noexcept,
            const char *expected) {
    const std::optional<T> r = (v.*conv)();
    if (!r) wrong_type(key, expected, v);
    return *r;
}

}  // namespace

#define LOLA_GGUF_GETTERS(T, suffix, expected)                                           \
    T File::get_##suffix(const std::string &key) const {                                 \
        return converted<T>(key, get(key), &Value::to_##suffix, expected);               \
    }                                                                                    \
    std::optional<T> File::find_##suffix(const std::string &key) const {                 \
        const Value *v = find(key);                                                      \
        if (!v) return std::nullopt;                                                     \
        return converted<T>(key, *v, &Value::to_##suffix, expected);                     \
    }

LOLA_GGUF_GETTERS(uint32_t, u32, "an integer in u32 range")
LOLA_GGUF_GETTERS(int32_t, i32, "an integer in i32 range")
LOLA_GGUF_GETTERS(uint64_t, u64, "an integer in u64 range")
LOLA_GGUF_GETTERS(int64_t, i64, "an integer in i64 range")
LOLA_GGUF_GETTERS(float, f32, "a number in f32 range")
LOLA_GGUF_GETTERS(double, f64, "a number")
LOLA_GGUF_GETTERS(bool, bool, "a bool")
#undef LOLA_GGUF_GETTERS

const std::string &File::get_string(const std::string &key) const {
    const Value &v = get(key);
    if (!v.is_string()) wrong_type(key, "a string", v);
    return *v.as_string();
}

std::optional<std::string> File::find_string(const std::string &key) const {
    const Value *v = find(key);
    if (!v) return std::nullopt;
    if (!v->is_string()) wrong_type(key, "a string", *v);
    return *v->as_string();
}

const std::vector<std::string> &File::get_string_array(const std::string &key) const {
    const Value &v = get(key);
    if (!v.is_array() || v.element_type() != ValueType::string)
        wrong_type(key, "an array of strings", v);
    return v.strings();
}

std::vector<int64_t> File::get_int_array(const std::string &key) const {
    const Value &v = get(key);
    if (!v.is_array()) wrong_type(key, "an array of integers", v);
    std::vector<int64_t> out(v.size());
    for (size_t i = 0; i < v.size(); ++i) {
        const Value e = v.at(i);
        const std::optional<int64_t> x = e.to_i64();
        if (!x)
            fail(Status::corrupt_data, "metadata key " + quoted(key) +
                                           ": expected an array of integers, element " +
                                           std::to_string(i) + " is " + brief(e));
        out[i] = *x;
    }
    return out;
}

std::vector<float> File::get_f32_array(const std::string &key) const {
    const Value &v = get(key);
    if (!v.is_array()) wrong_type(key, "an array of numbers", v);
    std::vector<float> out(v.size());
    for (size_t i = 0; i < v.size(); ++i) {
        const Value e = v.at(i);
        const std::optional<float> x = e.to_f32();
        if (!x)
            fail(Status::corrupt_data, "metadata key " + quoted(key) +
                                           ": expected an array of f32 numbers, element " +
                                           std::to_string(i) + " is " + brief(e));
        out[i] = *x;
    }
    return out;
}

const TensorInfo *File::tensor(const std::string &name) const {
    const auto it = tensor_index_.find(name);
    return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

const TensorInfo &File::require_tensor(const std::string &name,
                                       std::initializer_list<int64_t> expected_ne,
                                       std::initializer_list<TensorType> allowed_types) const {
    if (expected_ne.size() == 0 || expected_ne.size() > kMaxDims)
        fail(Status::invalid_argument, "require_tensor(" + quoted(name) +
                                           "): the expected shape must have 1 to 4 dims, not " +
                                           std::to_string(expected_ne.size()));
    const TensorInfo *t = tensor(name);
    if (!t) fail(Status::corrupt_data, "tensor " + quoted(name) + " is missing");
    int64_t want[kMaxDims] = {1, 1, 1, 1};
    std::copy(expected_ne.begin(), expected_ne.end(), want);
    if (!std::equal(want, want + kMaxDims, t->ne))
        fail(Status::corrupt_data,
             "tensor " + quoted(name) + " has shape " + shape_string(t->ne, t->n_dims) +
                 ", expected " + shape_string(want, expected_ne.size()));
    const TypeTraits *tt = type_traits(t->type);
    if (!tt || !tt->supported)
        fail(Status::unsupported, "tensor " + quoted(name) + " has type " + type_name(t->type) +
                                      " (id " + std::to_string(t->type) +
                                      "), which liblola cannot compute with");
    if (allowed_types.size() != 0 &&
        std::find(allowed_types.begin(), allowed_types.end(), static_cast<TensorType>(t->type)) ==
            allowed_types.end()) {
        std::string list;
        for (const TensorType a : allowed_types) {
            if (!list.empty()) list += ", ";
            list += type_name(static_cast<uint32_t>(a));
        }
        fail(Status::unsupported, "tensor " + quoted(name) + " has type " + tt->name +
                                      ", expected one of " + list);
    }
    return *t;
}

std::string File::describe(size_t max_tensors) const {
    uint64_t data_bytes = 0;
    std::map<std::string, size_t> type_counts;
    for (const TensorInfo &t : tensors_) {
        data_bytes += t.n_bytes;  // disjoint ranges inside the file: no overflow
        ++type_counts[type_name(t.type)];
    }
    std::string out = "GGUF v" + std::to_string(version_) + ", " + human_bytes(size_) +
                      ", alignment " + std::to_string(alignment_) + "; " +
                      std::to_string(keys_.size()) + " metadata keys, " +
                      std::to_string(tensors_.size()) + " tensors (" + human_bytes(data_bytes) +
                      ")\n";
    for (size_t i = 0; i < keys_.size(); ++i) {
        const Value &v = values_[i];
        std::string type = value_type_name(v.type());
        if (v.is_array())
            type = std::string("array<") + value_type_name(v.element_type()) + ">[" +
                   std::to_string(v.size()) + "]";
        out += "  " + printable(keys_[i]) + ": " + type + " = " + v.display() + "\n";
    }
    if (!tensors_.empty()) {
        out += "tensor types:";
        for (const auto &tc : type_counts) out += " " + tc.first + " x" + std::to_string(tc.second);
        out += "\n";
    }
    for (size_t i = 0; i < tensors_.size() && i < max_tensors; ++i) {
        const TensorInfo &t = tensors_[i];
        out += "  " + printable(t.name) + ": " + type_name(t.type) + " " + shape_string(t.ne, t.n_dims) +
               ", " + human_bytes(t.n_bytes) + " at data offset " + std::to_string(t.offset) +
               "\n";
    }
    if (tensors_.size() > max_tensors)
        out += "  ... and " + std::to_string(tensors_.size() - max_tensors) + " more tensors\n";
    return out;
}

}  // namespace lola::gguf
