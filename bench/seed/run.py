#!/usr/bin/env python3
"""make bench-seed: the seed article's two experiments (CPU-bound; 0.1 s of simulated IO before
the model), 1000 simultaneous requests, 1, 2 and 4 workers, for nerd (sync, async, async with
inference threads) against the article's own server code on spaCy itself (Flask on Gunicorn's
sync and gevent workers, FastAPI on Uvicorn, from the venv), both on the same model folder, with
the full pipeline and with the ner alone. Each cell is the median of its trials of `nerd bench
-n 1000 -c 100` (the article's client in C: its 1000 simultaneous aiohttp requests share
aiohttp's default pool of 100 connections). Writes seed.md, seed.csv and seed.png into
bench/results/<date>-<cpu>-<commit>/ (bench/machine.py names it).

Environment: NERD_MODEL (the model folder, models/en_core_web_sm-3.8.0), VENV (build/venv: the
Python stacks' gunicorn and python), TRIALS_CPU (3), TRIALS_IO (1: a sync row's trial is 100 s at
w=1, and its time is the sleep's), TRIALS (both), WORKERS ("1 2 4"), EXPERIMENTS ("cpu io"),
PIPELINES ("full ner"), SEED_GROUPS ("nerd spacy"; add nerd-python for the article's stacks on
nerd's engine, about 10 more minutes), STACKS (a comma list of row names to run, in each group),
RESULTS_DIR. A rerun into the same folder keeps the cells of the experiments and pipelines it did
not redo."""
import csv
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import machine  # noqa: E402

NERD = os.path.join(ROOT, "build", "nerd")
MODEL = os.path.abspath(os.environ.get("NERD_MODEL", os.path.join(ROOT, "models", "en_core_web_sm-3.8.0")))
VENV = os.path.abspath(os.environ.get("VENV", os.path.join(ROOT, "build", "venv")))
TEXT = os.path.join(ROOT, "..", "shared", "corpus", "paris.txt")
TRIALS = {"cpu": int(os.environ.get("TRIALS", os.environ.get("TRIALS_CPU", "3"))),
          "io": int(os.environ.get("TRIALS", os.environ.get("TRIALS_IO", "1")))}
WORKERS = [int(w) for w in os.environ.get("WORKERS", "1 2 4").split()]
EXPERIMENTS = os.environ.get("EXPERIMENTS", "cpu io").split()
PIPELINES = os.environ.get("PIPELINES", "full ner").split()
GROUPS = os.environ.get("SEED_GROUPS", "nerd spacy").split()  # (bash reserves GROUPS)
EXPERIMENT_TITLE = {"cpu": "CPU-bound", "io": "CPU- and IO-bound (0.1 s of simulated IO before the model)"}
PIPELINE_TITLE = {"full": "full pipeline (spacy.load; nerd --pipeline full)",
                  "ner": "ner alone (spacy.load(path, exclude=[all but ner]); nerd --pipeline ner)"}
GROUP_TITLE = {"nerd": "nerd serve", "spacy": "the article's stacks on spaCy",
               "nerd-python": "the article's stacks on nerd's engine (python/nerd)"}
# how long a server may take to answer its first request, and then to settle (every worker loaded)
START_TIMEOUT_S, SETTLE_TIMEOUT_S = 60, 60


def stacks(port, w, io, pipeline, groups=GROUPS):
    """(group, row name, command, extra environment) of the rows of groups, in table order."""
    sim = ["--simulate-io", "0.1"] if io else []
    nerd = [NERD, "serve", "-b", f"127.0.0.1:{port}", "-w", str(w), "--model", MODEL, "--log-level", "warning",
            "--pipeline", pipeline]
    # the article's three commands, from the venv
    gunicorn = [os.path.join(VENV, "bin", "gunicorn"), "--bind", f"127.0.0.1:{port}", "--worker-connections", "1000",
                "-w", str(w), "--log-level", "warning"]
    python_stacks = [
        ("Flask + sync Gunicorn", gunicorn + ["server:flask_app"]),
        ("Flask + async Gunicorn (gevent)", gunicorn + ["--worker-class=gevent", "server:flask_app"]),
        ("FastAPI + async Uvicorn", [os.path.join(VENV, "bin", "python"), "-m", "uvicorn", "--host", "127.0.0.1", "--port",
                                     str(port), "--limit-concurrency", "1000", "--workers", str(w), "--log-level",
                                     "warning", "server:fastapi_app"]),
    ]
    rows = [
        ("nerd", "nerd -k sync", nerd + ["-k", "sync"] + sim, {}),
        ("nerd", "nerd -k async", nerd + ["-k", "async", "--worker-connections", "1000"] + sim, {}),
        ("nerd", "nerd -k async --threads 2",
         nerd + ["-k", "async", "--worker-connections", "1000", "--threads", "2"] + sim, {}),
    ]
    rows += [("spacy", name, cmd, {"SEED_ENGINE": "spacy"}) for name, cmd in python_stacks]
    rows += [("nerd-python", name, cmd, {"SEED_ENGINE": "nerd"}) for name, cmd in python_stacks]
    return [r for r in rows if r[0] in groups]


# every row's (group, name) in table order, also for rows an earlier run into the same folder made
ROW_ORDER = [s[:2] for s in stacks(0, 1, False, "full", groups=GROUP_TITLE)]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def ready(port, timeout):
    end = time.time() + timeout
    body = b'{"text": "Paris"}'
    req = (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
           % len(body)) + body
    while time.time() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                s.sendall(req)
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def session_cpu_ticks(sid):
    """CPU ticks (user + system) of the live processes of session sid, from /proc."""
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # after the command: state ppid pgrp session ... utime (14th field) stime (15th)
        if int(fields[3]) == sid:
            total += int(fields[11]) + int(fields[12])
    return total


def settle(sid, timeout):
    """Waits until the server's processes stop using CPU: one worker answering does not mean the
    others have loaded spaCy (Gunicorn and Uvicorn load the app in each worker), and a worker
    still loading would leave its share of the batch to the others."""
    end, quiet, last = time.time() + timeout, 0, session_cpu_ticks(sid)
    while time.time() < end and quiet < 3:
        time.sleep(0.25)
        now = session_cpu_ticks(sid)
        quiet = quiet + 1 if now - last <= 2 else 0  # at most 20 ms of CPU in 250 ms: idle
        last = now
    return quiet >= 3


def run_cell(cmd, extra_env, port, io, pipeline, trials):
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"), NERD_MODEL=MODEL,
               NERD_LIB=os.path.join(ROOT, "build", "libnerd.so"), SIMULATE_IO="0.1" if io else "0",
               SEED_NER_ONLY="1" if pipeline == "ner" else "0", **extra_env)
    proc = subprocess.Popen(cmd, cwd=os.path.join(ROOT, "bench", "seed"), env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not ready(port, START_TIMEOUT_S):
            return None, "did not start"
        if not settle(proc.pid, SETTLE_TIMEOUT_S):
            return None, "did not settle"
        # -c 100: the seed's aiohttp ClientSession() multiplexes its 1000 simultaneous requests over
        # aiohttp's default pool of 100 connections
        out = subprocess.run([NERD, "bench", f"http://127.0.0.1:{port}/", "-n", "1000", "-c", "100", "--trials",
                              str(trials), "--text-file", TEXT, "--timeout", "600", "--json"],
                             capture_output=True, text=True).stdout
        res = json.loads(out)
        if res["errors"]:  # which kinds, for the log
            kinds = {k: sum(t["errors"][k] for t in res["trials"]) for k in res["trials"][0]["errors"]}
            print("  errors by kind: " + ", ".join(f"{k} {v}" for k, v in kinds.items() if v), flush=True)
        return statistics.median(t["seconds"] for t in res["trials"]), res["errors"]
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def model_name():
    try:
        with open(os.path.join(MODEL, "meta.json")) as f:
            meta = json.load(f)
        return f"{meta['lang']}_{meta['name']} {meta['version']}"
    except (OSError, ValueError, KeyError):
        return "unknown model"


def versions():
    code = "import spacy, flask, gunicorn, fastapi, uvicorn, gevent, sys; print(sys.version.split()[0], " \
           "spacy.__version__, flask.__version__, gunicorn.__version__, gevent.__version__, fastapi.__version__, uvicorn.__version__)"
    out = subprocess.run([os.path.join(VENV, "bin", "python"), "-c", code], capture_output=True, text=True).stdout.split()
    names = ("Python", "spaCy", "Flask", "Gunicorn", "gevent", "FastAPI", "Uvicorn")
    return ", ".join(f"{n} {v}" for n, v in zip(names, out)) if len(out) == len(names) else "versions unknown"


def read_old(path, redone):
    """The rows of an earlier run into the same folder whose (experiment, pipeline) this run did not redo."""
    if not os.path.exists(path):
        return []
    rows = []
    with open(path) as f:
        for old in csv.DictReader(f):
            if (old["experiment"], old["pipeline"]) in redone:
                continue
            old["workers"] = int(old["workers"])
            old["median_s"] = float(old["median_s"]) if old["median_s"] not in ("", "None") else None
            rows.append(old)
    return rows


def ratio_lines(cells, workers):
    """Per worker count: the fastest nerd row against the fastest of the article's stacks on spaCy."""
    out = []
    for w in workers:
        def best(group):
            return min(((c["median_s"], c["stack"]) for (g, _, ww), c in cells.items()
                        if g == group and ww == w and c["median_s"]), default=None)
        n, s = best("nerd"), best("spacy")
        if n and s:
            out.append(f"- w={w}: fastest nerd row ({n[1]}) {n[0]:.2f} s vs fastest stack on spaCy ({s[1]}) "
                       f"{s[0]:.2f} s: **{s[0] / n[0]:.1f}x**")
    return out


def write_results(rows, outdir, m):
    names = [n for n in ROW_ORDER if any((r["group"], r["stack"]) == n for r in rows)]
    workers = sorted({r["workers"] for r in rows})
    trials = {e: sorted({int(r["trials"]) for r in rows if r["experiment"] == e}) for e in ("cpu", "io")}
    md = [f"`make bench-seed`, {m['date']} UTC. Machine: {m['cpu']}, {m['cores']} cores, flags "
          f"{' '.join(m['flags'])}; commit {m['commit']}. Model: {model_name()} from `{os.path.relpath(MODEL, ROOT)}`, "
          f"the same folder for nerd and spaCy. {versions()} (build/venv, tools/requirements.txt).", "",
          "Each cell: the median of its trials (" + "; ".join(f"{e}: {'/'.join(map(str, t))}" for e, t in trials.items() if t)
          + ") of `nerd bench -n 1000 -c 100` with the Paris text (the seed's aiohttp client: 1000 simultaneous "
          "requests over its default 100 connections). The article's stacks run its server code "
          "(bench/seed/server.py) on spaCy; nerd serve runs the same model folder.", ""]
    for pipeline in ("full", "ner"):
        for exp in ("cpu", "io"):
            cells = {(r["group"], r["stack"], r["workers"]): r for r in rows
                     if r["experiment"] == exp and r["pipeline"] == pipeline}
            if not cells:
                continue
            md += [f"### {EXPERIMENT_TITLE[exp]}, {PIPELINE_TITLE[pipeline]}", "",
                   "Processing time for a batch of 1000 simultaneous requests", "",
                   "| Number of workers | " + " | ".join(f"w={w}" for w in workers) + " |",
                   "|---|" + "---|" * len(workers)]
            for group, name in names:
                vals = []
                for w in workers:
                    r = cells.get((group, name, w))
                    vals.append("-" if not r or r["median_s"] is None else
                                f"{r['median_s']:.2f} (s)" + ("" if r["errors"] in ("0", 0) else f" ({r['errors']} errors)"))
                if any(v != "-" for v in vals):
                    md.append(f"| {name} ({GROUP_TITLE[group]}) | " + " | ".join(vals) + " |")
            md += [""] + ratio_lines(cells, workers) + [""]
    with open(os.path.join(outdir, "seed.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    print("\n".join(md))
    chart(rows, names, workers, outdir, m)


def chart(rows, names, workers, outdir, m):
    """One panel per (pipeline, experiment), one bar group per row, a bar per worker count, log scale."""
    panels = [(p, e) for p in ("full", "ner") for e in ("cpu", "io")
              if any(r["pipeline"] == p and r["experiment"] == e for r in rows)]
    gp = [f"set terminal pngcairo size 1500,{440 * len(panels)} font ',10'",
          f"set output '{outdir}/seed.png'", f"set multiplot layout {len(panels)},1 title '{m['cpu']}, commit {m['commit']}'",
          "set style data histograms", "set style histogram clustered gap 1", "set style fill solid 0.8",
          "set logscale y", "set ylabel 'seconds for 1000 simultaneous requests (log)'", "set xtics rotate by -15",
          "set key top left"]
    for i, (pipeline, exp) in enumerate(panels):
        dat = os.path.join(outdir, f"seed_{i}.dat")
        with open(dat, "w") as f:
            for group, name in names:
                vals = [next((r["median_s"] for r in rows if r["experiment"] == exp and r["pipeline"] == pipeline
                              and r["stack"] == name and r["group"] == group and r["workers"] == w), None) for w in workers]
                label = name + {"nerd": "", "spacy": ", spaCy", "nerd-python": ", nerd's engine"}[group]
                f.write('"' + label + '" ' + " ".join(str(v) if v else "NaN" for v in vals) + "\n")
        gp.append(f"set title '{EXPERIMENT_TITLE[exp]}, {PIPELINE_TITLE[pipeline]}' noenhanced")
        gp.append("plot " + ", ".join(f"'{dat}' using {j + 2}:xtic(1) title 'w={w}'" for j, w in enumerate(workers)))
    try:
        subprocess.run(["gnuplot"], input="\n".join(gp), text=True, check=False)
    except FileNotFoundError:
        print("bench-seed: no gnuplot, no chart (.ci/deps.sh bench installs it)")
    for i in range(len(panels)):
        os.remove(os.path.join(outdir, f"seed_{i}.dat"))


def main():
    if not os.path.isdir(MODEL):
        sys.exit(f"bench-seed: no model folder {MODEL} (make model fetches it; NERD_MODEL= another)")
    m = machine.describe()
    outdir = os.environ.get("RESULTS_DIR") or os.path.join(ROOT, "bench", "results", machine.slug(m))
    os.makedirs(outdir, exist_ok=True)
    only = set(os.environ["STACKS"].split(",")) if os.environ.get("STACKS") else None
    print(machine.line(m), flush=True)
    rows, started = [], time.time()
    for pipeline in PIPELINES:
        for exp in EXPERIMENTS:
            for w in WORKERS:
                for group, name, _, _ in stacks(0, w, exp == "io", pipeline):
                    if only and name not in only:
                        continue
                    port = free_port()
                    _, _, cmd, extra = next(s for s in stacks(port, w, exp == "io", pipeline) if s[:2] == (group, name))
                    t0 = time.time()
                    t, err = run_cell(cmd, extra, port, exp == "io", pipeline, TRIALS[exp])
                    print(f"{pipeline} {exp} w={w} {name} ({group}): {('%.2f s' % t) if t is not None else 'failed'}, "
                          f"errors {err}; cell {time.time() - t0:.0f} s, run {time.time() - started:.0f} s", flush=True)
                    rows.append({"experiment": exp, "pipeline": pipeline, "group": group, "stack": name, "workers": w,
                                 "median_s": t, "errors": err, "trials": TRIALS[exp]})
    if not rows:
        sys.exit("bench-seed: no cell matched")
    path = os.path.join(outdir, "seed.csv")
    rows += read_old(path, {(r["experiment"], r["pipeline"]) for r in rows})
    rows.sort(key=lambda r: (["full", "ner"].index(r["pipeline"]), ["cpu", "io"].index(r["experiment"]),
                             ROW_ORDER.index((r["group"], r["stack"])), r["workers"]))
    with open(path, "w", newline="") as f:
        wr = csv.DictWriter(f, fieldnames=list(rows[0]))
        wr.writeheader()
        wr.writerows(rows)
    write_results(rows, outdir, m)
    print(f"bench-seed: {time.time() - started:.0f} s; results in {os.path.relpath(outdir, ROOT)}/")


if __name__ == "__main__":
    sys.exit(main())
