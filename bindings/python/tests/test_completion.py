"""Model.complete / Model.chat (lola/completion.py): the llama-cpp-python-shaped dicts, usage
counts, streaming against the whole result, stop strings, finish reasons, the context's
lifetime, and message validation. On the tiny model (one token per ASCII character, so text
length and token counts agree); the chat template on the default model, when present."""

import pytest

import lola
import lola.completion

PROMPT = "hello"
GREEDY = {"temperature": 0}


def reference(model, prompt, max_tokens, sampler=None, **context_params):
    """What Context.generate gives for the same prompt: the text and the token count."""
    with model.create_context(**context_params) as ctx:
        tokens = model.tokenize(prompt, add_special=True)
        ctx.feed(tokens)
        used = sampler or lola.Sampler.greedy()
        used.accept(tokens)
        steps = list(ctx.generate(max_tokens, used))
    return "".join(s.text for s in steps), sum(s.token is not None for s in steps)


def check_header(r, kind, model):
    assert r["object"] == kind
    assert isinstance(r["id"], str) and r["id"].startswith("chatcmpl-" if "chat" in kind else "cmpl-")
    assert isinstance(r["created"], int) and r["created"] > 0
    assert r["model"] == model.path
    assert len(r["choices"]) == 1 and r["choices"][0]["index"] == 0


def test_complete_shape_and_usage(model):
    r = model.complete(PROMPT, 12, **GREEDY)
    check_header(r, "text_completion", model)
    choice = r["choices"][0]
    assert set(choice) == {"text", "index", "logprobs", "finish_reason"}
    assert choice["finish_reason"] == "length"
    text, n = reference(model, PROMPT, 12)
    assert choice["text"] == text and n == 12
    assert r["usage"] == {"prompt_tokens": len(model.tokenize(PROMPT, add_special=True)),
                          "completion_tokens": 12, "total_tokens": 5 + 12}
    assert len(model.tokenize(choice["text"])) == 12  # one token per character here


def test_aliases_and_call(model):
    assert lola.Model.create_completion is lola.Model.complete
    assert lola.Model.create_chat_completion is lola.Model.chat
    assert model(PROMPT, 6, **GREEDY)["choices"][0]["text"] == reference(model, PROMPT, 6)[0]


def test_prompt_as_tokens_and_echo(model):
    by_text = model.complete(PROMPT, 8, **GREEDY)
    by_ids = model.complete(model.tokenize(PROMPT), 8, **GREEDY)
    assert by_ids["choices"][0]["text"] == by_text["choices"][0]["text"]
    assert by_ids["usage"] == by_text["usage"]
    echoed = model.complete(PROMPT, 8, echo=True, **GREEDY)
    assert echoed["choices"][0]["text"] == PROMPT + by_text["choices"][0]["text"]
    assert echoed["usage"] == by_text["usage"]  # echo changes the text only


def test_streaming_joins_to_the_whole_text(model):
    whole = model.complete(PROMPT, 20, **GREEDY)
    chunks = list(model.complete(PROMPT, 20, stream=True, **GREEDY))
    for c in chunks:
        check_header(c, "text_completion", model)
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-1])
    assert chunks[-1]["choices"][0] == {"text": "", "index": 0, "logprobs": None,
                                        "finish_reason": "length"}
    assert chunks[-1]["usage"] == whole["usage"]
    assert len({c["id"] for c in chunks}) == 1
    assert "".join(c["choices"][0]["text"] for c in chunks) == whole["choices"][0]["text"]
    assert len(chunks) == 20 + 1  # one chunk per token (no stop strings to hold text back)
    echoed = list(model.complete(PROMPT, 3, stream=True, echo=True, **GREEDY))
    assert echoed[0]["choices"][0]["text"] == PROMPT


def test_stop_strings(model):
    text, _ = reference(model, PROMPT, 30)
    stop = text[9:11]
    cut = text.find(stop)
    assert 0 < cut  # the test needs some text before the stop string
    r = model.complete(PROMPT, 30, stop=stop, **GREEDY)
    assert r["choices"][0]["text"] == text[:cut]
    assert r["choices"][0]["finish_reason"] == "stop"
    # generation ran until the stop string was complete: one token per character
    assert r["usage"]["completion_tokens"] == cut + len(stop)
    # a list: the earliest match ends it; strings that never occur change nothing
    r2 = model.complete(PROMPT, 30, stop=["never there", stop, text[cut + 1:]], **GREEDY)
    assert r2["choices"][0]["text"] == text[:cut]
    assert model.complete(PROMPT, 30, stop=["\x7f"], **GREEDY)["choices"][0]["text"] == text
    # no limit: the stop string ends it
    r3 = model.complete(PROMPT, None, stop=stop, **GREEDY)
    assert r3["choices"][0]["text"] == text[:cut] and r3["choices"][0]["finish_reason"] == "stop"
    # streaming: the text that could begin the stop string is held back, never streamed
    chunks = list(model.complete(PROMPT, 30, stop=stop, stream=True, **GREEDY))
    streamed = "".join(c["choices"][0]["text"] for c in chunks)
    assert streamed == text[:cut] and stop not in streamed
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    # a stop string at the very start gives empty text
    first = model.complete(PROMPT, 30, stop=text[0], **GREEDY)
    assert first["choices"][0]["text"] == "" and first["usage"]["completion_tokens"] == 1


def test_stop_string_across_tokens_is_held_back_while_streaming(model):
    text, _ = reference(model, PROMPT, 30)
    stop = text[12:15] + "\x7f"  # begins in the text, never completes
    pieces = [c["choices"][0]["text"]
              for c in model.complete(PROMPT, 30, stop=stop, stream=True, **GREEDY)]
    assert "".join(pieces) == text  # released at the end, when it can no longer be a stop
    assert pieces[-1] == ""          # the final chunk carries only the finish_reason
    # one character per token: a longer piece is text held back, then released at once
    assert max(len(p) for p in pieces) >= 2
    unstopped = [c["choices"][0]["text"]
                 for c in model.complete(PROMPT, 30, stream=True, **GREEDY)]
    assert max(len(p) for p in unstopped) == 1


def test_finish_reason_stop_at_end_of_generation(model):
    # Sampled at a high temperature the tiny model soon draws its EOS; find a seed that does.
    sampling = dict(temperature=1.5, top_k=0, top_p=1.0, min_p=0.0)
    for seed in range(50):
        r = model.complete(PROMPT, 100, seed=seed, **sampling)
        if r["choices"][0]["finish_reason"] == "stop":
            break
    else:
        pytest.fail("no seed in 0..49 drew the end-of-generation token within 100 tokens")
    n = r["usage"]["completion_tokens"]
    assert n < 100  # the EOS is neither counted nor in the text
    text, n_ref = reference(model, PROMPT, 100, lola.Sampler(seed=seed, **sampling))
    assert (r["choices"][0]["text"], n) == (text, n_ref)
    streamed = list(model.complete(PROMPT, 100, seed=seed, stream=True, **sampling))
    assert "".join(c["choices"][0]["text"] for c in streamed) == text
    assert streamed[-1]["choices"][0]["finish_reason"] == "stop"


def test_context_params_and_sampling_are_passed_on(model):
    cp = dict(chunk_size=4, sparse_capacity=2, n_threads=2)
    text = model.complete("the quick brown fox", 24, **cp, **GREEDY)["choices"][0]["text"]
    assert text == reference(model, "the quick brown fox", 24, **cp)[0]
    seeded = model.complete(PROMPT, 24, seed=7, temperature=1.0)["choices"][0]["text"]
    assert seeded == reference(model, PROMPT, 24, lola.Sampler(seed=7, temperature=1.0))[0]
    penalised = model.complete(PROMPT, 24, repeat_penalty=1.5, penalty_last_n=8, **GREEDY)
    assert penalised["choices"][0]["text"] == reference(
        model, PROMPT, 24, lola.Sampler(repeat_penalty=1.5, penalty_last_n=8, temperature=0))[0]


def test_bad_arguments(model):
    with pytest.raises(TypeError, match="unknown parameter 'temp'"):
        model.complete(PROMPT, 4, temp=0)
    with pytest.raises(lola.InvalidArgumentError):
        model.complete(PROMPT, 4, temperature=float("nan"))
    with pytest.raises(lola.InvalidArgumentError):
        model.complete(PROMPT, 4, chunk_size=0)
    with pytest.raises(lola.InvalidArgumentError):
        model.complete([1, 2, 500], 4)  # a token id outside the vocabulary
    with pytest.raises(ValueError, match="empty"):
        model.complete("", 4)
    with pytest.raises(TypeError, match="max_tokens"):
        model.complete(PROMPT, 4.5)
    with pytest.raises(TypeError, match="stop"):
        model.complete(PROMPT, 4, stop=[b"x"])
    with pytest.raises(TypeError, match="prompt"):
        model.complete(3.5, 4)
    with pytest.raises(lola.InvalidArgumentError):  # refused at the call, not at iteration
        model.complete(PROMPT, 4, stream=True, top_p=-1.0)


class RecordingContext(lola.Context):
    made = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        RecordingContext.made.append(self)


def test_each_call_frees_its_context(model, monkeypatch):
    monkeypatch.setattr(lola.completion, "Context", RecordingContext)
    RecordingContext.made.clear()
    model.complete(PROMPT, 4, **GREEDY)
    with pytest.raises(lola.InvalidArgumentError):
        model.complete([1, 500], 4)          # the feed fails: the context is freed too
    assert len(RecordingContext.made) == 2 and all(c.closed for c in RecordingContext.made)

    stream = model.complete(PROMPT, 4, stream=True, **GREEDY)
    ctx = RecordingContext.made[-1]
    assert not ctx.closed and ctx.n_past == 5  # the prompt is fed at the call
    list(stream)
    assert ctx.closed                          # exhausted: freed

    stream = model.complete(PROMPT, 50, stream=True, **GREEDY)
    next(stream)
    stream.close()                             # stopped early: freed on close()
    assert RecordingContext.made[-1].closed
    with pytest.raises(StopIteration):
        next(stream)

    with model.complete(PROMPT, 50, stream=True, **GREEDY) as stream:
        next(stream)
    assert RecordingContext.made[-1].closed    # and at the end of a with block


def test_tokenize_flags_are_keyword_only(model):
    with pytest.raises(TypeError):
        model.tokenize("a", True)
    assert model.tokenize("<|endoftext|>", parse_special=True) == [96]


# ---- chat ---------------------------------------------------------------------------------

def test_chat_on_a_model_without_a_known_template_is_unsupported(model):
    with pytest.raises(lola.UnsupportedError) as err:
        model.chat([{"role": "user", "content": "hi"}], 4)
    assert err.value.status == lola._lola.LOLA_ERR_UNSUPPORTED and err.value.message
    with pytest.raises(lola.UnsupportedError):
        model.chat([{"role": "user", "content": "hi"}], 4, stream=True)


@pytest.mark.parametrize("messages, error, match", [
    ("hi", TypeError, "list of"),
    ({"role": "user", "content": "hi"}, TypeError, "list of"),
    (None, TypeError, "list of"),
    ([], ValueError, "empty"),
    (["hi"], TypeError, r"messages\[0\] must be a dict"),
    ([{"content": "hi"}], ValueError, r"messages\[0\] has no 'role'"),
    ([{"role": "user", "content": "a"}, {"role": "user"}], ValueError,
     r"messages\[1\] has no 'content'"),
    ([{"role": "user", "content": None}], TypeError, r"messages\[0\]\['content'\] must be a str"),
    ([{"role": 1, "content": "hi"}], TypeError, r"messages\[0\]\['role'\] must be a str"),
    ([("user", b"hi")], TypeError, "must be a str"),
])
def test_bad_messages(model, messages, error, match):
    with pytest.raises(error, match=match):
        model.chat(messages, 4)
    if messages != []:  # apply_chat_template renders an empty chat; the rest it refuses alike
        with pytest.raises(error, match=match):
            model.apply_chat_template(messages)


CHAT = [{"role": "user", "content": "What is the capital of France?"}]


def test_chat_with_a_known_template(default_model):
    m = default_model
    r = m.chat(CHAT, 48, n_threads=2, **GREEDY)
    check_header(r, "chat.completion", m)
    choice = r["choices"][0]
    assert set(choice) == {"index", "message", "logprobs", "finish_reason"}
    assert choice["message"]["role"] == "assistant"
    assert "Paris" in choice["message"]["content"]
    assert choice["finish_reason"] == "stop"  # ended at <|im_end|>, not at the limit
    assert "<|im_end|>" not in choice["message"]["content"]
    prompt = m.apply_chat_template(CHAT)
    n_prompt = len(m.tokenize(prompt, parse_special=True))
    n_reply = r["usage"]["completion_tokens"]
    assert r["usage"] == {"prompt_tokens": n_prompt, "completion_tokens": n_reply,
                          "total_tokens": n_prompt + n_reply}
    # the reply is what Context.generate continues the rendered prompt with
    with m.create_context(n_threads=2) as ctx:
        ctx.feed(m.tokenize(prompt, parse_special=True))
        steps = list(ctx.generate(48))
    assert choice["message"]["content"] == "".join(s.text for s in steps)
    assert n_reply == len(steps) < 48

    chunks = list(m.chat(CHAT, 48, stream=True, n_threads=2, **GREEDY))
    for c in chunks:
        check_header(c, "chat.completion.chunk", m)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant"}
    assert chunks[-1]["choices"][0]["delta"] == {}
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["usage"] == r["usage"]
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-1])
    joined = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert joined == choice["message"]["content"]

    short = m.chat(CHAT, 3, n_threads=2, **GREEDY)
    assert short["choices"][0]["finish_reason"] == "length"
    assert short["usage"]["completion_tokens"] == 3
    cut = m.chat(CHAT, 48, stop="Paris", n_threads=2, **GREEDY)["choices"][0]
    assert cut["message"]["content"] == choice["message"]["content"].split("Paris")[0]
    assert cut["finish_reason"] == "stop"


def test_streaming_never_splits_utf8(default_model):
    # A reply with accents: every streamed piece is whole characters, and they join to the
    # whole reply.
    msgs = [{"role": "user", "content": "Écris une phrase en français sur l'été."}]
    whole = default_model.chat(msgs, 24, n_threads=2, **GREEDY)["choices"][0]["message"]["content"]
    pieces = [c["choices"][0]["delta"].get("content", "")
              for c in default_model.chat(msgs, 24, stream=True, n_threads=2, **GREEDY)]
    assert "".join(pieces) == whole
    assert "\ufffd" not in whole
    assert any(ord(ch) > 127 for ch in whole)  # the test did produce multi-byte characters
