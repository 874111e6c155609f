// ThreadsTest.java: one model shared by several threads, each with its own context, gives the
// same results as running them one after another.
package org.lola;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class ThreadsTest {
    static float[] run(Model m, String prompt) {
        try (Context c = m.newContext(TestModel.lolaParams()); Sampler s = Sampler.greedy()) {
            c.feed(m.tokenize(prompt));
            String text = c.generate(s, 16).text();
            float[] l = c.logits();
            float[] out = java.util.Arrays.copyOf(l, l.length + 1);
            out[l.length] = text.hashCode();
            return out;
        }
    }

    @Test
    void concurrentContextsMatchSequential() throws Exception {
        String[] prompts = {"hello world", "abc", "The quick brown fox", "lola", "x y z", "0123456789"};
        try (Model m = Model.load(TestModel.path())) {
            List<float[]> sequential = new ArrayList<>();
            for (String p : prompts) sequential.add(run(m, p));
            ExecutorService pool = Executors.newFixedThreadPool(prompts.length);
            try {
                for (int round = 0; round < 3; round++) {
                    List<Future<float[]>> futures = new ArrayList<>();
                    for (String p : prompts) futures.add(pool.submit(() -> run(m, p)));
                    for (int i = 0; i < prompts.length; i++)
                        assertArrayEquals(sequential.get(i), futures.get(i).get(), prompts[i]);
                }
            } finally {
                pool.shutdown();
            }
        }
    }
}
