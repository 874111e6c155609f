// ModelInfo.java: shapes and metadata of a loaded model (lola_model_info).
package org.lola;

/** What {@link Model#info()} reports. */
public record ModelInfo(String architecture, String name, int nLayer, int nHead, int nHeadKv,
        int headDim, int nEmbd, int nFf, int nVocab, long nCtxTrain, long weightBytes,
        boolean hasLolaTensors) {}
