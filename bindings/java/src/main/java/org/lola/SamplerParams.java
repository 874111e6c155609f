// SamplerParams.java: the parameters of a Sampler (lola_sampler_params), built with a Builder.
package org.lola;

import org.lola.swig.lola_sampler_params;

/** Immutable sampling parameters; unset fields keep liblola's defaults. See lola.h for the order. */
public final class SamplerParams {
    private final Float temperature, topP, minP, repeatPenalty;
    private final Integer topK, penaltyLastN;
    private final Long seed;

    private SamplerParams(Builder b) {
        temperature = b.temperature;
        topP = b.topP;
        minP = b.minP;
        repeatPenalty = b.repeatPenalty;
        topK = b.topK;
        penaltyLastN = b.penaltyLastN;
        seed = b.seed;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Greedy decoding: the largest logit, lowest id on ties. */
    public static SamplerParams greedy() {
        return builder().temperature(0f).build();
    }

    lola_sampler_params toNative() {
        lola_sampler_params p = new lola_sampler_params();
        if (temperature != null) p.setTemperature(temperature);
        if (topK != null) p.setTop_k(topK);
        if (topP != null) p.setTop_p(topP);
        if (minP != null) p.setMin_p(minP);
        if (repeatPenalty != null) p.setRepeat_penalty(repeatPenalty);
        if (penaltyLastN != null) p.setPenalty_last_n(penaltyLastN);
        if (seed != null) p.setSeed(seed);
        return p;
    }

    public static final class Builder {
        private Float temperature, topP, minP, repeatPenalty;
        private Integer topK, penaltyLastN;
        private Long seed;

        private Builder() {}

        /** Default 0.8; 0 or less: greedy. */
        public Builder temperature(float t) { temperature = t; return this; }
        /** Default 40; 0 or less: off. */
        public Builder topK(int k) { topK = k; return this; }
        /** Default 0.95; 1 or more: off. */
        public Builder topP(float p) { topP = p; return this; }
        /** Default 0.05; 0 or less: off. */
        public Builder minP(float p) { minP = p; return this; }
        /** Default 1 (off). */
        public Builder repeatPenalty(float p) { repeatPenalty = p; return this; }
        /** Default 64. */
        public Builder penaltyLastN(int n) { penaltyLastN = n; return this; }
        /** The same seed gives the same tokens. */
        public Builder seed(long s) { seed = s; return this; }

        public SamplerParams build() {
            return new SamplerParams(this);
        }
    }
}
