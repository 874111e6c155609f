// Perplexity.java: what Model.perplexity measured (lola_perplexity_result).
package org.lola;

/**
 * What {@link Model#perplexity} measured: the windows evaluated, the tokens scored, their mean
 * negative log-likelihood in nats ({@code nll}) and {@code perplexity = exp(nll)}.
 */
public record Perplexity(long nWindows, long nScored, double nll, double perplexity) {}
