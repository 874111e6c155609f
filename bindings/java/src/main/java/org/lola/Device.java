// Device.java: Where a model's computation runs (lola_device).
package org.lola;

/** Where a model's computation runs (lola_device). */
public enum Device {
    CPU(0),
    CUDA(1);

    final int code;

    Device(int code) {
        this.code = code;
    }

    /** The value of the C enum. */
    public int code() {
        return code;
    }
}
