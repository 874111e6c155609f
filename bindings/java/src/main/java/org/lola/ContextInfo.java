// ContextInfo.java: the cache summary of a context (lola_context_info).
package org.lola;

/** What {@link Context#info()} reports: totals over layers and query heads. */
public record ContextInfo(long nPast, int nLayer, int nStateHeads, long stateBytes, long nWindow,
        long nSparse, long nFolded, long nEvicted) {}
