// HeadState.java: the cache state of one query head (lola_head_state).
package org.lola;

/** Counts of one head's memories: every fed position is in exactly one of them. */
public record HeadState(int stateHead, long nWindow, long nSparse, long nFolded, long nEvicted,
        long bytes) {
    static HeadState of(org.lola.swig.lola_head_state h) {
        try {
            return new HeadState(h.getState_head(), h.getN_window(), h.getN_sparse(),
                    h.getN_folded(), h.getN_evicted(), h.getBytes());
        } finally {
            h.delete();
        }
    }
}
