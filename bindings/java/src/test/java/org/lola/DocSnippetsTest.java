// DocSnippetsTest.java: the fragments of docs/bindings/java.md's reference sections, compiled
// and run here (they are marked `excerpt=` this file; tests/docs checks that the lines match).
package org.lola;

import static org.junit.jupiter.api.Assertions.*;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class DocSnippetsTest {
    @Test
    void attentionSettings() {
        try (Model model = Model.load(TestModel.path())) {
            // docs: attention settings
            AttentionParams a = new AttentionParams().chunkSize(32).sparseCapacity(16).scoring(Scoring.RECENCY);
            Layer layer = new Layer(LayerParams.builder().nHeads(8).nKvHeads(2).headDim(64).attention(a).build());
            Context ctx = model.newContext(ContextParams.builder().nThreads(4).attention(a).build());
            AttentionParams used = a.resolve(model);   // MODEL_DEFAULT fields -> the model's values
            AttentionParams forLayer = a.resolve(null); // -> a standalone layer's values
            // end
            assertEquals(32, used.chunkSize());
            assertEquals(16, forLayer.sparseCapacity());
            assertEquals(Scoring.RECENCY, used.scoring());
            layer.close();
            ctx.close();
        }
    }

    @Test
    void cancellation() throws Exception {
        try (Model model = Model.load(TestModel.path())) {
            int[] longPrompt = AbortTest.tokens(AbortTest.LONG, 0);
            boolean aborted = false;
            // docs: cancellation
            Context ctx = model.newContext(ContextParams.builder().batchSize(1).build());
            ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
            timer.schedule(ctx::requestAbort, 20, TimeUnit.MILLISECONDS); // or from a Stop button
            try {
                ctx.feed(longPrompt);
            } catch (LolaException e) {
                if (e.status() != Status.ABORTED) throw e;
                long fed = ctx.nPast(); // the forward steps already run stay fed; feed the rest later
                aborted = fed < longPrompt.length;
            }
            ctx.clearAbort(); // a request that came after the feed ended would stop the next call
            // end
            timer.shutdown();
            assertTrue(timer.awaitTermination(10, TimeUnit.SECONDS));
            ctx.clearAbort(); // the request has run by now: nothing may be left for the next call
            ctx.feed(new int[] {1, 2, 3});
            assertTrue(aborted || ctx.nPast() == longPrompt.length + 3);
            ctx.close();
        }
    }
}
