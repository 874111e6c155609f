// Tokenize.java: the named options of Model.tokenize (the LOLA_TOKENIZE_* flags of lola.h).
package org.lola;

import java.util.Collection;
import org.lola.swig.lolaConstants;

/**
 * Options of {@link Model#tokenize(String, Tokenize...)}, in place of positional booleans:
 * {@code model.tokenize(text, Tokenize.ADD_SPECIAL, Tokenize.PARSE_SPECIAL)}. With none, the
 * text is tokenized as plain text and nothing is added.
 */
public enum Tokenize {
    /** Add BOS (and EOS) where the model's vocabulary says (LOLA_TOKENIZE_ADD_SPECIAL). */
    ADD_SPECIAL(lolaConstants.LOLA_TOKENIZE_ADD_SPECIAL),
    /**
     * Text like {@code <|im_start|>} becomes its special token (LOLA_TOKENIZE_PARSE_SPECIAL);
     * without it such text is tokenized character by character. Use it on a chat template's
     * output, never on untrusted user text.
     */
    PARSE_SPECIAL(lolaConstants.LOLA_TOKENIZE_PARSE_SPECIAL);

    final long flag;

    Tokenize(long flag) {
        this.flag = flag;
    }

    /** The C flag bit. */
    public long flag() {
        return flag;
    }

    /** The C flags of a set of options (repeats count once). */
    static long flags(Collection<Tokenize> options) {
        long f = 0;
        for (Tokenize o : options) f |= o.flag;
        return f;
    }
}
