"""nerd's package against spaCy 3.8.7 on the same model folder and all the golden texts (2,672):
entities, tokens and, with the full pipeline, sentences and the parse identical, and with the doc
pipeline (nerd.load's default, spacy.load's) the whole Doc: tags, parts of speech, morphology,
lemmas, noun chunks and doc.to_json(), token by token, spaCy's names on both sides. nerd runs
through nlp.pipe on two threads."""
import pytest

import nerd
from conftest import MODEL_FOLDERS, spacy_model


def ents(doc):
    return [(e.text, e.label_, e.start_char, e.end_char, e.start, e.end) for e in doc.ents]


def tokens(doc):
    return [(t.text, t.idx, t.i, t.whitespace_, t.is_space, t.ent_iob_, t.ent_type_) for t in doc]


def sents(doc):
    return [(s.text, s.start, s.end, s.start_char, s.end_char) for s in doc.sents]


def parse(doc):
    return [(t.is_sent_start, t.head.i, t.dep_) for t in doc]


def annotations(doc):
    return [(t.tag_, t.pos_, str(t.morph), list(t.morph), len(t.morph), t.morph.to_dict(),
             {field: t.morph.get(field) for field in t.morph.to_dict()}, t.lemma_, t.ent_id_, t.lang_) for t in doc]


def noun_chunks(doc):
    return [(c.text, c.start, c.end, c.start_char, c.end_char, c.label_) for c in doc.noun_chunks]


def to_json(doc):
    return doc.to_json()


# what is compared, per pipeline (the ner alone has no sentences and no parse, in spaCy too)
VIEWS = {"doc": (ents, tokens, sents, parse, annotations, noun_chunks, to_json), "full": (ents, tokens, sents, parse),
         "ner": (ents, tokens, to_json)}
# spaCy's pipeline each of nerd's is compared with: spacy.load(path) for doc and full (full's
# tagger, attribute_ruler and lemmatizer change no entity, sentence or head)
SPACY_PIPELINE = {"doc": "full", "full": "full", "ner": "ner"}


@pytest.mark.parametrize("folder", MODEL_FOLDERS)
@pytest.mark.parametrize("pipeline", ["doc", "full", "ner"])
def test_identical_to_spacy_on_the_golden_texts(folder, pipeline, all_golden_texts):
    spacy_docs = spacy_model(folder, SPACY_PIPELINE[pipeline]).pipe(all_golden_texts)
    nerd_docs = nerd.load(folder, pipeline=pipeline).pipe(all_golden_texts, n_threads=2)
    compared, differing = 0, {view.__name__: [] for view in VIEWS[pipeline]}
    for i, (theirs, ours) in enumerate(zip(spacy_docs, nerd_docs)):
        assert ours.text == theirs.text
        for view in VIEWS[pipeline]:
            if view(ours) != view(theirs):
                differing[view.__name__].append(i)
        compared += 1
    assert compared == len(all_golden_texts) == 2672
    assert differing == {view.__name__: [] for view in VIEWS[pipeline]}
