"""GET /ui in a real browser (`make test-ui`): Debian's chromium driven headless by chromium-driver
through Debian's python3-selenium, against a live `nerd serve` on 127.0.0.1. It types texts into
the page, presses Analyse, and checks what the page shows against the server's own answers: the
highlighted spans are POST /ents' entities (text and label, in order) in displaCy's colours, the
words and arcs drawn are POST /displacy's (style dep). Saves a screenshot of the last text.

    /usr/bin/python3 tests/ui/test_ui.py --nerd build/nerd --model DIR --screenshot build/ui.png
"""
import argparse
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

SERVER_START_SECONDS = 60
PAGE_WAIT_SECONDS = 30
TEXTS = [
    "Angela Merkel visited Paris on 3 May 2021 with Apple's Tim Cook.",
    "Nothing to see here.",
    "Café Zürich's 20% rise: \"Tokyo\" and São Paulo — both in 2023.",
    "Apple hired Tim Cook in Cupertino, California.",
]
# spaCy's displaCy colours (spacy/displacy/render.py DEFAULT_LABEL_COLORS) for the labels these texts
# bring, and its default for any other
EXPECTED_COLORS = {"PERSON": "#aa9cfc", "GPE": "#feca74", "DATE": "#bfe1d9", "ORG": "#7aecec", "PERCENT": "#e4e7d2",
                   "CARDINAL": "#e4e7d2", "NORP": "#c887fb", "LOC": "#ff9561", "FAC": "#9cc9cc"}
DEFAULT_COLOR = "#ddd"


def rgb(hex_color):
    """#rrggbb or #rgb as (r, g, b)."""
    h = hex_color.lstrip("#")
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    return tuple(int(h[i:i + 2], 16) for i in (0, 2, 4))


def css_rgb(color):
    """A computed CSS colour, rgb(r, g, b) or rgba(r, g, b, 1), as (r, g, b)."""
    m = re.fullmatch(r"rgba?\((\d+), (\d+), (\d+)(?:, 1)?\)", color)
    assert m, "an opaque colour: %s" % color
    return tuple(int(x) for x in m.groups())


def start_server(nerd, model, log_path):
    log = open(log_path, "w")
    proc = subprocess.Popen([nerd, "serve", "-b", "127.0.0.1:0", "-w", "1", "--model", model],
                            stdout=log, stderr=subprocess.STDOUT)
    marker = "Listening at: http://127.0.0.1:"
    end = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < end and proc.poll() is None:
        with open(log_path) as f:
            m = re.search(re.escape(marker) + r"(\d+)", f.read())
        if m and request(int(m.group(1)), "GET", "/readyz")[0] == 200:
            return proc, int(m.group(1))
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    raise RuntimeError("nerd serve did not start: see %s" % log_path)


def request(port, method, path, body=None):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        c.request(method, path, json.dumps(body).encode() if body is not None else None,
                  {"Content-Type": "application/json"})
        r = c.getresponse()
        return r.status, json.loads(r.read())
    except (OSError, ValueError):
        return 0, None


def browser():
    opts = Options()
    opts.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,900",
                "--user-data-dir=" + tempfile.mkdtemp(prefix="nerd-ui-chromium-")):
        opts.add_argument(arg)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)


def analyse(driver, text):
    """Types text into the page, presses Analyse, waits for the answer; returns the status line."""
    box = driver.find_element(By.ID, "text")
    box.clear()
    box.send_keys(text)
    assert box.get_attribute("value") == text, "the textarea holds %r" % box.get_attribute("value")
    previous = driver.find_element(By.ID, "status").text
    driver.execute_script("document.getElementById('status').textContent = ''")
    driver.find_element(By.ID, "go").click()
    WebDriverWait(driver, PAGE_WAIT_SECONDS).until(lambda d: d.find_element(By.ID, "status").text.startswith(("done", "4", "5")))
    status = driver.find_element(By.ID, "status").text
    assert status.startswith("done"), "the page says %r (before: %r)" % (status, previous)
    return status


def check_text(driver, port, text):
    status, ents = request(port, "POST", "/ents", {"text": text})
    assert status == 200, (status, ents)
    marks = driver.find_elements(By.CSS_SELECTOR, "#ents mark.entity")
    shown = [(m.find_element(By.CLASS_NAME, "text").text, m.find_element(By.CLASS_NAME, "label").text) for m in marks]
    want = [(e["text"], e["label"]) for e in ents["ents"]]
    assert shown == want, "highlighted %r, the server's entities %r" % (shown, want)
    for m, (_, label) in zip(marks, shown):
        color = m.value_of_css_property("background-color")
        assert css_rgb(color) == rgb(EXPECTED_COLORS.get(label, DEFAULT_COLOR)), "%s drawn in %s" % (label, color)
    # the text around the marks is the text itself
    ent_text = driver.execute_script(
        "return Array.from(document.getElementById('ents').childNodes).map(n => n.nodeType === 3 ? n.textContent :"
        " n.querySelector('.text').textContent).join('')")
    assert ent_text == text, "the entity view reads %r" % ent_text
    status, deps = request(port, "POST", "/displacy", {"text": text, "style": "dep"})
    assert status == 200, (status, deps)
    words = [w.text for w in driver.find_elements(By.CSS_SELECTOR, "#deps svg text.word")]
    # the browser collapses a word's spaces when it shows it; compare them so
    assert words == [" ".join(w["text"].split()) for w in deps["words"]], (words, deps["words"])
    tags = [t.text for t in driver.find_elements(By.CSS_SELECTOR, "#deps svg text.tag")]
    assert tags == [w["tag"] for w in deps["words"]] and any(tags), (tags, deps["words"])
    arcs = [{"start": int(g.get_attribute("data-start")), "end": int(g.get_attribute("data-end")),
             "label": g.get_attribute("data-label"), "dir": g.get_attribute("data-dir")}
            for g in driver.find_elements(By.CSS_SELECTOR, "#deps svg g.dep")]
    assert arcs == deps["arcs"], "arcs drawn %r, the server's %r" % (arcs, deps["arcs"])
    # each arc is drawn: a path that spans from its start word to its end word, and its label shown
    for g, a in zip(driver.find_elements(By.CSS_SELECTOR, "#deps svg g.dep"), arcs):
        box = driver.execute_script("return arguments[0].querySelector('path.arc').getBBox()", g)
        assert box["width"] > 0 and box["height"] > 0, box
        assert g.find_element(By.CLASS_NAME, "arc-label").text == a["label"]
    return len(want), len(arcs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nerd", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--screenshot", required=True)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="nerd-ui-")
    proc, port = start_server(args.nerd, args.model, os.path.join(work, "serve.log"))
    driver = None
    try:
        driver = browser()
        driver.get("http://127.0.0.1:%d/ui" % port)
        # no external assets: every resource the page loaded came from the server itself
        resources = driver.execute_script("return performance.getEntriesByType('resource').map(r => r.name)")
        assert all(r.startswith("http://127.0.0.1:%d/" % port) for r in resources), resources
        total_ents = total_arcs = 0
        for text in TEXTS[1:] + TEXTS[:1]:  # the first text last: the screenshot shows it
            analyse(driver, text)
            n_ents, n_arcs = check_text(driver, port, text)
            total_ents += n_ents
            total_arcs += n_arcs
        assert total_ents >= 8 and total_arcs >= 20, (total_ents, total_arcs)
        os.makedirs(os.path.dirname(os.path.abspath(args.screenshot)), exist_ok=True)
        # wide enough for the whole drawing
        width = driver.execute_script("return Math.max(document.querySelector('#deps svg').getBoundingClientRect().right, 900)")
        height = driver.execute_script("return document.body.scrollHeight + 40")
        driver.set_window_size(min(int(width) + 80, 2400), min(height + 140, 1600))
        assert driver.save_screenshot(args.screenshot), "no screenshot"
        print("test-ui: %d texts, %d entities highlighted and %d arcs drawn as the server answers them; screenshot %s"
              % (len(TEXTS), total_ents, total_arcs, args.screenshot))
    finally:
        if driver:
            driver.quit()
        proc.terminate()
        proc.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
