// MisuseTest.java: misuse across threads and of buffers gives a LolaException or an
// IllegalArgumentException, never a crash of the JVM (before lola_java.i synchronized the
// handles' methods, each of the thread tests below died with SIGSEGV).
package org.lola;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Iterator;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class MisuseTest {
    /** Enough one-token forward steps (batch size 1) that a close() lands inside the feed. */
    static final int LONG_FEED = 300;

    static ContextParams slowParams() {
        return ContextParams.builder().batchSize(1)
                .attention(new AttentionParams().chunkSize(4).sparseCapacity(2)).build();
    }

    /** Runs `body` on a thread; rethrows whatever it threw other than a NULL_HANDLE error. */
    static Thread start(AtomicReference<Throwable> failure, Runnable body) {
        Thread t = new Thread(() -> {
            try {
                body.run();
            } catch (LolaException e) {
                if (e.status() != Status.NULL_HANDLE) failure.compareAndSet(null, e);
            } catch (Throwable e) {
                failure.compareAndSet(null, e);
            }
        });
        t.start();
        return t;
    }

    @Test
    void closeWhileAnotherThreadFeeds() throws Exception {
        try (Model m = Model.load(TestModel.path())) {
            for (int round = 0; round < 10; round++) {
                Context ctx = m.newContext(slowParams());
                AtomicReference<Throwable> failure = new AtomicReference<>();
                Thread t = start(failure, () -> ctx.feed(new int[LONG_FEED]));
                Thread.sleep(2);
                ctx.close();
                t.join();
                assertNull(failure.get());
                LolaException e = assertThrows(LolaException.class, () -> ctx.feed(new int[] {1}));
                assertEquals(Status.NULL_HANDLE, e.status());
            }
        }
    }

    @Test
    void concurrentFeedsOfOneContextAreSerialised() throws Exception {
        try (Model m = Model.load(TestModel.path()); Context ctx = m.newContext(slowParams())) {
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread[] threads = new Thread[4];
            for (int i = 0; i < threads.length; i++)
                threads[i] = start(failure, () -> {
                    for (int k = 0; k < 5; k++) ctx.feed(new int[40]);
                });
            for (Thread t : threads) t.join();
            assertNull(failure.get());
            assertEquals(4 * 5 * 40, ctx.info().nPast());
        }
    }

    @Test
    void closeWhileAnotherThreadSamplesTheContext() throws Exception {
        try (Model m = Model.load(TestModel.path()); Sampler s = Sampler.greedy()) {
            for (int round = 0; round < 10; round++) {
                Context ctx = m.newContext(slowParams());
                ctx.feed(new int[] {1, 2, 3});
                AtomicReference<Throwable> failure = new AtomicReference<>();
                Thread t = start(failure, () -> {
                    for (int k = 0; k < 2000; k++) s.sample(ctx);
                });
                Thread.sleep(1);
                ctx.close();
                t.join();
                assertNull(failure.get());
            }
        }
    }

    @Test
    void closeTheModelWhileContextsAreCreated() throws Exception {
        for (int round = 0; round < 5; round++) {
            Model m = Model.load(TestModel.path());
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread t = start(failure, () -> {
                for (int k = 0; k < 200; k++) {
                    try (Context c = m.newContext(slowParams())) {
                        c.feed(new int[] {k % 90});
                    }
                }
            });
            Thread.sleep(2);
            m.close();
            t.join();
            assertNull(failure.get());
        }
    }

    @Test
    void generationAfterCloseThrows() {
        try (Model m = Model.load(TestModel.path()); Sampler s = Sampler.greedy()) {
            Context ctx = m.newContext(TestModel.lolaParams());
            ctx.feed(m.tokenize("abc"));
            Iterator<Generation.Token> it = ctx.generate(s, 8).iterator();
            assertTrue(it.hasNext());
            it.next();
            ctx.close();
            LolaException e = assertThrows(LolaException.class, it::hasNext);
            assertEquals(Status.NULL_HANDLE, e.status());
        }
    }

    @Test
    void logitsIntoAReadOnlyBufferIsRefused() {
        try (Model m = Model.load(TestModel.path()); Context ctx = m.newContext(TestModel.lolaParams())) {
            ctx.feed(new int[] {1, 2});
            FloatBuffer ro = ByteBuffer.allocateDirect(4 * m.nVocab()).order(ByteOrder.nativeOrder())
                    .asFloatBuffer().asReadOnlyBuffer();
            assertThrows(IllegalArgumentException.class, () -> ctx.logits(ro));
            assertEquals(0f, ro.get(0));
            FloatBuffer small = ByteBuffer.allocateDirect(4 * (m.nVocab() - 1))
                    .order(ByteOrder.nativeOrder()).asFloatBuffer();
            assertThrows(LolaException.class, () -> ctx.logits(small));
        }
    }

    @Test
    void badStateBlobsAreErrors() {
        try (Model m = Model.load(TestModel.path()); Context ctx = m.newContext(TestModel.lolaParams())) {
            ctx.feed(new int[] {1, 2});
            byte[] random = new byte[4096];
            new java.util.Random(7).nextBytes(random);
            assertEquals(Status.CORRUPT_DATA, assertThrows(LolaException.class, () -> ctx.restoreState(random)).status());
            assertThrows(LolaException.class, () -> ctx.restoreState(new byte[0]));
            assertThrows(LolaException.class, () -> ctx.restoreState(null));
            assertEquals(2, ctx.info().nPast());
        }
    }
}
