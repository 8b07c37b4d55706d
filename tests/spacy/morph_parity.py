"""The morphologizer's parts of speech and morphology, and the senter's and parser's sentence starts,
of nerd's doc pipeline against spaCy on a real pipeline of another language (`make test-morph`):
fr_core_news_sm's morphologizer is a softmax over the shared tok2vec, as in the trained pipelines of
tools/train_pipelines.py, but with its own 197 labels and French texts.

Texts: --lang-texts texts of the model's language (tests/spacy/lang_texts.py: translated man pages and
composed texts) then --count texts of the differential generator (tests/spacy/gen_texts.py, --seed).
Compared per document: the tokens, each token's pos_ and str(morph), the sentence starts, heads and
labels and the entities (`nerd ner --pipeline doc --format tokens` against spacy.load(folder), tests/spacy/diff.py's
answers), and each token's lemma: fr_core_news_sm's French rule lemmatizer reads the pos the
morphologizer and attribute_ruler set. Ends with `morph-parity: MODEL N docs, M mismatched`; exits 1
when M > 0.

    build/venv/bin/python tests/spacy/morph_parity.py --nerd build/nerd --models models/fr_core_news_sm-3.8.0
"""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import diff  # noqa: E402
import gen_texts  # noqa: E402
import lang_texts  # noqa: E402


def check(args, model):
    lang = diff.model_lang(model)
    own = lang_texts.generate(lang, args.seed, args.lang_texts)[0] if lang != "en" else []
    texts = own + gen_texts.generate(args.seed, args.count, gen_texts.DEFAULT_GOLDEN)
    path = os.path.join(args.work, "texts-%s-%d-%d-%d.jsonl" % (lang, args.seed, len(own), args.count))
    diff.write_texts(texts, path)
    ref = diff.spacy_answers(model, path, args.work)
    toks = diff.nerd_cli(args.nerd, model, "doc", "tokens", path, len(texts))
    ents = diff.nerd_cli(args.nerd, model, "doc", "ents", path, len(texts))
    with open(os.path.join(model, "config.cfg"), encoding="utf-8") as f:
        config = f.read()
    parse = 'factory = "parser"' in config
    bad = []
    for i, text in enumerate(texts):
        d = diff.compare_ents(ref[i]["ents_full"], ents[i])
        if d is None:
            d = diff.compare_tokens(ref[i], toks[i], parse=parse, sents=True, doc_fields=True)
        if d:
            bad.append((i, d, text))
    # what the comparison had to reproduce: tokens with a part of speech and with features
    ntok = sum(len(r["pos"]) for r in ref)
    nfeats = sum(1 for r in ref for m in r["morph"] if m)
    print("morph-parity: %s (%s): %d docs (%d of %s, %d generated), %d tokens, %d with features, %d mismatched"
          % (model, lang, len(texts), len(own), lang, args.count, ntok, nfeats, len(bad)))
    for i, (field, what), text in bad[:args.show]:
        print("  doc %d, %s %s\n    text: %s" % (i, field, what, diff.readable_json(text)[:300]))
    return len(bad)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nerd", required=True)
    ap.add_argument("--models", nargs="+", required=True)
    ap.add_argument("--lang-texts", type=int, default=400)
    ap.add_argument("--count", type=int, default=300, help="texts of the differential generator")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--work", default="build/morph-parity")
    ap.add_argument("--show", type=int, default=5)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    t0 = time.monotonic()
    mismatched = sum(check(args, m.rstrip("/")) for m in args.models)
    print("morph-parity: %d models, %d mismatched documents (%.0f s)" % (len(args.models), mismatched,
                                                                     time.monotonic() - t0))
    return 1 if mismatched else 0


if __name__ == "__main__":
    sys.exit(main())
