// Native.java: the one Cleaner of the package and the release rule every handle class follows.
package org.lola;

import java.lang.ref.Cleaner;

/**
 * Handles are released by {@code close()}; the Cleaner is the safety net for objects that
 * become unreachable unclosed. The cleaning action holds only the SWIG proxy (never the
 * org.lola object, which would then stay reachable forever), and SWIG's {@code delete()} is
 * synchronized and idempotent, so close() and the Cleaner can never free a handle twice.
 */
final class Native {
    static final Cleaner CLEANER = Cleaner.create();

    static {
        NativeLibrary.load();
    }

    private Native() {}

    /** Registers the release of a proxy when {@code owner} becomes unreachable. */
    static Cleaner.Cleanable register(Object owner, Runnable delete) {
        return CLEANER.register(owner, delete);
    }
}
