#!/usr/bin/env python3
"""make bench-seed: the seed article's two experiments (CPU-bound; 0.1 s of simulated IO before
the model), 1000 simultaneous requests, 1, 2 and 4 workers, for nerd (sync, async, async with
inference threads) and the article's three Python stacks on the same machine. Each cell is the
median of TRIALS trials of `nerd bench -n 1000 -c 100` (the article's client in C: its 1000
simultaneous aiohttp requests share aiohttp's default pool of 100 connections). Writes
bench/results/seed.md, seed.csv and seed.png.  Environment: TRIALS (3; `EXPERIMENTS=io TRIALS=1`
after a cpu run keeps the cpu table and shortens the sync rows' 100 s trials), WORKERS ("1 2 4"),
EXPERIMENTS ("cpu io"), STACKS (a comma list of row names to run)."""
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
NERD = os.path.join(ROOT, "build", "nerd")
MODEL = os.environ.get("NERD_MODEL", os.path.join(ROOT, "..", "shared", "models", "en_core_web_sm"))
TEXT = os.path.join(ROOT, "..", "shared", "corpus", "paris.txt")
RESULTS = os.path.join(ROOT, "bench", "results")
TRIALS = int(os.environ.get("TRIALS", "3"))
WORKERS = [int(w) for w in os.environ.get("WORKERS", "1 2 4").split()]
EXPERIMENTS = os.environ.get("EXPERIMENTS", "cpu io").split()
# like with like: every stack runs the same pipeline, spacy.load's whole one unless SEED_NER_ONLY=1
# (which server.py reads too)
PIPELINE = "ner" if os.environ.get("SEED_NER_ONLY") == "1" else "full"


def have_spacy():
    return subprocess.run(["/usr/bin/python3", "-c", "import spacy"], capture_output=True).returncode == 0


SPACY = have_spacy()


def stacks(port, w, io):
    sim = ["--simulate-io", "0.1"] if io else []
    nerd = [NERD, "serve", "-b", f"127.0.0.1:{port}", "-w", str(w), "--model", MODEL, "--log-level", "warning",
            "--pipeline", PIPELINE]
    seed = ["--bind", f"127.0.0.1:{port}", "--worker-connections", "1000", "-w", str(w), "--log-level", "warning"]
    return [
        ("nerd -k sync", nerd + ["-k", "sync"] + sim),
        ("nerd -k async", nerd + ["-k", "async", "--worker-connections", "1000"] + sim),
        ("nerd -k async --threads 2", nerd + ["-k", "async", "--worker-connections", "1000", "--threads", "2"] + sim),
        ("Flask + sync Gunicorn", ["gunicorn"] + seed + ["server:flask_app"]),
        ("Flask + async Gunicorn (gevent)", ["gunicorn"] + seed + ["--worker-class=gevent", "server:flask_app"]),
        ("FastAPI + async Uvicorn", ["/usr/bin/python3", "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port), "--limit-concurrency", "1000",
                                     "--workers", str(w), "--log-level", "warning", "server:fastapi_app"]),
    ] + ([  # the same stacks with spaCy itself, when it is installed (SEED_USE_SPACY=1 in server.py)
        ("Flask + sync Gunicorn, spaCy", ["env", "SEED_USE_SPACY=1", "gunicorn"] + seed + ["server:flask_app"]),
        ("Flask + async Gunicorn (gevent), spaCy", ["env", "SEED_USE_SPACY=1", "gunicorn"] + seed
         + ["--worker-class=gevent", "server:flask_app"]),
        ("FastAPI + async Uvicorn, spaCy", ["env", "SEED_USE_SPACY=1", "/usr/bin/python3", "-m", "uvicorn", "--host",
                                            "127.0.0.1", "--port", str(port), "--limit-concurrency", "1000", "--workers",
                                            str(w), "--log-level", "warning", "server:fastapi_app"]),
    ] if SPACY else [])


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def ready(port, timeout=30):
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


def run_cell(name, cmd, port, io):
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"), NERD_MODEL=MODEL,
               NERD_LIB=os.path.join(ROOT, "build", "libnerd.so"), SIMULATE_IO="0.1" if io else "0")
    proc = subprocess.Popen(cmd, cwd=os.path.join(ROOT, "bench", "seed"), env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not ready(port):
            return None, "did not start"
        time.sleep(0.5)  # let every worker boot
        # -c 100: the seed's aiohttp ClientSession() multiplexes its 1000 simultaneous requests over
        # aiohttp's default pool of 100 connections
        out = subprocess.run([NERD, "bench", f"http://127.0.0.1:{port}/", "-n", "1000", "-c", "100", "--trials",
                              str(TRIALS), "--text-file", TEXT, "--timeout", "600", "--json"],
                             capture_output=True, text=True).stdout
        res = json.loads(out)
        secs = [t["seconds"] for t in res["trials"]]
        return statistics.median(secs), res["errors"]
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def main():
    os.makedirs(RESULTS, exist_ok=True)
    only = set(os.environ["STACKS"].split(",")) if os.environ.get("STACKS") else None
    rows = []
    for exp in EXPERIMENTS:
        for w in WORKERS:
            for name, cmd in stacks(0, w, exp == "io"):
                if only and name not in only:
                    continue
                port = free_port()
                cmd = dict(stacks(port, w, exp == "io"))[name]
                t, err = run_cell(name, cmd, port, exp == "io")
                print(f"{exp} w={w} {name}: {('%.2f s' % t) if t is not None else 'failed'} errors {err}", flush=True)
                rows.append({"experiment": exp, "stack": name, "workers": w, "median_s": t, "errors": err,
                             "trials": TRIALS})
    # keep earlier results of the experiments this run did not redo (EXPERIMENTS=cpu reruns one table)
    path = os.path.join(RESULTS, "seed.csv")
    if os.path.exists(path):
        with open(path) as f:
            for old in csv.DictReader(f):
                if old["experiment"] not in EXPERIMENTS:
                    old["workers"] = int(old["workers"])
                    old["median_s"] = float(old["median_s"]) if old["median_s"] not in ("", "None") else None
                    old["errors"] = int(old["errors"]) if old["errors"] not in ("", "None") else None
                    rows.append(old)
        rows.sort(key=lambda r: (["cpu", "io"].index(r["experiment"]), r["workers"]))
    with open(path, "w", newline="") as f:
        wr = csv.DictWriter(f, fieldnames=list(rows[0]))
        wr.writeheader()
        wr.writerows(rows)
    names = list(dict.fromkeys(r["stack"] for r in rows))
    cpu = os.popen("grep -m1 'model name' /proc/cpuinfo").read().split(":")[-1].strip()
    trials = {e: sorted({int(r["trials"]) for r in rows if r["experiment"] == e}) for e in ("cpu", "io")}
    per_exp = "; ".join(f"{e}: {'/'.join(map(str, t))}" for e, t in trials.items() if t)
    md = [f"Machine: {cpu}, {os.cpu_count()} cores; trials per cell ({per_exp}), each cell their median; "
          f"`nerd bench -n 1000 -c 100` (the seed's aiohttp client: 1000 simultaneous requests over its default 100 connections); "
          f"the Python stacks run the seed's server code on nerd's engine (python/nerd), so the rows compare serving stacks.", ""]
    for exp, title in (("cpu", "CPU-bound"), ("io", "CPU- and IO-bound (0.1 s of simulated IO before the model)")):
        cells = {(r["stack"], r["workers"]): r for r in rows if r["experiment"] == exp}
        if not cells:
            continue
        md += [f"Processing time for a batch of 1000 simultaneous requests, {title}", "",
               "| Number of workers | " + " | ".join(f"w={w}" for w in WORKERS) + " |",
               "|---|" + "---|" * len(WORKERS)]
        for n in names:
            vals = []
            for w in WORKERS:
                r = cells.get((n, w))
                vals.append("-" if not r or r["median_s"] is None else
                            f"{r['median_s']:.2f} (s)" + ("" if not r["errors"] else f" ({r['errors']} errors)"))
            md.append(f"| {n} | " + " | ".join(vals) + " |")
        md.append("")
        for w in WORKERS:
            best_py = min((c["median_s"] for (n, ww), c in cells.items() if ww == w and not n.startswith("nerd")
                           and "spaCy" not in n and c["median_s"]), default=None)
            best_nerd = min((c["median_s"] for (n, ww), c in cells.items() if ww == w and n.startswith("nerd")
                             and c["median_s"]), default=None)
            if best_py and best_nerd:
                md.append(f"- w={w}: fastest nerd row {best_nerd:.2f} s vs fastest Python stack {best_py:.2f} s: "
                          f"{best_py / best_nerd:.1f}x")
        md.append("")
    open(os.path.join(RESULTS, "seed.md"), "w").write("\n".join(md) + "\n")
    print("\n".join(md))
    # the chart: one panel per experiment, one bar group per stack, log scale
    done = [e for e in ("cpu", "io") if any(r["experiment"] == e for r in rows)]
    for exp in done:
        with open(os.path.join(RESULTS, f"seed_{exp}.dat"), "w") as f:
            for n in names:
                f.write('"' + n + '" ' + " ".join(
                    str(next((r["median_s"] for r in rows if r["experiment"] == exp and r["stack"] == n and r["workers"] == w),
                             "NaN") or "NaN") for w in WORKERS) + "\n")
    gp = [f"set terminal pngcairo size 1400,{420 * len(done)} font ',10'",
          f"set output '{RESULTS}/seed.png'", f"set multiplot layout {len(done)},1",
          "set style data histograms", "set style histogram clustered gap 1", "set style fill solid 0.8",
          "set logscale y", "set ylabel 'seconds for 1000 simultaneous requests (log)'", "set xtics rotate by -15",
          "set key top left"]
    for exp in done:
        gp.append(f"set title '{'CPU-bound' if exp == 'cpu' else 'with 0.1 s simulated IO'}'")
        gp.append(f"plot " + ", ".join(f"'{RESULTS}/seed_{exp}.dat' using {i + 2}:xtic(1) title 'w={w}'"
                                       for i, w in enumerate(WORKERS)))
    subprocess.run(["gnuplot"], input="\n".join(gp), text=True, check=False)
    for exp in done:
        os.remove(os.path.join(RESULTS, f"seed_{exp}.dat"))


if __name__ == "__main__":
    sys.exit(main())
