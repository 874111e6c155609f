// Memory.java: The memories of a head's cache (lola_memory); the values are the generated ones of lola.h.
package org.lola;

import org.lola.swig.lola_memory;

/** The memories of a head's cache (lola_memory). */
public enum Memory {
    WINDOW(lola_memory.LOLA_MEMORY_WINDOW.swigValue()),
    SPARSE(lola_memory.LOLA_MEMORY_SPARSE.swigValue());

    final int code;

    Memory(int code) {
        this.code = code;
    }

    /** The value of the C enum. */
    public int code() {
        return code;
    }

    /** The constant of a C value; IllegalArgumentException for a value this binding does not know. */
    public static Memory fromCode(int code) {
        for (Memory v : values()) {
            if (v.code == code) return v;
        }
        throw new IllegalArgumentException("lola_memory: unknown value " + code);
    }
}
