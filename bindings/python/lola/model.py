"""lola.Model: a GGUF model loaded by liblola, with its tokenizer and chat template."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Mapping, Sequence, Tuple, Union

from ._native import _lola
from ._arrays import tokens_array
from ._handle import Closable
from ._params import fill, resolve_attention

if TYPE_CHECKING:
    from .context import Context

Message = Union[Mapping[str, str], Tuple[str, str]]


class Model(Closable):
    """A Llama-architecture GGUF model (``lola_model``), memory-mapped and validated at load.

    Immutable once loaded: any number of :class:`lola.Context` objects, on any number of
    threads, may share it. Contexts hold a reference to it, so closing the model while
    contexts are alive only ends this object's use; the native model is freed with its last
    context.

    Args:
        path: the GGUF file.
        device: ``"cpu"`` (default) or ``"cuda"`` (builds with the CUDA backend).
        device_index: the GPU for ``"cuda"``.
        memory_budget: bytes the model may hold (0: no limit); a load beyond it raises
            :class:`lola.OutOfMemoryError`.

    Raises:
        LolaIOError: the file cannot be opened or mapped.
        CorruptDataError: the file is malformed (the message names the field or tensor).
        UnsupportedError: the architecture, a tensor type or the device is not supported.
    """

    def __init__(self, path: Union[str, os.PathLike], **params) -> None:
        native_params = _lola.ModelParams()
        fill(native_params, params)
        self.path = os.fspath(path)
        self._native = _lola.Model(self.path, native_params)

    def __repr__(self) -> str:
        if self.closed:
            return f"<lola.Model {self.path!r} (closed)>"
        i = self.info
        return f"<lola.Model {self.path!r} {i.architecture} n_layer={i.n_layer} n_vocab={i.n_vocab}>"

    @property
    def info(self) -> "_lola.ModelInfo":
        """Shapes and sizes (``lola_model_info``): n_layer, n_head, n_head_kv, head_dim,
        n_embd, n_ff, n_vocab, n_ctx_train, weight_bytes, architecture, name,
        has_lola_tensors."""
        return self._native.info()

    @property
    def n_vocab(self) -> int:
        """Vocabulary size: token ids are in ``[0, n_vocab)``."""
        return self.info.n_vocab

    @property
    def n_layer(self) -> int:
        """Number of transformer layers."""
        return self.info.n_layer

    @property
    def n_head(self) -> int:
        """Query heads per layer."""
        return self.info.n_head

    def tokenize(self, text: Union[str, bytes], *, add_special: bool = False,
                 parse_special: bool = False) -> List[int]:
        """Token ids of UTF-8 text.

        Args:
            add_special: add BOS/EOS where the vocabulary asks for them.
            parse_special: turn text like ``"<|im_start|>"`` into its special token.
        """
        flags = (_lola.LOLA_TOKENIZE_ADD_SPECIAL if add_special else 0) | \
                (_lola.LOLA_TOKENIZE_PARSE_SPECIAL if parse_special else 0)
        return self._native.tokenize(text, flags)

    def detokenize_bytes(self, tokens: Sequence[int], *, special: bool = False) -> bytes:
        """The bytes of a token sequence (the concatenation of its pieces)."""
        flags = _lola.LOLA_DETOKENIZE_SPECIAL if special else 0
        return self._native.detokenize(tokens_array(tokens), flags)

    def detokenize(self, tokens: Sequence[int], *, special: bool = False) -> str:
        """The text of a token sequence; invalid UTF-8 becomes U+FFFD.

        Args:
            special: render special tokens as their text (else they are skipped).
        """
        return self.detokenize_bytes(tokens, special=special).decode("utf-8", "replace")

    def token_to_piece(self, token: int, *, special: bool = False) -> bytes:
        """The bytes of one token. A piece may end inside a UTF-8 character, hence bytes."""
        return self._native.token_to_piece(token, _lola.LOLA_DETOKENIZE_SPECIAL if special else 0)

    @property
    def special_tokens(self) -> "_lola.SpecialTokens":
        """bos, eos, eot, unk, pad token ids (-1 where the vocabulary has none)."""
        return self._native.special_tokens()

    def is_eog(self, token: int) -> bool:
        """True when generation should stop at ``token`` (EOS, EOT, ...)."""
        return self._native.is_eog(token)

    def apply_chat_template(self, messages: Iterable[Message], *,
                            add_assistant: bool = True) -> str:
        """Render a chat with the model's template (ChatML, Llama 3).

        Args:
            messages: ``{"role": ..., "content": ...}`` mappings or ``(role, content)`` pairs.
            add_assistant: append the prompt of the assistant's turn.

        Raises:
            UnsupportedError: the model's template is not one liblola knows.
        """
        pairs = [(m["role"], m["content"]) if isinstance(m, Mapping) else (m[0], m[1])
                 for m in messages]
        return self._native.apply_chat_template(pairs, add_assistant)

    def create_context(self, **params) -> "Context":
        """A new :class:`lola.Context` on this model; see it for the parameters."""
        from .context import Context
        return Context(self, **params)

    def resolve_attention(self, **attention) -> Dict[str, Any]:
        """The attention settings a context on this model gets from these keywords (those of
        :class:`lola.Context` that ``lola_attention_params`` holds: ``attention``,
        ``chunk_size``, ``sparse_capacity``, ``feature_map``, ``feature_dim``, ``mixing``,
        ``scoring``, ``performer_orthogonal``, ``seed``, ``eps``), every field given: the
        omitted ``chunk_size``, ``sparse_capacity`` and ``mixing`` become the model's (its
        lola.* metadata, else the library's 64, 64, ``Mixing.LOLA``), the rest keep the C
        defaults (``feature_map`` stays ``FeatureMap.AUTO``). Enum fields come as enum members;
        the dict can be passed back: ``model.create_context(**model.resolve_attention())``.

        Raises:
            TypeError: a keyword that is not an attention setting.
        """
        return resolve_attention(self._native, attention)


def describe(path: Union[str, os.PathLike]) -> str:
    """A human-readable summary of any GGUF file (metadata, tensor counts), validated as a
    load would; raises like :class:`Model` does on a bad file."""
    return _lola.file_describe(os.fspath(path))
