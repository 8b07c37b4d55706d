#!/usr/bin/env python3
"""The machine and commit a benchmark ran on, for the top of its output and its results' names:
the CPU's model name, the instruction-set flags nerd's kernels choose between, the core count and
the commit (with -dirty when the tree has changes). Standard library only; `python3
bench/machine.py` prints the line `make bench` starts with."""
import datetime
import os
import re
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# the flags that decide nerd's kernels (AVX2/FMA fp32 and int8, AVX-512, AVX512_BF16) and
# spaCy's (numpy's and blis's AVX2/AVX-512 paths)
FLAGS_THAT_MATTER = ("avx2", "fma", "avx512f", "avx512bw", "avx512_bf16", "avx512_vnni", "avx_vnni")


def cpuinfo():
    """(model name, the flags of FLAGS_THAT_MATTER the CPU has) from /proc/cpuinfo."""
    name, flags = "unknown CPU", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and name == "unknown CPU":
                    name = value.strip()
                elif key.strip() == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    return name, [f for f in FLAGS_THAT_MATTER if f in flags]


def commit():
    """The short commit id of the tree, with -dirty if tracked files differ from it."""
    def git(*args):
        return subprocess.run(["git", "-C", ROOT, *args], capture_output=True, text=True).stdout.strip()
    head = git("rev-parse", "--short", "HEAD") or "nocommit"
    return head + ("-dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


def describe():
    name, flags = cpuinfo()
    return {"cpu": name, "flags": flags, "cores": os.cpu_count(), "commit": commit(),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")}


def line(m=None):
    m = m or describe()
    return (f"machine: {m['cpu']}, {m['cores']} cores, flags {' '.join(m['flags']) or 'none of ' + '/'.join(FLAGS_THAT_MATTER)}; "
            f"commit {m['commit']}; {m['date']} UTC")


def slug(m=None):
    """<date>-<cpu>-<commit>, the name of a run's results folder: 2026-11-29-amd-epyc-93a159e."""
    m = m or describe()
    cpu = re.sub(r"[^a-z0-9]+", "-", re.sub(r"\((r|tm)\)|cpu|processor|@.*", "", m["cpu"].lower())).strip("-")
    return f"{m['date']}-{cpu or 'cpu'}-{m['commit']}"


if __name__ == "__main__":
    print(line())
