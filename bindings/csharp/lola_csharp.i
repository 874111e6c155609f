/* lola_csharp.i: the C# top file of the SWIG binding (module lolacs -> liblolacs.so).
 *
 * Generates the P/Invoke layer into the internal namespace Lola.Native; the public API is the
 * hand-written namespace Lola (src/). This file adds only what is C#-specific to the shared
 * bindings/swig/lola.i:
 *   - errors: LOLA_SWIG_THROW_STATUS calls back into C#, which stores a LolaException (status +
 *     lola_last_error_message(), copied at once) as SWIG's pending exception; %exception runs
 *     right after each wrapped call on the same thread and raises the status lola.i recorded;
 *   - arrays: every (pointer, length) pattern of lola.i becomes one Span<T> / ReadOnlySpan<T>
 *     parameter, pinned with `fixed` for the duration of the call (arrays convert implicitly),
 *     so the length C sees is always the managed length: no copy and no overrun;
 *   - every generated type is internal.
 */
%module lolacs

/* ---- errors --------------------------------------------------------------------------------- */
%{
#include "lola.h"
typedef void (SWIGSTDCALL *lola_cs_raise_fn)(int status, const char *message);
static lola_cs_raise_fn lola_cs_raise = 0;
#ifdef __cplusplus
extern "C"
#endif
SWIGEXPORT void SWIGSTDCALL lola_cs_register_raise(lola_cs_raise_fn fn) { lola_cs_raise = fn; }
/* The C# side registers lola_cs_raise in the static constructor of the P/Invoke class, which
 * runs before any wrapped function can be called. */
#define LOLA_SWIG_THROW_STATUS(status, message) lola_cs_raise((int)(status), (message))
%}

%pragma(csharp) imclasscode=%{
  // Turns a failing status into SWIG's pending exception; the generated code throws it as soon
  // as the native call returns.
  internal sealed class LolaRaiseHelper {
    internal delegate void RaiseDelegate(int status,
        [global::System.Runtime.InteropServices.MarshalAs(
            global::System.Runtime.InteropServices.UnmanagedType.LPUTF8Str)] string message);
    static readonly RaiseDelegate raiseDelegate = new RaiseDelegate(Raise);

    [global::System.Runtime.InteropServices.DllImport("$dllimport", EntryPoint="lola_cs_register_raise")]
    static extern void lola_cs_register_raise(RaiseDelegate fn);

    static void Raise(int status, string message) {
      SWIGPendingException.Set(new global::Lola.LolaException((global::Lola.Status)status, message));
    }

    static LolaRaiseHelper() { lola_cs_register_raise(raiseDelegate); }
  }
  // Initialised with the P/Invoke class, like SWIG's own helpers, before any wrapped call.
  static internal readonly LolaRaiseHelper lolaRaiseHelper = new LolaRaiseHelper();
%}

/* lola.i's contract: run the call only when no `check` typemap recorded a failure, then raise
 * the recorded status, if any, with its message. lola.i asks not to return early because of
 * freearg code; the C# typemaps have none (spans are pinned on the C# side, strings are
 * marshalled by the runtime), so a failure returns $null at once rather than a `result` that a
 * skipped call left unset. */
%exception {
    if (!lola_swig_pending()) {
        $action
    }
    {
        lola_status lola_cs_status = lola_swig_take_status();
        if (lola_cs_status != LOLA_OK) {
            LOLA_SWIG_THROW_STATUS(lola_cs_status, lola_swig_take_message());
            return $null;
        }
    }
}

/* ---- arrays: (pointer, length) -> Span ------------------------------------------------------ */
%{
/* What crosses P/Invoke for one Span: a pinned pointer and its element count. */
typedef struct lola_cs_span { void *ptr; size_t len; } lola_cs_span;
%}
%include <stdint.i>  /* before the patterns, so that int32_t in them is the typedef lola.i sees */
%define LOLA_CS_SPAN(PATTERN, ELEM, SPAN)
%typemap(ctype) (PATTERN, size_t LOLA_IN_LEN), (PATTERN, size_t LOLA_OUT_LEN) "lola_cs_span"
%typemap(imtype) (PATTERN, size_t LOLA_IN_LEN), (PATTERN, size_t LOLA_OUT_LEN) "global::Lola.Native.NativeSpan"
%typemap(cstype) (PATTERN, size_t LOLA_IN_LEN), (PATTERN, size_t LOLA_OUT_LEN) "global::System.SPAN<ELEM>"
%typemap(csin, pre="    fixed (ELEM *swig_p_$csinput = &global::System.Runtime.InteropServices.MemoryMarshal.GetReference($csinput)) {",
         terminator="    }") (PATTERN, size_t LOLA_IN_LEN), (PATTERN, size_t LOLA_OUT_LEN)
    "new global::Lola.Native.NativeSpan((global::System.IntPtr)swig_p_$csinput, $csinput.Length)"
%typemap(in) (PATTERN, size_t LOLA_IN_LEN), (PATTERN, size_t LOLA_OUT_LEN)
    %{ $1 = ($1_ltype)$input.ptr; $2 = $input.len; %}
%enddef
LOLA_CS_SPAN(const int32_t *LOLA_IN_I32, int, ReadOnlySpan)
LOLA_CS_SPAN(const float *LOLA_IN_F32, float, ReadOnlySpan)
LOLA_CS_SPAN(const char *LOLA_IN_BYTES, byte, ReadOnlySpan)
LOLA_CS_SPAN(int32_t *LOLA_OUT_I32, int, Span)
LOLA_CS_SPAN(int64_t *LOLA_OUT_I64, long, Span)
LOLA_CS_SPAN(float *LOLA_OUT_F32, float, Span)
LOLA_CS_SPAN(char *LOLA_OUT_BYTES, byte, Span)
LOLA_CS_SPAN(float *LOLA_OUT_BUFFER, float, Span)

/* The name -> pattern mapping of lola.i, repeated here: SWIG attaches typemaps to %extend
 * methods as they stood where the struct was declared, and lola.i declares the handle structs
 * before its own %apply lines, so those do not reach the methods. */
%apply (const int32_t *LOLA_IN_I32, size_t LOLA_IN_LEN) { (const int32_t *tokens, size_t n_tokens) };
%apply (const char *LOLA_IN_BYTES, size_t LOLA_IN_LEN) { (const char *text, size_t text_len),
                                                         (const char *blob, size_t blob_len) };
%apply (const float *LOLA_IN_F32, size_t LOLA_IN_LEN) {
    (const float *logits, size_t n_logits), (const float *q, size_t q_len),
    (const float *k, size_t k_len), (const float *v, size_t v_len),
    (const float *fq, size_t fq_len), (const float *fk, size_t fk_len),
    (const float *window_factors, size_t window_factors_len),
    (const float *hedgehog_q, size_t hedgehog_q_len),
    (const float *hedgehog_k, size_t hedgehog_k_len) };
%apply (int32_t *LOLA_OUT_I32, size_t LOLA_OUT_LEN) { (int32_t *out_tokens, size_t capacity) };
%apply (int64_t *LOLA_OUT_I64, size_t LOLA_OUT_LEN) { (int64_t *out_positions, size_t capacity) };
%apply (float *LOLA_OUT_F32, size_t LOLA_OUT_LEN) { (float *out, size_t capacity),
                                                    (float *y, size_t y_len),
                                                    (float *out_scores, size_t capacity) };
%apply (char *LOLA_OUT_BYTES, size_t LOLA_OUT_LEN) { (char *out_bytes, size_t capacity) };
%apply (float *LOLA_OUT_BUFFER, size_t LOLA_OUT_LEN) { (float *out_buffer, size_t capacity) };

/* ---- visibility: everything generated is internal to Lola.dll ------------------------------- */
%typemap(csclassmodifiers) SWIGTYPE "internal unsafe class"
%typemap(csclassmodifiers) enum SWIGTYPE "internal enum"
%pragma(csharp) moduleclassmodifiers="internal unsafe class"
%pragma(csharp) moduleimports=%{ %}


/* LOLA_ABI_VERSION as a C# constant compiled into Lola.dll (not read from liblolacs.so at run
 * time), so that Library.EnsureCompatible compares what the C# was generated for with the
 * liblola that is loaded. */
%csconst(1) LOLA_ABI_VERSION;
/* The two sentinels as C# constants too, so that the public enums (src/Enums.cs) can take
 * FeatureMap.Auto and Mixing.ModelDefault from them: every value the Lola namespace exposes
 * comes from lola.h through this generated layer, none is written by hand. */
%csconst(1) LOLA_FEATURE_MAP_AUTO;
%csconst(1) LOLA_MODEL_DEFAULT;

/* The handle typedefs of lola.h, which lola.i's whitelist ignores: without them SWIG does not
 * know that `lola_model *` is the proxy class `struct lola_model`. */
typedef struct lola_model lola_model;
typedef struct lola_context lola_context;
typedef struct lola_layer lola_layer;
typedef struct lola_sampler lola_sampler;

%include "../swig/lola.i"
