// LayerInfo.java: shapes and totals of a standalone layer (lola_layer_info).
package org.lola;

/** What {@link Layer#info()} reports. */
public record LayerInfo(int nHeads, int nKvHeads, int headDim, int featureDim, int nStateHeads,
        int chunkSize, int sparseCapacity, int attention, long nTokens, long bytes) {}
