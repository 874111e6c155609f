// Generate.java: loads a model, feeds a prompt and streams a greedy continuation.
//   java -cp lola.jar:example-classes Generate MODEL.gguf "prompt" [max_tokens]
import org.lola.AttentionParams;
import org.lola.Context;
import org.lola.ContextParams;
import org.lola.Generation;
import org.lola.Model;
import org.lola.Sampler;
import org.lola.Tokenize;

public final class Generate {
    public static void main(String[] args) {
        if (args.length < 2) {
            System.err.println("usage: Generate MODEL.gguf PROMPT [MAX_TOKENS]");
            System.exit(2);
        }
        int maxTokens = args.length > 2 ? Integer.parseInt(args[2]) : 32;
        try (Model model = Model.load(args[0]);
             Context ctx = model.newContext(ContextParams.builder()
                     .attention(new AttentionParams().chunkSize(16).sparseCapacity(16)).build());
             Sampler sampler = Sampler.greedy()) {
            ctx.feed(model.tokenize(args[1], Tokenize.ADD_SPECIAL));
            System.out.print(args[1]);
            for (Generation.Token t : ctx.generate(sampler, maxTokens)) {
                System.out.print(t.text());
                System.out.flush();
            }
            System.out.println();
        }
    }
}
