// Scoring.java: Which pairs the sparse cache keeps (lola_scoring); the values are the generated ones of lola.h.
package org.lola;

import org.lola.swig.lola_scoring;

/** Which pairs the sparse cache keeps (lola_scoring). */
public enum Scoring {
    SRE(lola_scoring.LOLA_SCORING_SRE.swigValue()),
    RECENCY(lola_scoring.LOLA_SCORING_RECENCY.swigValue()),
    RANDOM(lola_scoring.LOLA_SCORING_RANDOM.swigValue()),
    VALUE_NORM(lola_scoring.LOLA_SCORING_VALUE_NORM.swigValue());

    final int code;

    Scoring(int code) {
        this.code = code;
    }

    /** The value of the C enum. */
    public int code() {
        return code;
    }

    /** The constant of a C value; IllegalArgumentException for a value this binding does not know. */
    public static Scoring fromCode(int code) {
        for (Scoring v : values()) {
            if (v.code == code) return v;
        }
        throw new IllegalArgumentException("lola_scoring: unknown value " + code);
    }
}
