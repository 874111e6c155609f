// TestModel.java: the tiny test model that tests/ writes (LOLA_TEST_MODEL).
package org.lola;

import static org.junit.jupiter.api.Assertions.assertNotNull;

final class TestModel {
    private TestModel() {}

    static String path() {
        String p = System.getenv("LOLA_TEST_MODEL");
        assertNotNull(p, "LOLA_TEST_MODEL must name the tiny test model");
        return p;
    }

    /** LoLA parameters small enough that 11 tokens cross chunk boundaries. */
    static ContextParams lolaParams() {
        return ContextParams.builder().nThreads(1)
                .attention(new AttentionParams().chunkSize(4).sparseCapacity(2)).build();
    }
}
