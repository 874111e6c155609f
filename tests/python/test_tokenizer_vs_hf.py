"""liblola's tokenizer on SmolLM2-135M-Instruct against Hugging Face `tokenizers`.

The reference is built independently from the same GGUF: the vocabulary, merges and token types
read with the `gguf` package, then `tokenizers.models.BPE(vocab, merges)` with SmolLM2's
pre-tokenizer, Sequence([Digits(individual_digits=True), ByteLevel(add_prefix_space=False,
use_regex=True)]), the ByteLevel decoder, and the control tokens as special added tokens (only
for the parse_special comparisons; without parse_special the reference has no added tokens, so
"<|im_start|>" is plain text for both).

Over a varied corpus (prose, code with tabs and indentation, whitespace runs and Unicode spaces,
digits and long numbers, punctuation, accents, CJK, emoji with ZWJ sequences, mixed scripts,
contractions, special-token text) plus seeded random strings, the ids must be identical and
detokenize must give back the exact bytes. The model is fetched as test_smollm2.py does (skipped
only when that fails); without the `tokenizers` package the tests skip with a message.
"""

from __future__ import annotations

import random
import unicodedata

import pytest

pytest.importorskip("gguf")
tokenizers = pytest.importorskip(
    "tokenizers", reason="the Hugging Face `tokenizers` package is not installed "
    "(pip install tokenizers) - needed as the reference of test_tokenizer_vs_hf.py")


CONTROL = 3

CORPUS = [
    # prose
    "The quick brown fox jumps over the lazy dog.",
    "Hello world! It's a beautiful day, isn't it? We'll see; they've said they'd come.",
    "I'M SHOUTING. HE'S HERE. She's there. You're right. I've got it. We'd go. They'll see.",
    "x'sa x'Sa x'\u017fa x'LLa x'\u01c5a o'clock rock'n'roll 'quoted' ''",
    "Once upon a time, in a land far, far away, there lived a king who had three daughters.",
    "  Leading spaces, trailing spaces.   ",
    "Mr. O'Neil's dog—a Labrador—barked at 3:45 p.m. (really!) \"quoted\" 'single' `tick`",
    # code, indentation, tabs, newlines
    "def fibonacci(n):\n    if n < 2:\n        return n\n    return fibonacci(n - 1) + fibonacci(n - 2)\n",
    "int main(void) {\n\tprintf(\"%d\\n\", 42);\n\treturn 0;\n}\n",
    "for (size_t i = 0; i < n; ++i) { a[i] += b[i] * 2.5f; }  // comment\n\n\n",
    "    \t  mixed\t\tindentation\n\t\t\n    \n",
    "SELECT id, name FROM users WHERE age >= 18 AND name LIKE '%smith%';",
    "<html><body class=\"main\"><p>Hi &amp; bye</p></body></html>",
    "x=1;y=2;z=x+y*3/4-5%6**7//8",
    "{\"key\": [1, 2.5, -3e10, true, null], \"nested\": {\"a\": \"b\"}}",
    # whitespace runs, newlines, Unicode spaces
    "a  b   c    d     e\n\nf\n\n\ng\r\nh\r\n\r\ni",
    "\n\n\n\n",
    "          ",
    " ",
    "\t",
    "word\u00a0word\u2003word\u3000word\u202fword\u2028line\u2029para\u0085nel",
    "tab\x0bvt\x0cff end",
    "zero\u200bwidth\u200cjoiner\u200dmarks\ufeffbom",
    # digits and numbers
    "1234567890",
    "Pi is 3.14159265358979323846264338327950288419716939937510",
    "Call 555-0123 or +1 (800) 555 0199; order #12345 costs $1,234.56 (20% off) on 2024-11-23.",
    "0x1F 0b1010 1e-9 10^6 1/2 ½ ² ³ Ⅷ ٣ ३ 一二三",
    "v1.2.3-rc.4 build 20241123T120000Z",
    # punctuation
    "!!! ??? ... --- *** ### @@@ $$$ %%% ^^^ &&& ((( ))) [[[ ]]] {{{ }}} ||| \\\\ /// ~~~",
    "Hello,world.No-spaces;here:at!all?",
    "«guillemets» „German“ “curly” ‘single’ — – … • · ¿¡",
    # accents, other scripts
    "Crème brûlée, naïve café, façade, jalapeño, Ångström, Zürich, São Paulo, Łódź, Dvořák",
    "Ελληνικά κείμενα και русский текст и українська мова",
    "עברית וערבית: العربية لغة جميلة",
    "हिन्दी भाषा और বাংলা ভাষা এবং தமிழ்",
    "ภาษาไทย ພາສາລາວ ខ្មែរ",
    "日本語のテキストです。漢字、ひらがな、カタカナ。",
    "中文文本：你好，世界！今天天气很好。",
    "한국어 텍스트입니다. 안녕하세요!",
    "Mixed: English, 日本語, Русский, العربية, עברית, 한국어, and emoji 🎉 in one line.",
    "e\u0301 a\u0300 o\u0308 n\u0303 (combining marks) vs é à ö ñ",
    unicodedata.normalize("NFD", "Déjà vu, Ærøskøbing, Čeština"),
    # emoji, ZWJ sequences, flags, skin tones
    "Emoji: 😀😃😄 👍🏽 👩‍👩‍👧‍👦 🧑🏾‍💻 🏳️‍🌈 🇫🇷🇯🇵 ❤️‍🔥 🫠",
    "👨‍👩‍👧👨‍👩‍👧👨‍👩‍👧",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕞𝕒𝕥𝕙 𝐁𝐨𝐥𝐝 and 𓀀 hieroglyphs, 𐍈 Gothic",
    # special-token text
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n",
    "<|endoftext|>The end.<|endoftext|><|endoftext|>",
    "<|im_start|><|im_end|><|im_start|>",
    "text<|im_start|>text<|im_end",
    "<|im_start|system|> <|im _start|> <| im_start |>",
    "<repo_name>liblola<file_sep>src/main.c<jupyter_code>print(1)",
    "<empty_output><gh_stars>100<issue_start>bug<issue_comment>ok<issue_closed>",
    # odd
    "",
    "a",
    "'",
    "'s",
    "''''",
    "\x00\x01\x02\x03\x05\x07\x08\x1b\x7f",
    "\u00ad soft\u00adhyphen",
]

POOLS = [
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "0123456789",
    " \t\n\r  \u00a0\u3000\u2003\u0085",
    ".,;:!?'\"-_()[]{}<>|/\\@#$%^&*+=~`",
    "éèêëàâäçñöüßøåæœ",
    "日本語中文한국어ひらがなカタカナ",
    "αβγδεζηθикдлмнопрстуфхцч",
    "😀👍🏽👩‍👩‍👧🎉❤️",
    "½²³Ⅷ٣३",
]


def random_corpus(n, seed=1234):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        pools = rng.sample(POOLS, rng.randint(1, 4))
        chars = "".join(pools)
        length = rng.randint(1, 80)
        s = "".join(rng.choice(chars) for _ in range(length))
        if rng.random() < 0.2:
            s = s.replace(rng.choice(s), rng.choice(["<|im_start|>", "<|im_end|>",
                                                     "<|endoftext|>", "'s", "'ve"]), 1)
        out.append(s)
    return out


def full_corpus():
    return CORPUS + random_corpus(400) + ["\n".join(CORPUS) * 3]


# --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def vocab(smollm2_gguf):
    import gguf

    r = gguf.GGUFReader(smollm2_gguf)

    def strings(key):
        f = r.fields[key]
        return [bytes(f.parts[i]).decode("utf-8") for i in f.data]

    def scalar(key):
        f = r.fields[key]
        return f.parts[f.data[0]]

    tt = r.fields["tokenizer.ggml.token_type"]
    return {
        "tokens": strings("tokenizer.ggml.tokens"),
        "merges": strings("tokenizer.ggml.merges"),
        "types": [int(tt.parts[i][0]) for i in tt.data],
        "pre": bytes(scalar("tokenizer.ggml.pre")).decode(),
        "template": bytes(scalar("tokenizer.chat_template")).decode(),
        "bos": int(scalar("tokenizer.ggml.bos_token_id")[0]),
        "eos": int(scalar("tokenizer.ggml.eos_token_id")[0]),
        "unk": int(scalar("tokenizer.ggml.unknown_token_id")[0]),
        "pad": int(scalar("tokenizer.ggml.padding_token_id")[0]),
    }


# Llama 3's pre-tokenizer regex as its tokenizer.json has it.
LLAMA3_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
                r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


def reference(vocab, with_special, pre="smollm"):
    """The Hugging Face tokenizer of the vocabulary with the pre-tokenizer `pre` names."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers

    ids = {t: i for i, t in enumerate(vocab["tokens"])}
    merges = [tuple(m.split(" ", 1)) for m in vocab["merges"]]
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    if pre == "smollm":
        tok = Tokenizer(models.BPE(ids, merges))
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Digits(individual_digits=True), byte_level])
    elif pre == "gpt2":
        tok = Tokenizer(models.BPE(ids, merges))
        tok.pre_tokenizer = byte_level
    elif pre == "llama-bpe":
        tok = Tokenizer(models.BPE(ids, merges, ignore_merges=True))
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(LLAMA3_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    else:
        raise ValueError(pre)
    tok.decoder = decoders.ByteLevel()
    if with_special:
        tok.add_special_tokens([AddedToken(t, special=True, normalized=False)
                                for t, ty in zip(vocab["tokens"], vocab["types"])
                                if ty == CONTROL])
    return tok


@pytest.fixture(scope="module")
def hf_plain(vocab):
    return reference(vocab, with_special=False)


@pytest.fixture(scope="module")
def hf_special(vocab):
    return reference(vocab, with_special=True)


@pytest.fixture(scope="module")
def model(lib, smollm2_gguf):
    with lib.load_model(smollm2_gguf) as m:
        yield m


def test_vocabulary_is_what_this_test_expects(vocab):
    assert vocab["pre"] == "smollm"
    assert len(vocab["tokens"]) == 49152
    assert vocab["types"].count(CONTROL) == 17


@pytest.mark.parametrize("parse_special", [False, True])
def test_ids_match_hugging_face(model, hf_plain, hf_special, parse_special):
    hf = hf_special if parse_special else hf_plain
    corpus = full_corpus()
    mismatches = []
    n_tokens = 0
    n_bytes = 0
    for text in corpus:
        want = hf.encode(text, add_special_tokens=False).ids
        got = model.tokenize(text, parse_special=parse_special)
        n_tokens += len(got)
        n_bytes += len(text.encode())
        if got != want:
            mismatches.append((text, got, want))
    print(f"\nparse_special={parse_special}: {len(corpus)} texts, {n_bytes} bytes, {n_tokens} "
          f"tokens, {len(corpus) - len(mismatches)} identical")
    assert not mismatches, "first mismatches: " + "; ".join(
        f"{t!r}: liblola {g} HF {w}" for t, g, w in mismatches[:3])


def test_special_tokens_split_only_with_parse_special(model):
    text = "<|im_start|>user\nhi<|im_end|>"
    with_special = model.tokenize(text, parse_special=True)
    assert with_special[0] == 1 and with_special[-1] == 2
    plain = model.tokenize(text)
    assert 1 not in plain and 2 not in plain
    assert model.detokenize(plain) == text.encode()


def check_detokenize_round_trip(model, hf_special, text):
    """detokenize gives back the exact bytes of `text` tokenized with and without
    parse_special; with special tokens rendered it decodes as `hf_special` (the reference with
    the special tokens) decodes, and without them their text is left out, as
    skip_special_tokens does. Returns the ids of the parse_special tokenization."""
    data = text.encode()
    for parse_special in (False, True):
        ids = model.tokenize(text, parse_special=parse_special)
        assert model.detokenize(ids, special=True) == data, text
    assert model.detokenize(ids, special=True).decode() == hf_special.decode(
        ids, skip_special_tokens=False), text
    assert model.detokenize(ids).decode() == hf_special.decode(
        ids, skip_special_tokens=True), text
    return ids


def test_detokenize_round_trips_exactly(model, hf_special):
    for text in full_corpus():
        ids = check_detokenize_round_trip(model, hf_special, text)
        # without rendering specials, the text is still the concatenation of the pieces
        assert model.detokenize(ids) == b"".join(model.token_to_piece(i) for i in ids)


def test_pieces_join_to_the_text(model):
    text = "Zürich 日本 👩‍👩‍👧 ok"
    ids = model.tokenize(text)
    pieces = [model.token_to_piece(i) for i in ids]
    assert b"".join(pieces) == text.encode()
    assert any(len(p) and not _is_utf8(p) for p in pieces), "expected a piece ending mid-character"


def _is_utf8(b):
    try:
        b.decode()
        return True
    except UnicodeDecodeError:
        return False


def test_bytes_missing_from_the_vocabulary_are_dropped_like_hugging_face(model, hf_plain):
    # SmolLM2's vocabulary has no token for U+0004, U+0006, U+0013, U+0014, U+0016, U+001D
    text = "a\x04b\x06c\x13\x14d\x16e\x1df"
    assert model.tokenize(text) == hf_plain.encode(text).ids
    assert model.detokenize(model.tokenize(text)) == b"abcdef"


def test_invalid_utf8_is_never_refused(model):
    rng = random.Random(5)
    for _ in range(200):
        data = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
        ids = model.tokenize(data, parse_special=True)
        back = model.detokenize(ids, special=True)
        # every byte comes back except those the vocabulary has no token for
        missing = {0x04, 0x06, 0x13, 0x14, 0x16, 0x1D, 0xC0, 0xC1, 0xF1, 0xF2} | set(range(0xF5, 0x100))
        assert back == bytes(b for b in data if b not in missing)


def test_special_tokens_and_eog(model, vocab):
    st = model.special_tokens()
    assert (st["bos"], st["eos"], st["unk"], st["pad"]) == (
        vocab["bos"], vocab["eos"], vocab["unk"], vocab["pad"])
    assert st["eot"] == vocab["tokens"].index("<|im_end|>")
    assert model.token_is_eog(vocab["eos"])
    assert model.token_is_eog(vocab["tokens"].index("<|endoftext|>"))
    assert not model.token_is_eog(vocab["tokens"].index("<|im_start|>"))
    assert not model.token_is_eog(vocab["tokens"].index("Hello"))


def test_chat_template(model, vocab):
    msgs = [("user", "What is 2+2?"), ("assistant", "4"), ("user", "And 3+3?")]
    got = model.apply_chat_template(msgs, add_assistant=True)
    want = ("<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
            "Face<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n4"
            "<|im_end|>\n<|im_start|>user\nAnd 3+3?<|im_end|>\n<|im_start|>assistant\n")
    assert got == want
    with_system = [("system", "Be terse."), ("user", "Hi")]
    assert model.apply_chat_template(with_system, add_assistant=False) == (
        "<|im_start|>system\nBe terse.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n")


def test_chat_template_matches_jinja(model, vocab):
    """The file's own template rendered by jinja2 (when installed) gives the same text."""
    jinja2 = pytest.importorskip("jinja2", reason="jinja2 is not installed: the file's template "
                                 "is not rendered independently")
    template = jinja2.Environment().from_string(vocab["template"])
    cases = [
        [("user", "Hi")],
        [("system", "Be terse."), ("user", "Hi"), ("assistant", "Hello!"), ("user", "Bye")],
        [("user", "  spaced \n"), ("assistant", "x")],
        [],
    ]
    for msgs in cases:
        for add in (False, True):
            want = template.render(messages=[{"role": r, "content": c} for r, c in msgs],
                                   add_generation_prompt=add)
            assert model.apply_chat_template(msgs, add_assistant=add) == want


def write_vocab_model(path, vocab, pre):
    """A one-layer random F32 Llama carrying SmolLM2's vocabulary with another pre-tokenizer."""
    import gguf
    import numpy as np

    rng = np.random.default_rng(0)
    V, E, FF = len(vocab["tokens"]), 8, 16
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_context_length(64)
    w.add_embedding_length(E)
    w.add_block_count(1)
    w.add_feed_forward_length(FF)
    w.add_head_count(2)
    w.add_head_count_kv(1)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_freq_base(10000.0)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(pre)
    w.add_token_list(vocab["tokens"])
    w.add_token_types(vocab["types"])
    w.add_token_merges(vocab["merges"])
    w.add_bos_token_id(vocab["bos"])
    w.add_eos_token_id(vocab["eos"])
    w.add_add_bos_token(False)

    def mat(rows, cols):
        return (rng.standard_normal((rows, cols)) * 0.1).astype(np.float32)

    w.add_tensor("token_embd.weight", mat(V, E))
    w.add_tensor("output_norm.weight", np.ones(E, np.float32))
    for name, shape in [("attn_norm", (E,)), ("attn_q", (E, E)), ("attn_k", (4, E)),
                        ("attn_v", (4, E)), ("attn_output", (E, E)), ("ffn_norm", (E,)),
                        ("ffn_gate", (FF, E)), ("ffn_up", (FF, E)), ("ffn_down", (E, FF))]:
        arr = np.ones(shape, np.float32) if len(shape) == 1 else mat(*shape)
        w.add_tensor(f"blk.0.{name}.weight", arr)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return str(path)


@pytest.mark.parametrize("pre", ["gpt2", "llama-bpe"])
def test_other_pre_tokenizers_match_hugging_face(lib, vocab, tmp_path, pre):
    """The GPT-2 and Llama 3 pre-tokenizers (Llama 3: its regex, ignore_merges) on SmolLM2's
    vocabulary, against tokenizers configured as GPT-2's and Llama 3's tokenizer.json are."""
    path = write_vocab_model(tmp_path / f"vocab_{pre}.gguf", vocab, pre)
    hf = reference(vocab, with_special=True, pre=pre)
    with lib.load_model(path) as m:
        corpus = full_corpus()
        bad = [(t, m.tokenize(t, parse_special=True), hf.encode(t, add_special_tokens=False).ids)
               for t in corpus]
        bad = [b for b in bad if b[1] != b[2]]
        print(f"\npre={pre}: {len(corpus) - len(bad)} of {len(corpus)} texts identical")
        assert not bad, "first mismatches: " + "; ".join(
            f"{t!r}: liblola {g} HF {w}" for t, g, w in bad[:3])
        for t in corpus[:80]:
            assert m.detokenize(m.tokenize(t), special=True) == t.encode()


def test_tokenizing_the_rendered_chat(model, hf_special):
    text = model.apply_chat_template([("user", "Tell me a joke about 42 cats.")])
    assert model.tokenize(text, parse_special=True) == hf_special.encode(
        text, add_special_tokens=False).ids
