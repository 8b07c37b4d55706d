"""Differential test: nerd against live spaCy on generated texts (`make test-spacy`).

For every model folder given, the texts of tests/spacy/gen_texts.py go through
  - spaCy: spacy.load(folder) (the full pipeline) and spacy.load(folder, exclude=everything but ner);
  - nerd's library through its CLI: `nerd ner --jsonl --format tokens` and `--format ents`, both pipelines;
  - nerd's server: `POST /ents` with {"texts": [...]} to a `nerd serve` per pipeline on 127.0.0.1.
Compared per document: tokens (text, code-point offset, trailing space), sentence starts, heads and
dependency labels, each token's entity type, and the entity spans and labels of both pipelines.
A mismatch is one document (a text with one model) where any interface differs in any field; the
first differences are printed with the text and the field. The last line is `spacy-diff: N docs, M mismatches`
(N = texts x models) and the exit status is non-zero on any mismatch.

    build/venv/bin/python tests/spacy/diff.py --nerd build/nerd --models DIR... [--seed 13] [--count 5000]
"""
import argparse
import concurrent.futures
import hashlib
import http.client
import json
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "bench", "seed"))
import gen_texts  # noqa: E402
from pipelines import ner_only_exclude  # noqa: E402  (what nerd's --pipeline ner leaves out)

SPACY_BATCH = 64
# POST /ents bodies stay well under nerd serve's default 1 MiB limit.
HTTP_BATCH_TEXTS = 64
HTTP_BATCH_BYTES = 256 * 1024
SERVER_START_SECONDS = 60
HTTP_TIMEOUT_SECONDS = 120


def ents_of(doc):
    return [[e.start_char, e.end_char, e.label_, e.start, e.end] for e in doc.ents]


def spacy_batch(model):
    """spaCy's batch for a folder. A server answers nlp(text), one doc per call; nlp.pipe gives the
    same answers in batches when every encoder pads each doc (MaxoutWindowEncoder), but a
    MishWindowEncoder's window runs across the docs of a batch (thinc's with_array without pad),
    so there one doc per call is spaCy's answer to a request."""
    with open(os.path.join(model, "config.cfg"), encoding="utf-8") as f:
        return 1 if "MishWindowEncoder" in f.read() else SPACY_BATCH


def run_spacy(model, texts_path, out_path):
    """spaCy's answers for every text, one JSON line each (run in its own process)."""
    import spacy
    texts = [json.loads(line)["text"] for line in open(texts_path, encoding="utf-8", newline="\n")]
    full = spacy.load(model)
    ner = spacy.load(model, exclude=ner_only_exclude(full))
    batch = spacy_batch(model)
    # its own temporary file: two model folders with the same files (a copied variant) share a cache key
    tmp = "%s.%d.tmp" % (out_path, os.getpid())
    with open(tmp, "w", encoding="utf-8") as out:
        for doc, ner_doc in zip(full.pipe(texts, batch_size=batch), ner.pipe(texts, batch_size=batch)):
            out.write(json.dumps({
                "tokens": [[t.text, t.idx, bool(t.whitespace_)] for t in doc],
                "sent_starts": [t.i for t in doc if t.is_sent_start],
                "heads": [t.head.i for t in doc],
                "deps": [t.dep_ for t in doc],
                "ent_types": [t.ent_type_ for t in doc],
                "ents_full": ents_of(doc),
                "ents_ner": ents_of(ner_doc),
            }, ensure_ascii=False) + "\n")
    os.replace(tmp, out_path)


def spacy_cache_key(model, texts_path):
    """spaCy's answers depend on the texts, the model folder's files and the versions: rerun when any moves."""
    import spacy
    import thinc
    h = hashlib.sha256()
    h.update(open(texts_path, "rb").read())
    h.update(("%s %s" % (spacy.__version__, thinc.__version__)).encode())
    for root, dirs, files in sorted(os.walk(os.path.realpath(model))):
        dirs.sort()
        for name in sorted(files):
            st = os.stat(os.path.join(root, name))
            h.update(("%s %d %d\n" % (os.path.relpath(os.path.join(root, name), model), st.st_size,
                                      st.st_mtime_ns)).encode())
    return h.hexdigest()[:16]


def spacy_answers(model, texts_path, work):
    """run_spacy's answers in a process of their own, cached in work/ under spacy_cache_key."""
    out = os.path.join(work, "spacy-%s.jsonl" % spacy_cache_key(model, texts_path))
    if not os.path.exists(out):
        subprocess.run([sys.executable, os.path.abspath(__file__), "--nerd", "-", "--models", model,
                        "--spacy-one", model, texts_path, out], check=True)
    return [json.loads(line) for line in open(out, encoding="utf-8", newline="\n")]


def write_texts(texts, path):
    with open(path, "w", encoding="utf-8") as f:
        for t in texts:
            f.write(json.dumps({"text": t}, ensure_ascii=False) + "\n")


def nerd_cli(nerd, model, pipeline, fmt, texts_path, count, extra=()):
    """One answer per text; a line nerd refused is its {"error": ...} object, texts after a crash get one too."""
    with open(texts_path, "rb") as f:
        p = subprocess.run([nerd, "ner", "--model", model, "--pipeline", pipeline, "--format", fmt, *extra, "--jsonl", "-"],
                           stdin=f, capture_output=True)
    # Lines end at "\n" only: str.splitlines would also cut at U+2028 or \x85, which JSON strings carry raw.
    answers = [json.loads(line) for line in p.stdout.decode("utf-8").split("\n") if line]
    if len(answers) != count:
        why = "nerd ner exited %d after %d of %d answers: %s" % (p.returncode, len(answers), count,
                                                                p.stderr.decode(errors="replace")[-500:])
        answers = answers[:count] + [{"error": why}] * (count - len(answers))
    return answers


def start_server(nerd, model, pipeline, log_path):
    log = open(log_path, "w")
    proc = subprocess.Popen([nerd, "serve", "-b", "127.0.0.1:0", "-w", "1", "-k", "async", "--model", model,
                             "--pipeline", pipeline], stdout=log, stderr=subprocess.STDOUT)
    marker = "Listening at: http://127.0.0.1:"
    end = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < end and proc.poll() is None:
        with open(log_path) as f:
            for line in f:
                if marker in line:
                    port = int(line.split(marker)[1].split()[0].strip("/"))
                    if ready(port):
                        return proc, port
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    raise RuntimeError("nerd serve did not start: see %s" % log_path)


def ready(port):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        c.request("GET", "/readyz")
        return c.getresponse().status == 200
    except OSError:
        return False


def batches(texts):
    batch, size = [], 0
    for t in texts:
        n = len(t.encode("utf-8")) * 2 + 16
        if batch and (len(batch) >= HTTP_BATCH_TEXTS or size + n > HTTP_BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(t)
        size += n
    if batch:
        yield batch


def nerd_http(nerd, model, pipeline, texts, log_path):
    """Every text's entities from POST /ents {"texts": [...]}, bodies in json.dumps's ASCII form (\\u escapes)."""
    proc, port = start_server(nerd, model, pipeline, log_path)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=HTTP_TIMEOUT_SECONDS)
        answers = []
        for batch in batches(texts):
            body = json.dumps({"texts": batch}).encode("ascii")
            try:
                conn.request("POST", "/ents", body=body, headers={"Content-Type": "application/json"})
                r = conn.getresponse()
                data = r.read()
                got = json.loads(data)["ents"] if r.status == 200 else None
                if got is None or len(got) != len(batch):
                    why = "POST /ents of %d texts answered %d: %s" % (len(batch), r.status, data[:300])
                    got = [{"error": why}] * len(batch)
            except (OSError, http.client.HTTPException, ValueError, KeyError) as e:
                got = [{"error": "POST /ents of %d texts: %r" % (len(batch), e)}] * len(batch)
                conn.close()
            answers.extend(got)
        return answers
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def readable_json(text):
    """The text as a JSON string with printable characters as they are and the rest escaped, so that
    invisible ones (controls, NBSP, zero-width, U+2028) show and the line can be pasted back."""
    out = []
    for ch in json.dumps(text, ensure_ascii=False):
        if ch.isprintable() and ch != "\u00a0":
            out.append(ch)
        elif ord(ch) < 0x10000:
            out.append("\\u%04x" % ord(ch))
        else:
            v = ord(ch) - 0x10000
            out.append("\\u%04x\\u%04x" % (0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF)))
    return "".join(out)


def ents_rows(ents):
    return [[e["start_char"], e["end_char"], e["label"], e["start"], e["end"]] for e in ents]


def first_difference(want, got):
    """The first index where two lists differ, with both values there (or the lengths)."""
    for i, (a, b) in enumerate(zip(want, got)):
        if a != b:
            return "at %d: spaCy %s, nerd %s" % (i, json.dumps(a, ensure_ascii=False), json.dumps(b, ensure_ascii=False))
    return "length: spaCy %d, nerd %d (spaCy then %s, nerd then %s)" % (
        len(want), len(got), json.dumps(want[len(got):len(got) + 3], ensure_ascii=False),
        json.dumps(got[len(want):len(want) + 3], ensure_ascii=False))


def compare_tokens(ref, toks, parse=True):
    """nerd's --format tokens answer against spaCy's full pipeline: the first field that differs, or None.
    parse=False leaves out sentence starts, heads and labels (a pipeline without a parser)."""
    if isinstance(toks, dict):
        return "error", toks.get("error")
    fields = {"tokens": (ref["tokens"], [[t["text"], t["idx"], t["ws"]] for t in toks])}
    if parse:
        fields.update({
            "sent_starts": (ref["sent_starts"], [i for i, t in enumerate(toks) if t["sent_start"]]),
            "heads": (ref["heads"], [t["head"] for t in toks]),
            "deps": (ref["deps"], [t["dep"] for t in toks]),
        })
    fields["ent_types"] = (ref["ent_types"], [t["ent_type"] for t in toks])
    for name, (want, got) in fields.items():
        if want != got:
            return name, first_difference(want, got)
    return None


def compare_ents(want, got_ents):
    if isinstance(got_ents, dict):
        return "error", got_ents.get("error")
    got = ents_rows(got_ents)
    if want != got:
        return "ents", first_difference(want, got)
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nerd", required=True, help="the nerd binary")
    ap.add_argument("--models", nargs="+", required=True, help="model folders")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--count", type=int, default=5000)
    ap.add_argument("--golden", default=gen_texts.DEFAULT_GOLDEN)
    ap.add_argument("--work", default="build/spacy-diff", help="texts, spaCy's cached answers, logs, mismatches")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--show", type=int, default=10, help="mismatches printed in full")
    ap.add_argument("--spacy-one", nargs=3, metavar=("MODEL", "TEXTS", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.spacy_one:
        run_spacy(*args.spacy_one)
        return 0

    t0 = time.monotonic()
    os.makedirs(args.work, exist_ok=True)
    texts = gen_texts.generate(args.seed, args.count, args.golden)
    texts_path = os.path.join(args.work, "texts-%d-%d.jsonl" % (args.seed, args.count))
    write_texts(texts, texts_path)
    models = [m.rstrip("/") for m in args.models]
    for m in models:
        if not os.path.isdir(m):
            raise SystemExit("spacy-diff: no model folder %s" % m)

    timings = {}

    def timed(name, fn, *a):
        start = time.monotonic()
        r = fn(*a)
        timings[name] = time.monotonic() - start
        return r

    jobs = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for k, m in enumerate(models):
            jobs[(m, "spacy")] = pool.submit(timed, "spaCy %s" % m, spacy_answers, m, texts_path, args.work)
            for pipeline in ("full", "ner"):
                jobs[(m, "cli-ents-" + pipeline)] = pool.submit(
                    timed, "nerd ner --pipeline %s --format ents %s" % (pipeline, m),
                    nerd_cli, args.nerd, m, pipeline, "ents", texts_path, len(texts))
                log = os.path.join(args.work, "serve-%d-%s.log" % (k, pipeline))
                jobs[(m, "http-ents-" + pipeline)] = pool.submit(
                    timed, "POST /ents --pipeline %s %s" % (pipeline, m), nerd_http, args.nerd, m, pipeline, texts, log)
            jobs[(m, "cli-tokens-full")] = pool.submit(
                timed, "nerd ner --pipeline full --format tokens %s" % m,
                nerd_cli, args.nerd, m, "full", "tokens", texts_path, len(texts))
        results = {k: f.result() for k, f in jobs.items()}

    mismatches = []
    for m in models:
        ref = results[(m, "spacy")]
        for i, text in enumerate(texts):
            r = ref[i]
            checks = [
                ("cli tokens full", compare_tokens(r, results[(m, "cli-tokens-full")][i])),
                ("cli ents full", compare_ents(r["ents_full"], results[(m, "cli-ents-full")][i])),
                ("cli ents ner", compare_ents(r["ents_ner"], results[(m, "cli-ents-ner")][i])),
                ("http ents full", compare_ents(r["ents_full"], results[(m, "http-ents-full")][i])),
                ("http ents ner", compare_ents(r["ents_ner"], results[(m, "http-ents-ner")][i])),
            ]
            for where, diff in checks:
                if diff:
                    mismatches.append({"model": m, "doc": i, "via": where, "field": diff[0], "diff": diff[1],
                                       "text": text})

    with open(os.path.join(args.work, "mismatches.jsonl"), "w", encoding="utf-8") as f:
        for mm in mismatches:
            f.write(json.dumps(mm, ensure_ascii=False) + "\n")
    for name in sorted(timings):
        print("spacy-diff: %6.1f s  %s" % (timings[name], name))
    for mm in mismatches[:args.show]:
        print("MISMATCH %s doc %d via %s, %s %s\n  text: %s" % (mm["model"], mm["doc"], mm["via"], mm["field"],
                                                            mm["diff"], readable_json(mm["text"])))
    by_field = {}
    for mm in mismatches:
        key = "%s/%s" % (mm["via"], mm["field"])
        by_field[key] = by_field.get(key, 0) + 1
    for key in sorted(by_field):
        print("spacy-diff: %5d %s" % (by_field[key], key))
    # A mismatch is a document (one text, one model) where any interface differs in any field.
    bad_docs = len({(mm["model"], mm["doc"]) for mm in mismatches})
    # CPU seconds of this process and every process it waited for (spaCy, nerd ner, nerd serve).
    cpu = sum(getattr(resource.getrusage(who), f) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
              for f in ("ru_utime", "ru_stime"))
    print("spacy-diff: %d texts x %d models (seed %d), %d differences over 5 interfaces, %.0f s (%.0f CPU s); "
          "all in %s" % (len(texts), len(models), args.seed, len(mismatches), time.monotonic() - t0, cpu,
                         os.path.join(args.work, "mismatches.jsonl")))
    print("spacy-diff: %d docs, %d mismatches" % (len(texts) * len(models), bad_docs))
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
