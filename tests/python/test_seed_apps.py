"""The seed article's server (../shared/seed: a Flask app and a FastAPI app around
spacy.load("en_core_web_sm")) runs unchanged on nerd once `spacy` is swapped for `nerd` in its
text: each app under the article's own server (Gunicorn, Uvicorn) on loopback answers the golden
texts byte for byte as the same code on spaCy does. bench/seed/server.py, the repository's copy
of that server, answers as spaCy too with SEED_ENGINE=nerd."""
import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from conftest import DEFAULT_MODEL, ROOT, SHARED, golden_texts

ARTICLE = os.path.join(SHARED, "seed", "flask-gunicorn-vs-fastapi-uvicorn.txt")
VENV_BIN = os.path.dirname(sys.executable)
START_TIMEOUT_S, REQUEST_TIMEOUT_S = 120, 60
# the edge cases (the Paris text, astral characters, duplicate entities, ...) and some EWT documents
TEXTS = golden_texts("edge") + golden_texts("ewt")[:100]


def article_server_code():
    """The article's first server.py. Its text lost the indentation: a function's body is every
    line from its `def` to its `return`."""
    with open(ARTICLE, encoding="utf-8") as f:
        lines = f.read().splitlines()
    start = lines.index("# server.py")
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("- Run"))
    code, in_body = [], False
    for line in lines[start:end]:
        code.append("    " + line if in_body else line)
        if line.startswith(("def ", "async def ")):
            in_body = True
        elif in_body and line.startswith("return "):
            in_body = False
    return "\n".join(code) + "\n"


def swapped_for_nerd(code):
    """The swap a user makes: spaCy's import and load for nerd's, nothing else."""
    return code.replace("import spacy", "import nerd").replace("spacy.load(", "nerd.load(")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(code, folder, server, tmp_path):
    """code as server.py under `server` ("gunicorn" for flask_app, "uvicorn" for fastapi_app) on a
    loopback port; yields the port."""
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "server.py").write_text(code, encoding="utf-8")
    port = free_port()
    cmd = {"gunicorn": [os.path.join(VENV_BIN, "gunicorn"), "--bind", "127.0.0.1:%d" % port, "-w", "1",
                        "server:flask_app"],
           "uvicorn": [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port),
                       "server:fastapi_app"]}[server]
    env = {k: v for k, v in os.environ.items() if k not in ("NERD_LIB", "PYTHONPATH")}
    env["NERD_MODEL"] = folder
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=open(tmp_path / "server.log", "wb"))
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            assert proc.poll() is None, (tmp_path / "server.log").read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "%s did not start in %d s" % (server, START_TIMEOUT_S)
                time.sleep(0.1)
        yield port
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)


def answers(port):
    """(status, body) of GET / with {"text": text} for each of TEXTS, as the article's client sends."""
    out = []
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
    for text in TEXTS:
        conn.request("GET", "/", body=json.dumps({"text": text}), headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        out.append((response.status, response.read()))
    conn.close()
    return out


def test_the_article_code_is_read_whole():
    code = article_server_code()
    compile(code, "server.py", "exec")
    assert code.count('spacy.load("en_core_web_sm")') == 1 and code.count("return {ent.text: ent.label_") == 2
    swapped = swapped_for_nerd(code)
    assert "spacy" not in swapped and 'ner = nerd.load("en_core_web_sm")' in swapped


@pytest.mark.parametrize("server", ["gunicorn", "uvicorn"])
def test_the_article_apps_answer_on_nerd_as_on_spacy(server, tmp_path):
    code = article_server_code()
    # spaCy finds "en_core_web_sm" only as an installed package: its reference is loaded by path
    on_spacy = code.replace('spacy.load("en_core_web_sm")', "spacy.load(%r)" % DEFAULT_MODEL)
    with serving(on_spacy, DEFAULT_MODEL, server, tmp_path / "spacy") as port:
        expected = answers(port)
    with serving(swapped_for_nerd(code), DEFAULT_MODEL, server, tmp_path / "nerd") as port:
        got = answers(port)
    assert [status for status, _ in expected] == [200] * len(TEXTS)
    assert sum(body != b"{}" for _, body in expected) > len(TEXTS) // 2  # most texts have entities
    assert got == expected


@pytest.mark.parametrize("pipeline", ["full", "ner"])
def test_the_repositorys_seed_server_on_nerd_answers_as_on_spacy(pipeline, monkeypatch):
    """bench/seed/server.py (make bench-seed's nerd-python rows), its Flask app in process."""
    monkeypatch.setenv("NERD_MODEL", DEFAULT_MODEL)
    monkeypatch.setenv("SEED_NER_ONLY", "1" if pipeline == "ner" else "0")
    monkeypatch.syspath_prepend(os.path.join(ROOT, "bench", "seed"))
    bodies = {}
    for engine in ("spacy", "nerd"):
        monkeypatch.setenv("SEED_ENGINE", engine)
        sys.modules.pop("server", None)
        import server
        client = server.flask_app.test_client()
        bodies[engine] = [client.get("/", json={"text": text}).data for text in TEXTS]
    sys.modules.pop("server", None)
    assert bodies["nerd"] == bodies["spacy"]
