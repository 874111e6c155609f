// Attention.java: Which attention a layer computes (lola_attention).
package org.lola;

/** Which attention a layer computes (lola_attention). */
public enum Attention {
    LOLA(0),
    FULL(1),
    WINDOW(2);

    final int code;

    Attention(int code) {
        this.code = code;
    }

    /** The value of the C enum. */
    public int code() {
        return code;
    }
}
