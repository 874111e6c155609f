// Model.java: a loaded GGUF model (lola_model): immutable, shareable across threads.
package org.lola;

import java.lang.ref.Cleaner;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.lola.swig.lola_model;
import org.lola.swig.lola_model_info;
import org.lola.swig.lola_model_params;
import org.lola.swig.lola_special_tokens;
import org.lola.swig.lolaConstants;

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
     *     OUT_OF_MEMORY (budget), with liblola's message naming the file and the field
     */
    public static Model load(String path, ModelParams params) {
        lola_model_params p = params.toNative();
        try {
            return new Model(new lola_model(path, p));
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
                    i.getN_ctx_train(), i.getWeight_bytes(), i.getHas_lola_tensors() != 0);
        } finally {
            i.delete();
        }
    }

    /** Vocabulary size (the length of a logits row). */
    public int nVocab() {
        return nVocab;
    }

    public SpecialTokens specialTokens() {
        lola_special_tokens t = handle.special_tokens();
        try {
            return new SpecialTokens(t.getBos(), t.getEos(), t.getEot(), t.getUnk(), t.getPad());
        } finally {
            t.delete();
        }
    }

    /** Tokens of {@code text}, without BOS/EOS and with special-token text taken literally. */
    public int[] tokenize(String text) {
        return tokenize(text, false, false);
    }

    /**
     * Tokens of {@code text}.
     *
     * @param addSpecial add BOS (and EOS) where the vocabulary says
     * @param parseSpecial turn text like "&lt;|im_start|&gt;" into its special token
     */
    public int[] tokenize(String text, boolean addSpecial, boolean parseSpecial) {
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        long flags = (addSpecial ? lolaConstants.LOLA_TOKENIZE_ADD_SPECIAL : 0)
                | (parseSpecial ? lolaConstants.LOLA_TOKENIZE_PARSE_SPECIAL : 0);
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
