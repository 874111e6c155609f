// Attention.java: Which attention a layer or context computes (lola_attention); the values are the generated ones of lola.h.
package org.lola;

import org.lola.swig.lola_attention;

/** Which attention a layer or context computes (lola_attention). */
public enum Attention {
    LOLA(lola_attention.LOLA_ATTENTION_LOLA.swigValue()),
    FULL(lola_attention.LOLA_ATTENTION_FULL.swigValue()),
    WINDOW(lola_attention.LOLA_ATTENTION_WINDOW.swigValue());

    final int code;

    Attention(int code) {
        this.code = code;
    }

    /** The value of the C enum. */
    public int code() {
        return code;
    }

    /** The constant of a C value; IllegalArgumentException for a value this binding does not know. */
    public static Attention fromCode(int code) {
        for (Attention v : values()) {
            if (v.code == code) return v;
        }
        throw new IllegalArgumentException("lola_attention: unknown value " + code);
    }
}
