// Mixing.java: How the softmax part is mixed with the linear read-out (lola_mixing).
package org.lola;

/** How the softmax part is mixed with the linear read-out (lola_mixing). */
public enum Mixing {
    LOLA(0),
    LOLCATS(1);

    final int code;

    Mixing(int code) {
        this.code = code;
    }

    /** The value of the C enum. */
    public int code() {
        return code;
    }
}
