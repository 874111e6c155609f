// TokenizeTest.java: the named options of Model.tokenize (Tokenize.ADD_SPECIAL, PARSE_SPECIAL).
package org.lola;

import static org.junit.jupiter.api.Assertions.*;

import java.util.EnumSet;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.lola.swig.lolaConstants;

class TokenizeTest extends TinyModelTest {
    @Test
    void flagsAreTheCOnes() {
        assertEquals(lolaConstants.LOLA_TOKENIZE_ADD_SPECIAL, Tokenize.ADD_SPECIAL.flag());
        assertEquals(lolaConstants.LOLA_TOKENIZE_PARSE_SPECIAL, Tokenize.PARSE_SPECIAL.flag());
        assertEquals(3, Tokenize.flags(List.of(Tokenize.ADD_SPECIAL, Tokenize.PARSE_SPECIAL, Tokenize.ADD_SPECIAL)));
        assertEquals(0, Tokenize.flags(List.of()));
    }

    @Test
    void parseSpecialTurnsSpecialTextIntoItsToken() {
        // The tiny vocabulary's token 96 is the control token "<|endoftext|>".
        assertArrayEquals(new int[] {96}, model.tokenize("<|endoftext|>", Tokenize.PARSE_SPECIAL));
        int[] plain = model.tokenize("<|endoftext|>");
        assertEquals(13, plain.length, "without PARSE_SPECIAL the text is plain characters");
        for (int t : plain) assertNotEquals(96, t);
        assertArrayEquals(plain, model.tokenize("<|endoftext|>", EnumSet.noneOf(Tokenize.class)));
        assertArrayEquals(new int[] {96}, model.tokenize("<|endoftext|>",
                EnumSet.of(Tokenize.PARSE_SPECIAL, Tokenize.ADD_SPECIAL)));
    }

    @Test
    void optionsOnTheDefaultModel() {
        try (Model m = Model.load(TestModel.defaultModelPath())) {
            // SmolLM2's GGUF does not ask for a BOS (no add_bos_token): ADD_SPECIAL adds nothing.
            assertArrayEquals(m.tokenize("Hello"), m.tokenize("Hello", Tokenize.ADD_SPECIAL));
            assertEquals(1, m.tokenize("<|im_start|>", Tokenize.PARSE_SPECIAL).length,
                    "ChatML's <|im_start|> is one special token");
            assertTrue(m.tokenize("<|im_start|>").length > 1);
        }
    }
}
