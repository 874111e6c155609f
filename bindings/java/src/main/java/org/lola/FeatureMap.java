// FeatureMap.java: The feature map of the linear-attention state (lola_feature_map); the values are the generated ones of lola.h.
package org.lola;

import org.lola.swig.lola_feature_map;
import org.lola.swig.lolaConstants;

/** The feature map of the linear-attention state (lola_feature_map, and AUTO: hedgehog when hedgehog weights are present, else performer). */
public enum FeatureMap {
    AUTO(lolaConstants.LOLA_FEATURE_MAP_AUTO),
    HEDGEHOG(lola_feature_map.LOLA_FEATURE_MAP_HEDGEHOG.swigValue()),
    PERFORMER(lola_feature_map.LOLA_FEATURE_MAP_PERFORMER.swigValue()),
    ELU1(lola_feature_map.LOLA_FEATURE_MAP_ELU1.swigValue()),
    RELU(lola_feature_map.LOLA_FEATURE_MAP_RELU.swigValue()),
    PRECOMPUTED(lola_feature_map.LOLA_FEATURE_MAP_PRECOMPUTED.swigValue());

    final int code;

    FeatureMap(int code) {
        this.code = code;
    }

    /** The value of the C enum. */
    public int code() {
        return code;
    }

    /** The constant of a C value; IllegalArgumentException for a value this binding does not know. */
    public static FeatureMap fromCode(int code) {
        for (FeatureMap v : values()) {
            if (v.code == code) return v;
        }
        throw new IllegalArgumentException("lola_feature_map: unknown value " + code);
    }
}
