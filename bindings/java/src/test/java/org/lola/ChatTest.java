// ChatTest.java: ChatMessage, Model.applyChatTemplate, the one-call Model.chat / complete and
// their streaming forms. The tiny model has no chat template (UNSUPPORTED); the template
// itself is tested on the default model, skipped (with the reason) when it is absent.
package org.lola;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ChatTest extends TinyModelTest {
    static final ChatOptions GREEDY = ChatOptions.builder().maxTokens(12)
            .sampler(SamplerParams.greedy()).context(TestModel.lolaParams()).build();

    static final List<ChatMessage> CHAT = List.of(
            ChatMessage.system("You are a helpful assistant."),
            ChatMessage.user("What is the capital of France?"));

    static LolaException expect(Status status, Runnable r) {
        LolaException e = assertThrows(LolaException.class, r::run);
        assertEquals(status, e.status(), e.getMessage());
        return e;
    }

    // ---- ChatMessage -----------------------------------------------------------------------

    @Test
    void chatMessageFactoriesAndValidation() {
        assertEquals(new ChatMessage("user", "hi"), ChatMessage.user("hi"));
        assertEquals("system", ChatMessage.system("s").role());
        assertEquals("assistant", ChatMessage.assistant("a").role());
        assertEquals("a", ChatMessage.assistant("a").content());
        assertThrows(NullPointerException.class, () -> ChatMessage.user(null));
        assertThrows(NullPointerException.class, () -> new ChatMessage(null, "x"));
        assertThrows(IllegalArgumentException.class, () -> ChatMessage.user("hi\0there"));
        assertThrows(IllegalArgumentException.class, () -> new ChatMessage("us\0er", "x"));
    }

    @Test
    void chatOptionsDefaultsAndValidation() {
        assertEquals(ChatOptions.DEFAULT_MAX_TOKENS, ChatOptions.defaults().maxTokens());
        assertThrows(IllegalArgumentException.class, () -> ChatOptions.builder().maxTokens(-1));
        assertThrows(NullPointerException.class, () -> ChatOptions.builder().sampler(null));
        assertThrows(NullPointerException.class, () -> ChatOptions.builder().context(null));
    }

    // ---- the tiny model: no known template ------------------------------------------------

    @Test
    void tinyModelHasNoKnownTemplate() {
        LolaException e = expect(Status.UNSUPPORTED, () -> model.applyChatTemplate(CHAT, true));
        assertFalse(e.nativeMessage().isEmpty());
        assertEquals("UNSUPPORTED: " + e.nativeMessage(), e.getMessage());
        expect(Status.UNSUPPORTED, () -> model.chat(CHAT, GREEDY));
        expect(Status.UNSUPPORTED, () -> model.chatStream(CHAT, GREEDY));
        assertThrows(IllegalArgumentException.class, () -> model.chat(List.of(), GREEDY));
    }

    // ---- one-call completion (works on any model) -----------------------------------------

    /** What a hand-written loop produces: tokenize with ADD_SPECIAL, feed, greedy generate. */
    static String byHand(String prompt, int max) {
        try (Context c = model.newContext(TestModel.lolaParams()); Sampler s = Sampler.greedy()) {
            c.feed(model.tokenize(prompt, Tokenize.ADD_SPECIAL));
            return c.generate(s, max).text();
        }
    }

    @Test
    void completeMatchesTheHandWrittenLoop() {
        ChatResponse r = model.complete("hello world", GREEDY);
        assertEquals(byHand("hello world", 12), r.text());
        assertEquals(model.tokenize("hello world", Tokenize.ADD_SPECIAL).length, r.promptTokens());
        assertEquals(model.tokenize(r.text()).length, r.completionTokens());
        assertEquals(r.promptTokens() + r.completionTokens(), r.totalTokens());
        assertEquals(r.completionTokens() == 12 ? FinishReason.LENGTH : FinishReason.STOP, r.finishReason());
    }

    @Test
    void maxTokensEndsWithLength() {
        ChatOptions none = ChatOptions.builder().maxTokens(0).sampler(SamplerParams.greedy()).build();
        ChatResponse r = model.complete("hello", none);
        assertEquals("", r.text());
        assertEquals(0, r.completionTokens());
        assertEquals(FinishReason.LENGTH, r.finishReason());
        ChatOptions two = ChatOptions.builder().maxTokens(2).sampler(SamplerParams.greedy())
                .context(TestModel.lolaParams()).build();
        ChatResponse r2 = model.complete("hello world", two);
        assertTrue(r2.completionTokens() <= 2);
        assertEquals(byHand("hello world", 2), r2.text());
    }

    @Test
    void completeStreamYieldsTheSameTextAndFreesItsContext() {
        ChatResponse whole = model.complete("hello world", GREEDY);
        StringBuilder text = new StringBuilder();
        int n = 0;
        GenerationStream stream = model.completeStream("hello world", GREEDY);
        try (stream) {
            assertEquals(whole.promptTokens(), stream.promptTokens());
            assertNull(stream.finishReason());
            for (Generation.Token t : stream) {
                text.append(t.text());
                if (t.id() >= 0) n++;
                assertEquals(n, stream.completionTokens());
            }
            // The iteration's end freed the context: calls on it now throw NULL_HANDLE.
            expect(Status.NULL_HANDLE, () -> stream.context().nPast());
            assertEquals(whole.finishReason(), stream.finishReason());
            assertEquals(whole, stream.response());
        }
        assertEquals(whole.text(), text.toString());
        assertEquals(whole.completionTokens(), n);
        assertThrows(IllegalStateException.class, stream::iterator);
    }

    @Test
    void closingAStreamEarlyFreesItsContext() {
        GenerationStream stream = model.completeStream("hello world", GREEDY);
        List<Generation.Token> got = new ArrayList<>();
        try (stream) {
            for (Generation.Token t : stream) {
                got.add(t);
                break;
            }
            assertEquals(1, stream.context().info().nPast() - stream.promptTokens());
        }
        expect(Status.NULL_HANDLE, () -> stream.context().nPast());
        assertNull(stream.finishReason(), "closed before its end");
        stream.close(); // idempotent
        assertEquals(1, got.size());
    }

    @Test
    void aStreamThatThrowsFreesItsContext() {
        GenerationStream stream = model.completeStream("hello world", GREEDY);
        stream.context().requestAbort();
        LolaException e = assertThrows(LolaException.class, () -> {
            for (Generation.Token t : stream) fail("aborted before the first token, got " + t);
        });
        assertEquals(Status.ABORTED, e.status());
        expect(Status.NULL_HANDLE, () -> stream.context().nPast());
    }

    @Test
    void badPromptsAreRefusedWithoutLeaking() {
        assertThrows(IllegalArgumentException.class, () -> model.complete("", GREEDY));
        ChatOptions badSampler = ChatOptions.builder()
                .sampler(SamplerParams.builder().repeatPenalty(-1f).build()).build();
        expect(Status.INVALID_ARGUMENT, () -> model.complete("hello", badSampler));
    }

    // ---- the default model: a real chat template -----------------------------------------

    @Test
    void chatOnTheDefaultModel() {
        try (Model m = Model.load(TestModel.defaultModelPath())) {
            String prompt = m.applyChatTemplate(CHAT, true);
            assertEquals("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
                    + "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n"
                    + "<|im_start|>assistant\n", prompt);
            assertFalse(m.applyChatTemplate(CHAT, false).endsWith("<|im_start|>assistant\n"));
            // Non-ASCII content and a long message survive the packing and the buffer retry.
            String long_ = "é€😀 ".repeat(300);
            assertTrue(m.applyChatTemplate(List.of(ChatMessage.user(long_)), false).contains(long_));

            ChatOptions opts = ChatOptions.builder().maxTokens(16).sampler(SamplerParams.greedy())
                    .context(ContextParams.builder().nThreads(2).build()).build();
            ChatResponse r = m.chat(CHAT, opts);
            assertEquals(m.tokenize(prompt, Tokenize.PARSE_SPECIAL).length, r.promptTokens());
            assertTrue(r.completionTokens() > 0 && r.completionTokens() <= 16);
            assertFalse(r.text().isBlank());
            assertFalse(r.text().contains("<|im_end|>"), "the end-of-turn token is not in the text");
            assertTrue(r.text().contains("Paris"), r.text());
            // The short answer ends with the end-of-turn token, well before 16 tokens.
            assertEquals(FinishReason.STOP, r.finishReason(), r.text());
            assertTrue(r.completionTokens() < 16);

            StringBuilder streamed = new StringBuilder();
            try (GenerationStream s = m.chatStream(CHAT, opts)) {
                for (Generation.Token t : s) streamed.append(t.text());
                assertEquals(r, s.response());
            }
            assertEquals(r.text(), streamed.toString());
        }
    }
}
