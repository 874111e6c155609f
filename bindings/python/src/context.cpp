// context.cpp: lola._lola.Context (lola_context_*): feeding, the zero-copy logits view, the cache
// state queries, save/restore/clone, and one step of generation (sample, test end of
// generation, feed, token bytes) run as a single native call with the GIL released, so that the
// Python generator in lola/context.py needs no callback from C.
#include <pybind11/stl.h>

#include "common.h"

#include <algorithm>
#include <string>
#include <vector>

namespace lolapy {
namespace {

struct Context {
    Handle<NativeContext> handle;
};

// The base object of a logits view: keeps the native context's memory alive and tells whether
// the view still shows the current logits (no mutating call since it was made).
struct LogitsOwner {
    std::shared_ptr<NativeContext> ctx;
    uint64_t generation;
    LogitsOwner(std::shared_ptr<NativeContext> c, uint64_t g) : ctx(std::move(c)), generation(g) {
        ++ctx->live_views;
    }
    LogitsOwner(const LogitsOwner &o) : ctx(o.ctx), generation(o.generation) { ++ctx->live_views; }
    LogitsOwner &operator=(const LogitsOwner &) = delete;
    ~LogitsOwner() { --ctx->live_views; }
    bool valid() const { return ctx->generation.load() == generation; }
};

bool abort_requested(void *flag) {
    // Runs on the feeding thread; the flag may be set from any thread. Consumed by one abort.
    return static_cast<std::atomic<bool> *>(flag)->exchange(false);
}

Context wrap(lola_context *ptr, std::shared_ptr<NativeModel> model) {
    auto native = std::make_shared<NativeContext>(ptr, std::move(model));
    check(lola_context_set_abort_callback(ptr, &abort_requested, &native->abort_requested));
    return Context{Handle<NativeContext>(std::move(native), "lola.Context")};
}

Context create(const Model &model, const lola_context_params &params,
               const lola_attention_params &attention, const std::vector<int32_t> &layer_attention) {
    auto m = model.handle.get();
    // Copies, taken with the GIL held: another thread may change the Python objects meanwhile.
    const lola_attention_params a = attention;
    lola_context_params p = params;
    p.attention = &a;
    p.layer_attention = layer_attention.empty() ? nullptr : layer_attention.data();
    p.n_layer_attention = layer_attention.size();
    lola_context *ptr = nullptr;
    {
        py::gil_scoped_release nogil;
        check(lola_context_create(m->ptr, &p, &ptr));
    }
    return wrap(ptr, m);
}

Context clone(const Context &self) {
    auto c = self.handle.get();
    size_t rows = 0;
    lola_context *ptr = call_nogil(c, [&](lola_context *ctx) {
        lola_context *out = nullptr;
        check(lola_context_clone(ctx, &out));
        const float *data = nullptr;
        size_t vocab = 0;
        if (lola_context_logits(out, &data, &rows, &vocab) != LOLA_OK) rows = 0;  // none to copy
        return out;
    });
    Context copy = wrap(ptr, c->model);
    copy.handle.get()->max_rows = rows;  // the clone's buffer holds the rows it copied
    return copy;
}

// A feed that would move the logits buffer (more rows than any before) while zero-copy views
// point into it is refused, as Python refuses to resize a buffer with exports: the views would
// read freed memory.
void require_no_move(const NativeContext &c, size_t rows) {
    if (rows > c.max_rows && c.live_views.load() > 0)
        throw py::buffer_error("lola: this feed keeps " + std::to_string(rows) +
                               " rows of logits, more than any earlier feed, so the logits buffer "
                               "moves, but " + std::to_string(c.live_views.load()) +
                               " zero-copy view(s) of Context.logits / all_logits still point into "
                               "it; delete them (or use logits_copy()) first");
}

size_t feed(const Context &self, const CArray<int32_t> &tokens, bool all_logits) {
    auto c = self.handle.get();
    if (tokens.ndim() != 1) throw StatusError{LOLA_ERR_SIZE_MISMATCH, "tokens must be one-dimensional"};
    const int32_t *ids = tokens.data();
    const size_t count = static_cast<size_t>(tokens.size());
    const size_t rows = all_logits ? count : 1;
    return call_nogil(c, [&](lola_context *ctx) {
        require_no_move(*c, rows);
        size_t n_fed = 0;
        ++c->generation;
        const lola_status st = lola_context_feed(ctx, ids, count, all_logits ? LOLA_FEED_ALL_LOGITS : 0u, &n_fed);
        if (st == LOLA_OK || st == LOLA_ERR_ABORTED) c->max_rows = std::max(c->max_rows, rows);
        check(st);
        return n_fed;
    });
}

// The logits of the last feed as a read-only numpy array over the library's buffer: (n_vocab,)
// after a plain feed, (n_rows, n_vocab) after a feed with all_logits.
py::array logits_view(const Context &self, bool all_rows) {
    auto c = self.handle.get();
    const float *data = nullptr;
    size_t rows = 0, vocab = 0;
    call(c, [&](lola_context *ctx) { check(lola_context_logits(ctx, &data, &rows, &vocab)); });
    py::object owner = py::cast(LogitsOwner{c, c->generation.load()});
    const auto r = static_cast<py::ssize_t>(rows), v = static_cast<py::ssize_t>(vocab);
    py::array view;
    if (all_rows)
        view = py::array_t<float>({r, v}, data, owner);
    else
        view = py::array_t<float>({v}, data + (rows - 1) * vocab, owner);
    view.attr("setflags")(py::arg("write") = false);
    return view;
}

py::array_t<float> copy_logits(const Context &self, int64_t row) {
    auto c = self.handle.get();
    const auto mi = get_struct<lola_model_info>(
        [&](auto *out) { return lola_model_get_info(c->model->ptr, out); });
    const size_t vocab = static_cast<size_t>(mi.n_vocab);
    py::array_t<float> out(static_cast<py::ssize_t>(vocab));
    float *dst = out.mutable_data();
    call(c, [&](lola_context *ctx) { check(lola_context_copy_logits(ctx, row, dst, vocab)); });
    return out;
}

lola_context_info info(const Context &self) {
    return call(self.handle.get(), [](lola_context *ctx) {
        return get_struct<lola_context_info>(
            [&](auto *out) { return lola_context_get_info(ctx, out); });
    });
}

lola_head_state head_state(const Context &self, int32_t layer, int32_t head) {
    return call(self.handle.get(), [&](lola_context *ctx) {
        return get_struct<lola_head_state>(
            [&](auto *out) { return lola_context_get_head_state(ctx, layer, head, out); });
    });
}

py::object positions(const Context &self, int32_t layer, int32_t head, int32_t memory) {
    return memory_positions(self.handle.get(), memory, [&](lola_context *ctx, auto... out) {
        return lola_context_get_positions(ctx, layer, head, memory, out...);
    });
}

void restore(const Context &self, const py::buffer &blob) {
    auto c = self.handle.get();
    restore_state(c, blob, [&](lola_context *ctx, const void *data, size_t size) {
        ++c->generation;
        check(lola_context_state_restore(ctx, data, size));
    });
}

// One generation step: sample from the last logits row, stop at an end-of-generation token
// (recorded in the sampler's history, not fed: lola_generate's contract), else feed it and
// return its bytes. (token, None) marks the end-of-generation token.
py::tuple generate_step(const Context &self, const Sampler &sampler, uint32_t piece_flags) {
    auto c = self.handle.get();
    auto s = sampler.handle.get();
    int32_t token = -1;
    bool eog = false;
    std::vector<char> piece(32);
    {
        py::gil_scoped_release nogil;
        std::scoped_lock lock(c->mu, s->mu);
        const float *logits = nullptr;
        size_t rows = 0, vocab = 0;
        check(lola_context_logits(c->ptr, &logits, &rows, &vocab));
        check(lola_sampler_sample(s->ptr, logits + (rows - 1) * vocab, vocab, &token));
        eog = lola_token_is_eog(c->model->ptr, token);
        if (!eog) {
            require_no_move(*c, 1);
            ++c->generation;
            check(lola_context_feed(c->ptr, &token, 1, 0u, nullptr));
            c->max_rows = std::max<size_t>(c->max_rows, 1);
            size_t len = 0;
            lola_status st = lola_token_to_piece(c->model->ptr, token, piece_flags, piece.data(),
                                                 piece.size(), &len);
            if (st == LOLA_ERR_BUFFER_TOO_SMALL) {
                piece.resize(len);
                st = lola_token_to_piece(c->model->ptr, token, piece_flags, piece.data(),
                                         piece.size(), &len);
            }
            check(st);
            piece.resize(len);
        }
    }
    if (eog) return py::make_tuple(token, py::none());
    return py::make_tuple(token, py::bytes(piece.data(), piece.size()));
}

// lola_batch: one decode step for many contexts. The batch's lock and every context's (in
// address order, so that two batches sharing contexts cannot deadlock) are held for the call.
using NativeBatch = Native<lola_batch, lola_batch_free>;
struct Batch {
    Handle<NativeBatch> handle;
    std::shared_ptr<NativeModel> model;
};

Batch create_batch(const Model &model, int32_t max_contexts, int32_t n_threads) {
    auto m = model.handle.get();
    lola_batch *ptr = nullptr;
    check(lola_batch_create(m->ptr, max_contexts, n_threads, &ptr));
    return Batch{Handle<NativeBatch>(std::make_shared<NativeBatch>(ptr), "lola.Batch"), m};
}

void decode_batch(const Batch &self, const std::vector<const Context *> &contexts, const CArray<int32_t> &tokens) {
    auto b = self.handle.get();
    if (tokens.ndim() != 1 || static_cast<size_t>(tokens.size()) != contexts.size())
        throw StatusError{LOLA_ERR_SIZE_MISMATCH, "tokens must be one-dimensional, one per context (" +
                                                      std::to_string(contexts.size()) + " contexts, " +
                                                      std::to_string(tokens.size()) + " tokens)"};
    std::vector<std::shared_ptr<NativeContext>> natives;
    std::vector<lola_context *> ptrs;
    for (size_t i = 0; i < contexts.size(); ++i) {
        if (!contexts[i]) throw StatusError{LOLA_ERR_NULL_HANDLE, "contexts[" + std::to_string(i) + "] is None"};
        natives.push_back(contexts[i]->handle.get());
        ptrs.push_back(natives.back()->ptr);
    }
    const int32_t *ids = tokens.data();
    py::gil_scoped_release nogil;
    std::vector<NativeContext *> order;
    for (const auto &n : natives) order.push_back(n.get());
    std::sort(order.begin(), order.end());
    order.erase(std::unique(order.begin(), order.end()), order.end());  // a repeat: the C call says so
    std::lock_guard<std::mutex> batch_lock(b->mu);
    std::vector<std::unique_lock<std::mutex>> locks;
    for (NativeContext *n : order) locks.emplace_back(n->mu);
    for (NativeContext *n : order) require_no_move(*n, 1);
    check(lola_batch_decode(b->ptr, ptrs.data(), ids, ptrs.size()));
    for (NativeContext *n : order) {
        ++n->generation;
        n->max_rows = std::max<size_t>(n->max_rows, 1);
    }
}

}  // namespace

void bind_context(py::module_ &m) {
    py::class_<Batch>(m, "Batch")
        .def(py::init(&create_batch), py::arg("model"), py::arg("max_contexts"), py::arg("n_threads"))
        .def("close", [](Batch &self) { self.handle.close(); })
        .def_property_readonly("closed", [](const Batch &self) { return self.handle.closed(); })
        .def("decode", &decode_batch, py::arg("contexts"), py::arg("tokens"));

    // The attention settings are not fields here: the constructor takes an AttentionParams.
    params_class<lola_context_params, lola_context_params_init>(
        m, "ContextParams", "lola_context_params (but its attention), filled with the C defaults.")
        .def_readwrite("n_threads", &lola_context_params::n_threads)
        .def_readwrite("batch_size", &lola_context_params::batch_size)
        .def_readwrite("gate_logit", &lola_context_params::gate_logit);

    py::class_<lola_context_info>(m, "ContextInfo", "lola_context_info: totals over layers and query heads.")
        .def_readonly("n_past", &lola_context_info::n_past)
        .def_readonly("n_layer", &lola_context_info::n_layer)
        .def_readonly("n_state_heads", &lola_context_info::n_state_heads)
        .def_readonly("state_bytes", &lola_context_info::state_bytes)
        .def_readonly("n_window", &lola_context_info::n_window)
        .def_readonly("n_sparse", &lola_context_info::n_sparse)
        .def_readonly("n_folded", &lola_context_info::n_folded)
        .def_readonly("n_evicted", &lola_context_info::n_evicted);

    py::class_<lola_head_state>(m, "HeadState", "lola_head_state: the cache of one query head.")
        .def_readonly("state_head", &lola_head_state::state_head)
        .def_readonly("n_window", &lola_head_state::n_window)
        .def_readonly("n_sparse", &lola_head_state::n_sparse)
        .def_readonly("n_folded", &lola_head_state::n_folded)
        .def_readonly("n_evicted", &lola_head_state::n_evicted)
        .def_readonly("bytes", &lola_head_state::bytes);

    py::class_<LogitsOwner>(m, "LogitsOwner", "The base of a logits view; `valid` is False once the context was mutated or closed.")
        .def_property_readonly("valid", &LogitsOwner::valid);

    py::class_<Context>(m, "Context", "An inference stream over a model (lola_context).")
        .def(py::init(&create), py::arg("model"), py::arg("params"), py::arg("attention"),
             py::arg("layer_attention") = std::vector<int32_t>())
        .def("close", [](Context &self) {
            if (!self.handle.closed()) ++self.handle.get()->generation;
            self.handle.close();
        })
        .def_property_readonly("closed", [](const Context &self) { return self.handle.closed(); })
        .def("clone", &clone)
        .def("reset", [](const Context &self) {
            auto c = self.handle.get();
            call(c, [&](lola_context *ctx) { ++c->generation; check(lola_context_reset(ctx)); });
        })
        .def("feed", &feed, py::arg("tokens"), py::arg("all_logits"))
        .def("logits", &logits_view, py::arg("all_rows"))
        .def("copy_logits", &copy_logits, py::arg("row"))
        .def("info", &info)
        .def("head_state", &head_state, py::arg("layer"), py::arg("head"))
        .def("positions", &positions, py::arg("layer"), py::arg("head"), py::arg("memory"))
        .def("save_state", [](const Context &self) {
            return save_state(self.handle.get(), &lola_context_state_size, &lola_context_state_save);
        })
        .def("restore_state", &restore, py::arg("blob"))
        .def("request_abort", [](const Context &self) { self.handle.get()->abort_requested = true; })
        .def("generate_step", &generate_step, py::arg("sampler"), py::arg("piece_flags"));
}

}  // namespace lolapy
