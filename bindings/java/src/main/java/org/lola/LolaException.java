// LolaException.java: a failed liblola call, thrown by the JNI wrapper (one SWIG %exception).
package org.lola;

import java.nio.charset.StandardCharsets;

/**
 * A liblola call failed: {@link #status()} says how, {@link #nativeMessage()} is liblola's own
 * message (lola_last_error_message, read on the calling thread right after the failing call),
 * and {@link #getMessage()} is both, {@code "IO: lola_model_load: ..."}: print that alone
 * (prefixing {@code status()} to it would show the status twice).
 *
 * <p>Unchecked, like {@link IllegalArgumentException}: nearly every call can fail only on a
 * programming error (a closed handle, a token out of range, a wrong array size), and the calls
 * that fail on the environment (loading a file, restoring a blob) are few and documented, so
 * checked exceptions would burden every line of a generation loop and every lambda.
 */
public class LolaException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final Status status;
    private final int code;
    private final String nativeMessage;

    /** Called from the JNI wrapper: the status code and the UTF-8 bytes of the message. */
    LolaException(int code, byte[] utf8Message) {
        this(code, new String(utf8Message, StandardCharsets.UTF_8));
    }

    LolaException(int code, String message) {
        super(Status.fromCode(code) + ": " + message);
        this.code = code;
        this.status = Status.fromCode(code);
        this.nativeMessage = message;
    }

    /** liblola's message without the status, e.g. {@code "lola_model_load: 'x.gguf': ..."}. */
    public String nativeMessage() {
        return nativeMessage;
    }

    /** Which status the call returned. */
    public Status status() {
        return status;
    }

    /** The raw lola_status code (useful when {@link #status()} is {@link Status#UNKNOWN}). */
    public int code() {
        return code;
    }
}
