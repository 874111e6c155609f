// AbortTest.java: Context.requestAbort() stops a feed or a generation running on another
// thread with ABORTED, keeps what was fed, leaves the context usable, and is consumed by one abort.
package org.lola;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Iterator;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class AbortTest {
    // 200,000 one-token steps take about a second uncancelled (5,000 take only 30 ms on the
    // tiny model: too short to be sure a request from another thread lands inside the feed).
    static final int LONG = 200_000;

    /** Printable ids only (0..93), so that no token is special. */
    static int[] tokens(int n, int offset) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = (i * 7 + offset) % 94;
        return t;
    }

    /** One token per forward step: a long feed polls the flag thousands of times. */
    static ContextParams oneTokenSteps() {
        return ContextParams.builder().batchSize(1).nThreads(1)
                .attention(new AttentionParams().chunkSize(4).sparseCapacity(2)).build();
    }

    static void assertAborted(Runnable call) {
        LolaException e = assertThrows(LolaException.class, call::run);
        assertEquals(Status.ABORTED, e.status(), e.getMessage());
    }

    @Test
    void abortFromAnotherThreadStopsALongFeed() throws Exception {
        try (Model m = Model.load(TestModel.path()); Context c = m.newContext(oneTokenSteps())) {
            int[] prompt = tokens(LONG, 0);
            CountDownLatch feeding = new CountDownLatch(1);
            ExecutorService canceller = Executors.newSingleThreadExecutor();
            try {
                Future<?> request = canceller.submit(() -> {
                    feeding.await();
                    Thread.sleep(5); // well inside the feed, which runs for about a second
                    c.requestAbort();
                    return null;
                });
                feeding.countDown();
                assertAborted(() -> c.feed(prompt));
                request.get(10, TimeUnit.SECONDS);
            } finally {
                canceller.shutdownNow();
            }
            long fed = c.nPast();
            assertTrue(fed > 0 && fed < LONG, "fed " + fed + " of " + LONG);
            // No logits after an abort; the next feed brings them back.
            LolaException none = assertThrows(LolaException.class, c::logits);
            assertEquals(Status.UNSUPPORTED, none.status());

            // The context goes on from where it stopped: the same state as feeding the fed
            // prefix plus the rest of the prompt in one uninterrupted run.
            int[] rest = java.util.Arrays.copyOfRange(prompt, (int) fed, (int) fed + 10);
            assertEquals(10, c.feed(rest));
            assertEquals(fed + 10, c.nPast());
            float[] resumed = c.logits();
            try (Context ref = m.newContext(oneTokenSteps())) {
                ref.feed(java.util.Arrays.copyOf(prompt, (int) fed + 10));
                assertArrayEquals(ref.logits(), resumed, 1e-4f);
            }
            for (float x : resumed) assertTrue(Float.isFinite(x));
        }
    }

    @Test
    void aRequestBeforeACallIsConsumedByIt() {
        ContextParams p = ContextParams.builder().batchSize(4).nThreads(1).build();
        try (Model m = Model.load(TestModel.path()); Context c = m.newContext(p)) {
            c.requestAbort();
            assertAborted(() -> c.feed(tokens(20, 1)));
            assertEquals(4, c.nPast(), "the flag is polled after each forward step of 4 tokens");
            // Consumed: the next feed runs to the end.
            assertEquals(20, c.feed(tokens(20, 2)));
            assertEquals(24, c.nPast());
            assertEquals(m.nVocab(), c.logits().length);

            // clearAbort withdraws a request no call has consumed.
            c.requestAbort();
            c.clearAbort();
            assertEquals(20, c.feed(tokens(20, 3)));
            assertEquals(44, c.nPast());

            // A feed of one step never polls: the request waits for the next poll.
            c.requestAbort();
            assertEquals(1, c.feed(new int[] {5}));
            assertAborted(() -> c.feed(tokens(8, 4)));
            assertEquals(45 + 4, c.nPast());
        }
    }

    @Test
    void eachCloneHasItsOwnFlag() {
        ContextParams p = ContextParams.builder().batchSize(2).nThreads(1).build();
        try (Model m = Model.load(TestModel.path()); Context c = m.newContext(p)) {
            c.feed(tokens(6, 0));
            try (Context copy = c.clone()) {
                copy.requestAbort();
                assertEquals(6, c.feed(tokens(6, 1)), "the original is not aborted");
                assertAborted(() -> copy.feed(tokens(6, 1)));
                assertEquals(6 + 2, copy.nPast());
            }
        }
    }

    @Test
    void generationStopsAtTheNextTokenAfterARequestFromAnotherThread() throws Exception {
        try (Model m = Model.load(TestModel.path());
                Context c = m.newContext(TestModel.lolaParams());
                Sampler s = Sampler.greedy()) {
            int[] prompt = m.tokenize("hello world");
            // Precondition: without an abort this prompt generates all 40 tokens (no EOS).
            try (Context ref = m.newContext(TestModel.lolaParams()); Sampler rs = Sampler.greedy()) {
                ref.feed(prompt);
                int n = 0;
                for (Generation.Token t : ref.generate(rs, 40)) if (t.id() >= 0) n++;
                assertEquals(40, n);
            }

            c.feed(prompt);
            CountDownLatch fifth = new CountDownLatch(1);
            CountDownLatch requested = new CountDownLatch(1);
            ExecutorService canceller = Executors.newSingleThreadExecutor();
            int[] count = {0};
            try {
                Future<?> request = canceller.submit(() -> {
                    fifth.await();
                    c.requestAbort();
                    requested.countDown();
                    return null;
                });
                Iterator<Generation.Token> it = c.generate(s, 40).iterator();
                LolaException e = assertThrows(LolaException.class, () -> {
                    while (it.hasNext()) {
                        it.next();
                        if (++count[0] == 5) {
                            fifth.countDown();
                            assertTrue(requested.await(10, TimeUnit.SECONDS));
                        }
                    }
                });
                assertEquals(Status.ABORTED, e.status());
                request.get(10, TimeUnit.SECONDS);
            } finally {
                canceller.shutdownNow();
            }
            assertEquals(5, count[0], "the step after the request throws");
            assertEquals(prompt.length + 5, c.nPast(), "every yielded token stays fed");
            assertEquals(m.nVocab(), c.logits().length, "the logits stay valid");
            // Consumed: generation goes on.
            int more = 0;
            for (Generation.Token t : c.generate(s, 3)) if (t.id() >= 0) more++;
            assertEquals(3, more);
        }
    }

    @Test
    void requestAbortAfterCloseThrowsNullHandle() {
        try (Model m = Model.load(TestModel.path())) {
            Context c = m.newContext(ContextParams.builder().build());
            c.close();
            LolaException e = assertThrows(LolaException.class, c::requestAbort);
            assertEquals(Status.NULL_HANDLE, e.status());
        }
    }
}
