"""Shared by the tests of the Python package (make test-python: the package pip-installed into
build/venv, spaCy 3.8.7 beside it as the reference). The model folders: the stand-in in ../shared
and, when `make model` has fetched it, the real en_core_web_sm (as make test-spacy)."""
import json
import os
import sys

import pytest

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SHARED = os.path.normpath(os.path.join(ROOT, "..", "shared"))
STANDIN = os.path.join(SHARED, "models", "en_core_web_sm")
REAL_MODEL = os.path.join(ROOT, "models", "en_core_web_sm-3.8.0")
MODEL_FOLDERS = [STANDIN] + ([REAL_MODEL] if os.path.isfile(os.path.join(REAL_MODEL, "config.cfg")) else [])
# the real model when present (what nerd.load("en_core_web_sm") finds first), else the stand-in
DEFAULT_MODEL = MODEL_FOLDERS[-1]
GOLDEN_SETS = ("edge", "ewt", "ewt_train_sample")

# spaCy's pipelines as bench/seed loads them ("full" = spacy.load(path), "ner" = the ner alone)
sys.path.insert(0, os.path.join(ROOT, "bench", "seed"))
import pipelines  # noqa: E402


def golden_texts(*sets):
    texts = []
    for name in sets:
        with open(os.path.join(SHARED, "golden", name + ".jsonl"), encoding="utf-8") as f:
            texts += [json.loads(line)["text"] for line in f]
    return texts


@pytest.fixture(scope="session")
def all_golden_texts():
    return golden_texts(*GOLDEN_SETS)


_spacy_models = {}


def spacy_model(folder, pipeline):
    """spaCy's pipeline on folder, loaded once per session."""
    if (folder, pipeline) not in _spacy_models:
        _spacy_models[folder, pipeline] = pipelines.load(folder, pipeline)
    return _spacy_models[folder, pipeline]
