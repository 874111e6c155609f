// Enums.cs: the enumerations of lola.h used by parameters and cache-state queries. Every value
// is the generated one (SWIG reads lola.h into Lola.Native at build time); none is written here.
namespace Lola
{
    /// <summary>Which attention a layer or context computes (lola_attention).</summary>
    public enum Attention
    {
        Lola = (int)Native.lola_attention.LOLA_ATTENTION_LOLA,
        Full = (int)Native.lola_attention.LOLA_ATTENTION_FULL,
        Window = (int)Native.lola_attention.LOLA_ATTENTION_WINDOW,
    }

    /// <summary>The feature map of the linear state (lola_feature_map); Auto
    /// (LOLA_FEATURE_MAP_AUTO): hedgehog when hedgehog weights are present, else performer.
    /// </summary>
    public enum FeatureMap
    {
        Auto = Native.lolacs.LOLA_FEATURE_MAP_AUTO,
        Hedgehog = (int)Native.lola_feature_map.LOLA_FEATURE_MAP_HEDGEHOG,
        Performer = (int)Native.lola_feature_map.LOLA_FEATURE_MAP_PERFORMER,
        Elu1 = (int)Native.lola_feature_map.LOLA_FEATURE_MAP_ELU1,
        Relu = (int)Native.lola_feature_map.LOLA_FEATURE_MAP_RELU,
        Precomputed = (int)Native.lola_feature_map.LOLA_FEATURE_MAP_PRECOMPUTED,
    }

    /// <summary>How the softmax part is mixed with the linear read-out (lola_mixing);
    /// ModelDefault (LOLA_MODEL_DEFAULT): the model's lola.* metadata, else Lola.</summary>
    public enum Mixing
    {
        ModelDefault = Native.lolacs.LOLA_MODEL_DEFAULT,
        Lola = (int)Native.lola_mixing.LOLA_MIXING_LOLA,
        LolCats = (int)Native.lola_mixing.LOLA_MIXING_LOLCATS,
    }

    /// <summary>Which pairs the sparse cache keeps (lola_scoring).</summary>
    public enum Scoring
    {
        SelfRecallError = (int)Native.lola_scoring.LOLA_SCORING_SRE,
        Recency = (int)Native.lola_scoring.LOLA_SCORING_RECENCY,
        Random = (int)Native.lola_scoring.LOLA_SCORING_RANDOM,
        ValueNorm = (int)Native.lola_scoring.LOLA_SCORING_VALUE_NORM,
    }

    /// <summary>Where a model computes (lola_device).</summary>
    public enum Device
    {
        Cpu = (int)Native.lola_device.LOLA_DEVICE_CPU,
        Cuda = (int)Native.lola_device.LOLA_DEVICE_CUDA,
    }

    /// <summary>The two memories whose token positions can be listed (lola_memory).</summary>
    public enum Memory
    {
        Window = (int)Native.lola_memory.LOLA_MEMORY_WINDOW,
        Sparse = (int)Native.lola_memory.LOLA_MEMORY_SPARSE,
    }
}
