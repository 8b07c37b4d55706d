"""nerd's tokens against spaCy's on the adversarial texts of adversarial.py: text, idx,
whitespace and the lexical attributes `nerd tokenize` prints must be identical.

Run by `make test-spacy-tokens` (build/venv's pytest); NERD_BIN and NERD_MODEL name the binary
and the model folder (defaults: build/nerd, ../shared/models/en_core_web_sm)."""
import json
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import adversarial  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
NERD_BIN = os.environ.get("NERD_BIN", os.path.join(ROOT, "build", "nerd"))
MODEL = os.environ.get("NERD_MODEL", os.path.join(ROOT, "..", "shared", "models", "en_core_web_sm"))
# spaCy's tokenizer is quadratic on these texts: 2,000 characters take it about a second at most
SIZES = (1, 64, 2000)
FIELDS = ("text", "idx", "ws", "norm", "prefix", "suffix", "shape", "is_space", "like_num", "is_stop")


@pytest.fixture(scope="module")
def nlp():
    spacy = pytest.importorskip("spacy")
    return spacy.load(MODEL)


def spacy_tokens(nlp, text):
    return [{"text": t.text, "idx": t.idx, "ws": t.whitespace_, "norm": t.norm_, "prefix": t.prefix_,
             "suffix": t.suffix_, "shape": t.shape_, "is_space": t.is_space, "like_num": t.like_num,
             "is_stop": t.is_stop} for t in nlp.tokenizer(text)]


def nerd_tokens(text):
    out = subprocess.run([NERD_BIN, "tokenize", "--model", MODEL, "-"], input=text.encode(),
                         capture_output=True, timeout=60, check=True)
    return [{k: v for k, v in json.loads(line).items() if k in FIELDS} for line in out.stdout.splitlines()]


CASES = [(kind, size, text) for size in SIZES for kind, text in adversarial.texts(size)]


@pytest.mark.parametrize("kind,size,text", CASES, ids=[f"{k}-{s}" for k, s, _ in CASES])
def test_tokens_identical(nlp, kind, size, text):
    want, got = spacy_tokens(nlp, text), nerd_tokens(text)
    for i, (w, g) in enumerate(zip(want, got)):
        assert g == w, f"{kind} ({len(text)} chars): token {i} differs"
    assert len(got) == len(want), f"{kind}: {len(got)} tokens, spaCy {len(want)}"
