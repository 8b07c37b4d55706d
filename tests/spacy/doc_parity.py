"""The whole Doc against spaCy (`make test-doc`): doc.to_json() and doc.noun_chunks, field by field.

For every model folder given, the golden texts (../shared/golden/*.jsonl, 2,672 documents) and the
differential generator's texts (tests/spacy/gen_texts.py, the seed and count of `make test-spacy`)
go through spacy.load(folder) (nlp.pipe as tests/spacy/diff.py runs it) and through
`nerd ner --format doc --noun-chunks --jsonl` (the doc pipeline). Per document, compared: the keys
to_json() writes, the text, ents, sents, every token's id, start, end, tag, pos, morph, lemma, dep and
head, and the noun chunks as character spans. A document is identical when every field is. The
last line is `doc-parity: N docs, M identical` and the exit status is non-zero unless M == N.
With --lang-texts N, N texts of the models' language (tests/spacy/lang_texts.py: translated man
pages and composed texts; the models must share it) take the golden texts' place: the French
pipelines' lemmas (FrenchLemmatizer) and noun chunks (the French syntax iterator) on French text.

    build/venv/bin/python tests/spacy/doc_parity.py --nerd build/nerd --models DIR... [--seed 13] [--count 5000]
        [--lang-texts N]
"""
import argparse
import concurrent.futures
import glob
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gen_texts  # noqa: E402
import lang_texts  # noqa: E402
from diff import (first_difference, model_lang, nerd_cli, readable_json, spacy_batch, spacy_cache_key,  # noqa: E402
                  write_texts)

TOKEN_FIELDS = ("id", "start", "end", "tag", "pos", "morph", "lemma", "dep", "head")


def spacy_docs(model, texts_path, work):
    """spaCy's doc.to_json() plus "noun_chunks" per text, cached in work/ under the texts, folder and versions."""
    out = os.path.join(work, "spacy-doc-%s.jsonl" % spacy_cache_key(model, texts_path))
    if not os.path.exists(out):
        import spacy
        texts = [json.loads(line)["text"] for line in open(texts_path, encoding="utf-8", newline="\n")]
        nlp = spacy.load(model)
        tmp = "%s.%d.tmp" % (out, os.getpid())
        with open(tmp, "w", encoding="utf-8") as f:
            for doc in nlp.pipe(texts, batch_size=spacy_batch(model)):
                data = doc.to_json()
                if doc.has_annotation("DEP"):
                    data["noun_chunks"] = [{"start": c.start_char, "end": c.end_char} for c in doc.noun_chunks]
                f.write(json.dumps(data, ensure_ascii=False) + "\n")
        os.replace(tmp, out)
    return [json.loads(line) for line in open(out, encoding="utf-8", newline="\n")]


def compare(want, got):
    """The first field where nerd's doc differs from spaCy's, as (field, difference), or None."""
    if "error" in got:
        return "error", got["error"]
    if list(want) != list(got):
        return "keys", "spaCy %s, nerd %s" % (list(want), list(got))
    for key in want:
        if key == "tokens":
            continue
        if want[key] != got[key]:
            return key, first_difference(want[key], got[key]) if isinstance(want[key], list) else "differs"
    if len(want["tokens"]) != len(got["tokens"]):
        return "tokens", first_difference(want["tokens"], got["tokens"])
    for field in TOKEN_FIELDS:
        a = [t.get(field) for t in want["tokens"]]
        b = [t.get(field) for t in got["tokens"]]
        if a != b or any((field in t) != (field in u) for t, u in zip(want["tokens"], got["tokens"])):
            return "tokens." + field, first_difference(a, b)
    return None


def golden_texts(golden_dir):
    out = []
    for path in sorted(glob.glob(os.path.join(golden_dir, "*.jsonl"))):
        name = os.path.splitext(os.path.basename(path))[0]
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f):
                if line.strip():
                    rec = json.loads(line)
                    out.append(("%s:%s" % (name, rec.get("id", n)), rec["text"]))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nerd", required=True)
    ap.add_argument("--models", nargs="+", required=True)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--count", type=int, default=5000)
    ap.add_argument("--golden", default=gen_texts.DEFAULT_GOLDEN)
    ap.add_argument("--work", default="build/doc-parity")
    ap.add_argument("--show", type=int, default=10)
    ap.add_argument("--lang-texts", type=int, default=0, help="texts of the models' language instead of the golden ones")
    args = ap.parse_args()

    t0 = time.monotonic()
    os.makedirs(args.work, exist_ok=True)
    models = [m.rstrip("/") for m in args.models]
    first_kind = "golden"
    if args.lang_texts:
        langs = sorted({model_lang(m) for m in models})
        if len(langs) != 1:
            sys.exit("doc-parity: --lang-texts needs models of one language, not %s" % langs)
        first_kind = langs[0]
        docs = [("%s:%d" % (first_kind, n), t) for n, t in enumerate(lang_texts.generate(first_kind, args.seed,
                                                                                        args.lang_texts)[0])]
    else:
        docs = golden_texts(args.golden)
    ngolden = len(docs)
    docs += [("gen:%d" % n, t) for n, t in enumerate(gen_texts.generate(args.seed, args.count, args.golden))]
    texts = [t for _, t in docs]
    texts_path = os.path.join(args.work, "texts-%s-%d-%d.jsonl" % (first_kind, args.seed, args.count))
    write_texts(texts, texts_path)

    mismatches, identical = [], {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        nerd_jobs = {m: pool.submit(nerd_cli, args.nerd, m, "doc", "doc", texts_path, len(texts), ("--noun-chunks",))
                     for m in models}
        for m in models:
            ref = spacy_docs(m, texts_path, args.work)
            got = nerd_jobs[m].result()
            for i, (doc_id, text) in enumerate(docs):
                diff = compare(ref[i], got[i])
                src = first_kind if i < ngolden else "generated"
                identical.setdefault((m, src), [0, 0])[1] += 1
                if diff:
                    mismatches.append({"model": m, "doc": doc_id, "field": diff[0], "diff": diff[1], "text": text})
                else:
                    identical[(m, src)][0] += 1

    with open(os.path.join(args.work, "mismatches.jsonl"), "w", encoding="utf-8") as f:
        for mm in mismatches:
            f.write(json.dumps(mm, ensure_ascii=False) + "\n")
    for mm in mismatches[:args.show]:
        print("MISMATCH %s %s %s %s\n  text: %s" % (mm["model"], mm["doc"], mm["field"], mm["diff"],
                                                  readable_json(mm["text"])[:400]))
    by_field = {}
    for mm in mismatches:
        by_field[mm["field"]] = by_field.get(mm["field"], 0) + 1
    for key in sorted(by_field):
        print("doc-parity: %5d first differing in %s" % (by_field[key], key))
    for (m, src), (same, n) in sorted(identical.items()):
        print("doc-parity: %s %s: %d of %d identical" % (m, src, same, n))
    total = len(texts) * len(models)
    print("doc-parity: %.0f s; mismatches in %s" % (time.monotonic() - t0, os.path.join(args.work, "mismatches.jsonl")))
    print("doc-parity: %d docs, %d identical" % (total, total - len(mismatches)))
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
