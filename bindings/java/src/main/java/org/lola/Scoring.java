// Scoring.java: Which pairs the sparse cache keeps (lola_scoring).
package org.lola;

/** Which pairs the sparse cache keeps (lola_scoring). */
public enum Scoring {
    SRE(0),
    RECENCY(1),
    RANDOM(2),
    VALUE_NORM(3);

    final int code;

    Scoring(int code) {
        this.code = code;
    }

    /** The value of the C enum. */
    public int code() {
        return code;
    }
}
