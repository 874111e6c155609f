// ModelInfo.java: shapes and metadata of a loaded model (lola_model_info).
package org.lola;

/**
 * What {@link Model#info()} reports. {@code hasAdapter}: loaded with {@link
 * ModelParams.Builder#adapter}; {@code fingerprint}: identifies the weights the model computes
 * with (its file and its adapter; an unsigned 64-bit value in a long): saved context state
 * restores only on a model with the same fingerprint, and an adapter records its base's.
 */
public record ModelInfo(String architecture, String name, int nLayer, int nHead, int nHeadKv,
        int headDim, int nEmbd, int nFf, int nVocab, long nCtxTrain, long weightBytes,
        boolean hasLolaTensors, boolean hasAdapter, long fingerprint) {}
