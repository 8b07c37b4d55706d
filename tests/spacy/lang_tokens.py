"""Tokens of spacy.blank(lang) against nerd's, for every language of nerd's table (`make test-languages`).

For each language: spacy.blank(lang).to_disk(WORK/blank-LANG) (the folder both read), the texts of
tests/spacy/lang_texts.py in that language plus the differential generator's (tests/spacy/gen_texts.py),
spaCy's tokens from spacy.load(folder), nerd's from `nerd tokenize --jsonl --model folder`.
Compared per document: each token's text, character offset, trailing whitespace, NORM, PREFIX,
SUFFIX, SHAPE, IS_SPACE, and the attributes the language's Python code decides: LIKE_NUM, IS_STOP.
A document mismatches when any of these differs for any token; the first few are printed with the
text. The last line is `lang-tokens: N docs, M mismatches`; the exit status is non-zero on any.

    build/venv/bin/python tests/spacy/lang_tokens.py --nerd build/nerd --work build/lang [--langs fr de ...]
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gen_texts  # noqa: E402
import lang_texts  # noqa: E402

# the languages of src/text/lang.c (en: nerd's first language, on its blank folder too)
LANGS = ["en", "de", "es", "fr", "it", "nl", "pt", "ru", "el", "zh"]
FIELDS = ["text", "idx", "ws", "norm", "prefix", "suffix", "shape", "is_space", "like_num", "is_stop"]
SHOW = 5
# man-page paragraphs a language must have: fewer means its manpages-xx package is missing (.ci/deps.sh)
MIN_MAN_PARAGRAPHS = 100


def spacy_tokens(nlp, text):
    return [[t.text, t.idx, t.whitespace_, t.norm_, t.prefix_, t.suffix_, t.shape_, t.is_space, t.like_num, t.is_stop]
            for t in nlp(text)]


def nerd_tokens(nerd, folder, texts_path):
    out = subprocess.run([nerd, "tokenize", "--jsonl", "--model", folder, texts_path], capture_output=True,
                         timeout=600, check=False)
    if out.returncode:
        raise SystemExit("nerd tokenize failed on %s: %s" % (folder, out.stderr.decode(errors="replace")))
    docs = []
    for line in out.stdout.decode("utf-8").split("\n")[:-1]:  # not splitlines: U+2028 may be in a string
        docs.append([[t[f] for f in FIELDS] for t in json.loads(line)["tokens"]])
    return docs


def first_difference(a, b):
    for i in range(max(len(a), len(b))):
        if i >= len(a) or i >= len(b):
            return "token %d: %s" % (i, "nerd has no more tokens" if i >= len(b) else "spaCy has no more tokens")
        for k, f in enumerate(FIELDS):
            if a[i][k] != b[i][k]:
                return "token %d %r: %s spaCy %r nerd %r" % (i, a[i][0], f, a[i][k], b[i][k])
    return "?"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nerd", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--langs", nargs="*", default=LANGS)
    ap.add_argument("--count", type=int, default=400, help="texts of the language per language")
    ap.add_argument("--gen-count", type=int, default=300, help="generator texts per language")
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    import spacy
    os.makedirs(a.work, exist_ok=True)
    # the word lists nerd compiles in are the pinned spaCy's, every word of them
    root = os.path.join(HERE, "..", "..")
    fresh = subprocess.run([sys.executable, os.path.join(root, "tools", "gen_lang_words.py")], capture_output=True,
                           check=True).stdout
    with open(os.path.join(root, "src", "text", "lang_words.c"), "rb") as f:
        if f.read() != fresh:
            raise SystemExit("src/text/lang_words.c differs from tools/gen_lang_words.py's output for spaCy %s: rerun it"
                             % spacy.__version__)
    gen = gen_texts.generate(a.seed, a.gen_count) if a.gen_count else []
    total = bad = 0
    for lang in a.langs:
        t0 = time.time()
        folder = os.path.join(a.work, "blank-" + lang)
        spacy.blank(lang).to_disk(folder)
        own, from_man = lang_texts.generate(lang, a.seed, a.count)
        if lang != "en" and from_man < min(MIN_MAN_PARAGRAPHS, a.count // 2):
            raise SystemExit("%s: %d man-page paragraphs: install its manpages package (sh .ci/deps.sh)" % (lang, from_man))
        texts = own + gen
        texts_path = os.path.join(a.work, lang + ".texts.jsonl")
        with open(texts_path, "w", encoding="utf-8", newline="\n") as f:
            for t in texts:
                f.write(json.dumps({"text": t}, ensure_ascii=False) + "\n")
        nlp = spacy.load(folder)
        want = [spacy_tokens(nlp, t) for t in texts]
        got = nerd_tokens(a.nerd, folder, texts_path)
        if len(got) != len(want):
            raise SystemExit("%s: nerd answered %d docs for %d texts" % (lang, len(got), len(texts)))
        mism = [i for i in range(len(texts)) if want[i] != got[i]]
        ntok = sum(len(w) for w in want)
        print("%s: %d docs (%d man-page paragraphs, %d composed, %d generated), %d tokens, %d mismatches, %.1f s"
              % (lang, len(texts), from_man, len(own) - from_man, len(gen), ntok, len(mism), time.time() - t0))
        for i in mism[:SHOW]:
            print("  doc %d %s\n    text %r" % (i, first_difference(want[i], got[i]), texts[i][:300]))
        total += len(texts)
        bad += len(mism)
    print("lang-tokens: %d docs, %d mismatches" % (total, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
