"""The matrix test of issue 19 (`make test-pipelines`): every custom-trained pipeline of
tools/train_pipelines.py, spaCy against nerd, on the same texts.

Texts: the golden ewt texts the pipelines were not trained or tuned on (the first --golden-count after
train_pipelines' train and dev sets) and --gen-count texts of the differential generator
(tests/spacy/gen_texts.py, --seed). For each variant folder (build/pipelines/<variant>/model-last):
  - nerd loads it or refuses it. A refusal passes only when its message names the folder's config file
    and an architecture or factory that the config uses (REFUSED); one that names neither fails.
  - when nerd loads it: `nerd ner --pipeline full --format tokens` against spacy.load(folder) (tokens,
    each token's entity type, and, when the pipeline has a parser, sentence starts, heads and labels),
    `--format ents` of both pipelines against spaCy's entities (the ner pipeline: bench/seed/pipelines.py's
    ner_only_exclude). Every document must be identical (EXACT); any difference is MISMATCH. nerd's full
    pipeline includes the parse, so a folder without a parser refuses it by design (README): that column
    is n/a and the tokens are those of --pipeline ner.
The comparison code is tests/spacy/diff.py's (make test-spacy). Ends with a table per variant and
`pipelines-matrix: V variants x N texts: E exact, R refused by name, M mismatched`; exits 1 when M > 0.

    build/venv/bin/python tests/spacy/matrix.py --nerd build/nerd --pipelines build/pipelines
"""
import argparse
import concurrent.futures
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tools"))
import diff  # noqa: E402
import gen_texts  # noqa: E402
import train_pipelines  # noqa: E402

PIPELINES = ("full", "ner", "doc")
# The factories whose annotations only the doc pipeline computes: a variant with one of them gets a
# `--pipeline doc` column (pos, morph, lemma per token); the others' doc column is "-".
DOC_FACTORIES = ("morphologizer", "trainable_lemmatizer")
# A config's registered names: a refusal must name one of them.
REGISTERED = re.compile(r'^(?:@architectures|@layers|factory)\s*=\s*"([^"]+)"', re.M)


def config_facts(model):
    """(registered names the config uses, its pipeline's component names)."""
    text = open(os.path.join(model, "config.cfg"), encoding="utf-8").read()
    names = sorted(set(REGISTERED.findall(text)))
    pipeline = json.loads(re.search(r"^\[nlp\][^\[]*?^pipeline\s*=\s*(\[.*?\])\s*$", text, re.M | re.S).group(1))
    return names, pipeline


def load_check(nerd, model, pipeline):
    """None when nerd loads the folder for this pipeline, else its message (stderr)."""
    p = subprocess.run([nerd, "ner", "--model", model, "--pipeline", pipeline, "--format", "ents", "--jsonl", "-"],
                       input=b"", capture_output=True, timeout=120)
    if p.returncode == 0:
        return None
    return (p.stderr.decode(errors="replace").strip() or "exit status %d, no message" % p.returncode)


def refusal_names(message, model, names):
    """The registered names a refusal message mentions, when it also names the config file."""
    if "config.cfg" not in message:
        return []
    # not the command that speaks ("nerd ner: ..."), and whole names only: the factory "ner" is in
    # "nerd" and in "[components.ner.model]"
    message = re.sub(r"^nerd(?: \w+)?:", "", message)
    return [n for n in names if re.search(r"(?<![\w.])%s(?![\w.])" % re.escape(n), message)]


def check_variant(args, name, texts, texts_path):
    """One row of the table: per pipeline, 'exact', 'refused' or 'mismatched' with details."""
    model = train_pipelines.pipeline_dir(args.pipelines, name)
    if not os.path.isfile(os.path.join(model, "config.cfg")):
        raise SystemExit("pipelines-matrix: no pipeline %s: make pipelines trains it" % model)
    names, pipe_names = config_facts(model)
    row = {"variant": name, "pipes": ",".join(pipe_names), "names": names, "results": {}}
    parse = "parser" in pipe_names
    # a senter without a parser sets the sentence starts (and the ner respects them)
    sents = parse or "senter" in pipe_names
    doc_fields = any(f in pipe_names for f in DOC_FACTORIES)
    pipelines = PIPELINES if doc_fields else tuple(p for p in PIPELINES if p != "doc")
    if not doc_fields:
        row["results"]["doc"] = {"state": "-"}
    refusals = {p: load_check(args.nerd, model, p) for p in pipelines}
    for p, message in refusals.items():
        if message is not None and p == "full" and not sents and refusals["ner"] is None:
            # nerd's full pipeline is the parse as well (README): a folder without a parser is served
            # with --pipeline ner, whose tokens are then compared with spacy.load's
            row["results"][p] = {"state": "n/a", "detail": message}
        elif message is not None:
            named = refusal_names(message, model, names)
            row["results"][p] = {"state": "refused" if named else "mismatched", "named": named,
                                 "detail": message if named else "refused without naming the architecture "
                                 "and the file: " + message}
    if all(m is not None for m in refusals.values()):
        return row
    ref = diff.spacy_answers(model, texts_path, args.work)
    tokens_from = "full" if refusals["full"] is None else "ner"
    # what the comparison had to reproduce: a pipeline that finds no entity would prove little
    row["spacy_ents"] = sum(len(r["ents_ner"]) for r in ref)
    for p in pipelines:
        if refusals[p] is not None:
            continue
        bad = []
        ents = diff.nerd_cli(args.nerd, model, p, "ents", texts_path, len(texts))
        with_tokens = p == tokens_from or p == "doc"
        toks = diff.nerd_cli(args.nerd, model, p, "tokens", texts_path, len(texts)) if with_tokens else None
        for i, text in enumerate(texts):
            # the doc pipeline's entities are the full pipeline's (spacy.load's)
            d = diff.compare_ents(ref[i]["ents_" + ("full" if p == "doc" else p)], ents[i])
            if d is None and toks is not None:
                d = diff.compare_tokens(ref[i], toks[i], parse=parse, sents=sents, doc_fields=p == "doc")
            if d:
                bad.append({"doc": i, "field": d[0], "diff": d[1], "text": text})
        row["results"][p] = {"state": "mismatched" if bad else "exact", "bad": len(bad), "docs": len(texts),
                             "first": bad[:args.show]}
    return row


def cell(result):
    if result["state"] == "exact":
        return "EXACT %d/%d" % (result["docs"], result["docs"])
    if result["state"] == "refused":
        return "REFUSED"
    if result["state"] == "n/a":
        return "n/a (no parser)"
    if result["state"] == "-":
        return "-"
    if "bad" in result:
        return "MISMATCH %d/%d" % (result["bad"], result["docs"])
    return "REFUSED, UNNAMED"


def verdict(row):
    states = {r["state"] for r in row["results"].values()}
    return "mismatched" if "mismatched" in states else "refused" if "refused" in states else "exact"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nerd", required=True, help="the nerd binary")
    ap.add_argument("--pipelines", default="build/pipelines", help="tools/train_pipelines.py's --out")
    ap.add_argument("--variants", nargs="*", help="default: every variant of tools/train_pipelines.py")
    ap.add_argument("--golden-count", type=int, default=300, help="held-out golden texts")
    ap.add_argument("--gen-count", type=int, default=200, help="texts of the differential generator")
    ap.add_argument("--seed", type=int, default=19)
    ap.add_argument("--work", default="build/pipelines-matrix", help="texts, spaCy's cached answers")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--show", type=int, default=3, help="mismatched documents printed per variant and pipeline")
    args = ap.parse_args()
    t0 = time.monotonic()
    os.makedirs(args.work, exist_ok=True)
    held_out = train_pipelines.split_texts()[2]
    if len(held_out) < args.golden_count:
        raise SystemExit("pipelines-matrix: only %d held-out golden texts" % len(held_out))
    texts = held_out[:args.golden_count] + gen_texts.generate(args.seed, args.gen_count, gen_texts.DEFAULT_GOLDEN)
    texts_path = os.path.join(args.work, "texts-%d-%d-%d.jsonl" % (args.golden_count, args.seed, args.gen_count))
    diff.write_texts(texts, texts_path)
    variants = args.variants or list(train_pipelines.VARIANTS)
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        rows = list(pool.map(lambda v: check_variant(args, v, texts, texts_path), variants))

    width = max(len(v) for v in variants)
    print("\npipelines-matrix: %d texts a variant (%d held-out golden, %d generated with seed %d); nerd %s"
          % (len(texts), args.golden_count, args.gen_count, args.seed, args.nerd))
    print("%-*s  %-26s  %-16s  %-16s  %-16s  %-10s  %s" % (width, "variant", "pipes", "--pipeline full",
                                                          "--pipeline ner", "--pipeline doc", "result",
                                                          "spaCy's entities"))
    for row in rows:
        print("%-*s  %-26s  %-16s  %-16s  %-16s  %-10s  %s" % (width, row["variant"], row["pipes"],
                                                              cell(row["results"]["full"]),
                                                              cell(row["results"]["ner"]),
                                                              cell(row["results"]["doc"]), verdict(row).upper(),
                                                              row.get("spacy_ents", "-")))
    for row in rows:
        for p in PIPELINES:
            r = row["results"][p]
            if r["state"] in ("exact", "n/a", "-"):
                continue
            print("\n%s --pipeline %s: %s" % (row["variant"], p, cell(r)))
            if "detail" in r and p != "full" and r["detail"] == row["results"]["full"].get("detail"):
                print("  the same message as --pipeline full")
            elif "detail" in r:
                print("  " + r["detail"].replace("\n", "\n  "))
            for bad in r.get("first", []):
                print("  doc %d, %s %s\n    text: %s" % (bad["doc"], bad["field"], bad["diff"],
                                                         diff.readable_json(bad["text"])[:300]))
        if verdict(row) != "exact":
            print("  architectures and factories of its config: %s" % ", ".join(row["names"]))
    with open(os.path.join(args.work, "summary.json"), "w") as f:
        json.dump(rows, f, indent=1, ensure_ascii=False)
    # the same table in Markdown, for the README's "What loads"
    with open(os.path.join(args.work, "summary.md"), "w") as f:
        f.write("| variant | pipes | architectures | `--pipeline full` | `--pipeline ner` | `--pipeline doc` |\n"
                "|---|---|---|---|---|---|\n")
        for row in rows:
            archs = ", ".join(n.replace("spacy.", "") for n in row["names"] if n.startswith("spacy."))
            f.write("| %s | %s | %s | %s | %s | %s |\n" % (row["variant"], row["pipes"], archs,
                                                           cell(row["results"]["full"]), cell(row["results"]["ner"]),
                                                           cell(row["results"]["doc"])))
    counts = {s: sum(verdict(r) == s for r in rows) for s in ("exact", "refused", "mismatched")}
    print("\npipelines-matrix: %d variants x %d texts: %d exact, %d refused by name, %d mismatched (%.0f s)"
          % (len(rows), len(texts), counts["exact"], counts["refused"], counts["mismatched"], time.monotonic() - t0))
    return 1 if counts["mismatched"] else 0


if __name__ == "__main__":
    sys.exit(main())
