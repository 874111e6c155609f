// Status.java: every lola_status of capi/lola.h; the codes are the generated ones (SWIG reads
// lola.h), the names are listed here and UnitTest.statusCodes fails when lola.h has one more.
package org.lola;

import org.lola.swig.lola_status;

/** The outcome of a liblola call; every value but {@link #OK} is carried by a {@link LolaException}. */
public enum Status {
    OK(lola_status.LOLA_OK.swigValue()),
    INVALID_ARGUMENT(lola_status.LOLA_ERR_INVALID_ARGUMENT.swigValue()),
    NULL_HANDLE(lola_status.LOLA_ERR_NULL_HANDLE.swigValue()),
    NULL_POINTER(lola_status.LOLA_ERR_NULL_POINTER.swigValue()),
    SIZE_MISMATCH(lola_status.LOLA_ERR_SIZE_MISMATCH.swigValue()),
    BUFFER_TOO_SMALL(lola_status.LOLA_ERR_BUFFER_TOO_SMALL.swigValue()),
    NON_FINITE(lola_status.LOLA_ERR_NON_FINITE.swigValue()),
    OUT_OF_MEMORY(lola_status.LOLA_ERR_OUT_OF_MEMORY.swigValue()),
    CORRUPT_DATA(lola_status.LOLA_ERR_CORRUPT_DATA.swigValue()),
    VERSION_MISMATCH(lola_status.LOLA_ERR_VERSION_MISMATCH.swigValue()),
    INCOMPATIBLE(lola_status.LOLA_ERR_INCOMPATIBLE.swigValue()),
    UNSUPPORTED(lola_status.LOLA_ERR_UNSUPPORTED.swigValue()),
    INTERNAL(lola_status.LOLA_ERR_INTERNAL.swigValue()),
    IO(lola_status.LOLA_ERR_IO.swigValue()),
    ABORTED(lola_status.LOLA_ERR_ABORTED.swigValue()),
    /** A code this binding does not know (a newer liblola). */
    UNKNOWN(-1);

    private final int code;

    Status(int code) {
        this.code = code;
    }

    /** The lola_status value. */
    public int code() {
        return code;
    }

    /** The status of a lola_status value; {@link #UNKNOWN} for codes newer than this binding. */
    public static Status fromCode(int code) {
        for (Status s : values()) {
            if (s.code == code) return s;
        }
        return UNKNOWN;
    }
}
