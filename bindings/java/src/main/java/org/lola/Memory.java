// Memory.java: The memories of a head's cache (lola_memory).
package org.lola;

/** The memories of a head's cache (lola_memory). */
public enum Memory {
    WINDOW(0),
    SPARSE(1);

    final int code;

    Memory(int code) {
        this.code = code;
    }

    /** The value of the C enum. */
    public int code() {
        return code;
    }
}
