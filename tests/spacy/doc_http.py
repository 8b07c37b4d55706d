"""POST /doc and POST /displacy of `nerd serve` against spaCy on the same model folder (`make test-doc-http`).

For every text (the 2,672 golden texts and --count generated ones, tests/spacy/gen_texts.py), spaCy's
  - doc.to_json() (with --noun-chunks and {"noun_chunks": true}, plus "noun_chunks": the start and
    end characters of each of doc.noun_chunks, as /doc adds them),
  - displacy.parse_ents(doc),
  - displacy.parse_deps(doc, options) for each of OPTION_SETS (the defaults first),
of spacy.load(folder) must equal nerd's answer to the same request, as parsed JSON, field by field
(with --without-tags, spaCy's answer without tags, parts of speech, morphology and lemmas: for a
nerd that does not compute them). A mismatch is one text
where any answer differs; the first ones are printed with the field. The last line is
`doc-http: N docs, M mismatches` (N = texts x models); the exit status is non-zero on any.

    build/venv/bin/python tests/spacy/doc_http.py --nerd build/nerd --models DIR... [--count 2000]
"""
import argparse
import http.client
import json
import os
import sys
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "bench", "seed"))
import diff  # noqa: E402  (nerd serve started and probed as test-spacy does)
import gen_texts  # noqa: E402
import pipelines  # noqa: E402

BATCH_TEXTS = 64
HTTP_TIMEOUT_SECONDS = 120
SHOWN_MISMATCHES = 5
# parse_deps' options as /displacy takes them with "style": "dep" in {"options": ...}; the defaults first
OPTION_SETS = [{}, {"fine_grained": True, "add_lemma": True}, {"collapse_punct": False}]
PHRASE_OPTIONS = {"collapse_phrases": True}  # with --noun-chunks: merges doc.noun_chunks


def post(port, path, body):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=HTTP_TIMEOUT_SECONDS)
    c.request("POST", path, json.dumps(body, ensure_ascii=False).encode(), {"Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    c.close()
    if r.status != 200:
        raise RuntimeError("POST %s: %d %s" % (path, r.status, data[:300]))
    return json.loads(data)


def without_tags(answer):
    """spaCy's answer with no tags, parts of speech, morphology or lemmas: what a nerd that does not
    compute them answers (to_json() leaves their fields out, parse_deps' words have "" for them)."""
    for t in answer["doc"]["tokens"]:
        for field in ("tag", "pos", "morph", "lemma"):
            t.pop(field, None)
    for words in (d["words"] for d in answer["dep"]):
        for w in words:
            w["tag"] = ""
            if w["lemma"] is not None:
                w["lemma"] = ""
    return answer


def spacy_answers(nlp, texts, option_sets, noun_chunks):
    from spacy import displacy
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # displaCy's W005/W006 on docs without arcs or entities
        for doc in nlp.pipe(texts):
            deps = [displacy.parse_deps(doc, dict(o)) for o in option_sets]
            ents = displacy.parse_ents(doc)
            data = doc.to_json()
            if noun_chunks:
                data["noun_chunks"] = [{"start": c.start_char, "end": c.end_char} for c in doc.noun_chunks]
            out.append({"doc": data, "ent": ents, "dep": deps})
    return out


def nerd_answers(port, texts, option_sets, noun_chunks):
    out = []
    for i in range(0, len(texts), BATCH_TEXTS):
        batch = texts[i:i + BATCH_TEXTS]
        body = {"texts": batch}
        docs = post(port, "/doc", dict(body, noun_chunks=True) if noun_chunks else body)["docs"]
        ents = post(port, "/displacy", dict(body, style="ent"))["docs"]
        deps = [post(port, "/displacy", dict(body, style="dep", options=o))["docs"] for o in option_sets]
        for k in range(len(batch)):
            out.append({"doc": docs[k], "ent": ents[k], "dep": [d[k] for d in deps]})
    return out


def first_difference(want, got, where=""):
    """The path of the first field where got differs from want, with both values."""
    if type(want) is not type(got):
        return "%s: %r != %r" % (where or ".", got, want)
    if isinstance(want, dict):
        if list(want) != list(got):
            return "%s keys: %s != %s" % (where or ".", list(got), list(want))
        for k in want:
            d = first_difference(want[k], got[k], "%s.%s" % (where, k))
            if d:
                return d
    elif isinstance(want, list):
        for i, (w, g) in enumerate(zip(want, got)):
            d = first_difference(w, g, "%s[%d]" % (where, i))
            if d:
                return d
        if len(want) != len(got):
            return "%s: %d items != %d" % (where, len(got), len(want))
    elif want != got:
        return "%s: %r != %r" % (where or ".", got, want)
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nerd", required=True)
    ap.add_argument("--models", nargs="+", required=True)
    ap.add_argument("--work", default="build/doc-http")
    ap.add_argument("--without-tags", action="store_true",
                    help="compare without tags, parts of speech, morphology and lemmas (a nerd that computes none)")
    ap.add_argument("--noun-chunks", action="store_true", help="also compare doc.noun_chunks and collapse_phrases")
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--golden", default=gen_texts.DEFAULT_GOLDEN)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    texts = gen_texts.load_golden_texts(args.golden) + gen_texts.generate(args.seed, args.count, args.golden)
    option_sets = OPTION_SETS + ([PHRASE_OPTIONS] if args.noun_chunks else [])
    docs = mismatches = 0
    for model in args.models:
        want = spacy_answers(pipelines.load(model, "full"), texts, option_sets, args.noun_chunks)
        if args.without_tags:
            want = [without_tags(w) for w in want]
        proc, port = diff.start_server(args.nerd, model, "full", os.path.join(args.work, "serve.log"))
        try:
            got = nerd_answers(port, texts, option_sets, args.noun_chunks)
        finally:
            proc.terminate()
            proc.wait()
        for text, w, g in zip(texts, want, got):
            docs += 1
            d = first_difference(w, g)
            if d:
                mismatches += 1
                if mismatches <= SHOWN_MISMATCHES:
                    print("MISMATCH %s %r\n  %s" % (os.path.basename(model), text[:200], d))
        print("%s: %d texts, /doc, /displacy ent and dep x %d option sets" % (model, len(texts), len(option_sets)))
    print("doc-http: %d docs, %d mismatches" % (docs, mismatches))
    return 1 if mismatches or docs == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
