"""The tokenizer part of lola_convert: a Llama 3 style tokenizer.json -> GGUF -> liblola.

A synthetic Hugging Face folder gets a real byte-level BPE trained here with the `tokenizers`
package, configured as Meta's Llama 3 tokenizer.json is: the Llama 3 Split regex then
ByteLevel(use_regex=False), ignore_merges, the ByteLevel decoder, the five Llama 3 special
tokens (plus two reserved ones) as added special tokens after the BPE vocabulary, a
TemplateProcessing that puts <|begin_of_text|> first, and a tokenizer_config.json with bos/eos
and Llama 3's chat template (also Llama 3.1's and 3.2's, which open every chat with a system
turn holding a knowledge cutoff and a date). The embedding has more rows than the tokenizer has tokens, as in
models whose vocab_size is rounded up: the converter pads the vocabulary with unused tokens.

The folder is converted with lola_convert (as test_convert.py does) and the GGUF loaded with
liblola. The reference is the `tokenizers` Tokenizer read back from the same tokenizer.json,
and jinja2 rendering tokenizer_config's template the way transformers does (trim_blocks,
lstrip_blocks). Checked: ids on ~110 varied texts, with and without parse_special and
add_special; exact detokenize round trips; BOS/EOS/EOT ids and is_eog; the chat template; a
folder without tokenizer.json (a warning, no vocabulary, liblola refuses to tokenize).
"""

from __future__ import annotations

import datetime
import json
import logging
import os

import pytest

tokenizers = pytest.importorskip(
    "tokenizers", reason="the Hugging Face `tokenizers` package is not installed "
    "(pip install tokenizers) - needed to build the tokenizer.json of test_convert_tokenizer.py")
gguf = pytest.importorskip("gguf")

import lola_ctypes as L  # noqa: E402
import lolcats_fixtures as fx  # noqa: E402
import test_convert as tc  # noqa: E402
from lola_convert import ConversionError  # noqa: E402
from test_tokenizer_vs_hf import (CORPUS, LLAMA3_REGEX, check_detokenize_round_trip,  # noqa: E402
                                  random_corpus)

BOS, EOS, EOT = "<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"
SPECIALS = [BOS, EOS, "<|reserved_special_token_0|>", "<|reserved_special_token_1|>",
            "<|start_header_id|>", "<|end_header_id|>", EOT]
N_BPE = 900          # BPE vocabulary (256 bytes + merges); the specials follow it
N_VOCAB = 1024       # rows of the synthetic model's embedding: 1024 - 907 padded
CONTROL, UNUSED = 3, 5

# Meta-Llama-3-8B-Instruct's tokenizer_config.json chat_template.
LLAMA3_TEMPLATE = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
    "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim "
    "+ '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif "
    "%}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ "
    "'<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}")

# Meta-Llama-3.1-8B-Instruct's template (kept in a file: it is long); Llama 3.2's differs in the
# date: today's (transformers' strftime_now) instead of the fixed 26 Jul 2024.
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                       "llama3_1_chat_template.jinja"), encoding="utf-8") as _f:
    LLAMA3_1_TEMPLATE = _f.read()
_FIXED_DATE = '    {%- set date_string = "26 Jul 2024" %}\n'
assert _FIXED_DATE in LLAMA3_1_TEMPLATE
LLAMA3_2_TEMPLATE = LLAMA3_1_TEMPLATE.replace(_FIXED_DATE, (
    '    {%- if strftime_now is defined %}\n'
    '        {%- set date_string = strftime_now("%d %b %Y") %}\n'
    '    {%- else %}\n'
    '        {%- set date_string = "26 Jul 2024" %}\n'
    '    {%- endif %}\n'))
TEMPLATES = {"llama3": LLAMA3_TEMPLATE, "llama3.1": LLAMA3_1_TEMPLATE,
             "llama3.2": LLAMA3_2_TEMPLATE}

# Texts with Llama 3's own special tokens, split only with parse_special.
LLAMA3_TEXTS = [
    f"{BOS}{'<|start_header_id|>'}user<|end_header_id|>\n\nHi!{EOT}",
    f"{BOS}{BOS}text{EOS}",
    "<|start_header_id|>assistant<|end_header_id|>\n\nSure, here's 1234567 apples.<|eot_id|>",
    "not special: <|eot_id |> <| eot_id|> <|EOT_ID|> <|eot_id",
    "<|reserved_special_token_0|><|reserved_special_token_1|><|reserved_special_token_2|>",
    "x<|eot_id|>y<|end_of_text|>z",
    "I'M HERE. WE'LL GO. THEY'VE SEEN. SHE'D KNOW. IT'S 's 'S 'Ll 'lL",
    "1 22 333 4444 55555 666666 7777777 12,345,678.90",
    "line\r\n\r\n\n  \n\t\nend   \n",
]


def texts():
    return CORPUS + LLAMA3_TEXTS + random_corpus(40, seed=99) + ["\n".join(CORPUS) * 2]


def train_tokenizer():
    """A Llama 3 style byte-level BPE trained on the test corpus."""
    from tokenizers import (AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers,
                            processors, trainers)

    tok = Tokenizer(models.BPE(ignore_merges=True))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=N_BPE, min_frequency=1, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(CORPUS + LLAMA3_TEXTS, trainer)
    assert tok.get_vocab_size() == N_BPE, "the corpus should give the full BPE vocabulary"
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIALS])
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS}:0 $A:0", pair=f"{BOS}:0 $A:0 {BOS}:1 $B:1",
        special_tokens=[(BOS, tok.token_to_id(BOS))])
    return tok


def write_tokenizer_files(folder, tok, template=LLAMA3_TEMPLATE):
    tok.save(os.path.join(folder, "tokenizer.json"))
    added = {str(tok.token_to_id(t)): {"content": t, "lstrip": False, "normalized": False,
                                       "rstrip": False, "single_word": False, "special": True}
             for t in SPECIALS}
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump({"added_tokens_decoder": added, "bos_token": BOS, "eos_token": EOS,
                   "chat_template": template, "clean_up_tokenization_spaces": True,
                   "model_input_names": ["input_ids", "attention_mask"],
                   "model_max_length": 131072, "tokenizer_class": "PreTrainedTokenizerFast"}, f)


@pytest.fixture(scope="module")
def hf_tok():
    return train_tokenizer()


@pytest.fixture(scope="module")
def folder(tmp_path_factory, hf_tok):
    path = str(tmp_path_factory.mktemp("hf-llama3-tok"))
    fx.write_hf_folder(path, fx.TinySpec(n_vocab=N_VOCAB), "F32")
    write_tokenizer_files(path, hf_tok)
    return path


@pytest.fixture(scope="module")
def reference(folder):
    """What transformers would use: the tokenizer.json as written to the folder."""
    return tokenizers.Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))


@pytest.fixture(scope="module")
def converted(folder, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("gguf") / "llama3-tok.gguf")
    summary = tc.convert(folder, out, None, "f32")
    assert summary["tokenizer"] is True
    return out


@pytest.fixture(scope="module")
def model(lib, converted):
    with lib.load_model(converted) as m:
        yield m


# --------------------------------------------------------------------------------------------


def test_gguf_vocabulary(converted, reference):
    r = gguf.GGUFReader(converted)

    def string(key):
        f = r.fields[key]
        return bytes(f.parts[f.data[0]]).decode()

    tokens = [bytes(r.fields["tokenizer.ggml.tokens"].parts[i]).decode()
              for i in r.fields["tokenizer.ggml.tokens"].data]
    tt = r.fields["tokenizer.ggml.token_type"]
    types = [int(tt.parts[i][0]) for i in tt.data]
    assert string("tokenizer.ggml.model") == "gpt2"
    assert string("tokenizer.ggml.pre") == "llama-bpe"
    assert string("tokenizer.chat_template") == LLAMA3_TEMPLATE
    assert len(tokens) == len(types) == N_VOCAB
    vocab = reference.get_vocab(with_added_tokens=True)
    assert len(vocab) == N_BPE + len(SPECIALS)
    for text, i in vocab.items():
        assert tokens[i] == text
    assert [types[reference.token_to_id(t)] for t in SPECIALS] == [CONTROL] * len(SPECIALS)
    assert set(types[len(vocab):]) == {UNUSED}
    assert len(r.fields["tokenizer.ggml.merges"].data) == len(
        json.loads(reference.to_str())["model"]["merges"])


def test_model_and_vocab_sizes(model):
    assert model.info()["n_vocab"] == N_VOCAB


@pytest.mark.parametrize("parse_special", [False, True])
def test_ids_match_tokenizers(model, reference, parse_special):
    """Without parse_special the reference must see special-token text as plain text: a
    tokenizer without the added tokens (the same BPE, pre-tokenizer and decoder)."""
    hf = reference
    if not parse_special:
        spec = json.loads(reference.to_str())
        spec["added_tokens"] = []
        spec["post_processor"] = None
        hf = tokenizers.Tokenizer.from_str(json.dumps(spec))
    bad, n_tokens = [], 0
    corpus = texts()
    for text in corpus:
        want = hf.encode(text, add_special_tokens=False).ids
        got = model.tokenize(text, parse_special=parse_special)
        n_tokens += len(got)
        if got != want:
            bad.append((text, got, want))
    print(f"\nparse_special={parse_special}: {len(corpus)} texts, {n_tokens} tokens, "
          f"{len(corpus) - len(bad)} identical")
    assert len(corpus) >= 100
    assert not bad, "first mismatches: " + "; ".join(
        f"{t!r}: liblola {g} tokenizers {w}" for t, g, w in bad[:3])


def test_special_tokens_are_split_only_with_parse_special(model, reference):
    text = LLAMA3_TEXTS[0]
    ids = model.tokenize(text, parse_special=True)
    assert ids[:2] == [reference.token_to_id(BOS), reference.token_to_id("<|start_header_id|>")]
    assert ids[-1] == reference.token_to_id(EOT)
    plain = model.tokenize(text)
    assert not set(plain) & {reference.token_to_id(t) for t in SPECIALS}


def test_add_special_puts_bos_first(model, reference):
    for text in ["Hello world", "", "<|eot_id|>x"]:
        got = model.tokenize(text, add_special=True, parse_special=True)
        assert got == reference.encode(text, add_special_tokens=True).ids
        assert got[0] == reference.token_to_id(BOS)


def test_detokenize_round_trips(model, reference):
    for text in texts():
        check_detokenize_round_trip(model, reference, text)


def test_padding_rows_are_never_produced_and_decode_to_nothing(model, reference):
    n = reference.get_vocab_size(with_added_tokens=True)
    seen = {i for t in texts() for i in model.tokenize(t, parse_special=True)}
    assert max(seen) < n
    assert model.detokenize([n, N_VOCAB - 1]) == b""
    with pytest.raises(L.LolaError) as e:
        model.detokenize([N_VOCAB])
    assert e.value.status == L.ERR_INVALID_ARGUMENT


def test_special_ids_and_end_of_generation(model, reference):
    st = model.special_tokens()
    assert st["bos"] == reference.token_to_id(BOS)
    assert st["eos"] == reference.token_to_id(EOS)
    assert st["eot"] == reference.token_to_id(EOT)
    assert model.token_is_eog(st["eot"]) and model.token_is_eog(st["eos"])
    for t in (BOS, "<|start_header_id|>", "<|end_header_id|>", "<|reserved_special_token_0|>"):
        assert not model.token_is_eog(reference.token_to_id(t)), t
    assert not model.token_is_eog(model.tokenize("Hello")[0])


CHATS = [
    [("user", "What is 2+2?")],
    [("system", "You are terse."), ("user", "Hi!"), ("assistant", "Hello.")],
    [("system", "  Be brief.\n"), ("user", "\n\tTell me a joke about 42 cats.  "),
     ("assistant", "No.\n\n")],
    [("user", "\u00a0non-breaking\u3000"), ("assistant", "\u2003ok\u2028")],
]


@pytest.fixture(scope="module")
def chat_models(lib, folder, tmp_path_factory):
    """name -> the model converted from the folder with that chat template."""
    import shutil

    models = {}
    for name, template in TEMPLATES.items():
        tmp = tmp_path_factory.mktemp("chat-" + name)
        base = str(tmp / "hf")
        shutil.copytree(folder, base)
        with open(os.path.join(base, "tokenizer_config.json")) as f:
            config = json.load(f)
        config["chat_template"] = template
        with open(os.path.join(base, "tokenizer_config.json"), "w") as f:
            json.dump(config, f)
        tc.convert(base, str(tmp / "m.gguf"), None, "f32")
        models[name] = lib.load_model(str(tmp / "m.gguf"))
    yield models
    for m in models.values():
        m.close()


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_chat_template_matches_jinja(chat_models, name):
    sandbox = pytest.importorskip("jinja2.sandbox", reason="jinja2 is not installed: the "
                                  "template is not rendered independently")
    # transformers renders chat templates in a sandbox with these settings and strftime_now
    env = sandbox.ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    template = env.from_string(TEMPLATES[name])
    model = chat_models[name]

    def render(msgs, add, day):
        return template.render(messages=[{"role": r, "content": c} for r, c in msgs],
                               add_generation_prompt=add, bos_token=BOS, eos_token=EOS,
                               strftime_now=lambda fmt: day.strftime(fmt))

    for msgs in CHATS:
        for add in (False, True):
            before = datetime.datetime.now()
            got = model.apply_chat_template(msgs, add_assistant=add)
            after = datetime.datetime.now()   # the two differ only across midnight
            assert got in (render(msgs, add, before), render(msgs, add, after)), (msgs, add)
    if name != "llama3":
        assert "Cutting Knowledge Date" in got
        with pytest.raises(L.LolaError) as e:
            model.apply_chat_template([("user", "x"), ("tool", "42")])
        assert e.value.status == L.ERR_UNSUPPORTED


def test_rendered_chat_tokenizes_like_tokenizers(model, reference):
    text = model.apply_chat_template(CHATS[1], add_assistant=True)
    ids = model.tokenize(text, parse_special=True)
    assert ids == reference.encode(text, add_special_tokens=False).ids
    assert ids[0] == reference.token_to_id(BOS)
    assert ids.count(reference.token_to_id(EOT)) == 3


# --------------------------------------------------------------------------------------------
# Folders without a (usable) tokenizer
# --------------------------------------------------------------------------------------------


def test_no_tokenizer_json_converts_without_vocabulary(lib, tmp_path, caplog):
    folder = str(tmp_path / "hf")
    fx.write_hf_folder(folder, fx.TinySpec(), "F32")
    out = str(tmp_path / "notok.gguf")
    with caplog.at_level(logging.WARNING, logger="lola_convert"):
        summary = tc.convert(folder, out, None, "f32")
    assert summary["tokenizer"] is False
    assert any("has no tokenizer.json" in r.getMessage() for r in caplog.records)
    fields = gguf.GGUFReader(out).fields
    assert not [k for k in fields if k.startswith("tokenizer.")]
    with lib.load_model(out) as m:
        assert m.info()["n_vocab"] == fx.TinySpec().n_vocab
        with pytest.raises(L.LolaError) as e:
            m.tokenize("hello")
        assert e.value.status == L.ERR_UNSUPPORTED and "no tokenizer" in str(e.value)
        m.context().feed([1, 2, 3])   # the model still runs on token ids


def test_tokenizer_larger_than_the_embedding_is_refused(tmp_path, hf_tok):
    folder = str(tmp_path / "hf")
    fx.write_hf_folder(folder, fx.TinySpec(n_vocab=512), "F32")
    write_tokenizer_files(folder, hf_tok)
    with pytest.raises(ConversionError, match="tokenizer.json has 907 tokens, the embedding 512"):
        tc.convert(folder, str(tmp_path / "x.gguf"), None, "f32")
