"""Training text: where it comes from, what is kept out, and how it becomes token sequences.

Sources (any mix):
- text files or folders of them (``.html`` has its tags stripped, ``.gz``/``.dz`` is read
  through gzip);
- JSONL, one object a line: ``{"messages": [{"role", "content"}...]}`` (rendered with the
  model's own chat template) or ``{"text": ...}``;
- text the model generates itself from a few seed prompts (``generate``);
- the offline default: English prose that Debian packages install (the Python 3.11 manual's
  reST sources from ``python3.11-doc`` and the English Debian Administrator's Handbook from
  ``debian-handbook``).

Never an evaluation's text: every document is cut into paragraphs, and a paragraph sharing any
run of 8 words with an evaluation text (the GPL-3 haystack and perplexity text of ``lola eval``,
the pass-key filler, any ``--exclude`` file) is dropped; the count dropped is logged.

Documents go to the hold-out split by a hash of their name (a fixed fraction), so the split does
not depend on the order or the number of sources. Each split is one token stream (documents
joined by the model's end-of-sequence token) cut into sequences of ``seq_len`` tokens.
"""

from __future__ import annotations

import gzip
import hashlib
import html.parser
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Tuple

import numpy as np

DEBIAN_SOURCES = (
    ("python3.11-doc", "/usr/share/doc/python3.11/html/_sources", ".txt"),
    ("debian-handbook", "/usr/share/doc/debian-handbook/html/en-US", ".html"),
)

# The texts `lola eval` and `lola passkey` measure with (eval/tasks.cpp, eval/runner.hpp).
EVAL_TEXTS = ("/usr/share/common-licenses/GPL-3",)
PASSKEY_FILLER = ("There is an important info hidden inside a lot of irrelevant text. Find it and "
                  "memorize it. I will quiz you about the important information there. The grass "
                  "is green. The sky is blue. The sun is yellow. Here we go. There and back again. "
                  "What is the pass key? The pass key is")
NEEDLE_HEADERS = ("Some special magic numbers are hidden within the following text. Make sure to "
                  "memorize it. I will quiz you about the numbers afterwards.")
SHINGLE = 8


class DataError(ValueError):
    """A source cannot be read or gives no text; the message names it."""


class _TextOf(html.parser.HTMLParser):
    SKIP = {"script", "style", "head", "nav"}

    def __init__(self):
        super().__init__()
        self.parts: List[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self._skip += 1
        elif tag in ("p", "div", "br", "li", "h1", "h2", "h3", "h4", "pre", "tr"):
            self.parts.append("\n\n")

    def handle_endtag(self, tag):
        if tag in self.SKIP and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def html_text(raw: str) -> str:
    p = _TextOf()
    p.feed(raw)
    return "".join(p.parts)


def read_text(path: Path) -> str:
    if path.suffix in (".gz", ".dz"):
        raw = gzip.open(path, "rb").read().decode("utf-8", errors="replace")
    else:
        raw = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix in (".html", ".htm"):
        raw = html_text(raw)
    return raw


def paragraphs(text: str) -> List[str]:
    out = []
    for p in re.split(r"\n\s*\n", text):
        p = re.sub(r"[ \t]+", " ", p).strip()
        if len(p) >= 40:
            out.append(p)
    return out


def _words(text: str) -> List[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def shingles(text: str, n: int = SHINGLE) -> set:
    w = _words(text)
    return {" ".join(w[i:i + n]) for i in range(max(0, len(w) - n + 1))}


@dataclass
class Document:
    name: str
    text: str


@dataclass
class Corpus:
    train: List[Document] = field(default_factory=list)
    holdout: List[Document] = field(default_factory=list)
    dropped_paragraphs: int = 0
    sources: List[str] = field(default_factory=list)


def _files(root: Path, suffix: Optional[str]) -> List[Path]:
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise DataError(f"{root}: no such file or folder")
    return sorted(p for p in root.rglob("*") if p.is_file() and (suffix is None or p.name.endswith(suffix)))


def debian_default() -> List[Tuple[str, Path, str]]:
    """The default sources, or DataError naming the Debian packages to install."""
    found, missing = [], []
    for package, folder, suffix in DEBIAN_SOURCES:
        if Path(folder).is_dir():
            found.append((package, Path(folder), suffix))
        else:
            missing.append(package)
    if missing:
        raise DataError("the default training text comes from Debian packages; install them with "
                        f"`apt-get install {' '.join(missing)}` or pass --text / --jsonl")
    return found


def jsonl_documents(path: Path, chat_template) -> Iterable[Document]:
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(f"{path}:{i + 1}: not JSON ({e})") from e
        if "messages" in obj:
            text = chat_template(obj["messages"])
        elif "text" in obj:
            text = str(obj["text"])
        else:
            raise DataError(f"{path}:{i + 1}: needs a 'messages' or a 'text' field")
        yield Document(f"{path.name}:{i + 1}", text)


def collect(texts: Sequence[str] = (), jsonl: Sequence[str] = (), generated: Sequence[Document] = (),
            default: bool = True, exclude: Sequence[str] = (), holdout_fraction: float = 0.02,
            chat_template=None, max_chars: Optional[int] = None) -> Corpus:
    """Reads every source, drops what overlaps an evaluation text, splits train / hold-out."""
    forbidden = shingles(PASSKEY_FILLER) | shingles(NEEDLE_HEADERS)
    for p in list(EVAL_TEXTS) + list(exclude):
        if Path(p).is_file():
            forbidden |= shingles(read_text(Path(p)))
        elif p in exclude:
            raise DataError(f"--exclude {p}: no such file")
    corpus = Corpus()
    docs: List[Document] = []
    roots: List[Tuple[str, Path, Optional[str]]] = []
    if default and not texts and not jsonl and not generated:
        roots += debian_default()
    roots += [(str(t), Path(t), None) for t in texts]
    for label, root, suffix in roots:
        corpus.sources.append(label if label == str(root) else f"{label} ({root})")
        for f in _files(root, suffix):
            docs.append(Document(str(f.relative_to(root)) if root.is_dir() else f.name, read_text(f)))
    for j in jsonl:
        corpus.sources.append(str(j))
        docs += list(jsonl_documents(Path(j), chat_template))
    if generated:
        corpus.sources.append(f"generated ({len(generated)} texts)")
        docs += list(generated)
    total = 0
    for doc in docs:
        kept = []
        for p in paragraphs(doc.text):
            if forbidden and not shingles(p).isdisjoint(forbidden):
                corpus.dropped_paragraphs += 1
                continue
            kept.append(p)
        if not kept:
            continue
        doc = Document(doc.name, "\n\n".join(kept))
        h = int.from_bytes(hashlib.sha256(doc.name.encode()).digest()[:8], "little") / 2.0 ** 64
        (corpus.holdout if h < holdout_fraction else corpus.train).append(doc)
        total += len(doc.text)
        if max_chars and total >= max_chars:
            break
    if not corpus.train:
        raise DataError("no training text left (after dropping what overlaps evaluation texts)")
    if not corpus.holdout:  # a tiny corpus: hold out its last document
        corpus.holdout.append(corpus.train.pop())
        if not corpus.train:
            raise DataError("one document is not enough for a training and a hold-out split")
    return corpus


def token_stream(docs: Sequence[Document], tokenize, separator: int) -> np.ndarray:
    out: List[np.ndarray] = []
    for doc in docs:
        out.append(np.asarray(tokenize(doc.text), dtype=np.int32))
        out.append(np.asarray([separator], dtype=np.int32))
    return np.concatenate(out) if out else np.zeros(0, np.int32)


def sequences(stream: np.ndarray, seq_len: int) -> np.ndarray:
    n = len(stream) // seq_len
    return stream[:n * seq_len].reshape(n, seq_len)


def stream_hash(*streams: np.ndarray) -> str:
    h = hashlib.sha256()
    for s in streams:
        h.update(np.ascontiguousarray(s, dtype="<i4").tobytes())
        h.update(b"|")
    return h.hexdigest()
