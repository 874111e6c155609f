//! The C API's enumerations as Rust enums (lola.h documents each value).
use lola_sys as sys;

/// Which attention a layer or context computes (`lola_attention`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Attention {
    /// Window + sparse cache + linear state (sparse capacity 0: the LoLCATs baseline).
    #[default]
    Lola,
    /// Exact causal softmax over every past token (memory grows).
    Full,
    /// Softmax over the sliding window only; older pairs are evicted.
    Window,
}

impl Attention {
    pub(crate) fn raw(self) -> i32 {
        (match self {
            Attention::Lola => sys::LOLA_ATTENTION_LOLA,
            Attention::Full => sys::LOLA_ATTENTION_FULL,
            Attention::Window => sys::LOLA_ATTENTION_WINDOW,
        }) as i32
    }

    /// The variant of a C value; `None` for a value this crate does not know.
    pub(crate) fn from_raw(raw: i32) -> Option<Attention> {
        [Attention::Lola, Attention::Full, Attention::Window].into_iter().find(|a| a.raw() == raw)
    }
}

/// The feature map phi of the linear-attention state (`lola_feature_map`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum FeatureMap {
    /// `LOLA_FEATURE_MAP_AUTO`: hedgehog when learned weights are present (a model's LoLA
    /// tensors, a layer's hedgehog weights), performer otherwise.
    #[default]
    Auto,
    /// Learned (LoLCATs) weights; a layer needs them in its params, a context takes them
    /// from the model file.
    Hedgehog,
    /// Seeded positive random features (training-free).
    Performer,
    Elu1,
    Relu,
    /// Layers only: the caller passes phi(q) and phi(k) to `Layer::feed_features`.
    Precomputed,
}

impl FeatureMap {
    pub(crate) fn raw(self) -> i32 {
        (match self {
            FeatureMap::Auto => return sys::LOLA_FEATURE_MAP_AUTO,
            FeatureMap::Hedgehog => sys::LOLA_FEATURE_MAP_HEDGEHOG,
            FeatureMap::Performer => sys::LOLA_FEATURE_MAP_PERFORMER,
            FeatureMap::Elu1 => sys::LOLA_FEATURE_MAP_ELU1,
            FeatureMap::Relu => sys::LOLA_FEATURE_MAP_RELU,
            FeatureMap::Precomputed => sys::LOLA_FEATURE_MAP_PRECOMPUTED,
        }) as i32
    }
}

/// How the softmax part is mixed with the linear read-out (`lola_mixing`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Mixing {
    /// Mode A, the released LoLA code.
    #[default]
    Lola,
    /// Mode B, LoLCATs Eq. 7.
    Lolcats,
}

impl Mixing {
    pub(crate) fn raw(self) -> i32 {
        (match self {
            Mixing::Lola => sys::LOLA_MIXING_LOLA,
            Mixing::Lolcats => sys::LOLA_MIXING_LOLCATS,
        }) as i32
    }

    /// The variant of a C value; `None` for anything else (e.g. LOLA_MODEL_DEFAULT).
    pub(crate) fn from_raw(raw: i32) -> Option<Mixing> {
        [Mixing::Lola, Mixing::Lolcats].into_iter().find(|m| m.raw() == raw)
    }
}

/// Which pairs the sparse cache keeps (`lola_scoring`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Scoring {
    /// Self-recall error against the linear state (LoLA).
    #[default]
    Sre,
    Recency,
    Random,
    ValueNorm,
}

impl Scoring {
    pub(crate) fn raw(self) -> i32 {
        (match self {
            Scoring::Sre => sys::LOLA_SCORING_SRE,
            Scoring::Recency => sys::LOLA_SCORING_RECENCY,
            Scoring::Random => sys::LOLA_SCORING_RANDOM,
            Scoring::ValueNorm => sys::LOLA_SCORING_VALUE_NORM,
        }) as i32
    }
}

/// The memories of a head's cache (`lola_memory`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Memory {
    /// The sliding window (for full attention: every past token).
    Window,
    /// The sparse cache G.
    Sparse,
}

impl Memory {
    pub(crate) fn raw(self) -> i32 {
        (match self {
            Memory::Window => sys::LOLA_MEMORY_WINDOW,
            Memory::Sparse => sys::LOLA_MEMORY_SPARSE,
        }) as i32
    }
}

/// Where a model computes (`lola_device`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Device {
    #[default]
    Cpu,
    /// A CUDA GPU; `Status::Unsupported` from builds without the CUDA backend.
    Cuda,
}

impl Device {
    pub(crate) fn raw(self) -> i32 {
        (match self {
            Device::Cpu => sys::LOLA_DEVICE_CPU,
            Device::Cuda => sys::LOLA_DEVICE_CUDA,
        }) as i32
    }
}
