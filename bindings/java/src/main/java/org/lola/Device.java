// Device.java: Where a model's computation runs (lola_device); the values are the generated ones of lola.h.
package org.lola;

import org.lola.swig.lola_device;

/** Where a model's computation runs (lola_device). */
public enum Device {
    CPU(lola_device.LOLA_DEVICE_CPU.swigValue()),
    CUDA(lola_device.LOLA_DEVICE_CUDA.swigValue());

    final int code;

    Device(int code) {
        this.code = code;
    }

    /** How many devices of this kind the process can use (lola_device_count): 1 for the CPU;
     *  for CUDA the GPUs the driver reports, 0 without a driver or a GPU. */
    public int count() {
        NativeLibrary.load();
        return org.lola.swig.lola.device_count(code);
    }

    /** The value of the C enum. */
    public int code() {
        return code;
    }

    /** The constant of a C value; IllegalArgumentException for a value this binding does not know. */
    public static Device fromCode(int code) {
        for (Device v : values()) {
            if (v.code == code) return v;
        }
        throw new IllegalArgumentException("lola_device: unknown value " + code);
    }
}
