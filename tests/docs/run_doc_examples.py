#!/usr/bin/env python3
"""Runs the code blocks of README.md and docs/bindings/*.md as written (see README.md here).

usage: run_doc_examples.py --source DIR --build DIR [--model PATH] [--require LANG,...]
                           [--only NAME] [--list] [--keep]

Exit status: 0 when every example ran (or was checked) and passed; 1 when one failed or a
block is unmarked; 77 (ctest's skip) when nothing failed but examples were skipped because the
default model could not be fetched or a language's toolchain or binding is missing and not
required.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

PROGRAM_LANGS = ("python", "rust", "java", "csharp", "c", "cpp")
SOURCE_FILE = {"python": "app.py", "rust": "main.rs", "java": "Example.java", "csharp": "app.cs",
               "c": "app.c", "cpp": "app.cpp"}
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
DOCS = ("README.md", "docs/bindings/python.md", "docs/bindings/rust.md",
        "docs/bindings/java.md", "docs/bindings/csharp.md")
CLEARED_ENV = ("LD_LIBRARY_PATH", "PKG_CONFIG_PATH", "MONO_PATH", "CLASSPATH", "PYTHONPATH")
SKIP = 77
MARKER = re.compile(r"^<!--\s*example(?P<attrs>(\s+[^>]*?)?)\s*-->\s*$")
ATTR = re.compile(r'(\w+)(?:=(?:"([^"]*)"|(\S+)))?')


@dataclass
class Block:
    doc: str
    line: int  # 1-based line of the opening fence
    lang: str
    text: str
    attrs: Dict[str, str] = field(default_factory=dict)
    marked: bool = False

    @property
    def where(self) -> str:
        return f"{self.doc}:{self.line}"


def parse_attrs(text: str) -> Dict[str, str]:
    attrs = {}
    for m in ATTR.finditer(text):
        attrs[m.group(1)] = m.group(2) if m.group(2) is not None else (m.group(3) or "")
    return attrs


def read_blocks(source: Path, doc: str) -> List[Block]:
    """Every fenced block of `doc` with the marker line right above it, if any."""
    lines = (source / doc).read_text(encoding="utf-8").splitlines()
    blocks: List[Block] = []
    i = 0
    while i < len(lines):
        fence = re.match(r"^(```+)\s*([\w+-]*)\s*$", lines[i])
        if not fence:
            i += 1
            continue
        ticks, lang = fence.group(1), fence.group(2).lower()
        end = i + 1
        while end < len(lines) and lines[end].strip() != ticks:
            end += 1
        if end == len(lines):
            raise SystemExit(f"{doc}:{i + 1}: code block never closed")
        block = Block(doc, i + 1, lang, "\n".join(lines[i + 1:end]) + "\n")
        marker = MARKER.match(lines[i - 1]) if i > 0 else None
        if marker:
            block.marked = True
            block.attrs = parse_attrs(marker.group("attrs") or "")
        blocks.append(block)
        i = end + 1
    return blocks


def excerpt_found(block: Block, source: Path) -> Optional[str]:
    """None when the block's lines appear contiguously in its excerpt file, else why not.
    Lines compare without their leading and trailing blanks (the file may indent them more)."""
    path = source / block.attrs["excerpt"]
    if not path.is_file():
        return f"excerpt file {block.attrs['excerpt']} does not exist"
    want = [l.strip() for l in block.text.splitlines()]
    have = [l.strip() for l in path.read_text(encoding="utf-8").splitlines()]
    for start in range(len(have) - len(want) + 1):
        if have[start:start + len(want)] == want:
            return None
    # Point at the first line that matches nowhere, the likeliest edit.
    for line in want:
        if line and line not in have:
            return f"line not in {block.attrs['excerpt']}: {line!r}"
    return f"the lines are in {block.attrs['excerpt']} but not contiguously, in this order"


def available(lang: str, build: Path) -> Optional[str]:
    """None when `lang`'s examples can run against `build`, else the reason they cannot."""
    need_tools = {"python": ["python3"], "rust": ["cargo", "bindgen"], "java": ["javac", "java"],
                  "csharp": ["mcs", "mono"], "c": ["cc", "pkg-config"],
                  "cpp": ["c++", "pkg-config"]}[lang]
    for tool in need_tools:
        if not shutil.which(tool):
            return f"'{tool}' is not on PATH"
    need_files = {"python": "bindings/python/pkg/lola", "java": "bindings/java/lola.jar",
                  "csharp": "bindings/csharp/Lola.dll"}.get(lang)
    if need_files and not (build / need_files).exists():
        return f"{build / need_files} was not built"
    return None


def fetch_model(source: Path) -> Tuple[Optional[Path], str]:
    try:
        out = subprocess.run([str(source / "scripts/fetch_default_model.sh")],
                             capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, f"fetch_default_model.sh failed: {e}"
    path = Path(out.stdout.strip().splitlines()[-1]) if out.stdout.strip() else None
    if out.returncode != 0 or not path or not path.is_file():
        return None, "fetch_default_model.sh failed: " + (out.stderr.strip() or out.stdout.strip())
    return path, ""


def scratch_dir(root: Path, doc: str, source: Path, build: Path, model: Optional[Path]) -> Path:
    """A fresh directory that looks like the repository root with `build` the tree under test."""
    d = root / re.sub(r"[^\w.-]", "_", doc)
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    for entry in source.iterdir():
        if entry.name in (".git", "build"):
            continue
        (d / entry.name).symlink_to(entry)
    (d / "build").symlink_to(build)
    if model:
        (d / MODEL_FILE).symlink_to(model)
    return d


def clean_env(build_venv: Optional[Path]) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in CLEARED_ENV and not k.startswith("LOLA_")}
    if build_venv and (build_venv / "bin/python3").exists():
        env["PATH"] = f"{build_venv / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}"
    env.pop("VIRTUAL_ENV", None)
    return env


def run_shell(script: str, cwd: Path, env: Dict[str, str], timeout: int) -> Tuple[int, str]:
    (cwd / ".example.sh").write_text(script)
    try:
        p = subprocess.run(["bash", "-euo", "pipefail", ".example.sh"], cwd=cwd, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           errors="replace", timeout=timeout)
        return p.returncode, p.stdout
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        return 124, out + f"\n(timed out after {timeout} s)"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, default=Path(__file__).resolve().parents[2])
    ap.add_argument("--build", type=Path, required=True)
    ap.add_argument("--model", type=Path, help="the default model (fetched when not given)")
    ap.add_argument("--require", default="", help="languages that must run, comma-separated")
    ap.add_argument("--only", help="run only the docs whose path contains this")
    ap.add_argument("--list", action="store_true", help="list the blocks and exit")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directories")
    ap.add_argument("--timeout", type=int, default=600, help="seconds per example")
    args = ap.parse_args()
    source, build = args.source.resolve(), args.build.resolve()
    required = {l for l in args.require.split(",") if l}

    docs = [d for d in DOCS if (source / d).exists() and (not args.only or args.only in d)]
    blocks = {d: read_blocks(source, d) for d in docs}
    problems = []
    recipes: Dict[str, Block] = {}
    for d in docs:
        for b in blocks[d]:
            if b.lang in PROGRAM_LANGS and not b.marked:
                problems.append(f"{b.where}: {b.lang} block without an <!-- example ... --> marker")
            if "recipe" in b.attrs:
                lang = b.attrs["recipe"]
                if b.lang != "sh" or lang not in PROGRAM_LANGS:
                    problems.append(f"{b.where}: a recipe is a sh block for one of {PROGRAM_LANGS}")
                elif lang in recipes:
                    problems.append(f"{b.where}: second recipe for {lang} "
                                    f"(first at {recipes[lang].where})")
                else:
                    recipes[lang] = b
    if args.only:  # recipes may live on pages not selected
        for d in DOCS:
            if d not in blocks and (source / d).exists():
                for b in read_blocks(source, d):
                    if "recipe" in b.attrs:
                        recipes.setdefault(b.attrs["recipe"], b)
    if args.list:
        for d in docs:
            for b in blocks[d]:
                print(f"{b.where:32} {b.lang:8} {b.attrs if b.marked else '(unmarked)'}")
        return 0

    model, why_no_model = (args.model, "") if args.model else fetch_model(source)
    if model is None:
        print(f"NOTE: the default model is unavailable, its examples are skipped: {why_no_model}")
    scratch_root = build / "tests/docs/scratch"
    env = clean_env(source / "build-venv")
    failed, skipped, passed = [], [], 0
    for d in docs:
        work = None
        skipped_before = None  # a program of this doc that could not run: the sh steps after it use its files
        for b in blocks[d]:
            if not b.marked:
                continue
            if "excerpt" in b.attrs:
                why = excerpt_found(b, source)
                if why:
                    failed.append(f"{b.where}: excerpt: {why}")
                    print(f"FAIL {b.where} excerpt: {why}")
                else:
                    passed += 1
                    print(f"ok   {b.where} excerpt of {b.attrs['excerpt']}")
                continue
            if "recipe" in b.attrs:
                continue  # run with each example of its language
            if b.lang == "sh" and "run" in b.attrs:
                script, lang = b.text, "sh"
            elif b.lang in PROGRAM_LANGS:
                lang = b.lang
                if lang not in recipes:
                    failed.append(f"{b.where}: no recipe for {lang}")
                    print(f"FAIL {b.where}: no recipe for {lang}")
                    continue
                script = recipes[lang].text
            else:
                problems.append(f"{b.where}: marker on a {b.lang or 'plain'} block")
                continue
            if lang != "sh":
                why = available(lang, build)
                if why:
                    (failed if lang in required else skipped).append(f"{b.where}: {lang}: {why}")
                    print(f"{'FAIL' if lang in required else 'skip'} {b.where} {lang}: {why}")
                    skipped_before = skipped_before or f"{b.where} ({lang}) did not run"
                    continue
            elif skipped_before:
                skipped.append(f"{b.where}: sh: follows {skipped_before}")
                print(f"skip {b.where} sh: follows {skipped_before}")
                continue
            if MODEL_FILE in b.text and model is None:
                skipped.append(f"{b.where}: needs the default model")
                print(f"skip {b.where}: needs the default model ({why_no_model})")
                continue
            if work is None:
                work = scratch_dir(scratch_root, d, source, build, model)
            if lang != "sh":
                (work / SOURCE_FILE[lang]).write_text(b.text)
            t0 = time.monotonic()
            rc, out = run_shell(script, work, env, args.timeout)
            took = time.monotonic() - t0
            expect = b.attrs.get("expect")
            if rc == 0 and (expect is None or expect in out):
                passed += 1
                print(f"ok   {b.where} {lang} ({took:.1f} s)")
                continue
            why = f"exit status {rc}" if rc else f"output lacks {expect!r}"
            failed.append(f"{b.where}: {lang}: {why}")
            print(f"FAIL {b.where} {lang}: {why} ({took:.1f} s); its output:")
            print("    " + "\n    ".join(out.rstrip().splitlines()[-40:]))
        if work is not None and not args.keep and not failed:
            shutil.rmtree(work, ignore_errors=True)
    for p in problems:
        print(f"FAIL {p}")
    print(f"doc examples: {passed} passed, {len(failed) + len(problems)} failed, "
          f"{len(skipped)} skipped")
    if failed or problems:
        return 1
    return SKIP if skipped else 0


if __name__ == "__main__":
    sys.exit(main())
