"""One-call text completion and chat (Model.complete / Model.chat), shaped like
llama-cpp-python's ``create_completion`` / ``create_chat_completion``: a dict in the OpenAI
layout, or an iterator of chunk dicts when streaming.

Nothing here computes: each call creates a fresh :class:`lola.Context`, feeds the prompt,
generates with :meth:`lola.Context.generate` (one native step per token, UTF-8 characters
never split) and a :class:`lola.Sampler`, and frees both when it ends. The chat prompt is the
model's template as ``lola_chat_apply_template`` renders it. What is added: stop strings (cut
from the text, held back while streaming until they can no longer begin one), the counts and
the response dicts.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Mapping
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

from ._handle import ClosesOnExit
from .context import Context
from .sampler import Sampler

#: The sampling keywords of complete()/chat(): the fields of lola_sampler_params.
SAMPLING_KEYWORDS: Tuple[str, ...] = ("temperature", "top_k", "top_p", "min_p",
                                      "repeat_penalty", "penalty_last_n", "seed")

Prompt = Union[str, bytes, Sequence[int]]


def chat_pairs(messages: Any) -> List[Tuple[str, str]]:
    """The (role, content) pairs of a chat: ``{"role": ..., "content": ...}`` mappings (other
    keys are ignored) or ``(role, content)`` pairs, both strings.

    Raises:
        TypeError: ``messages`` is not a sequence of messages, or a role or content is not a str.
        ValueError: a mapping lacks "role" or "content".
    """
    if isinstance(messages, (str, bytes, Mapping)) or not isinstance(messages, Iterable):
        raise TypeError("messages must be a list of {'role': ..., 'content': ...} dicts, not "
                        f"{type(messages).__name__}")
    pairs = []
    for i, m in enumerate(messages):
        if isinstance(m, Mapping):
            for key in ("role", "content"):
                if key not in m:
                    raise ValueError(f"messages[{i}] has no {key!r} key")
            role, content = m["role"], m["content"]
        elif isinstance(m, (tuple, list)) and len(m) == 2:
            role, content = m
        else:
            raise TypeError(f"messages[{i}] must be a dict with 'role' and 'content' (or a "
                            f"(role, content) pair), not {type(m).__name__}")
        for key, value in (("role", role), ("content", content)):
            if not isinstance(value, str):
                raise TypeError(f"messages[{i}][{key!r}] must be a str, not "
                                f"{type(value).__name__}")
        pairs.append((role, content))
    return pairs


def _stop_list(stop: Union[None, str, Iterable[str]]) -> List[str]:
    if stop is None:
        return []
    if isinstance(stop, str):
        stop = [stop]
    out = []
    for s in stop:
        if not isinstance(s, str):
            raise TypeError(f"stop must be a str or a list of str, not one holding "
                            f"{type(s).__name__}")
        if s:
            out.append(s)
    return out


def _held_back(text: str, stops: List[str]) -> int:
    """Length of the longest end of ``text`` that begins a stop string (and may complete it
    with the next tokens): that much is not streamed yet."""
    longest = 0
    for s in stops:
        for k in range(min(len(s) - 1, len(text)), longest, -1):
            if text.endswith(s[:k]):
                longest = k
                break
    return longest


class _Generation:
    """One generation on a fresh context: the prompt fed at creation, then :meth:`pieces`
    yields the text as it becomes final. ``n_generated`` counts the tokens generated (the one
    that completed a stop string included; an end-of-generation token not), and
    ``finish_reason`` is set when :meth:`pieces` ends."""

    def __init__(self, model: Any, prompt_tokens: List[int], max_tokens: Optional[int],
                 sampling: Dict[str, Any], stop: Any, context_params: Dict[str, Any]) -> None:
        if max_tokens is not None and (isinstance(max_tokens, bool) or
                                       not isinstance(max_tokens, int)):
            raise TypeError(f"max_tokens must be an int or None, not {type(max_tokens).__name__}")
        if not prompt_tokens:
            raise ValueError("the prompt is empty: it has no tokens to feed")
        self.stops = _stop_list(stop)
        # None or <= 0: no limit (llama-cpp-python's convention); the end of generation or a
        # stop string ends it.
        self.limit = max_tokens if max_tokens is not None and max_tokens > 0 else sys.maxsize
        self.n_prompt = len(prompt_tokens)
        self.n_generated = 0
        self.finish_reason: Optional[str] = None
        self.sampler = Sampler(**{k: v for k, v in sampling.items() if v is not None})
        self.ctx: Optional[Context] = None
        try:
            self.ctx = Context(model, **context_params)
            self.ctx.feed(prompt_tokens)
            self.sampler.accept(prompt_tokens)  # the prompt counts for the repetition penalty
        except BaseException:
            self.close()
            raise

    def pieces(self) -> Iterator[str]:
        pending = ""
        for step in self.ctx.generate(self.limit, self.sampler):
            if step.token is not None:
                self.n_generated += 1
            pending += step.text
            hits = [i for i in (pending.find(s) for s in self.stops) if i >= 0]
            if hits:
                self.finish_reason = "stop"
                if min(hits):
                    yield pending[:min(hits)]
                return
            ready = len(pending) - _held_back(pending, self.stops)
            if ready:
                yield pending[:ready]
                pending = pending[ready:]
        # Context.generate ends early only at an end-of-generation token.
        self.finish_reason = "length" if self.n_generated >= self.limit else "stop"
        if pending:
            yield pending

    def usage(self) -> Dict[str, int]:
        return {"prompt_tokens": self.n_prompt, "completion_tokens": self.n_generated,
                "total_tokens": self.n_prompt + self.n_generated}

    def close(self) -> None:
        if self.ctx is not None:
            self.ctx.close()
        self.sampler.close()


class CompletionStream(ClosesOnExit):
    """The iterator that ``complete(..., stream=True)`` and ``chat(..., stream=True)`` return:
    chunk dicts, the last one carrying ``finish_reason`` and ``usage``.

    The context and sampler of the call are freed when the iteration ends, on :meth:`close`,
    at the end of a ``with`` block, or (as a fallback) when the stream is garbage collected;
    stopping early without closing keeps them until then.
    """

    def __init__(self, generation: _Generation, chunks: Iterator[Dict[str, Any]]) -> None:
        self._generation = generation
        self._chunks = chunks

    def __iter__(self) -> "CompletionStream":
        return self

    def __next__(self) -> Dict[str, Any]:
        try:
            return next(self._chunks)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Stop the generation and free its context now. Idempotent."""
        self._chunks.close()
        self._generation.close()

    def __enter__(self) -> "CompletionStream":
        return self


def _header(kind: str, prefix: str, model: Any) -> Dict[str, Any]:
    return {"id": f"{prefix}-{uuid.uuid4()}", "object": kind, "created": int(time.time()),
            "model": model.path}


def _prompt_tokens(model: Any, prompt: Prompt, echo: bool) -> Tuple[List[int], str]:
    """The tokens of a completion prompt and, for echo, its text."""
    if isinstance(prompt, (str, bytes)):
        text = prompt if isinstance(prompt, str) else prompt.decode("utf-8", "replace")
        return model.tokenize(prompt, add_special=True), text
    if isinstance(prompt, Iterable):
        tokens = [int(t) for t in prompt]
        return tokens, model.detokenize(tokens) if echo else ""
    raise TypeError(f"prompt must be a str, bytes or a sequence of token ids, not "
                    f"{type(prompt).__name__}")


def complete(model: Any, prompt: Prompt, max_tokens: Optional[int], stream: bool,
             sampling: Dict[str, Any], stop: Any, echo: bool,
             context_params: Dict[str, Any]) -> Union[Dict[str, Any], CompletionStream]:
    tokens, prompt_text = _prompt_tokens(model, prompt, echo)
    gen = _Generation(model, tokens, max_tokens, sampling, stop, context_params)
    head = _header("text_completion", "cmpl", model)

    def choice(text: str, finish: Optional[str]) -> Dict[str, Any]:
        return {"text": text, "index": 0, "logprobs": None, "finish_reason": finish}

    if not stream:
        try:
            text = "".join(gen.pieces())
        finally:
            gen.close()
        return {**head, "choices": [choice(prompt_text + text if echo else text,
                                           gen.finish_reason)],
                "usage": gen.usage()}

    def chunks() -> Iterator[Dict[str, Any]]:
        if echo and prompt_text:
            yield {**head, "choices": [choice(prompt_text, None)]}
        for piece in gen.pieces():
            yield {**head, "choices": [choice(piece, None)]}
        yield {**head, "choices": [choice("", gen.finish_reason)], "usage": gen.usage()}

    return CompletionStream(gen, chunks())


def chat(model: Any, messages: Any, max_tokens: Optional[int], stream: bool,
         sampling: Dict[str, Any], stop: Any,
         context_params: Dict[str, Any]) -> Union[Dict[str, Any], CompletionStream]:
    pairs = chat_pairs(messages)
    if not pairs:
        raise ValueError("messages is empty: a chat needs at least one message")
    prompt = model.apply_chat_template(pairs, add_assistant=True)
    # The template writes the special tokens (and BOS) as text: parse them, add nothing.
    tokens = model.tokenize(prompt, parse_special=True)
    gen = _Generation(model, tokens, max_tokens, sampling, stop, context_params)

    if not stream:
        try:
            text = "".join(gen.pieces())
        finally:
            gen.close()
        return {**_header("chat.completion", "chatcmpl", model),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                             "logprobs": None, "finish_reason": gen.finish_reason}],
                "usage": gen.usage()}

    head = _header("chat.completion.chunk", "chatcmpl", model)

    def choice(delta: Dict[str, str], finish: Optional[str]) -> Dict[str, Any]:
        return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}

    def chunks() -> Iterator[Dict[str, Any]]:
        yield {**head, "choices": [choice({"role": "assistant"}, None)]}
        for piece in gen.pieces():
            yield {**head, "choices": [choice({"content": piece}, None)]}
        yield {**head, "choices": [choice({}, gen.finish_reason)], "usage": gen.usage()}

    return CompletionStream(gen, chunks())
