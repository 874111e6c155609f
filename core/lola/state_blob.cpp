// state_blob.cpp: save and restore a layer's cache state as a self-checking byte blob.
//
// Layout (native byte order, recorded so a foreign blob is refused):
//   "LOLASTAT"  u32 format_version  u32 byte_order_mark (0x01020304)  u64 total_size
//   u64 config_fingerprint  u32 scalar_bytes  i32 n_heads n_kv_heads head_dim feature_dim
//   chunk sparse_capacity attention feature_map  i64 n_tokens  i32 n_state_heads
//   per state head: u32 has_linear  i64 n_folded n_evicted  T log_scale  [T H[F*d] T s[F]]
//                   for G, W_prev, W_cur: i64 n, i64 pos[n], T k[n*d], v[n*d], fk[n*F],
//                                         fk_log[n], score[n]
//   u32 CRC-32 (zlib) of every byte before it
// Restore checks size, magic, version, CRC, configuration and every count and position before
// it replaces the layer's state, so a bad blob leaves the layer as it was.
#include <zlib.h>

#include <cmath>
#include <cstring>
#include <string>

#include "base/error.hpp"
#include "lola/layer.hpp"

namespace lola {

namespace {

constexpr char kMagic[8] = {'L', 'O', 'L', 'A', 'S', 'T', 'A', 'T'};
constexpr uint32_t kFormatVersion = 1;
constexpr uint32_t kByteOrderMark = 0x01020304u;
// magic + version + bom + total + fingerprint + scalar + 8 x i32 + n_tokens + n_state_heads
constexpr size_t kHeaderSize = 8 + 4 + 4 + 8 + 8 + 4 + 8 * 4 + 8 + 4;

uint32_t crc_of(const unsigned char *data, size_t n) {
    uLong crc = crc32(0L, Z_NULL, 0);
    while (n > 0) {  // zlib takes uInt lengths
        const uInt part = static_cast<uInt>(std::min<size_t>(n, 1u << 30));
        crc = crc32(crc, data, part);
        data += part;
        n -= part;
    }
    return static_cast<uint32_t>(crc);
}

class Writer {
public:
    template <class V>
    void put(const V &v) { raw(&v, sizeof v); }
    template <class V>
    void put_array(const std::vector<V> &v) {
        if (!v.empty()) raw(v.data(), v.size() * sizeof(V));
    }
    void raw(const void *p, size_t n) {
        const auto *b = static_cast<const unsigned char *>(p);
        out.insert(out.end(), b, b + n);
    }
    std::vector<unsigned char> out;
};

static_assert(sizeof(int64_t) == 8, "blob layout assumes 8-byte positions");

class Reader {
public:
    Reader(const unsigned char *data, size_t size) : p_(data), left_(size) {}
    template <class V>
    V get(const char *what) {
        V v;
        raw(&v, sizeof v, what);
        return v;
    }
    template <class V>
    void get_array(std::vector<V> &out, size_t count, const char *what) {
        if (count > left_ / sizeof(V)) corrupt(what);
        out.resize(count);
        if (count) raw(out.data(), count * sizeof(V), what);
    }
    size_t left() const { return left_; }

private:
    void raw(void *dst, size_t n, const char *what) {
        if (n > left_) corrupt(what);
        std::memcpy(dst, p_, n);
        p_ += n;
        left_ -= n;
    }
    [[noreturn]] static void corrupt(const char *what) {
        fail(Status::corrupt_data, std::string("state blob: '") + what + "' runs past the end");
    }
    const unsigned char *p_;
    size_t left_;
};

template <class T>
void require_finite(const std::vector<T> &v, const char *what) {
    for (const T &x : v)
        if (!std::isfinite(x))
            fail(Status::corrupt_data, std::string("state blob: '") + what + "' holds a non-finite value");
}

}  // namespace

template <class T>
std::vector<unsigned char> Layer<T>::save() const {
    const LayerConfig &c = config_;
    Writer w;
    w.out.reserve(save_size());
    w.raw(kMagic, sizeof kMagic);
    w.put(kFormatVersion);
    w.put(kByteOrderMark);
    w.put(uint64_t{0});  // total size, patched below
    w.put(fingerprint(c));
    w.put(static_cast<uint32_t>(sizeof(T)));
    for (int v : {c.n_heads, c.n_kv_heads, c.head_dim, c.feature_dim, c.chunk, c.sparse_capacity,
                  static_cast<int>(c.attention), static_cast<int>(c.feature_map)})
        w.put(static_cast<int32_t>(v));
    w.put(static_cast<int64_t>(n_tokens_));
    w.put(static_cast<int32_t>(states_.size()));
    for (const HeadState<T> &st : states_) {
        // restore() refuses non-finite values, so save() does too rather than write a blob that
        // cannot be restored (values only overflow when the inputs were near the float range).
        auto finite = [](const std::vector<T> &v, const char *what) {
            for (const T &x : v)
                if (!std::isfinite(x))
                    fail(Status::non_finite, std::string("the layer's state '") + what +
                                                 "' holds a non-finite value (the inputs overflowed); "
                                                 "nothing was saved");
        };
        if (!std::isfinite(st.log_scale)) finite({st.log_scale}, "log_scale");
        if (st.has_linear) {
            finite(st.H, "H");
            finite(st.s, "s");
        }
        for (const Pairs<T> *mem : {&st.sparse, &st.prev, &st.cur})
            for (const std::vector<T> *v : {&mem->k, &mem->v, &mem->fk, &mem->fk_log}) finite(*v, "cache");
        w.put(static_cast<uint32_t>(st.has_linear));
        w.put(static_cast<int64_t>(st.n_folded));
        w.put(static_cast<int64_t>(st.n_evicted));
        w.put(st.log_scale);
        if (st.has_linear) {
            w.put_array(st.H);
            w.put_array(st.s);
        }
        for (const Pairs<T> *mem : {&st.sparse, &st.prev, &st.cur}) {
            w.put(static_cast<int64_t>(mem->size()));
            w.put_array(mem->pos);
            w.put_array(mem->k);
            w.put_array(mem->v);
            w.put_array(mem->fk);
            w.put_array(mem->fk_log);
            w.put_array(mem->score);
        }
    }
    const uint64_t total = w.out.size() + sizeof(uint32_t);
    std::memcpy(w.out.data() + 16, &total, sizeof total);
    w.put(crc_of(w.out.data(), w.out.size()));
    if (w.out.size() != save_size()) fail(Status::internal, "state blob size miscomputed");
    return std::move(w.out);
}

template <class T>
size_t Layer<T>::save_size() const {
    const size_t d = config_.head_dim;
    size_t total = kHeaderSize + sizeof(uint32_t);  // header + CRC
    for (const HeadState<T> &st : states_) {
        total += 4 + 8 + 8 + sizeof(T);
        if (st.has_linear) total += (st.H.size() + st.s.size()) * sizeof(T);
        for (const Pairs<T> *mem : {&st.sparse, &st.prev, &st.cur})
            total += 8 + mem->pos.size() * 8 +
                     (mem->pos.size() * (2 * d + mem->F + 2)) * sizeof(T);
    }
    return total;
}

template <class T>
void Layer<T>::restore(const unsigned char *data, size_t size) {
    const LayerConfig &c = config_;
    if (!data) fail(Status::null_pointer, "state blob pointer is NULL");
    if (size < kHeaderSize + sizeof(uint32_t))
        fail(Status::corrupt_data, "state blob too short: " + std::to_string(size) +
                                       " bytes, the header alone needs " +
                                       std::to_string(kHeaderSize + 4));
    if (std::memcmp(data, kMagic, sizeof kMagic) != 0)
        fail(Status::corrupt_data, "not a LoLA layer state blob (bad magic)");
    Reader head(data + sizeof kMagic, size - sizeof kMagic);
    const auto version = head.get<uint32_t>("format_version");
    if (version != kFormatVersion)
        fail(Status::version_mismatch, "state blob format version " + std::to_string(version) +
                                           "; this library reads version " +
                                           std::to_string(kFormatVersion));
    if (head.get<uint32_t>("byte_order_mark") != kByteOrderMark)
        fail(Status::incompatible, "state blob was saved on a machine with another byte order");
    const auto total = head.get<uint64_t>("total_size");
    if (total != size)
        fail(Status::corrupt_data, "state blob is " + std::to_string(size) +
                                       " bytes but its header says " + std::to_string(total) +
                                       " (truncated or extended)");
    uint32_t stored_crc;
    std::memcpy(&stored_crc, data + size - sizeof stored_crc, sizeof stored_crc);
    if (crc_of(data, size - sizeof stored_crc) != stored_crc)
        fail(Status::corrupt_data, "state blob checksum mismatch (the data was altered)");

    const auto fp = head.get<uint64_t>("config_fingerprint");
    const auto scalar = head.get<uint32_t>("scalar_bytes");
    int32_t shape[8];
    for (int32_t &v : shape) v = head.get<int32_t>("shape");
    const int32_t ours[8] = {c.n_heads, c.n_kv_heads, c.head_dim, c.feature_dim, c.chunk,
                             c.sparse_capacity, static_cast<int>(c.attention),
                             static_cast<int>(c.feature_map)};
    static const char *names[8] = {"n_heads", "n_kv_heads", "head_dim", "feature_dim",
                                   "chunk_size", "sparse_capacity", "attention", "feature_map"};
    for (int i = 0; i < 8; ++i)
        if (shape[i] != ours[i])
            fail(Status::incompatible, std::string("state blob was saved by a layer with ") +
                                           names[i] + " = " + std::to_string(shape[i]) +
                                           "; this layer has " + std::to_string(ours[i]));
    if (scalar != sizeof(T))
        fail(Status::incompatible, "state blob holds " + std::to_string(scalar) +
                                       "-byte scalars; this layer uses " +
                                       std::to_string(sizeof(T)));
    if (fp != fingerprint(c))
        fail(Status::incompatible, "state blob was saved by a layer with other parameters or "
                                   "weights (configuration fingerprint differs)");

    const auto n_tokens = head.get<int64_t>("n_tokens");
    const auto n_state = head.get<int32_t>("n_state_heads");
    if (n_tokens < 0) fail(Status::corrupt_data, "state blob: negative n_tokens");
    if (n_state != n_state_heads())
        fail(Status::corrupt_data, "state blob: " + std::to_string(n_state) +
                                       " state heads, expected " + std::to_string(n_state_heads()));
    const bool linear = c.attention == Attention::lola;
    const size_t d = c.head_dim, F = linear ? c.feature_dim : 0;
    std::vector<HeadState<T>> states;
    states.reserve(n_state);
    for (int sh = 0; sh < n_state; ++sh) {
        HeadState<T> st = make_state();
        auto bad = [&](const std::string &what) {
            fail(Status::corrupt_data, "state blob, head " + std::to_string(sh) + ": " + what);
        };
        const auto has_linear = head.get<uint32_t>("has_linear");
        if (has_linear > 1 || (has_linear && !linear)) bad("invalid has_linear flag");
        st.has_linear = has_linear == 1;
        st.n_folded = head.get<int64_t>("n_folded");
        st.n_evicted = head.get<int64_t>("n_evicted");
        st.log_scale = head.get<T>("log_scale");
        if (st.n_folded < 0 || st.n_evicted < 0 || !std::isfinite(st.log_scale))
            bad("invalid counters");
        if (st.has_linear) {
            head.get_array(st.H, F * d, "H");
            head.get_array(st.s, F, "s");
            require_finite(st.H, "H");
            require_finite(st.s, "s");
        }
        int64_t held = 0, last = -1;
        const char *mem_names[3] = {"sparse", "window_prev", "window_cur"};
        int idx = 0;
        for (Pairs<T> *mem : {&st.sparse, &st.prev, &st.cur}) {
            const char *name = mem_names[idx++];
            const auto n = head.get<int64_t>(name);
            const int64_t limit = c.attention == Attention::full
                                      ? (mem == &st.cur ? n_tokens : 0)
                                      : (mem == &st.sparse ? c.sparse_capacity : c.chunk);
            if (n < 0 || n > limit || (mem == &st.cur && c.attention != Attention::full && n >= c.chunk))
                bad(std::string(name) + " count " + std::to_string(n) + " out of range");
            const size_t count = static_cast<size_t>(n);
            head.get_array(mem->pos, count, name);
            head.get_array(mem->k, count * d, name);
            head.get_array(mem->v, count * d, name);
            head.get_array(mem->fk, count * F, name);
            head.get_array(mem->fk_log, count, name);
            head.get_array(mem->score, count, name);
            require_finite(mem->k, name);
            require_finite(mem->v, name);
            require_finite(mem->fk, name);
            require_finite(mem->fk_log, name);
            for (int64_t p : mem->pos) {  // ascending across G, W_prev, W_cur
                if (p <= last || p >= n_tokens) bad(std::string(name) + " positions out of order");
                last = p;
            }
            held += n;
        }
        // held <= n_tokens (its positions are distinct and below n_tokens); the counters are
        // compared by subtraction, which cannot overflow, not by a sum, which could.
        // Only window attention evicts and only the linear-state modes fold; full attention holds
        // every position (a full-attention blob claiming evictions would make the next feed size
        // its cache from a count no data backs).
        const bool may_fold = c.attention != Attention::full && c.attention != Attention::window;
        const bool may_evict = c.attention == Attention::window;
        if ((st.n_folded != 0 && !may_fold) || (st.n_evicted != 0 && !may_evict))
            bad(std::to_string(st.n_folded) + " folded and " + std::to_string(st.n_evicted) +
                " evicted positions are impossible under this attention");
        if (st.n_folded > n_tokens - held || st.n_evicted != n_tokens - held - st.n_folded)
            bad("memories hold " + std::to_string(held) + " positions, " + std::to_string(st.n_folded) +
                " folded and " + std::to_string(st.n_evicted) + " evicted for " +
                std::to_string(n_tokens) + " tokens");
        if (c.attention != Attention::full &&
            st.cur.size() != static_cast<int>(n_tokens % c.chunk))
            bad("window does not match the token count");
        states.push_back(std::move(st));
    }
    if (head.left() != sizeof(uint32_t))
        fail(Status::corrupt_data, "state blob has " + std::to_string(head.left() - 4) +
                                       " unexpected trailing bytes");
    states_ = std::move(states);
    n_tokens_ = n_tokens;
}

template std::vector<unsigned char> Layer<float>::save() const;
template std::vector<unsigned char> Layer<double>::save() const;
template size_t Layer<float>::save_size() const;
template size_t Layer<double>::save_size() const;
template void Layer<float>::restore(const unsigned char *, size_t);
template void Layer<double>::restore(const unsigned char *, size_t);

}  // namespace lola
