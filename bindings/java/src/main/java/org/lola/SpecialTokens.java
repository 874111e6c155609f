// SpecialTokens.java: the special tokens of a model (lola_special_tokens); -1 where none.
package org.lola;

/** Special token ids of a model's vocabulary; -1 where it has none. */
public record SpecialTokens(int bos, int eos, int eot, int unk, int pad) {}
