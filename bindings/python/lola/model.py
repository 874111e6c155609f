"""lola.Model: a GGUF model loaded by liblola, with its tokenizer, chat template and one-call
completion and chat (complete / chat, in lola/completion.py)."""

from __future__ import annotations

import os
from typing import (TYPE_CHECKING, Any, Dict, Iterable, List, Mapping, Optional, Sequence,
                    Tuple, Union)

from ._native import _lola
from ._arrays import tokens_array
from ._handle import Closable
from ._params import fill, fill_with_attention, layer_attention, resolve_attention

if TYPE_CHECKING:
    from .completion import CompletionStream
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
        adapter: a LoLA adapter GGUF trained for this model (``lola-linearize`` writes one):
            its hedgehog feature maps, gates and chunk/λ/mixing defaults replace the file's.
            It records the :attr:`fingerprint` of the model it was trained for and is refused
            on any other (:class:`lola.IncompatibleError`).

    Raises:
        LolaIOError: the file cannot be opened or mapped.
        CorruptDataError: the file is malformed (the message names the field or tensor).
        UnsupportedError: the architecture, a tensor type or the device is not supported.
        IncompatibleError: the adapter was trained for another model.
    """

    def __init__(self, path: Union[str, os.PathLike], *,
                 adapter: Optional[Union[str, os.PathLike]] = None, **params) -> None:
        native_params = _lola.ModelParams()
        fill(native_params, params)
        self.path = os.fspath(path)
        self.adapter = None if adapter is None else os.fspath(adapter)
        if self.adapter == "":
            raise ValueError("lola.Model: adapter is an empty path (None loads no adapter)")
        self._native = _lola.Model(self.path, native_params, self.adapter or "")

    def __repr__(self) -> str:
        if self.closed:
            return f"<lola.Model {self.path!r} (closed)>"
        i = self.info
        return f"<lola.Model {self.path!r} {i.architecture} n_layer={i.n_layer} n_vocab={i.n_vocab}>"

    @property
    def info(self) -> "_lola.ModelInfo":
        """Shapes and sizes (``lola_model_info``): n_layer, n_head, n_head_kv, head_dim,
        n_embd, n_ff, n_vocab, n_ctx_train, weight_bytes, architecture, name,
        has_lola_tensors, has_adapter, fingerprint."""
        return self._native.info()

    @property
    def fingerprint(self) -> int:
        """Identifies the weights this model computes with (its file's tensors and, with an
        adapter, every adapter value): saved context state restores only on a model with the
        same fingerprint, and an adapter records its base's."""
        return self.info.fingerprint

    @property
    def has_adapter(self) -> bool:
        """True when loaded with ``adapter=``."""
        return self.info.has_adapter

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
        """Render a chat with the model's template (ChatML as SmolLM2 uses it, Llama 3), as
        ``lola_chat_apply_template`` writes it. Tokenize the result with
        ``parse_special=True`` (the template writes the special tokens as text).

        Args:
            messages: ``{"role": ..., "content": ...}`` mappings or ``(role, content)`` pairs.
            add_assistant: append the prompt of the assistant's turn.

        Raises:
            UnsupportedError: the model's template is not one liblola knows.
            TypeError, ValueError: a message that is not a mapping with str "role" and
                "content" (or a pair of str).
        """
        from .completion import chat_pairs
        return self._native.apply_chat_template(chat_pairs(messages), add_assistant)

    # ---- one-call generation (lola/completion.py) -----------------------------------------
    def complete(self, prompt: Union[str, bytes, Sequence[int]], max_tokens: Optional[int] = 16,
                 *, stream: bool = False, temperature: Optional[float] = None,
                 top_k: Optional[int] = None, top_p: Optional[float] = None,
                 min_p: Optional[float] = None, repeat_penalty: Optional[float] = None,
                 penalty_last_n: Optional[int] = None, seed: Optional[int] = None,
                 stop: Union[None, str, Sequence[str]] = None, echo: bool = False,
                 **context_params) -> Union[Dict[str, Any], "CompletionStream"]:
        """Complete a prompt in one call, like llama-cpp-python's ``create_completion``
        (also available under that name, and as ``model(prompt, ...)``).

        Each call runs on a fresh :class:`lola.Context` (created with ``context_params``:
        ``chunk_size``, ``sparse_capacity``, ``n_threads``, ``attention``, ... as
        :class:`lola.Context` takes them) and a fresh :class:`lola.Sampler`, both freed when
        the call returns (when the stream ends or is closed, with ``stream=True``).

        Args:
            prompt: text (tokenized with ``add_special=True``) or token ids (fed as given).
            max_tokens: the most tokens to generate; None or <= 0: no limit (generation then
                ends only at an end-of-generation token or a stop string).
            stream: return an iterator of chunks instead of the whole result.
            temperature, top_k, top_p, min_p, repeat_penalty, penalty_last_n, seed: the
                sampler's settings (``lola_sampler_params``); each left as None keeps the C
                default (0.8, 40, 0.95, 0.05, 1.0, 64, 0x4C6F4C41). ``temperature=0``: greedy.
            stop: a string or strings that end the generation; the text stops before the
                first one, which is not included.
            echo: put the prompt's text before the completion.

        Returns:
            ``{"id", "object": "text_completion", "created", "model", "choices": [{"text",
            "index", "logprobs": None, "finish_reason": "stop" | "length"}], "usage":
            {"prompt_tokens", "completion_tokens", "total_tokens"}}``; with ``stream=True`` a
            :class:`lola.CompletionStream` of such dicts, each choice holding the next piece
            of text and ``finish_reason`` None, except the last chunk: text ``""``, the
            finish_reason, and ``usage``. "stop": an end-of-generation token or a stop
            string; "length": ``max_tokens`` reached.

        Raises:
            TypeError: an unknown keyword, or an argument of the wrong type.
            ValueError: an empty prompt; InvalidArgumentError: a setting out of range or a
                token id outside ``[0, n_vocab)``.
        """
        from .completion import complete
        sampling = dict(temperature=temperature, top_k=top_k, top_p=top_p, min_p=min_p,
                        repeat_penalty=repeat_penalty, penalty_last_n=penalty_last_n, seed=seed)
        return complete(self, prompt, max_tokens, stream, sampling, stop, echo, context_params)

    create_completion = complete
    __call__ = complete

    def chat(self, messages: Iterable[Message], max_tokens: Optional[int] = None, *,
             stream: bool = False, temperature: Optional[float] = None,
             top_k: Optional[int] = None, top_p: Optional[float] = None,
             min_p: Optional[float] = None, repeat_penalty: Optional[float] = None,
             penalty_last_n: Optional[int] = None, seed: Optional[int] = None,
             stop: Union[None, str, Sequence[str]] = None,
             **context_params) -> Union[Dict[str, Any], "CompletionStream"]:
        """Answer a chat in one call, like llama-cpp-python's ``create_chat_completion``
        (also available under that name).

        The messages are rendered with the model's template (:meth:`apply_chat_template`,
        the assistant's prompt appended), tokenized with ``parse_special=True``, and the
        reply is generated until the end of the turn (an end-of-generation token such as
        ChatML's ``<|im_end|>``), a stop string or ``max_tokens``. The context, the sampling
        keywords and the stop strings are as for :meth:`complete`.

        Args:
            messages: ``{"role": "system" | "user" | "assistant", "content": str}`` dicts.
            max_tokens: the most tokens to generate; None (default) or <= 0: no limit.

        Returns:
            ``{"id", "object": "chat.completion", "created", "model", "choices": [{"index",
            "message": {"role": "assistant", "content"}, "logprobs": None, "finish_reason"}],
            "usage"}``; with ``stream=True`` a :class:`lola.CompletionStream` of
            ``"chat.completion.chunk"`` dicts: the first with ``"delta": {"role":
            "assistant"}``, then ``{"content": piece}`` deltas, the last an empty delta with
            the finish_reason and ``usage``.

        Raises:
            UnsupportedError: the model's chat template is not one liblola knows.
            TypeError, ValueError: a message without str "role" and "content", no messages.
        """
        from .completion import chat
        sampling = dict(temperature=temperature, top_k=top_k, top_p=top_p, min_p=min_p,
                        repeat_penalty=repeat_penalty, penalty_last_n=penalty_last_n, seed=seed)
        return chat(self, messages, max_tokens, stream, sampling, stop, context_params)

    create_chat_completion = chat

    def perplexity(self, text: Union[str, bytes, Sequence[int]], n_ctx: int = 2048, *,
                   max_windows: int = 0, **params) -> "_lola.PerplexityResult":
        """Perplexity of a text (or its token ids) at context length ``n_ctx``, as
        ``lola_perplexity`` measures it: consecutive windows of ``n_ctx`` tokens, each fed to a
        fresh context made with ``params`` (any :class:`lola.Context` keyword: ``attention``,
        ``chunk_size``, ``sparse_capacity``, ``feature_map``, ``gate_logit``, ``n_threads``,
        ``layer_attention``...),
        the second half of each window scored; ``max_windows`` > 0 evaluates at most that many.
        Releases the GIL while it runs.

        Returns:
            ``PerplexityResult`` with ``perplexity``, ``nll`` (mean nats per scored token),
            ``n_scored`` and ``n_windows``.

        Raises:
            InvalidArgumentError: ``n_ctx`` < 2, fewer than ``n_ctx`` tokens, a bad parameter.
        """
        tokens = self.tokenize(text) if isinstance(text, (str, bytes)) else text
        params = dict(params)
        kinds = layer_attention(params)
        native_params = _lola.ContextParams()
        attention = fill_with_attention(native_params, params)
        return self._native.perplexity(tokens_array(tokens), int(n_ctx), native_params, attention,
                                       int(max_windows), kinds)

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
