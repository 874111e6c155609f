/* lola_java.i: the Java side of the SWIG interface (module org.lola.swig.lola).
 *
 * Generates the JNI wrapper (compiled into liblolajni.so) and the low-level Java proxies of
 * package org.lola.swig; the hand-written package org.lola is the API users see.
 * Java specifics only: the exception, the array typemaps the shared ../swig/lola.i names,
 * parent references between proxies, and the native-library loading hook.
 */
/* Directors stay off (no callbacks into Java; lola.i exposes none). */
%module lola

%include <enums.swg>
%javaconst(1);
/* Unsigned flag macros ("1u") are not Java literals: their values are read from the compiled
 * wrapper (the C macros of lola.h) when lolaConstants is initialised, so no number is written
 * here. The enums and the other macros are plain literals, copied from lola.h by SWIG. */
%javaconst(0) LOLA_FEED_ALL_LOGITS;
%javaconst(0) LOLA_TOKENIZE_ADD_SPECIAL;
%javaconst(0) LOLA_TOKENIZE_PARSE_SPECIAL;
%javaconst(0) LOLA_DETOKENIZE_SPECIAL;

/* ---- errors: org.lola.LolaException(int status, byte[] utf8Message) ------------------------ */
%{
#include <jni.h>

/* Throws org.lola.LolaException. The message is passed as UTF-8 bytes and decoded in Java:
 * NewStringUTF wants "modified UTF-8", which a file path in a message need not be. */
static void lola_java_throw(JNIEnv *jenv, int status, const char *message) {
    jclass cls;
    jmethodID ctor;
    jbyteArray bytes;
    jobject ex;
    jsize len = (jsize)strlen(message ? message : "");
    if ((*jenv)->ExceptionCheck(jenv)) return; /* one already pending wins */
    cls = (*jenv)->FindClass(jenv, "org/lola/LolaException");
    if (!cls) return; /* NoClassDefFoundError is pending */
    ctor = (*jenv)->GetMethodID(jenv, cls, "<init>", "(I[B)V");
    if (!ctor) return;
    bytes = (*jenv)->NewByteArray(jenv, len);
    if (!bytes) return;
    if (len) (*jenv)->SetByteArrayRegion(jenv, bytes, 0, len, (const jbyte *)message);
    ex = (*jenv)->NewObject(jenv, cls, ctor, (jint)status, bytes);
    if (ex) (*jenv)->Throw(jenv, (jthrowable)ex);
}
%}

/* Every wrapper: skip the call when a `check` typemap refused an argument, then throw for a
 * recorded failure. No early return, so the freearg typemaps still release the arrays. */
%exception {
    if (!lola_swig_pending()) {
        $action
    }
    {
        lola_status lola_java_status = lola_swig_take_status();
        if (lola_java_status != LOLA_OK)
            lola_java_throw(jenv, (int)lola_java_status, lola_swig_take_message());
    }
}

/* ---- numbers --------------------------------------------------------------------------------- */
/* uint64_t (seeds, byte counts, the memory budget) as Java long: the same 64 bits, no BigInteger. */
%include <stdint.i>
%apply int64_t { uint64_t };

/* char[N] fields of the info structs: bytes up to the NUL, decoded as UTF-8 in Java. */
%typemap(jni) char [ANY] "jbyteArray"
%typemap(jtype) char [ANY] "byte[]"
%typemap(jstype) char [ANY] "String"
%typemap(javaout) char [ANY] {
    return new String($jnicall, java.nio.charset.StandardCharsets.UTF_8);
  }
%typemap(out) char [ANY] {
    jsize n = 0;
    while (n < (jsize)$1_dim0 && $1[n]) ++n;
    $result = (*jenv)->NewByteArray(jenv, n);
    if ($result && n) (*jenv)->SetByteArrayRegion(jenv, $result, 0, n, (const jbyte *)$1);
}

/* ---- arrays (the patterns of lola.i) ------------------------------------------------------- */
/* LOLA_ARRAY(CTYPE, PATTERN, JNITYPE, JTYPE, JNAME, ELEMTYPE, RELEASE_MODE): a Java array
 * passed as (pointer, length); null passes (NULL, 0). Input arrays are released with
 * JNI_ABORT (nothing copied back), output arrays with 0 (copied back). */
%define LOLA_ARRAY(CTYPE, PTRNAME, LENNAME, JNITYPE, JTYPE, JNAME, ELEMTYPE, RELEASE_MODE)
%typemap(jni) (CTYPE *PTRNAME, size_t LENNAME) "JNITYPE"
%typemap(jtype) (CTYPE *PTRNAME, size_t LENNAME) "JTYPE"
%typemap(jstype) (CTYPE *PTRNAME, size_t LENNAME) "JTYPE"
%typemap(javain) (CTYPE *PTRNAME, size_t LENNAME) "$javainput"
%typemap(in) (CTYPE *PTRNAME, size_t LENNAME) {
    $1 = NULL;
    $2 = 0;
    if ($input) {
        $2 = (size_t)(*jenv)->GetArrayLength(jenv, $input);
        $1 = ($1_ltype)(*jenv)->Get##JNAME##ArrayElements(jenv, $input, NULL);
        if (!$1) lola_swig_fail_with(LOLA_ERR_OUT_OF_MEMORY, "JNI: cannot access a Java array");
    }
}
%typemap(freearg) (CTYPE *PTRNAME, size_t LENNAME) {
    if ($1) (*jenv)->Release##JNAME##ArrayElements(jenv, $input, (ELEMTYPE *)$1, RELEASE_MODE);
}
%enddef

LOLA_ARRAY(const int32_t, LOLA_IN_I32, LOLA_IN_LEN, jintArray, int[], Int, jint, JNI_ABORT)
LOLA_ARRAY(const float, LOLA_IN_F32, LOLA_IN_LEN, jfloatArray, float[], Float, jfloat, JNI_ABORT)
LOLA_ARRAY(const char, LOLA_IN_BYTES, LOLA_IN_LEN, jbyteArray, byte[], Byte, jbyte, JNI_ABORT)
LOLA_ARRAY(int32_t, LOLA_OUT_I32, LOLA_OUT_LEN, jintArray, int[], Int, jint, 0)
LOLA_ARRAY(int64_t, LOLA_OUT_I64, LOLA_OUT_LEN, jlongArray, long[], Long, jlong, 0)
LOLA_ARRAY(float, LOLA_OUT_F32, LOLA_OUT_LEN, jfloatArray, float[], Float, jfloat, 0)
LOLA_ARRAY(char, LOLA_OUT_BYTES, LOLA_OUT_LEN, jbyteArray, byte[], Byte, jbyte, 0)

/* A direct FloatBuffer: the C call writes straight into its memory (address and capacity in
 * floats, from position 0; org.lola passes a slice starting at the caller's position). The
 * buffer must be in native byte order, which org.lola checks. */
%typemap(jni) (float *LOLA_OUT_BUFFER, size_t LOLA_OUT_LEN) "jobject"
%typemap(jtype) (float *LOLA_OUT_BUFFER, size_t LOLA_OUT_LEN) "java.nio.FloatBuffer"
%typemap(jstype) (float *LOLA_OUT_BUFFER, size_t LOLA_OUT_LEN) "java.nio.FloatBuffer"
%typemap(javain) (float *LOLA_OUT_BUFFER, size_t LOLA_OUT_LEN) "$javainput"
%typemap(in) (float *LOLA_OUT_BUFFER, size_t LOLA_OUT_LEN) {
    $1 = NULL;
    $2 = 0;
    if ($input) {
        $1 = (float *)(*jenv)->GetDirectBufferAddress(jenv, $input);
        if (!$1)
            lola_swig_fail_with(LOLA_ERR_NULL_POINTER, "the FloatBuffer is not a direct buffer");
        else
            $2 = (size_t)(*jenv)->GetDirectBufferCapacity(jenv, $input);
    }
}

/* ---- proxies --------------------------------------------------------------------------------- */
/* No finalizers: org.lola releases handles with close() and a Cleaner; a finalizer racing
 * with them would add nothing (delete() is idempotent) but deprecation warnings. Users of this
 * low-level package call delete() themselves. */
%typemap(javafinalize) SWIGTYPE ""

/* A context proxy holds its model proxy, so code that keeps only the context (a clone too)
 * keeps the model proxy reachable. liblola also counts the reference in C. */
%typemap(javacode) struct lola_context %{
  private lola_model swigModelRef;

  /** The model proxy this context was created on. */
  public lola_model getModel() {
    return swigModelRef;
  }
%}
%typemap(javaconstruct) struct lola_context {
    this($imcall, true);
    swigModelRef = model;
  }
%typemap(javaout) lola_context *w_clone {
    long cPtr = $jnicall;
    if (cPtr == 0) return null;
    lola_context copy = new lola_context(cPtr, true);
    copy.swigModelRef = swigModelRef;
    return copy;
  }

/* Load liblola and liblolajni (from the jar, else java.library.path) and check the ABI
 * before the first native call. */
%pragma(java) jniclasscode=%{
  static {
    org.lola.NativeLibrary.load();
  }
%}

/* ---- one call at a time per handle ---------------------------------------------------------
 * A proxy method passes its C pointer to native code; SWIG's delete() (close(), the Cleaner) is
 * synchronized, but its methods are not, so a close() on another thread, or the Cleaner of an
 * org.lola object that became unreachable during its last call, could free the C object under a
 * running call, and two threads could run one context at once (liblola allows one at a time):
 * a crash of the JVM either way. Synchronizing every method of the four handles makes delete()
 * wait for the call in flight (a later call then sees the NULL handle and throws NULL_HANDLE)
 * and serialises the calls on one object. An abort request must reach a running feed, so it
 * goes to the context's lola_abort_flag, whose methods are synchronized on the flag (all of them
 * are short) so that a request racing with close() cannot touch a freed flag. */
%define LOLA_JAVA_SYNCHRONIZED(METHODS)
%javamethodmodifiers METHODS "public synchronized";
%enddef
LOLA_JAVA_SYNCHRONIZED(lola_model::w_info)
LOLA_JAVA_SYNCHRONIZED(lola_model::w_special_tokens)
LOLA_JAVA_SYNCHRONIZED(lola_model::w_tokenize)
LOLA_JAVA_SYNCHRONIZED(lola_model::w_detokenize)
LOLA_JAVA_SYNCHRONIZED(lola_model::w_token_to_piece)
LOLA_JAVA_SYNCHRONIZED(lola_model::w_token_is_eog)
LOLA_JAVA_SYNCHRONIZED(lola_model::w_chat_apply_template)
LOLA_JAVA_SYNCHRONIZED(lola_model::w_resolve_attention)
LOLA_JAVA_SYNCHRONIZED(lola_model::w_perplexity)
LOLA_JAVA_SYNCHRONIZED(lola_context::w_clone)
LOLA_JAVA_SYNCHRONIZED(lola_context::w_reset)
LOLA_JAVA_SYNCHRONIZED(lola_context::w_feed)
LOLA_JAVA_SYNCHRONIZED(lola_context::w_logits_rows)
LOLA_JAVA_SYNCHRONIZED(lola_context::w_copy_logits)
LOLA_JAVA_SYNCHRONIZED(lola_context::w_copy_logits_to_buffer)
LOLA_JAVA_SYNCHRONIZED(lola_context::w_info)
LOLA_JAVA_SYNCHRONIZED(lola_context::w_head_state)
LOLA_JAVA_SYNCHRONIZED(lola_context::w_positions)
LOLA_JAVA_SYNCHRONIZED(lola_context::w_state_size)
LOLA_JAVA_SYNCHRONIZED(lola_context::w_state_save)
LOLA_JAVA_SYNCHRONIZED(lola_context::w_state_restore)
LOLA_JAVA_SYNCHRONIZED(lola_sampler::w_sample)
LOLA_JAVA_SYNCHRONIZED(lola_sampler::w_sample_context)
LOLA_JAVA_SYNCHRONIZED(lola_sampler::w_accept)
LOLA_JAVA_SYNCHRONIZED(lola_sampler::w_reset)
LOLA_JAVA_SYNCHRONIZED(lola_swig_batch::w_capacity)
LOLA_JAVA_SYNCHRONIZED(lola_swig_batch::w_set)
LOLA_JAVA_SYNCHRONIZED(lola_swig_batch::w_decode)
LOLA_JAVA_SYNCHRONIZED(lola_layer::w_clone)
LOLA_JAVA_SYNCHRONIZED(lola_layer::w_reset)
LOLA_JAVA_SYNCHRONIZED(lola_layer::w_feed)
LOLA_JAVA_SYNCHRONIZED(lola_layer::w_feed_features)
LOLA_JAVA_SYNCHRONIZED(lola_layer::w_info)
LOLA_JAVA_SYNCHRONIZED(lola_layer::w_head_state)
LOLA_JAVA_SYNCHRONIZED(lola_layer::w_positions)
LOLA_JAVA_SYNCHRONIZED(lola_layer::w_state_size)
LOLA_JAVA_SYNCHRONIZED(lola_layer::w_state_save)
LOLA_JAVA_SYNCHRONIZED(lola_layer::w_state_restore)
LOLA_JAVA_SYNCHRONIZED(lola_abort_flag::w_attach)
LOLA_JAVA_SYNCHRONIZED(lola_abort_flag::w_request)
LOLA_JAVA_SYNCHRONIZED(lola_abort_flag::w_clear)
LOLA_JAVA_SYNCHRONIZED(lola_abort_flag::w_take)

%include "../swig/lola.i"
