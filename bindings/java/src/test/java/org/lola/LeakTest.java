// LeakTest.java: creating and closing models, contexts and samplers many times keeps the
// process's resident memory flat. Everything is closed explicitly, so finalizer or Cleaner lag
// cannot be mistaken for a leak.
package org.lola;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class LeakTest {
    /** Resident set size in bytes (/proc/self/statm, second field, in pages of 4 KiB). */
    static long rss() throws IOException {
        String[] f = Files.readString(Path.of("/proc/self/statm")).trim().split("\\s+");
        return Long.parseLong(f[1]) * 4096L;
    }

    static void cycle(int[] prompt) {
        try (Model m = Model.load(TestModel.path())) {
            for (int j = 0; j < 3; j++) {
                try (Context c = m.newContext(ContextParams.builder()
                        .attention(new AttentionParams().attention(Attention.FULL)).build());
                     Sampler s = Sampler.greedy()) {
                    c.feed(prompt);
                    byte[] blob = c.saveState();
                    try (Context copy = c.clone()) {
                        copy.restoreState(blob);
                        copy.feed(new int[] {1});
                        s.sample(copy);
                    }
                }
            }
        }
    }

    static final long BOUND = 8L << 20;

    @Test
    void createCloseKeepsRssFlat() throws IOException {
        int[] prompt = new int[256];
        for (int i = 0; i < prompt.length; i++) prompt[i] = i % 94;
        for (int i = 0; i < 50; i++) cycle(prompt); // warm up: JIT, heap, allocator arenas
        System.gc();
        long before = rss();
        int n = 350;
        for (int i = 0; i < n; i++) cycle(prompt);
        System.gc();
        long grown = rss() - before;
        System.out.println("LeakTest: RSS after " + n + " closed cycles: " + (grown >> 10) + " KiB");
        assertTrue(grown < BOUND, "RSS grew by " + (grown >> 10) + " KiB over " + n + " cycles");

        // Control: the same contexts kept open (one per cycle, as a missing free would leave
        // them) must exceed the bound, or this test could not see a leak.
        List<Context> open = new ArrayList<>();
        try (Model m = Model.load(TestModel.path())) {
            long start = rss();
            for (int i = 0; i < n; i++) {
                Context c = m.newContext(ContextParams.builder()
                        .attention(new AttentionParams().attention(Attention.FULL)).build());
                open.add(c);
                c.feed(prompt);
            }
            long held = rss() - start;
            System.out.println("LeakTest: RSS with " + n + " contexts left open: " + (held >> 10) + " KiB");
            assertTrue(held > BOUND, "the control grew only " + (held >> 10) + " KiB");
        } finally {
            for (Context c : open) c.close();
        }
    }
}
