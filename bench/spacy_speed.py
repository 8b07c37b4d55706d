#!/usr/bin/env python3
"""make bench: spaCy's speed per document on the model folder nerd runs, beside nerd's figures
from bench/engine.c (--nerd FILE, its --json output) and the ratios nerd/spaCy (how many times
spaCy's time a document takes nerd's). One process, one thread: numpy's BLAS and blis are held to
one thread before they load, and the script checks that the process has one thread and used no
more CPU time than wall time. Texts: the seed's Paris text (ms/doc, median of --runs calls of
nlp(text); nlp.pipe over copies of it) and the golden texts (words/s, one pass of nlp(text) per
document and one of nlp.pipe over all). Pipelines: the ner alone; spacy.load's full pipeline (what
the article's readers run, set beside nerd's full pipeline and its doc pipeline, the whole Doc); and its components that nerd's full pipeline computes (tok2vec,
parser, ner: bench/seed/pipelines.py)."""
import os

# before numpy and blis load: they size their thread pools at import
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import glob  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench", "seed"))
import pipelines  # noqa: E402
import spacy  # noqa: E402

SHARED = os.path.join(ROOT, "..", "shared")
# warm-up calls before timing (the first calls allocate and fill CPU caches), and the copies of
# Paris one nlp.pipe call gets, whose median over PIPE_REPEATS calls is the pipe figure
WARMUP_CALLS, PIPE_COPIES, PIPE_REPEATS = 5, 50, 5
# spaCy's pipeline -> nerd's pipeline of the same name in the engine's figures
NERD_PIPELINE = {"ner": "ner", "full": "full", "nerd-full": "full"}
TITLE = {"ner": "ner alone (with the tok2vec it listens to, if any)", "full": "spacy.load's full pipeline",
         "nerd-full": "the components nerd's full pipeline computes"}


def words(doc):
    return sum(not t.is_space for t in doc)


def time_paris(nlp, paris, runs):
    """(ms/doc of nlp(text), median of runs; ms/doc of nlp.pipe over PIPE_COPIES copies, median of PIPE_REPEATS)."""
    one = []
    for _ in range(runs):
        t0 = time.perf_counter()
        nlp(paris)
        one.append(time.perf_counter() - t0)
    piped = []
    for _ in range(PIPE_REPEATS):
        t0 = time.perf_counter()
        for _doc in nlp.pipe([paris] * PIPE_COPIES):
            pass
        piped.append((time.perf_counter() - t0) / PIPE_COPIES)
    return statistics.median(one) * 1e3, statistics.median(piped) * 1e3


def time_golden(nlp, texts):
    """(words/s of nlp(text) per document, words/s of nlp.pipe over all, words), one pass each."""
    t0, n = time.perf_counter(), 0
    for text in texts:
        n += words(nlp(text))
    one = n / (time.perf_counter() - t0)
    t0, n_piped = time.perf_counter(), 0
    for doc in nlp.pipe(texts):
        n_piped += words(doc)
    return one, n_piped / (time.perf_counter() - t0), n


def ratio(nerd_ms, spacy_ms):
    return f"{spacy_ms / nerd_ms:.2f}x" if nerd_ms else "-"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="the model folder (nerd's and spaCy's)")
    ap.add_argument("--nerd", required=True, help="bench/engine.c's --json output")
    ap.add_argument("--runs", type=int, default=101, help="timed nlp(text) calls on Paris per pipeline")
    ap.add_argument("--docs", type=int, default=0, help="golden documents to time (0: all)")
    ap.add_argument("--pipelines", default="ner,full,nerd-full")
    args = ap.parse_args()
    with open(args.nerd) as f:
        nerd = json.load(f)
    with open(os.path.join(SHARED, "corpus", "paris.txt")) as f:
        paris = f.read()
    texts = []
    for path in sorted(glob.glob(os.path.join(SHARED, "golden", "*.jsonl"))):
        with open(path) as f:
            texts += [json.loads(line)["text"] for line in f if line.strip()]
    if args.docs:
        texts = texts[:args.docs]

    meta = spacy.util.load_meta(os.path.join(args.model, "meta.json"))
    print(f"spaCy {spacy.__version__}, {meta['lang']}_{meta['name']} {meta['version']} from {args.model}; "
          f"one process, {', '.join(v + '=1' for v in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS', 'BLIS_NUM_THREADS'))}")
    print(f"nerd: bench/engine.c's figures of this run (kernels: exact {nerd['kernels']['exact']}, "
          f"bf16 {nerd['kernels']['bf16']}, int8 {nerd['kernels']['int8']}); ratio = spaCy's time per document / "
          f"nerd's (>1: nerd is faster)")
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for name in args.pipelines.split(","):
        nlp = pipelines.load(args.model, name)
        for _ in range(WARMUP_CALLS):
            nlp(paris)
        list(nlp.pipe(texts[:200]))
        one_ms, pipe_ms = time_paris(nlp, paris, args.runs)
        g_one, g_pipe, g_words = time_golden(nlp, texts)
        pw = words(nlp(paris))
        p = NERD_PIPELINE[name]
        print(f"\n{TITLE[name]} ({' '.join(nlp.pipe_names)}):")
        print(f"  Paris ({pw} words): spaCy nlp(text) {one_ms:.3f} ms/doc ({pw / one_ms * 1e3:,.0f} words/s), "
              f"nlp.pipe {pipe_ms:.3f} ms/doc ({pw / pipe_ms * 1e3:,.0f} words/s)")
        print(f"  golden texts ({len(texts)} docs, {g_words} words, one pass): spaCy nlp(text) {g_one:,.0f} words/s, "
              f"nlp.pipe {g_pipe:,.0f} words/s")
        for q in ("exact", "bf16", "int8"):
            ms, ws = nerd["paris"][f"{p} {q} ms"], nerd["golden"][f"{p} {q} words/s"]
            if not ms and not ws:  # bench/engine.c did not run it: the folder has no parser
                print(f"    nerd --pipeline {p}: not run (the folder has no parser)")
                break
            print(f"    nerd --pipeline {p} {q:5s}: Paris {ms:.3f} ms/doc, {ratio(ms, one_ms)} spaCy's nlp(text), "
                  f"{ratio(ms, pipe_ms)} its nlp.pipe; golden {ws:,.0f} words/s, {ratio(1 / ws if ws else 0, 1 / g_one)} "
                  f"and {ratio(1 / ws if ws else 0, 1 / g_pipe)}")
        doc_ms, doc_ws = nerd["paris"].get("doc exact ms", 0), nerd["golden"].get("doc exact words/s", 0)
        if name == "full" and doc_ms:  # spacy.load's whole pipeline is what nerd's doc pipeline computes
            print(f"    nerd --pipeline doc exact: Paris {doc_ms:.3f} ms/doc, {ratio(doc_ms, one_ms)} spaCy's nlp(text), "
                  f"{ratio(doc_ms, pipe_ms)} its nlp.pipe; golden {doc_ws:,.0f} words/s, "
                  f"{ratio(1 / doc_ws if doc_ws else 0, 1 / g_one)} and {ratio(1 / doc_ws if doc_ws else 0, 1 / g_pipe)} "
                  f"(the whole Doc: {doc_ms / nerd['paris']['ner exact ms']:.2f}x nerd's entities alone)")
        if pw != nerd["paris"]["words"] or (len(texts) == nerd["golden"]["docs"] and g_words != nerd["golden"]["words"]):
            print(f"  NOTE: word counts differ (nerd: Paris {nerd['paris']['words']}, golden {nerd['golden']['words']})")
        elif len(texts) != nerd["golden"]["docs"]:
            print(f"  NOTE: spaCy timed {len(texts)} of the {nerd['golden']['docs']} golden documents nerd did (--docs)")
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    threads = len(os.listdir("/proc/self/task"))
    print(f"\nspaCy's single thread, checked: {threads} thread(s) in the process; CPU time / wall time over the "
          f"timed runs {cpu / wall:.2f} ({cpu:.1f} s / {wall:.1f} s)")
    # more CPU than wall time means a second thread computed; under 1 only says the machine was busy
    if threads != 1 or cpu > wall * 1.05:
        sys.exit("spacy_speed: spaCy did not run on one thread")


if __name__ == "__main__":
    main()
