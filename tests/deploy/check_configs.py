#!/usr/bin/env python3
"""Dry checks of the deploy/ files that cannot run on this machine (no Docker engine, no
Kubernetes): each file is parsed and the properties the deployment relies on are asserted.
Prints one line per check and exits non-zero on the first failing file."""
import re
import shlex
import sys

import yaml

DEPLOY = sys.argv[1] if len(sys.argv) > 1 else "deploy"
failures = 0


def check(name, cond, detail=""):
    global failures
    print(("ok   " if cond else "FAIL ") + name + (f" ({detail})" if detail and not cond else ""))
    if not cond:
        failures += 1


def dockerfile():
    lines, cur = [], ""
    for raw in open(f"{DEPLOY}/Dockerfile"):
        s = raw.rstrip("\n")
        if not cur and (not s.strip() or s.lstrip().startswith("#")):
            continue
        cur += s[:-1] + " " if s.endswith("\\") else s
        if not s.endswith("\\"):
            lines.append(cur.strip())
            cur = ""
    instr = [(l.split(None, 1)[0].upper(), l.split(None, 1)[1] if " " in l else "") for l in lines]
    known = {"FROM", "RUN", "COPY", "WORKDIR", "ENV", "ARG", "USER", "EXPOSE", "HEALTHCHECK",
             "ENTRYPOINT", "CMD", "LABEL", "STOPSIGNAL", "VOLUME", "ADD"}
    check("Dockerfile: every instruction is known", all(i in known for i, _ in instr),
          str([i for i, _ in instr if i not in known]))
    froms = [a for i, a in instr if i == "FROM"]
    check("Dockerfile: multi-stage", len(froms) >= 2, str(froms))
    check("Dockerfile: Debian bookworm bases", all(f.split()[0].startswith("debian:bookworm") for f in froms))
    stages = [f.split()[-1] for f in froms if " AS " in f.upper()]
    for i, a in instr:
        m = re.search(r"--from=(\S+)", a) if i == "COPY" else None
        if m and m.group(1) not in stages and m.group(1) != "model":
            check(f"Dockerfile: COPY --from={m.group(1)} names a stage or the model context", False)
    last = max(k for k, (i, _) in enumerate(instr) if i == "FROM")
    final = instr[last:]
    users = [a for i, a in final if i == "USER"]
    check("Dockerfile: final stage runs as a non-root user", users and users[-1].split(":")[0] not in ("0", "root"))
    hc = [a for i, a in final if i == "HEALTHCHECK"]
    check("Dockerfile: HEALTHCHECK on /healthz", hc and "/healthz" in hc[0])
    ep = [a for i, a in final if i == "ENTRYPOINT"]
    check("Dockerfile: ENTRYPOINT runs nerd serve", ep and "nerd" in ep[0] and "serve" in ep[0])
    check("Dockerfile: model from a build context or mount (NERD_MODEL set)",
          any(i == "ENV" and "NERD_MODEL" in a for i, a in final))
    stop = [a for i, a in final if i == "STOPSIGNAL"]
    check("Dockerfile: docker stop sends TERM, nerd's graceful shutdown",
          not stop or stop[-1].strip() in ("SIGTERM", "TERM", "15"), str(stop))


def kubernetes():
    docs = {}
    for f in ("deployment.yaml", "service.yaml", "hpa.yaml"):
        for d in yaml.safe_load_all(open(f"{DEPLOY}/kubernetes/{f}")):
            docs[d["kind"]] = d
    dep = docs.get("Deployment")
    check("k8s: a Deployment", dep is not None)
    if not dep:
        return
    pod = dep["spec"]["template"]["spec"]
    c = pod["containers"][0]
    check("k8s: liveness probe on /healthz", c.get("livenessProbe", {}).get("httpGet", {}).get("path") == "/healthz")
    check("k8s: readiness probe on /readyz", c.get("readinessProbe", {}).get("httpGet", {}).get("path") == "/readyz")
    res = c.get("resources", {})
    check("k8s: cpu and memory requests and limits",
          all(k in res.get(s, {}) for s in ("requests", "limits") for k in ("cpu", "memory")))
    args = c.get("args", [])
    gt = float(args[args.index("--graceful-timeout") + 1]) if "--graceful-timeout" in args else 30.0
    tg = pod.get("terminationGracePeriodSeconds", 30)
    check("k8s: termination grace covers --graceful-timeout", tg > gt, f"{tg} <= {gt}")
    stop = c.get("lifecycle", {}).get("preStop", {})
    check("k8s: no preStop sends nerd a quick-shutdown signal (QUIT or INT)",
          not re.search(r"QUIT|INT\b|-3\b|-2\b", str(stop)), str(stop))
    sel = dep["spec"]["selector"]["matchLabels"]
    labels = dep["spec"]["template"]["metadata"]["labels"]
    check("k8s: the selector matches the pod labels", all(labels.get(k) == v for k, v in sel.items()))
    svc = docs.get("Service")
    check("k8s: a Service selecting the pods", svc and all(labels.get(k) == v for k, v in svc["spec"]["selector"].items()))
    ports = {p.get("name") for p in c.get("ports", [])}
    check("k8s: the Service targets a container port", svc and svc["spec"]["ports"][0]["targetPort"] in ports)
    hpa = docs.get("HorizontalPodAutoscaler")
    check("k8s: an HPA on CPU for the Deployment",
          hpa and hpa["spec"]["scaleTargetRef"]["name"] == dep["metadata"]["name"]
          and any(m["resource"]["name"] == "cpu" for m in hpa["spec"]["metrics"]))


def systemd():
    text = open(f"{DEPLOY}/systemd/nerd.service").read()
    keys = dict(re.findall(r"^(\w+)=(.*)$", text, re.M))
    check("systemd: Restart=on-failure", keys.get("Restart") == "on-failure")
    check("systemd: reload by HUP", "-HUP" in keys.get("ExecReload", ""))
    check("systemd: graceful stop by TERM", keys.get("KillSignal", "SIGTERM") in ("SIGTERM", "TERM", "15"))
    tss = re.match(r"(\d+)s?$", keys.get("TimeoutStopSec", "90"))
    gt = re.search(r"--graceful-timeout[ =](\d+)", keys.get("ExecStart", ""))
    check("systemd: TimeoutStopSec covers --graceful-timeout",
          tss and int(tss.group(1)) > (int(gt.group(1)) if gt else 30))
    argv = shlex.split(keys.get("ExecStart", ""))
    check("systemd: ExecStart runs nerd serve", len(argv) > 1 and argv[0].endswith("/nerd") and argv[1] == "serve")


def nginx():
    text = open(f"{DEPLOY}/nginx.conf").read()
    check("nginx: an upstream with passive health checks", re.search(r"max_fails=\d+ fail_timeout=", text))
    check("nginx: keep-alive to the upstreams", re.search(r"^\s*keepalive \d+;", text, re.M)
          and 'proxy_set_header Connection "";' in text and "proxy_http_version 1.1;" in text)
    m = re.search(r"client_max_body_size (\d+)([km]?);", text)
    size = int(m.group(1)) * {"": 1, "k": 1024, "m": 1 << 20}[m.group(2)] if m else 0
    check("nginx: body limit equals nerd's default --max-body-size (1 MiB)", size == 1 << 20)
    check("nginx: retries on the other instance", "proxy_next_upstream" in text)


dockerfile()
kubernetes()
systemd()
nginx()
print(f"{failures} failed")
sys.exit(1 if failures else 0)
