// Enums.cs: the enumerations of lola.h used by parameters and cache-state queries.
// Values equal the C enums; params classes convert them to the int32 fields of the C structs.
namespace Lola
{
    /// <summary>Which attention a layer or context computes (lola_attention).</summary>
    public enum Attention { Lola = 0, Full = 1, Window = 2 }

    /// <summary>The feature map of the linear state (lola_feature_map); Auto (-1) is for
    /// contexts only: hedgehog when the model carries LoLA tensors, else performer.</summary>
    public enum FeatureMap { Auto = -1, Hedgehog = 0, Performer = 1, Elu1 = 2, Relu = 3, Precomputed = 4 }

    /// <summary>How the softmax part is mixed with the linear read-out (lola_mixing);
    /// ModelDefault (LOLA_MODEL_DEFAULT, contexts only): the model's lola.* metadata, else Lola.
    /// </summary>
    public enum Mixing { ModelDefault = -1, Lola = 0, LolCats = 1 }

    /// <summary>Which pairs the sparse cache keeps (lola_scoring).</summary>
    public enum Scoring { SelfRecallError = 0, Recency = 1, Random = 2, ValueNorm = 3 }

    /// <summary>Where a model computes (lola_device).</summary>
    public enum Device { Cpu = 0, Cuda = 1 }

    /// <summary>The two memories whose token positions can be listed (lola_memory).</summary>
    public enum Memory { Window = 0, Sparse = 1 }
}
