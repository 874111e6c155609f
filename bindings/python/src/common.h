// common.h: what every file of the lola._lola extension shares: the status check that turns a
// non-OK lola_status into a C++ exception (module.cpp translates it into a lola.LolaError
// subclass), the Handle that owns a native object through a shared_ptr, and the maker of the
// *Params classes.
//
// Why shared_ptr: close() must free at once, yet a call running with the GIL released, a context
// (which needs its model's tokenizer), or a logits view must never see freed memory. Each of them
// holds its own reference; close() only drops the Python object's one.
#pragma once

#include <lola.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace lolapy {
namespace py = pybind11;

// A failed call: the status and the C library's message (read right after the call, on the
// same thread, before any other liblola call can replace it).
struct StatusError {
    int32_t status;
    std::string message;
};

inline void check(lola_status status) {
    if (status != LOLA_OK) throw StatusError{static_cast<int32_t>(status), lola_last_error_message()};
}

// A native object and the mutex that serialises the calls which use it. The C API lets one
// thread at a time use a context, layer or sampler; Python code cannot be trusted with that, so
// every call takes the lock (always after releasing the GIL, or without needing the GIL while
// holding it, so two threads cannot deadlock).
template <class T, void (*Free)(T *)>
struct Native {
    explicit Native(T *p) : ptr(p) {}
    ~Native() { Free(ptr); }
    Native(const Native &) = delete;
    Native &operator=(const Native &) = delete;
    T *ptr;
    std::mutex mu;
};

// The Python-visible owner of a native object. get() raises NullHandleError after close().
template <class N>
class Handle {
public:
    Handle(std::shared_ptr<N> native, const char *what) : native_(std::move(native)), what_(what) {}
    std::shared_ptr<N> get() const {
        if (!native_)
            throw StatusError{LOLA_ERR_NULL_HANDLE, std::string(what_) + " used after close()"};
        return native_;
    }
    void close() { native_.reset(); }
    bool closed() const { return !native_; }

private:
    std::shared_ptr<N> native_;
    const char *what_;
};

// Runs f(native->ptr) under the object's lock, with the GIL released (for calls that compute).
template <class N, class F>
auto call_nogil(const std::shared_ptr<N> &native, F &&f) {
    py::gil_scoped_release nogil;
    std::lock_guard<std::mutex> lock(native->mu);
    return f(native->ptr);
}

// Runs f(native->ptr) under the object's lock, keeping the GIL (cheap queries).
template <class N, class F>
auto call(const std::shared_ptr<N> &native, F &&f) {
    std::lock_guard<std::mutex> lock(native->mu);
    return f(native->ptr);
}

using NativeModel = Native<lola_model, lola_model_free>;
using NativeSampler = Native<lola_sampler, lola_sampler_free>;
using NativeLayer = Native<lola_layer, lola_layer_free>;

// The context also carries its model (for the tokenizer during generation), the abort flag its
// C callback reads, and a generation counter that every mutating call bumps, so that a logits
// view can tell that it is stale.
struct NativeContext : Native<lola_context, lola_context_free> {
    NativeContext(lola_context *p, std::shared_ptr<NativeModel> m)
        : Native(p), model(std::move(m)) {}
    std::shared_ptr<NativeModel> model;
    std::atomic<bool> abort_requested{false};
    std::atomic<uint64_t> generation{0};
    // Zero-copy logits views alive (their LogitsOwner bases), and the most logits rows any feed
    // of this context produced: lola_context_logits keeps its buffer in place unless a feed
    // needs more rows than that, so only such a feed could free memory a view points into.
    std::atomic<int> live_views{0};
    size_t max_rows = 0;  // guarded by mu
};

// An output struct of the C API (lola_*_info, lola_head_state, ...): struct_size set as the
// caller must, filled by fill(&out).
template <class T, class Fill>
T get_struct(Fill &&fill) {
    T out{};
    out.struct_size = sizeof out;
    check(fill(&out));
    return out;
}

// A 1-D float32/int32/int64 array copied out of C-filled storage.
template <class T>
py::array_t<T> to_array(const T *data, size_t n) {
    py::array_t<T> out(static_cast<py::ssize_t>(n));
    if (n) std::memcpy(out.mutable_data(), data, n * sizeof(T));
    return out;
}

// The bytes of a buffer-protocol object as one block that cannot change, as the C API reads them
// (`size` bytes from the start, with the GIL released): a strided or reversed view
// (np.frombuffer(b)[::-1], memoryview(b)[::2]) is copied into `copy` first, else C would read
// other bytes than the view's, or beyond its memory; so is a writable one (bytearray, numpy),
// which another thread could change between the C API's validation and its use. `bytes` (what
// save_state returns) is passed as it is.
inline py::buffer_info contiguous_bytes(const py::buffer &obj, py::object &copy) {
    py::buffer_info info = obj.request();
    if (info.readonly && PyBuffer_IsContiguous(info.view(), 'C')) return info;
    copy = py::memoryview(obj).attr("tobytes")();
    return py::buffer(copy).request();
}

// Contiguous C-order view (or converted copy) of any array-like, as the C API wants it.
template <class T>
using CArray = py::array_t<T, py::array::c_style | py::array::forcecast>;

// The token positions (int64) in one memory of a head and, for the sparse cache, a tuple of
// them and their scores (float32), under the object's lock: query(ptr, positions, scores,
// capacity, &count) is the C call, asked once for the count and once for the copy.
template <class N, class Query>
py::object memory_positions(const std::shared_ptr<N> &native, int32_t memory, Query &&query) {
    std::vector<int64_t> pos;
    std::vector<float> scores;
    const bool sparse = memory == LOLA_MEMORY_SPARSE;
    call(native, [&](auto *ptr) {
        size_t n = 0;
        check(query(ptr, static_cast<int64_t *>(nullptr), static_cast<float *>(nullptr),
                    size_t{0}, &n));
        pos.resize(n);
        if (sparse) scores.resize(n);
        check(query(ptr, pos.data(), sparse ? scores.data() : nullptr, n, &n));
    });
    if (!sparse) return to_array(pos.data(), pos.size());
    return py::make_tuple(to_array(pos.data(), pos.size()), to_array(scores.data(), scores.size()));
}

// The state blob of a context or layer as bytes, with the GIL released: size(ptr, &size), then
// save(ptr, buffer, capacity, &written).
template <class N, class Size, class Save>
py::bytes save_state(const std::shared_ptr<N> &native, Size &&size, Save &&save) {
    std::vector<char> blob;
    call_nogil(native, [&](auto *ptr) {
        size_t needed = 0, written = 0;
        check(size(ptr, &needed));
        blob.resize(needed);
        check(save(ptr, blob.data(), blob.size(), &written));
        blob.resize(written);
    });
    return py::bytes(blob.data(), blob.size());
}

// Restores a state blob from any bytes-like object, with the GIL released: restore(ptr, data,
// size) under the object's lock.
template <class N, class Restore>
void restore_state(const std::shared_ptr<N> &native, const py::buffer &blob, Restore &&restore) {
    py::object copy;
    const py::buffer_info buf = contiguous_bytes(blob, copy);
    const void *data = buf.ptr;
    const size_t size = static_cast<size_t>(buf.size * buf.itemsize);
    call_nogil(native, [&](auto *ptr) { restore(ptr, data, size); });
}

// A pybind11 class over a struct_size-versioned params struct (or a struct derived from one)
// whose Python constructor fills it with its C init function (lola_*_params_init), so every
// default is the C library's.
template <class T, auto Init>
py::class_<T> params_class(py::module_ &m, const char *name, const char *doc) {
    py::class_<T> cls(m, name, doc);
    cls.def(py::init([] {
        T params;
        check(Init(&params));
        return params;
    }));
    return cls;
}

// The Python-visible model and sampler (context.cpp reads them to create and generate).
struct Model {
    Handle<NativeModel> handle;
};
struct Sampler {
    Handle<NativeSampler> handle;
};

void bind_constants(py::module_ &m);
void bind_attention(py::module_ &m);
void bind_model(py::module_ &m);
void bind_context(py::module_ &m);
void bind_layer(py::module_ &m);
void bind_sampler(py::module_ &m);
void bind_eval(py::module_ &m);

}  // namespace lolapy
