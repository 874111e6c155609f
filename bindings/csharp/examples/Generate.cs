// Generate.cs: streams a greedy (or sampled) continuation of a prompt with the Lola binding.
//   mono Generate.exe MODEL.gguf "prompt" [max_tokens] [temperature]
// Runs from the build folder as it is (Lola.dll and liblolacs.so lie beside it): no environment
// variables. docs/bindings/csharp.md shows how to build and run your own program.
using System;
using Lola;

static class Generate
{
    static int Main(string[] args)
    {
        if (args.Length < 2)
        {
            Console.Error.WriteLine("usage: Generate.exe MODEL.gguf PROMPT [MAX_TOKENS] [TEMPERATURE]");
            return 2;
        }
        int maxTokens = args.Length > 2 ? int.Parse(args[2]) : 64;
        float temperature = args.Length > 3 ? float.Parse(args[3]) : 0f;
        try
        {
            using (var model = new Model(args[0]))
            using (var context = model.CreateContext(new ContextParams { Attention = { SparseCapacity = 64 } }))
            using (var sampler = new Sampler(new SamplerParams { Temperature = temperature }))
            {
                int[] prompt = model.Tokenize(args[1], addSpecial: true);
                context.Feed(prompt);
                sampler.Accept(prompt);
                Console.Write(args[1]);
                foreach (Token token in context.Generate(sampler, maxTokens))
                    Console.Write(token.Text);
                Console.WriteLine();
                ContextInfo info = context.Info;
                Console.Error.WriteLine("{0} tokens in the context, {1} bytes of cache state",
                                        info.PastCount, info.StateBytes);
            }
            return 0;
        }
        catch (LolaException e)
        {
            Console.Error.WriteLine("error: " + e.Message);
            return 1;
        }
    }
}
