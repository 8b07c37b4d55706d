"""spaCy's rule lemmatizer and noun chunks (English and French) as the reference for nerd's
(src/components/lemmatizer.c, src/components/noun_chunks.c; `make test-lemma`).

Runs a pipeline folder over the golden texts (../shared/golden/*.jsonl), --lang-texts texts of
its language when it is not English (tests/spacy/lang_texts.py: translated man pages and composed
texts, as `make test-languages` uses) and the differential generator's texts (tests/spacy/gen_texts.py,
same seed as `make test-spacy`), then random dependency trees (non-projective ones included, with
the labels of the language's syntax iterator) given to spaCy's Doc, whose edges spaCy propagates a
pass at a time and may leave short of the subtree's first or last token. Every
component but the lemmatizer runs first, so the lemma a token holds then is the one the
attribute_ruler set (spaCy's lemmatizer, overwrite=False, keeps it); then the lemmatizer runs.
Writes one JSON-lines file:
  line 1: {"model": DIR} (the checker loads the lemmatizer as DIR/config.cfg configures it)
  then a line per doc: {"id", "tokens": [[text, pos, morph, preset, lemma, head, dep, left_edge,
                                          right_edge], ...],
                        "chunks": [[start, end], ...]}
  where preset is the lemma set before the lemmatizer ran ("" when none), lemma the final one,
  head the head's index in the doc and chunks doc.noun_chunks.

    build/venv/bin/python tests/lemma/gen_cases.py --model DIR --out FILE [--lang-texts N] [golden.jsonl...]
"""
import argparse
import importlib.util
import json
import os
import random
import sys

import spacy
from spacy.tokens import Doc

HERE = os.path.dirname(os.path.abspath(__file__))


def load_gen_texts():
    spec = importlib.util.spec_from_file_location("gen_texts", os.path.join(HERE, "..", "spacy", "gen_texts.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# Random trees: labels and tags that make chunks, and others that do not, per language (English's
# ClearNLP labels; French's Universal Dependencies ones, with the right children that end a chunk).
TREE_DEPS = {
    "en": ["nsubj", "dobj", "pobj", "conj", "ROOT", "appos", "attr", "amod", "det", "prep", "cc", "punct"],
    "fr": ["nsubj", "nsubj:pass", "obj", "obl", "obl:arg", "nmod", "conj", "ROOT", "appos", "amod", "det",
           "case", "cc", "flat:name", "fixed", "punct", "advmod"],
}
TREE_POS = {
    "en": ["NOUN", "PROPN", "PRON", "VERB", "ADJ", "DET", "ADP"],
    "fr": ["NOUN", "PROPN", "PRON", "VERB", "ADJ", "DET", "ADP", "CCONJ"],
}
TREE_WORDS = {
    "en": ["dogs", "Paris", "it", "ran", "better", "the", "of", "leaves", "Americans", "went"],
    "fr": ["chevaux", "Paris", "elle", "allait", "meilleurs", "les", "du", "aux", "Français", "et"],
}


def random_tree(rng, vocab, lang):
    """A forest over n tokens: each token, in a random order, takes an earlier one as its head
    or becomes a root, so there is no cycle and arcs may cross."""
    n = rng.randint(1, 24)
    order = list(range(n))
    rng.shuffle(order)
    heads = list(range(n))
    for k, i in enumerate(order):
        if k and rng.random() < 0.85:
            heads[i] = order[rng.randrange(k)]
    deps = [("ROOT" if heads[i] == i else rng.choice(TREE_DEPS[lang])) for i in range(n)]
    return Doc(vocab, words=[rng.choice(TREE_WORDS[lang]) for _ in range(n)], heads=heads, deps=deps,
               pos=[rng.choice(TREE_POS[lang]) for _ in range(n)])


def record(doc_id, doc, preset):
    tokens = [[t.text, t.pos_, str(t.morph), preset[t.i], t.lemma_, t.head.i, t.dep_, t.left_edge.i, t.right_edge.i]
              for t in doc]
    chunks = [[c.start, c.end] for c in doc.noun_chunks] if doc.has_annotation("DEP") else []
    return json.dumps({"id": doc_id, "tokens": tokens, "chunks": chunks}, ensure_ascii=False) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--count", type=int, default=5000)
    ap.add_argument("--trees", type=int, default=3000)
    ap.add_argument("--lang-texts", type=int, default=0)
    ap.add_argument("golden", nargs="*")
    args = ap.parse_args()

    texts = []
    for path in args.golden:
        name = os.path.splitext(os.path.basename(path))[0]
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f):
                if line.strip():
                    rec = json.loads(line)
                    texts.append((f"{name}:{rec.get('id', n)}", rec["text"]))
    nlp = spacy.load(args.model)
    if nlp.lang not in TREE_DEPS:
        sys.exit(f"gen_cases: no noun chunk labels for language {nlp.lang!r}")
    if args.lang_texts:
        sys.path.insert(0, os.path.join(HERE, "..", "spacy"))
        import lang_texts  # noqa: E402
        own = lang_texts.generate(nlp.lang, args.seed, args.lang_texts)[0]
        texts += [(f"{nlp.lang}:{n}", text) for n, text in enumerate(own)]
    gen = load_gen_texts()
    golden_dir = os.path.dirname(os.path.abspath(args.golden[0])) if args.golden else gen.DEFAULT_GOLDEN
    for n, text in enumerate(gen.generate(args.seed, args.count, golden_dir)):
        texts.append((f"gen:{n}", text))

    lemmatizer = nlp.get_pipe("lemmatizer")
    tmp = args.out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as out:
        out.write(json.dumps({"model": args.model}) + "\n")
        docs = nlp.pipe((t for _, t in texts), disable=["lemmatizer"], batch_size=64)
        for (doc_id, _), doc in zip(texts, docs):
            preset = [t.lemma_ for t in doc]
            lemmatizer(doc)
            out.write(record(doc_id, doc, preset))
        rng = random.Random(args.seed)
        for k in range(args.trees):
            doc = random_tree(rng, nlp.vocab, nlp.lang)
            lemmatizer(doc)
            out.write(record(f"tree:{k}", doc, [""] * len(doc)))
    os.replace(tmp, args.out)
    print(f"gen_cases: {len(texts)} texts and {args.trees} trees through {args.model} into {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
