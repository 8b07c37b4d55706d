"""nerd's package against spaCy 3.8.7 on the same model folder and all the golden texts (2,672):
entities, tokens and, with the full pipeline, sentences and the parse identical, spaCy's names on
both sides. nerd runs through nlp.pipe on two threads."""
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


# what is compared, per pipeline (the ner alone has no sentences and no parse, in spaCy too)
VIEWS = {"full": (ents, tokens, sents, parse), "ner": (ents, tokens)}


@pytest.mark.parametrize("folder", MODEL_FOLDERS)
@pytest.mark.parametrize("pipeline", ["full", "ner"])
def test_identical_to_spacy_on_the_golden_texts(folder, pipeline, all_golden_texts):
    spacy_docs = spacy_model(folder, pipeline).pipe(all_golden_texts)
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
