"""The installed package: where it finds its library and models, its errors, the Doc API, and
nlp.pipe on threads with the GIL released."""
import gc
import itertools
import os
import pathlib
import shutil
import sys
import threading
import time

import pytest

import nerd
from conftest import DEFAULT_MODEL, ROOT, STANDIN, spacy_model

PARIS = "Paris is the capital of France. Angela Merkel visited Berlin on Monday."


@pytest.fixture(scope="module")
def nlp():
    return nerd.load(DEFAULT_MODEL)


@pytest.fixture(scope="module")
def nlp_ner():
    return nerd.load(DEFAULT_MODEL, pipeline="ner")


def test_the_installed_package_carries_its_library_and_knows_its_clone():
    package = os.path.dirname(nerd.__file__)
    assert not package.startswith(os.path.join(ROOT, "python")), "the tests must run the pip-installed package"
    assert "NERD_LIB" not in os.environ
    assert nerd._lib.lib._name == os.path.join(package, "libnerd.so")
    from nerd import _build_info
    assert os.path.samefile(_build_info.CLONE_ROOT, ROOT)
    with open(os.path.join(ROOT, "include", "nerd.h")) as f:
        assert '#define NERD_VERSION "%s"' % nerd.__version__ in f.read()


def test_load_by_name_or_none_finds_the_default_model_in_the_clone(monkeypatch, tmp_path):
    monkeypatch.delenv("NERD_MODEL", raising=False)
    monkeypatch.chdir(tmp_path)  # the clone's folders are found from anywhere
    for name in ("en_core_web_sm", None):
        nlp = nerd.load(name)
        assert os.path.samefile(nlp.path, DEFAULT_MODEL)
        assert nlp.pipeline == "doc" and nlp.pipe_names == spacy_model(DEFAULT_MODEL, "full").pipe_names
        assert "GPE" in nlp.labels and nlp.precision == "fp32"


def test_nerd_model_comes_first_and_must_be_a_folder(monkeypatch):
    monkeypatch.setenv("NERD_MODEL", STANDIN)
    assert nerd.load("en_core_web_sm").path == STANDIN
    monkeypatch.setenv("NERD_MODEL", "/nonexistent/nerd-model")
    with pytest.raises(nerd.ModelError) as e:
        nerd.load("en_core_web_sm")
    assert "$NERD_MODEL=/nonexistent/nerd-model is not a folder" in str(e.value)


def test_load_by_path_str_or_pathlike():
    assert nerd.load(STANDIN).path == STANDIN
    assert nerd.load(pathlib.Path(STANDIN), pipeline="ner").pipe_names == ["ner"]


def test_the_default_pipeline_is_what_spacy_load_runs(tmp_path):
    nlp = nerd.load(STANDIN)
    assert nlp.pipeline == "doc" and nlp.pipe_names == spacy_model(STANDIN, "full").pipe_names
    assert nlp.lang == "en" and nlp(PARIS).to_json() == spacy_model(STANDIN, "full")(PARIS).to_json()
    # the same folder without its parser: spacy.load runs tok2vec, tagger, ..., ner: the ner alone
    folder = tmp_path / "no-parser"
    shutil.copytree(STANDIN, folder)
    cfg = (folder / "config.cfg").read_text()
    (folder / "config.cfg").write_text(cfg.replace('"tagger","parser",', '"tagger",', 1))
    shutil.rmtree(folder / "parser")
    nlp = nerd.load(folder)
    assert nlp.pipeline == "ner" and nlp.pipe_names == ["ner"]
    assert ("Paris", "GPE") in [(e.text, e.label_) for e in nlp("Paris is in France.").ents]
    with pytest.raises(nerd.ModelError):
        nerd.load(folder, pipeline="full")


def test_a_missing_folder_is_an_oserror_naming_it():
    with pytest.raises(OSError) as e:
        nerd.load("/nonexistent/model")
    assert isinstance(e.value, nerd.ModelError) and isinstance(e.value, nerd.NerdError)
    assert "/nonexistent/model" in str(e.value) and e.value.status == "NOT_FOUND"


def test_an_unknown_model_name_says_what_nerd_finds():
    with pytest.raises(nerd.ModelError) as e:
        nerd.load("en_core_web_lg")
    assert "'en_core_web_lg'" in str(e.value) and "'en_core_web_sm'" in str(e.value)


def test_a_corrupt_model_file_is_named(tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(STANDIN, folder)
    with open(folder / "ner" / "model", "r+b") as f:
        f.truncate(100)
    with pytest.raises(nerd.ModelError) as e:
        nerd.load(str(folder))
    assert "ner/model" in str(e.value) and e.value.status == "FORMAT"


def test_an_empty_folder_is_refused_with_the_missing_file(tmp_path):
    with pytest.raises(nerd.ModelError) as e:
        nerd.load(str(tmp_path))
    assert "config.cfg" in str(e.value) or "meta.json" in str(e.value)


@pytest.mark.parametrize("kwargs, words", [({"pipeline": "parser"}, "pipeline must be one of ner, full"),
                                           ({"precision": "fp16"}, "precision must be fp32, bf16 or int8")])
def test_bad_arguments_are_value_errors(kwargs, words):
    with pytest.raises(ValueError) as e:
        nerd.load(STANDIN, **kwargs)
    assert isinstance(e.value, nerd.InputError) and words in str(e.value)


def test_int8_runs():
    doc = nerd.load(STANDIN, precision="int8")(PARIS)
    assert nerd.load(STANDIN, precision="int8").precision == "int8"
    assert [e.label_ for e in doc.ents][:2] == ["GPE", "GPE"]


@pytest.mark.parametrize("text", [123, b"Paris", None, ["Paris"]])
def test_a_non_text_is_a_value_error_as_in_spacy(nlp, text):
    with pytest.raises(ValueError) as e:
        nlp(text)
    assert isinstance(e.value, nerd.InputError) and "expected a str as input" in str(e.value)
    with pytest.raises(ValueError):
        spacy_model(STANDIN, "ner")(text)


def test_a_lone_surrogate_is_refused_with_the_library_message_and_its_place(nlp):
    with pytest.raises(nerd.InputError) as e:
        nlp("Paris \ud83d is big")
    assert str(e.value) == "text is not valid UTF-8: a lone surrogate U+D83D at index 6"
    assert e.value.status == "UTF8"
    # a str always encodes to UTF-8 otherwise, astral characters and NUL included
    doc = nlp("Paris \U0001d518\U0001d52b \x00 France")
    assert [t.text for t in doc] == ["Paris", "\U0001d518\U0001d52b", "\x00", "France"]
    assert nlp(PARIS).ents[0].text == "Paris"  # the workspace serves again after an error


def test_doc_tokens_spans_and_ents(nlp):
    doc = nlp(PARIS)
    assert doc.text == PARIS and str(doc) == PARIS
    assert len(doc) == 14 and [t.i for t in doc] == list(range(14))
    assert "".join(t.text_with_ws for t in doc) == PARIS
    assert doc[0].text == "Paris" and doc[0].idx == 0 and doc[0].whitespace_ == " "
    assert doc[-1].text == "." and doc[-1].whitespace_ == "" and doc[-1].i == 13
    with pytest.raises(IndexError):
        doc[14]
    span = doc[7:9]
    assert span.text == "Angela Merkel" and (span.start_char, span.end_char) == (32, 45) and len(span) == 2
    assert [(e.text, e.label_, e.start_char, e.end_char, e.start, e.end) for e in doc.ents] == [
        ("Paris", "GPE", 0, 5, 0, 1), ("France", "GPE", 24, 30, 5, 6), ("Angela Merkel", "PERSON", 32, 45, 7, 9),
        ("Berlin", "GPE", 54, 60, 10, 11), ("Monday", "DATE", 64, 70, 12, 13)]
    assert [(t.ent_iob_, t.ent_type_) for t in doc.ents[2]] == [("B", "PERSON"), ("I", "PERSON")]
    assert (doc[1].ent_iob_, doc[1].ent_type_) == ("O", "")
    assert [s.text for s in doc.sents] == ["Paris is the capital of France.",
                                           "Angela Merkel visited Berlin on Monday."]
    assert [t.is_sent_start for t in doc][:8] == [True] + [False] * 6 + [True]
    assert doc[1].head.i == 1 and doc[1].dep_ == "ROOT"


def test_docs_stay_valid_after_their_model_is_gone():
    nlp = nerd.load(STANDIN)
    doc = nlp(PARIS)
    del nlp
    gc.collect()
    assert [e.text for e in doc.ents][:2] == ["Paris", "France"] and doc[3].text == "capital"


def test_the_ner_pipeline_has_no_sentences_as_in_spacy(nlp_ner):
    doc = nlp_ner(PARIS)
    with pytest.raises(ValueError) as e:
        list(doc.sents)
    assert "pipeline=\"full\"" in str(e.value)
    with pytest.raises(ValueError):
        list(spacy_model(STANDIN, "ner")(PARIS).sents)
    assert {t.is_sent_start for t in doc} == {None} and doc[0].dep_ == ""


def test_empty_and_whitespace_texts(nlp):
    assert len(nlp("")) == 0 and nlp("").ents == () and list(nlp("").sents) == []
    doc = nlp(" \n ")
    assert [t.is_space for t in doc] == [s.is_space for s in spacy_model(STANDIN, "full")(" \n ")]


@pytest.mark.parametrize("n_threads, batch_size", [(1, 64), (2, 1), (2, 7), (4, 64)])
def test_pipe_yields_every_doc_in_order(nlp, all_golden_texts, n_threads, batch_size):
    texts = all_golden_texts[:300]
    expected = [[(e.start_char, e.end_char, e.label_) for e in nlp(t).ents] for t in texts]
    docs = list(nlp.pipe(texts, n_threads=n_threads, batch_size=batch_size))
    assert [d.text for d in docs] == texts
    assert [[(e.start_char, e.end_char, e.label_) for e in d.ents] for d in docs] == expected


def test_pipe_as_tuples_and_lazily_from_an_endless_generator(nlp):
    pairs = list(nlp.pipe([("Paris.", 1), ("Berlin.", 2)], as_tuples=True, n_threads=2))
    assert [(d.ents[0].text, c) for d, c in pairs] == [("Paris", 1), ("Berlin", 2)]
    endless = ("Text number %d from Paris." % i for i in itertools.count())
    docs = list(itertools.islice(nlp.pipe(endless, n_threads=2, batch_size=4), 30))
    assert docs[29].text == "Text number 29 from Paris."


def test_pipe_runs_its_threads_at_once_and_ends_them(nlp, all_golden_texts, monkeypatch):
    in_flight, most_in_flight, lock = [0], [0], threading.Lock()
    nerd_ner = nerd.lib.nerd_ner

    def counted_nerd_ner(*args):
        with lock:
            in_flight[0] += 1
            most_in_flight[0] = max(most_in_flight[0], in_flight[0])
        try:
            return nerd_ner(*args)
        finally:
            with lock:
                in_flight[0] -= 1
    monkeypatch.setattr(nerd.lib, "nerd_ner", counted_nerd_ner)

    def pipe_threads():
        return [t for t in threading.enumerate() if t.name.startswith("nerd-pipe")]
    # batches of about 20 ms: no thread is idle when the next batch is submitted
    gen = nlp.pipe(all_golden_texts[:600], n_threads=2, batch_size=64)
    old = sys.getswitchinterval()
    sys.setswitchinterval(30)  # no thread is preempted: only a call that lets go of the GIL lets another one run
    try:
        next(gen)
        assert len(pipe_threads()) == 2
        assert len(list(gen)) == 599 and pipe_threads() == []
    finally:
        sys.setswitchinterval(old)
    assert most_in_flight[0] == 2  # both threads were inside the library at the same time
    gen = nlp.pipe(all_golden_texts[:600], n_threads=2, batch_size=64)
    next(gen)
    gen.close()  # a consumer that stops early
    assert pipe_threads() == []


def test_pipe_raises_an_error_at_its_texts_place(nlp):
    gen = nlp.pipe(["Paris.", 5, "Berlin."], n_threads=2, batch_size=1)
    assert next(gen).text == "Paris."
    with pytest.raises(nerd.InputError):
        next(gen)
    with pytest.raises(ValueError):
        list(nlp.pipe(["Paris."], n_threads=0))


def test_many_python_threads_share_one_model(nlp, all_golden_texts):
    texts = all_golden_texts[:200]
    expected = [[(e.start_char, e.end_char, e.label_) for e in nlp(t).ents] for t in texts]
    results = [None] * 4

    def work(k):
        results[k] = [[(e.start_char, e.end_char, e.label_) for e in nlp(t).ents] for t in texts]
    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert results == [expected] * 4
    assert len(nlp._pool) <= 4 + 1  # one workspace per thread at most (plus the test thread's)


def test_the_gil_is_released_while_nerd_runs(nlp, all_golden_texts, monkeypatch):
    """With preemptive switching off, another Python thread runs during the library's nerd_ner
    only if the call lets go of the GIL: it must see the flag that is up exactly during that call."""
    text = " ".join(all_golden_texts[:400])  # about 100 ms of work
    in_call, seen_in_call, done = threading.Event(), [], threading.Event()
    nerd_ner = nerd.lib.nerd_ner

    def flagged_nerd_ner(*args):
        in_call.set()
        try:
            return nerd_ner(*args)
        finally:
            in_call.clear()
    monkeypatch.setattr(nerd.lib, "nerd_ner", flagged_nerd_ner)

    def watch():
        deadline = time.monotonic() + 60
        while not done.is_set() and time.monotonic() < deadline:
            if in_call.is_set():
                seen_in_call.append(True)
            time.sleep(0.001)  # a blocking call: gives the GIL back
    old = sys.getswitchinterval()
    sys.setswitchinterval(30)  # no thread is preempted: only a blocking call lets another one run
    watcher = threading.Thread(target=watch)
    try:
        watcher.start()
        for _ in range(3):
            nlp(text)
    finally:
        done.set()
        sys.setswitchinterval(old)
        watcher.join(60)
    assert seen_in_call


def test_entity_ruler_entities_and_ent_ids_as_spacy(tmp_path):
    # a pipeline a user makes: the stand-in plus an entity_ruler after the ner, written by spaCy
    import spacy
    theirs = spacy.load(STANDIN)
    ruler = theirs.add_pipe("entity_ruler", after="ner", config={"overwrite_ents": True})
    ruler.add_patterns([{"label": "GPE", "pattern": "Paris", "id": "paris-fr"},
                        {"label": "PERSON", "pattern": [{"LOWER": "angela"}, {"LOWER": "merkel"}], "id": "am"},
                        {"label": "DAY", "pattern": [{"LOWER": "monday"}]}])
    theirs.to_disk(tmp_path / "ruled")
    want, got = theirs(PARIS), nerd.load(tmp_path / "ruled")(PARIS)
    assert [(e.text, e.label_, e.ent_id_) for e in got.ents] == [(e.text, e.label_, e.ent_id_) for e in want.ents]
    assert ("Paris", "GPE", "paris-fr") in [(e.text, e.label_, e.ent_id_) for e in got.ents]
    assert [t.ent_id_ for t in got] == [t.ent_id_ for t in want]


def test_span_ruler_entities_and_doc_spans_as_spacy(tmp_path):
    # a span_ruler after the ner writing doc.ents (prioritize_new) and doc.spans: to_json() has both
    import spacy
    theirs = spacy.load(STANDIN)
    ruler = theirs.add_pipe("span_ruler", after="ner", config={
        "annotate_ents": True, "overwrite": False, "ents_filter": {"@misc": "spacy.prioritize_new_ents_filter.v1"}})
    ruler.add_patterns([{"label": "GPE", "pattern": "Paris", "id": "paris-fr"},
                        {"label": "CITY", "pattern": [{"ORTH": "Paris"}]},
                        {"label": "PERSON", "pattern": [{"LOWER": "angela"}, {"LOWER": "merkel"}], "id": "am"}])
    theirs.to_disk(tmp_path / "spans")
    for text in (PARIS, "Angela Merkel visited Paris and Paris, Texas."):
        want, got = theirs(text), nerd.load(tmp_path / "spans")(text)
        assert got.to_json() == want.to_json() and "spans" in got.to_json()
        assert [(e.text, e.label_, e.ent_id_) for e in got.ents] == [(e.text, e.label_, e.ent_id_) for e in want.ents]
        assert {k: [(s.start, s.end, s.label_, s.ent_id_) for s in g] for k, g in got.spans.items()} == \
            {k: [(s.start, s.end, s.label_, s.ent_id_) for s in g] for k, g in want.spans.items()}


def test_the_doc_pipeline_gives_spacys_doc(nlp):
    theirs, ours = spacy_model(DEFAULT_MODEL, "full")(PARIS), nlp(PARIS)
    assert ours.to_json() == theirs.to_json() and set(ours.to_json()) == {"text", "ents", "sents", "tokens"}
    assert [(t.tag_, t.pos_, str(t.morph), t.lemma_, t.dep_, t.head.i, t.is_sent_start, t.lang_) for t in ours] == \
        [(t.tag_, t.pos_, str(t.morph), t.lemma_, t.dep_, t.head.i, t.is_sent_start, t.lang_) for t in theirs]
    assert [(c.text, c.label_) for c in ours.noun_chunks] == [(c.text, c.label_) for c in theirs.noun_chunks]
    assert ours[0].lemma_ == "Paris" and ours[1].pos_ == "AUX" and str(ours[1].morph) == theirs[1].morph.to_json()
    for attr in ("TAG", "POS", "MORPH", "LEMMA", "DEP", "SENT_START", "ENT_IOB"):
        assert ours.has_annotation(attr) == theirs.has_annotation(attr) is True
    with pytest.raises(ValueError):
        ours.has_annotation("CATS")


@pytest.mark.parametrize("pipeline", ["full", "ner"])
def test_without_the_doc_pipeline_there_are_no_tags_nor_noun_chunks(pipeline):
    doc = nerd.load(DEFAULT_MODEL, pipeline=pipeline)(PARIS)
    assert {(t.tag_, t.pos_, str(t.morph), t.lemma_) for t in doc} == {("", "", "", "")}
    with pytest.raises(ValueError) as e:
        list(doc.noun_chunks)
    assert 'pipeline="doc"' in str(e.value)
    assert "tag" not in doc.to_json()["tokens"][0] and ("head" in doc.to_json()["tokens"][0]) == (pipeline == "full")


def test_noun_chunks_of_a_language_nerd_has_no_iterator_for_are_refused_by_name(tmp_path):
    """The stand-in relabelled German without its English lemmatizer: the Doc is answered, but
    doc.noun_chunks raises naming the language instead of giving none (spaCy's German iterator)."""
    folder = tmp_path / "de"
    shutil.copytree(STANDIN, folder)
    config = (folder / "config.cfg").read_text(encoding="utf-8")
    (folder / "config.cfg").write_text(config.replace('lang = "en"', 'lang = "de"', 1).replace(',"lemmatizer"', "", 1),
                                       encoding="utf-8")
    doc = nerd.load(str(folder))(PARIS)
    assert doc.lang_ == "de" and doc.to_json()["tokens"][0]["pos"]
    with pytest.raises(nerd.InputError) as e:
        list(doc.noun_chunks)
    assert 'lang "de"' in str(e.value) and e.value.status == "UNSUPPORTED"


@pytest.mark.parametrize("text", ["", "Hi", "Paris", " \n "])
def test_to_json_of_tiny_docs_as_spacy_in_every_pipeline(text):
    for ours, theirs in (("doc", "full"), ("ner", "ner")):
        assert nerd.load(STANDIN, pipeline=ours)(text).to_json() == spacy_model(STANDIN, theirs)(text).to_json()


@pytest.mark.parametrize("feats", ["", "Number=Sing", "Number=Sing|PronType=Int,Rel", "Case=Acc,Nom|Number=Plur|Person=3"])
def test_morph_analysis_as_spacys(feats):
    import spacy
    vocab = spacy_model(STANDIN, "full").vocab
    ours, theirs = nerd.MorphAnalysis(feats), spacy.tokens.MorphAnalysis(vocab, feats)
    assert (str(ours), ours.to_json(), list(ours), len(ours), ours.to_dict()) == \
        (str(theirs), theirs.to_json(), list(theirs), len(theirs), theirs.to_dict())
    for field in ("Number", "PronType", "Case", "Tense"):
        assert ours.get(field) == theirs.get(field) and ours.get(field, ["x"]) == theirs.get(field, ["x"])
    for feature in ("Number=Sing", "PronType=Rel", "Case=Nom", "Tense=Past"):
        assert (feature in ours) == (feature in theirs)
