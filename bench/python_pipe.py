#!/usr/bin/env python3
"""make bench: the Python package's nlp.pipe on 1 and 2 threads against spaCy's nlp.pipe, the same
model folder, pipeline and texts (the 2,672 golden texts), in one run: docs/s (median of --runs
passes, after one warm-up pass each), the CPU seconds a pass used per wall second (how many cores
it kept busy) and docs per CPU second (the cost, which other load on the machine leaves alone). Both sides run with their defaults otherwise (spaCy's numpy BLAS threads too), as a
user's program would. Every pass's entities are checked identical to spaCy's. The package comes
from the clone (python/, build/libnerd.so), the same code `pip install .` installs."""
import argparse
import json
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "python"), os.path.join(ROOT, "bench"), os.path.join(ROOT, "bench", "seed")]
import machine  # noqa: E402
import nerd  # noqa: E402
import pipelines  # noqa: E402

GOLDEN = [os.path.join(ROOT, "..", "shared", "golden", name + ".jsonl") for name in ("edge", "ewt", "ewt_train_sample")]


def ents(docs):
    return [[(e.start_char, e.end_char, e.label_) for e in doc.ents] for doc in docs]


def timed_passes(pipe, texts, runs):
    """(median docs/s, median CPU s per wall s, the last pass's docs) over runs passes after a warm-up."""
    list(pipe(texts))
    rates, cores, docs = [], [], None
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        docs = list(pipe(texts))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        rates.append(len(texts) / wall)
        cores.append(cpu / wall)
    return statistics.median(rates), statistics.median(cores), docs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=os.environ.get("NERD_MODEL", os.path.join(ROOT, "models", "en_core_web_sm-3.8.0")))
    ap.add_argument("--pipeline", choices=("doc", "full", "ner"), default="full",
                    help="nerd's pipeline; doc and full are both measured against spacy.load(path)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=nerd.DEFAULT_BATCH_SIZE)
    ap.add_argument("--json", help="write the figures to this file")
    args = ap.parse_args()
    texts = []
    for path in GOLDEN:
        with open(path, encoding="utf-8") as f:
            texts += [json.loads(line)["text"] for line in f]

    print(machine.line())
    print("load average before the run: %.2f %.2f %.2f (the machine's other work)" % os.getloadavg())
    print("nlp.pipe on %d golden texts, %s pipeline, model %s; median of %d passes" % (
        len(texts), args.pipeline, args.model, args.runs))
    spacy_nlp = pipelines.load(args.model, "full" if args.pipeline == "doc" else args.pipeline)
    nerd_nlp = nerd.load(args.model, pipeline=args.pipeline)
    rows = [("spaCy %s nlp.pipe" % pipelines.spacy.__version__,
             lambda t: spacy_nlp.pipe(t, batch_size=args.batch_size))]
    rows += [("nerd nlp.pipe, n_threads=%d" % n,
              lambda t, n=n: nerd_nlp.pipe(t, batch_size=args.batch_size, n_threads=n)) for n in (1, 2)]
    figures, reference = {}, None
    for name, pipe in rows:
        rate, cores, docs = timed_passes(pipe, texts, args.runs)
        if reference is None:
            reference = ents(docs)
        elif ents(docs) != reference:
            sys.exit("%s: entities differ from spaCy's" % name)
        figures[name] = {"docs_per_s": rate, "cpu_s_per_s": cores, "docs_per_cpu_s": rate / cores}
        print("  %-34s %8.0f docs/s  %.2f CPU s per s  %6.0f docs per CPU s" % (name, rate, cores, rate / cores))
    spacy_rate, one, two = (figures[name]["docs_per_s"] for name, _ in rows)
    print("  nerd 2 threads / 1 thread: %.2fx; nerd 1 thread / spaCy: %.1fx; nerd 2 threads / spaCy: %.1fx" % (
        two / one, one / spacy_rate, two / spacy_rate))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine.describe(), "pipeline": args.pipeline, "texts": len(texts),
                       "figures": figures}, f, indent=1)


if __name__ == "__main__":
    main()
