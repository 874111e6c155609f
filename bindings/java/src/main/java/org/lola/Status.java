// Status.java: every lola_status of capi/lola.h, with its stable numeric code.
package org.lola;

/** The outcome of a liblola call; every value but {@link #OK} is carried by a {@link LolaException}. */
public enum Status {
    OK(0),
    INVALID_ARGUMENT(1),
    NULL_HANDLE(2),
    NULL_POINTER(3),
    SIZE_MISMATCH(4),
    BUFFER_TOO_SMALL(5),
    NON_FINITE(6),
    OUT_OF_MEMORY(7),
    CORRUPT_DATA(8),
    VERSION_MISMATCH(9),
    INCOMPATIBLE(10),
    UNSUPPORTED(11),
    INTERNAL(12),
    IO(13),
    ABORTED(14),
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
