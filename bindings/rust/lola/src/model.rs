//! `Model`: a loaded GGUF model (immutable, shareable across threads) and its tokenizer.
use std::ffi::CString;
use std::mem::{size_of, MaybeUninit};
use std::path::{Path, PathBuf};
use std::ptr::{self, NonNull};

use lola_sys as sys;

use crate::buffers::{c_chars_to_string, read_sized};
use crate::chat::ChatMessage;
use crate::error::{check, ensure_abi, Error, Result, Status};
use crate::kinds::Device;

/// Parameters of [`Model::load_with`], starting from liblola's defaults.
#[derive(Clone, Debug)]
pub struct ModelParams {
    raw: sys::lola_model_params, // adapter_path stays NULL: set from `adapter` at the load
    adapter: Option<PathBuf>,
}

// SAFETY: the only pointer in `raw`, adapter_path, is always NULL here (the adapter's path is
// owned by `adapter` and set on a copy for the duration of the load); the rest are integers.
unsafe impl Send for ModelParams {}
// SAFETY: as for Send; no interior mutability.
unsafe impl Sync for ModelParams {}

impl Default for ModelParams {
    fn default() -> Self {
        Self::new()
    }
}

impl ModelParams {
    pub fn new() -> ModelParams {
        let mut raw = MaybeUninit::<sys::lola_model_params>::zeroed();
        // SAFETY: a valid pointer to a params struct; init cannot fail on a non-NULL pointer.
        unsafe { sys::lola_model_params_init(raw.as_mut_ptr()) };
        // SAFETY: zeroed, then filled by init: plain integers and a NULL adapter_path.
        ModelParams { raw: unsafe { raw.assume_init() }, adapter: None }
    }
    pub fn device(mut self, device: Device) -> Self {
        self.raw.device = device.raw();
        self
    }
    pub fn device_index(mut self, index: i32) -> Self {
        self.raw.device_index = index;
        self
    }
    /// Bytes the model may hold; 0 means no limit. A larger load fails with `OutOfMemory`.
    pub fn memory_budget(mut self, bytes: u64) -> Self {
        self.raw.memory_budget = bytes;
        self
    }
    /// A LoLA adapter GGUF trained for this model (`lola-linearize` writes one): its feature
    /// maps, gates and chunk/λ/mixing defaults replace the file's. It records the
    /// [`ModelInfo::fingerprint`] of the model it was trained for; on any other model the load
    /// fails with `Incompatible`.
    pub fn adapter(mut self, path: impl AsRef<Path>) -> Self {
        self.adapter = Some(path.as_ref().to_path_buf());
        self
    }
}

/// Shapes and metadata of a model (`lola_model_info`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelInfo {
    pub architecture: String,
    pub name: String,
    pub n_layer: i32,
    pub n_head: i32,
    pub n_head_kv: i32,
    pub head_dim: i32,
    pub n_embd: i32,
    pub n_ff: i32,
    pub n_vocab: i32,
    pub n_ctx_train: i64,
    pub weight_bytes: u64,
    pub has_lola_tensors: bool,
    /// Loaded with [`ModelParams::adapter`].
    pub has_adapter: bool,
    /// Identifies the weights the model computes with (its file and its adapter); saved context
    /// state restores only on a model with the same fingerprint.
    pub fingerprint: u64,
}

/// The special tokens of a vocabulary; `None` where it has none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpecialTokens {
    pub bos: Option<i32>,
    pub eos: Option<i32>,
    pub eot: Option<i32>,
    pub unk: Option<i32>,
    pub pad: Option<i32>,
}

/// Flags of [`Model::tokenize_with`] (`lola_tokenize`'s flags), combined with `|`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Tokenize(u32);

impl Tokenize {
    /// The text as it is: no BOS/EOS, special-token text tokenized as plain text.
    pub const NONE: Tokenize = Tokenize(0);
    /// Add BOS (and EOS) where the model's vocabulary says.
    pub const ADD_SPECIAL: Tokenize = Tokenize(sys::LOLA_TOKENIZE_ADD_SPECIAL);
    /// Text like "<|im_start|>" becomes its special token.
    pub const PARSE_SPECIAL: Tokenize = Tokenize(sys::LOLA_TOKENIZE_PARSE_SPECIAL);

    /// True when every flag of `other` is set here.
    pub fn contains(self, other: Tokenize) -> bool {
        self.0 & other.0 == other.0
    }
    /// The C flags.
    pub fn bits(self) -> u32 {
        self.0
    }
}

impl std::ops::BitOr for Tokenize {
    type Output = Tokenize;
    fn bitor(self, other: Tokenize) -> Tokenize {
        Tokenize(self.0 | other.0)
    }
}

impl std::ops::BitOrAssign for Tokenize {
    fn bitor_assign(&mut self, other: Tokenize) {
        self.0 |= other.0;
    }
}

/// A loaded model. Contexts borrow it (`Context<'m>`), so it outlives all of them.
#[derive(Debug)]
pub struct Model {
    raw: NonNull<sys::lola_model>,
    info: ModelInfo,
}

// SAFETY: lola.h: "a model is immutable after load ... may be used from any number of threads at
// once", and lola_model_free may run on any thread (it only drops a reference). Every method
// here takes &self and calls functions that take a `const lola_model *`.
unsafe impl Send for Model {}
// SAFETY: see Send: concurrent calls on a shared model are what the contract allows.
unsafe impl Sync for Model {}

impl Model {
    /// Loads a GGUF model with the default parameters.
    ///
    /// ```no_run
    /// let model = lola::Model::load("model.gguf")?;
    /// println!("{} layers, vocabulary of {}", model.info().n_layer, model.n_vocab());
    /// # Ok::<(), lola::Error>(())
    /// ```
    pub fn load(path: impl AsRef<Path>) -> Result<Model> {
        Model::load_with(path, &ModelParams::new())
    }

    /// Loads a GGUF model. Errors: `Io` (cannot open or map), `CorruptData`, `Unsupported`,
    /// `OutOfMemory` (memory budget), each with the file and field in the message; with an
    /// adapter also `Incompatible` (trained for another model) and `VersionMismatch`.
    pub fn load_with(path: impl AsRef<Path>, params: &ModelParams) -> Result<Model> {
        ensure_abi()?;
        let c_path = path_to_cstring(path.as_ref())?;
        let c_adapter = params.adapter.as_deref().map(path_to_cstring).transpose()?;
        let mut c_params = params.raw.clone();
        c_params.adapter_path = c_adapter.as_ref().map_or(ptr::null(), |a| a.as_ptr());
        let mut raw = ptr::null_mut();
        // SAFETY: valid NUL-terminated paths (alive for the call), initialised params, a valid
        // out pointer.
        check(unsafe { sys::lola_model_load(c_path.as_ptr(), &c_params, &mut raw) })?;
        let raw = NonNull::new(raw).ok_or_else(|| Error::new(Status::Internal, "lola_model_load returned NULL"))?;
        let mut model = Model { raw, info: empty_info() };
        model.info = model.query_info()?; // on error `model` drops and frees the handle
        Ok(model)
    }

    pub(crate) fn as_ptr(&self) -> *mut sys::lola_model {
        self.raw.as_ptr()
    }

    fn query_info(&self) -> Result<ModelInfo> {
        // SAFETY: all-zero is a valid lola_model_info (integers and char arrays).
        let mut info: sys::lola_model_info = unsafe { MaybeUninit::zeroed().assume_init() };
        info.struct_size = size_of::<sys::lola_model_info>();
        // SAFETY: live handle, a valid struct with its size set.
        check(unsafe { sys::lola_model_get_info(self.raw.as_ptr(), &mut info) })?;
        Ok(ModelInfo {
            architecture: c_chars_to_string(&info.architecture),
            name: c_chars_to_string(&info.name),
            n_layer: info.n_layer,
            n_head: info.n_head,
            n_head_kv: info.n_head_kv,
            head_dim: info.head_dim,
            n_embd: info.n_embd,
            n_ff: info.n_ff,
            n_vocab: info.n_vocab,
            n_ctx_train: info.n_ctx_train,
            weight_bytes: info.weight_bytes,
            has_lola_tensors: info.has_lola_tensors != 0,
            has_adapter: info.has_adapter != 0,
            fingerprint: info.fingerprint,
        })
    }

    /// Shapes and metadata (read once at load).
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// The vocabulary size: the length of a row of logits.
    pub fn n_vocab(&self) -> usize {
        self.info.n_vocab as usize
    }

    /// Tokenizes a prompt: UTF-8 text (invalid UTF-8 is tokenized byte by byte), with BOS (and
    /// EOS) where the vocabulary asks for them, and text like "<|im_start|>" taken as plain
    /// text. The same as `tokenize_with(text, Tokenize::ADD_SPECIAL)`. `Unsupported` if the
    /// model has no tokenizer.
    ///
    /// ```no_run
    /// # let model = lola::Model::load("model.gguf")?;
    /// let prompt = model.tokenize("The capital of France is")?;
    /// # Ok::<(), lola::Error>(())
    /// ```
    pub fn tokenize(&self, text: impl AsRef<[u8]>) -> Result<Vec<i32>> {
        self.tokenize_with(text, Tokenize::ADD_SPECIAL)
    }

    /// Tokenizes UTF-8 text with the given [`Tokenize`] flags: `Tokenize::NONE` for text that
    /// continues what a context holds, `ADD_SPECIAL` for BOS/EOS, `PARSE_SPECIAL` to turn text
    /// like "<|im_start|>" into its special token (for a rendered chat template).
    ///
    /// ```no_run
    /// use lola::Tokenize;
    /// # let model = lola::Model::load("model.gguf")?;
    /// let tokens = model.tokenize_with("hello world", Tokenize::NONE)?;
    /// assert_eq!(model.detokenize(&tokens, false)?, "hello world");
    /// let chat = model.tokenize_with("<|im_start|>user\nhi<|im_end|>\n", Tokenize::PARSE_SPECIAL)?;
    /// let both = Tokenize::ADD_SPECIAL | Tokenize::PARSE_SPECIAL;
    /// # Ok::<(), lola::Error>(())
    /// ```
    pub fn tokenize_with(&self, text: impl AsRef<[u8]>, flags: Tokenize) -> Result<Vec<i32>> {
        let text = text.as_ref();
        // One token per byte plus BOS/EOS is enough for byte-level BPE; a retry covers the rest.
        read_sized(text.len() + 2, 0, |buf, cap, n| unsafe {
            // SAFETY: text is valid for text.len() bytes; buf for cap tokens.
            sys::lola_tokenize(self.raw.as_ptr(), text.as_ptr().cast(), text.len(), flags.0, buf, cap, n)
        })
    }

    /// The bytes of a token sequence (the concatenation of its pieces). `special` renders
    /// special tokens as their text instead of skipping them. Out-of-range ids give
    /// `InvalidArgument`.
    pub fn detokenize_bytes(&self, tokens: &[i32], special: bool) -> Result<Vec<u8>> {
        let flags = if special { sys::LOLA_DETOKENIZE_SPECIAL } else { 0 };
        read_sized(tokens.len() * 4 + 16, 0, |buf: *mut u8, cap, n| unsafe {
            // SAFETY: tokens valid for tokens.len() ids; buf for cap bytes.
            sys::lola_detokenize(self.raw.as_ptr(), tokens.as_ptr(), tokens.len(), flags, buf.cast(), cap, n)
        })
    }

    /// As [`Model::detokenize_bytes`], as a String; bytes that are not valid UTF-8 (e.g. a
    /// character cut at the end) become U+FFFD.
    pub fn detokenize(&self, tokens: &[i32], special: bool) -> Result<String> {
        Ok(String::from_utf8_lossy(&self.detokenize_bytes(tokens, special)?).into_owned())
    }

    /// The bytes of one token; may end in the middle of a UTF-8 character.
    pub fn token_to_piece(&self, token: i32, special: bool) -> Result<Vec<u8>> {
        let flags = if special { sys::LOLA_DETOKENIZE_SPECIAL } else { 0 };
        read_sized(32, 0, |buf: *mut u8, cap, n| unsafe {
            // SAFETY: buf is valid for cap bytes.
            sys::lola_token_to_piece(self.raw.as_ptr(), token, flags, buf.cast(), cap, n)
        })
    }

    /// BOS, EOS, end-of-turn, unknown and padding tokens of the vocabulary.
    pub fn special_tokens(&self) -> Result<SpecialTokens> {
        let mut raw = sys::lola_special_tokens {
            struct_size: size_of::<sys::lola_special_tokens>(),
            bos: -1,
            eos: -1,
            eot: -1,
            unk: -1,
            pad: -1,
        };
        // SAFETY: live handle, valid struct with its size set.
        check(unsafe { sys::lola_model_special_tokens(self.raw.as_ptr(), &mut raw) })?;
        let some = |id: i32| (id >= 0).then_some(id);
        Ok(SpecialTokens {
            bos: some(raw.bos),
            eos: some(raw.eos),
            eot: some(raw.eot),
            unk: some(raw.unk),
            pad: some(raw.pad),
        })
    }

    /// True when generation should stop at `token` (EOS, EOT, ...).
    pub fn is_eog(&self, token: i32) -> bool {
        // SAFETY: live handle; any id is accepted.
        unsafe { sys::lola_token_is_eog(self.raw.as_ptr(), token) }
    }

    /// Renders a chat with the model's template (`lola_chat_apply_template`: ChatML as SmolLM2
    /// uses it, Llama 3); `add_assistant` appends the assistant prompt, which is what a model
    /// is fed to answer. Tokenize the result with `Tokenize::PARSE_SPECIAL` (the template
    /// writes the BOS text itself where the model has one). `Unsupported` when liblola does
    /// not know the model's template; `InvalidArgument` for a NUL byte in a message.
    ///
    /// ```no_run
    /// use lola::{ChatMessage, Model};
    /// let model = Model::load("SmolLM2-135M-Instruct.Q4_1.gguf")?;
    /// let prompt = model.apply_chat_template(&[ChatMessage::user("Hi!")], true)?;
    /// assert!(prompt.ends_with("<|im_start|>assistant\n"));
    /// # Ok::<(), lola::Error>(())
    /// ```
    pub fn apply_chat_template(&self, messages: &[ChatMessage], add_assistant: bool) -> Result<String> {
        let owned = messages
            .iter()
            .map(|m| Ok((c_string(&m.role, "role")?, c_string(&m.content, "content")?)))
            .collect::<Result<Vec<_>>>()?;
        let raw: Vec<sys::lola_chat_message> = owned
            .iter()
            .map(|(role, content)| sys::lola_chat_message { role: role.as_ptr(), content: content.as_ptr() })
            .collect();
        let guess = 64 + messages.iter().map(|m| m.role.len() + m.content.len() + 32).sum::<usize>();
        let bytes = read_sized(guess, 1, |buf: *mut u8, cap, n| unsafe {
            // SAFETY: `raw` points into `owned`, alive for the call; buf valid for cap bytes.
            sys::lola_chat_apply_template(self.raw.as_ptr(), raw.as_ptr(), raw.len(), add_assistant, buf.cast(), cap, n)
        })?;
        String::from_utf8(bytes)
            .map_err(|e| Error::new(Status::Internal, format!("chat template output is not UTF-8: {e}")))
    }
}

impl Drop for Model {
    fn drop(&mut self) {
        // SAFETY: the handle is live and dropped once. Contexts borrow the model, so none is
        // alive here (the C library would keep the model alive for them anyway).
        unsafe { sys::lola_model_free(self.raw.as_ptr()) }
    }
}

fn empty_info() -> ModelInfo {
    ModelInfo {
        architecture: String::new(),
        name: String::new(),
        n_layer: 0,
        n_head: 0,
        n_head_kv: 0,
        head_dim: 0,
        n_embd: 0,
        n_ff: 0,
        n_vocab: 0,
        n_ctx_train: 0,
        weight_bytes: 0,
        has_lola_tensors: false,
        has_adapter: false,
        fingerprint: 0,
    }
}

fn c_string(s: &str, what: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::new(Status::InvalidArgument, format!("{what} contains a NUL byte")))
}

fn path_to_cstring(path: &Path) -> Result<CString> {
    #[cfg(unix)]
    let bytes = {
        use std::os::unix::ffi::OsStrExt;
        path.as_os_str().as_bytes().to_vec()
    };
    #[cfg(not(unix))]
    let bytes = path
        .to_str()
        .ok_or_else(|| Error::new(Status::InvalidArgument, format!("path {} is not valid UTF-8", path.display())))?
        .as_bytes()
        .to_vec();
    CString::new(bytes)
        .map_err(|_| Error::new(Status::InvalidArgument, format!("path {} contains a NUL byte", path.display())))
}
