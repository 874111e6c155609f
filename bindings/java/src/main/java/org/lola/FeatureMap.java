// FeatureMap.java: The feature map of the linear-attention state (lola_feature_map; AUTO for contexts only).
package org.lola;

/** The feature map of the linear-attention state (lola_feature_map; AUTO for contexts only). */
public enum FeatureMap {
    AUTO(-1),
    HEDGEHOG(0),
    PERFORMER(1),
    ELU1(2),
    RELU(3),
    PRECOMPUTED(4);

    final int code;

    FeatureMap(int code) {
        this.code = code;
    }

    /** The value of the C enum. */
    public int code() {
        return code;
    }
}
