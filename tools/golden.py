#!/usr/bin/env python3
"""Golden files: what spaCy computes for a model folder and a set of texts, in the format of
../shared/golden/README.md (tokens, ents, dict, ner_only where it differs, sent_starts, heads,
deps), one JSON line per document.

    build/venv/bin/python tools/golden.py --model DIR --out OUT.jsonl INPUT.jsonl...

An input line needs "id" and "text" (a shared golden file is such an input: its other fields are
ignored). Run with the venv of `make venv` (spaCy pinned in tools/requirements.txt); the output is
deterministic for a given folder, texts and versions.
"""
import argparse
import json
import os
import sys

import spacy

# What SEED_NER_ONLY=1 loads (bench/seed/server.py): every component but the ner.
NOT_NER = ["tok2vec", "tagger", "parser", "senter", "attribute_ruler", "lemmatizer"]
BATCH = 64  # the shared golden files' nlp.pipe batch size


def token_fields(t):
    return {"text": t.text, "idx": t.idx, "ws": t.whitespace_, "norm": t.norm_, "prefix": t.prefix_,
            "suffix": t.suffix_, "shape": t.shape_, "is_space": t.is_space}


def ents_and_dict(doc):
    ents = [{"start_char": e.start_char, "end_char": e.end_char, "text": e.text, "label": e.label_,
             "start": e.start, "end": e.end} for e in doc.ents]
    return ents, {e.text: e.label_ for e in doc.ents}  # the seed server's answer, dict semantics


def read_inputs(paths):
    docs = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                d = json.loads(line)
                if not isinstance(d.get("id"), str) or not isinstance(d.get("text"), str):
                    sys.exit(f"{path}:{n}: a line needs a string id and a string text")
                docs.append((d["id"], d["text"]))
    return docs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="spaCy pipeline folder")
    ap.add_argument("--out", required=True, help="output JSONL")
    ap.add_argument("inputs", nargs="+", help="JSONL files with id and text")
    a = ap.parse_args()
    docs = read_inputs(a.inputs)
    texts = [t for _, t in docs]
    full = spacy.load(a.model)
    ner_only = spacy.load(a.model, exclude=NOT_NER)
    with open(a.out + ".tmp", "w", encoding="utf-8") as out:
        pairs = zip(docs, full.pipe(texts, batch_size=BATCH), ner_only.pipe(texts, batch_size=BATCH))
        for (doc_id, text), doc, alone in pairs:
            ents, dct = ents_and_dict(doc)
            line = {"id": doc_id, "text": text, "tokens": [token_fields(t) for t in doc], "ents": ents, "dict": dct}
            alone_ents, alone_dict = ents_and_dict(alone)
            if alone_ents != ents or list(alone_dict.items()) != list(dct.items()):
                line["ner_only"] = {"ents": alone_ents, "dict": alone_dict}
            line["sent_starts"] = [t.i for t in doc if t.is_sent_start]
            line["heads"] = [t.head.i for t in doc]
            line["deps"] = [t.dep_ for t in doc]
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
    os.replace(a.out + ".tmp", a.out)
    print(f"{a.out}: {len(docs)} documents from {a.model} (spaCy {spacy.__version__})", file=sys.stderr)


if __name__ == "__main__":
    main()
