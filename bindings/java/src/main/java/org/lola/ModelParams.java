// ModelParams.java: the parameters of Model.load (lola_model_params), built with a Builder.
package org.lola;

import org.lola.swig.lola_model_params;

/** Immutable parameters of {@link Model#load(String, ModelParams)}; unset fields keep liblola's defaults. */
public final class ModelParams {
    private final Device device;
    private final Integer deviceIndex;
    private final Long memoryBudget;
    private final String adapter;

    private ModelParams(Builder b) {
        device = b.device;
        deviceIndex = b.deviceIndex;
        memoryBudget = b.memoryBudget;
        adapter = b.adapter;
    }

    /** The adapter's path, or null for none. */
    public String adapter() {
        return adapter;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A native struct with liblola's defaults and this object's fields (the caller deletes it). */
    lola_model_params toNative() {
        lola_model_params p = new lola_model_params();
        if (device != null) p.setDevice(device.code);
        if (deviceIndex != null) p.setDevice_index(deviceIndex);
        if (memoryBudget != null) p.setMemory_budget(memoryBudget);
        return p;
    }

    public static final class Builder {
        private Device device;
        private Integer deviceIndex;
        private Long memoryBudget;
        private String adapter;

        private Builder() {}

        /** CPU (default) or CUDA; CUDA in a build without it fails the load with UNSUPPORTED. */
        public Builder device(Device d) {
            device = d;
            return this;
        }

        /** GPU index for {@link Device#CUDA} (default 0). */
        public Builder deviceIndex(int i) {
            deviceIndex = i;
            return this;
        }

        /** Bytes the model may hold; 0 (default) = no limit. */
        public Builder memoryBudget(long bytes) {
            memoryBudget = bytes;
            return this;
        }

        /**
         * A LoLA adapter GGUF trained for this model (lola-linearize writes one): its feature
         * maps, gates and chunk/lambda/mixing defaults replace the file's. It records the
         * fingerprint of the model it was trained for and is refused (INCOMPATIBLE) on any other.
         */
        public Builder adapter(String path) {
            if (path != null && path.isEmpty()) throw new IllegalArgumentException("adapter: empty path");
            adapter = path;
            return this;
        }

        public ModelParams build() {
            return new ModelParams(this);
        }
    }
}
