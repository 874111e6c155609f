// Model.java: a loaded GGUF model (lola_model): immutable, shareable across threads.
package org.lola;

import java.io.ByteArrayOutputStream;
import java.lang.ref.Cleaner;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import org.lola.swig.lola_model;
import org.lola.swig.lola_model_info;
import org.lola.swig.lola_attention_params;
import org.lola.swig.lola_context_params;
import org.lola.swig.lola_model_params;
import org.lola.swig.lola_perplexity_result;
import org.lola.swig.lola_special_tokens;

/**
 * A model file loaded by liblola. Immutable after load: any number of threads may use one
 * model and create contexts on it at once. Close it when done (try-with-resources); a model
 * that becomes unreachable unclosed is released by a Cleaner. Contexts keep their model alive,
 * so close contexts first, then the model.
 */
public final class Model implements AutoCloseable {
    static {
        NativeLibrary.load();
    }

    final lola_model handle;
    private final Cleaner.Cleanable cleanable;
    private final int nVocab;

    private Model(lola_model handle) {
        this.handle = handle;
        this.cleanable = Native.register(this, handle::delete);
        ModelInfo i = info();
        this.nVocab = i.nVocab();
    }

    /** Loads a GGUF model with the default parameters. */
    public static Model load(String path) {
        return load(path, ModelParams.builder().build());
    }

    /**
     * Loads a GGUF model.
     *
     * @throws LolaException IO (cannot open), CORRUPT_DATA (malformed file), UNSUPPORTED,
     *     OUT_OF_MEMORY (budget), with liblola's message naming the file and the field; with an
     *     adapter also INCOMPATIBLE (trained for another model) and VERSION_MISMATCH
     */
    public static Model load(String path, ModelParams params) {
        lola_model_params p = params.toNative();
        try {
            return new Model(new lola_model(path, p, params.adapter()));
        } finally {
            p.delete();
        }
    }

    /** Shapes and metadata. */
    public ModelInfo info() {
        lola_model_info i = handle.info();
        try {
            return new ModelInfo(i.getArchitecture(), i.getName(), i.getN_layer(), i.getN_head(),
                    i.getN_head_kv(), i.getHead_dim(), i.getN_embd(), i.getN_ff(), i.getN_vocab(),
                    i.getN_ctx_train(), i.getWeight_bytes(), i.getHas_lola_tensors() != 0,
                    i.getHas_adapter() != 0, i.getFingerprint());
        } finally {
            i.delete();
        }
    }

    /** Vocabulary size (the length of a logits row). */
    public int nVocab() {
        return nVocab;
    }

    /**
     * The perplexity of {@code tokens} at context length {@code nCtx} (lola_perplexity):
     * consecutive windows of {@code nCtx} tokens, each fed to a fresh context made with {@code
     * params} (any attention settings), the second half of each scored; {@code maxWindows} &gt; 0
     * evaluates at most that many. Blocks for the feeds; other calls on this model wait for it.
     *
     * @throws LolaException INVALID_ARGUMENT (nCtx &lt; 2, fewer than nCtx tokens, an id out of
     *     range, a bad parameter)
     */
    public Perplexity perplexity(int[] tokens, long nCtx, ContextParams params, long maxWindows) {
        lola_context_params p = params.toNative();
        AttentionParams a = params.attentionOrNull();
        lola_attention_params na = a == null ? null : a.toNative();
        try {
            lola_perplexity_result r = handle.perplexity(tokens, nCtx, p, na, maxWindows, params.layerAttentionOrNull());
            try {
                return new Perplexity(r.getN_windows(), r.getN_scored(), r.getNll(), r.getPerplexity());
            } finally {
                r.delete();
            }
        } finally {
            p.delete();
            if (na != null) na.delete();
        }
    }

    public SpecialTokens specialTokens() {
        lola_special_tokens t = handle.special_tokens();
        try {
            return new SpecialTokens(t.getBos(), t.getEos(), t.getEot(), t.getUnk(), t.getPad());
        } finally {
            t.delete();
        }
    }

    /**
     * Tokens of {@code text}. With no option the text is plain text and nothing is added;
     * {@code model.tokenize(text, Tokenize.ADD_SPECIAL)} adds BOS where the vocabulary says,
     * {@link Tokenize#PARSE_SPECIAL} turns text like "&lt;|im_start|&gt;" into its token.
     */
    public int[] tokenize(String text, Tokenize... options) {
        return tokenize(text, Arrays.asList(options));
    }

    /** Tokens of {@code text} with a set of options (e.g. an {@code EnumSet}). */
    public int[] tokenize(String text, Collection<Tokenize> options) {
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        long flags = Tokenize.flags(options);
        int[] tokens = new int[utf8.length + 4];
        int n = (int) handle.tokenize(utf8, flags, tokens);
        if (n > tokens.length) {
            tokens = new int[n];
            n = (int) handle.tokenize(utf8, flags, tokens);
        }
        return Arrays.copyOf(tokens, n);
    }

    /** The UTF-8 bytes of {@code tokens} (special tokens skipped). */
    public byte[] detokenizeBytes(int[] tokens) {
        byte[] out = new byte[tokens.length * 8 + 16];
        int n = (int) handle.detokenize(tokens, 0, out);
        if (n > out.length) {
            out = new byte[n];
            n = (int) handle.detokenize(tokens, 0, out);
        }
        return Arrays.copyOf(out, n);
    }

    /** The text of {@code tokens}; invalid UTF-8 becomes U+FFFD. */
    public String detokenize(int[] tokens) {
        return new String(detokenizeBytes(tokens), StandardCharsets.UTF_8);
    }

    /** The bytes of one token; a piece may end inside a UTF-8 character. */
    public byte[] tokenToPiece(int token) {
        byte[] out = new byte[32];
        int n = (int) handle.token_to_piece(token, 0, out);
        if (n > out.length) {
            out = new byte[n];
            n = (int) handle.token_to_piece(token, 0, out);
        }
        return Arrays.copyOf(out, n);
    }

    /** True when generation should stop at {@code token} (EOS, EOT, ...). */
    public boolean isEog(int token) {
        return handle.token_is_eog(token);
    }

    /**
     * The chat rendered as text by the model's chat template (lola_chat_apply_template: known
     * templates only, ChatML as SmolLM2 uses it and Llama 3), special tokens written as text:
     * tokenize it with {@link Tokenize#PARSE_SPECIAL}. {@code addAssistant} appends the
     * assistant's prompt, so that what the model generates next is the reply.
     *
     * @throws LolaException UNSUPPORTED when liblola does not know the model's template,
     *     INVALID_ARGUMENT for a role the template does not have
     */
    public String applyChatTemplate(List<ChatMessage> messages, boolean addAssistant) {
        ByteArrayOutputStream packed = new ByteArrayOutputStream();
        for (ChatMessage m : messages) { // role NUL content NUL (ChatMessage holds no NUL)
            packed.writeBytes(m.role().getBytes(StandardCharsets.UTF_8));
            packed.write(0);
            packed.writeBytes(m.content().getBytes(StandardCharsets.UTF_8));
            packed.write(0);
        }
        byte[] blob = packed.toByteArray();
        byte[] out = new byte[blob.length + 64 * messages.size() + 64];
        int n = (int) handle.chat_apply_template(blob, addAssistant, out);
        if (n > out.length) {
            out = new byte[n];
            n = (int) handle.chat_apply_template(blob, addAssistant, out);
        }
        return new String(out, 0, n, StandardCharsets.UTF_8);
    }

    /**
     * One chat turn in one call: renders {@code messages} with the chat template (assistant
     * prompt appended), feeds it to a fresh context, generates the reply and frees the context
     * before returning.
     *
     * @throws IllegalArgumentException when {@code messages} is empty
     * @throws LolaException UNSUPPORTED when the model's chat template is unknown to liblola
     */
    public ChatResponse chat(List<ChatMessage> messages, ChatOptions options) {
        try (GenerationStream stream = chatStream(messages, options)) {
            return stream.response();
        }
    }

    /** {@link #chat(List, ChatOptions)} with {@link ChatOptions#defaults()}. */
    public ChatResponse chat(List<ChatMessage> messages) {
        return chat(messages, ChatOptions.defaults());
    }

    /**
     * The reply to {@code messages} as a stream of tokens on a context of its own, which the
     * stream frees when it ends or is closed (try-with-resources). The prompt is fed before
     * this returns.
     *
     * @throws IllegalArgumentException when {@code messages} is empty
     * @throws LolaException UNSUPPORTED when the model's chat template is unknown to liblola
     */
    public GenerationStream chatStream(List<ChatMessage> messages, ChatOptions options) {
        Objects.requireNonNull(options, "options");
        if (messages.isEmpty()) throw new IllegalArgumentException("a chat needs at least one message");
        // The template writes the special tokens (and any BOS) as text: parse them, add nothing.
        int[] prompt = tokenize(applyChatTemplate(messages, true), Tokenize.PARSE_SPECIAL);
        return new GenerationStream(this, prompt, options);
    }

    /**
     * A plain completion in one call: tokenizes {@code prompt} (BOS added where the vocabulary
     * says), feeds it to a fresh context, generates and frees the context before returning.
     * The text returned is the continuation only.
     *
     * @throws IllegalArgumentException when the prompt has no tokens
     */
    public ChatResponse complete(String prompt, ChatOptions options) {
        try (GenerationStream stream = completeStream(prompt, options)) {
            return stream.response();
        }
    }

    /** {@link #complete(String, ChatOptions)} with {@link ChatOptions#defaults()}. */
    public ChatResponse complete(String prompt) {
        return complete(prompt, ChatOptions.defaults());
    }

    /** The continuation of {@code prompt} as a stream on a context of its own; see {@link #chatStream}. */
    public GenerationStream completeStream(String prompt, ChatOptions options) {
        Objects.requireNonNull(options, "options");
        return new GenerationStream(this, tokenize(prompt, Tokenize.ADD_SPECIAL), options);
    }

    /** A new context on this model. */
    public Context newContext(ContextParams params) {
        return new Context(this, params);
    }

    /** Drops this handle; idempotent. Contexts still open keep the native model alive. */
    @Override
    public void close() {
        cleanable.clean();
    }
}
