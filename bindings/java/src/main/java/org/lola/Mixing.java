// Mixing.java: How the softmax part is mixed with the linear read-out (lola_mixing); the values are the generated ones of lola.h.
package org.lola;

import org.lola.swig.lola_mixing;
import org.lola.swig.lolaConstants;

/** How the softmax part is mixed with the linear read-out (lola_mixing, and MODEL_DEFAULT: the model's lola.* metadata, else LOLA). */
public enum Mixing {
    MODEL_DEFAULT(lolaConstants.LOLA_MODEL_DEFAULT),
    LOLA(lola_mixing.LOLA_MIXING_LOLA.swigValue()),
    LOLCATS(lola_mixing.LOLA_MIXING_LOLCATS.swigValue());

    final int code;

    Mixing(int code) {
        this.code = code;
    }

    /** The value of the C enum. */
    public int code() {
        return code;
    }

    /** The constant of a C value; IllegalArgumentException for a value this binding does not know. */
    public static Mixing fromCode(int code) {
        for (Mixing v : values()) {
            if (v.code == code) return v;
        }
        throw new IllegalArgumentException("lola_mixing: unknown value " + code);
    }
}
