"""nerd's entity_ruler and span_ruler against spaCy's (`make test-ruler`).

Builds pipelines with spaCy 3.8.7: the model (en_core_web_sm) plus an entity_ruler before the ner
(overwrite_ents false, phrase patterns on LOWER), one after the ner with overwrite_ents (phrase
patterns on ORTH, ent_id_sep "##", patterns on the ner's ENT_TYPE/ENT_IOB), the first set of
patterns after the ner without overwrite, the first two rulers in one pipeline, and rulers
before and after the ner whose patterns read TAG, POS, MORPH, LEMMA and DEP (--pipeline full and
doc; --pipeline ner, where spaCy raises E155, must be refused by nerd). The patterns overlap (several keys on one span, nested
and crossing spans), use every operator and predicate nerd's Matcher implements, and carry ids
(also empty and null). Each pipeline is written with nlp.to_disk into the work folder; then
spaCy's entities and ent_ids on the golden texts and the differential generator's texts are
compared with `nerd ner --format ents` on the same folder, both pipelines (spacy.load, and
spacy.load without the tagger, parser, attribute_ruler and lemmatizer for --pipeline ner). The
model's own docs are made once per pipeline: a ruler after the ner is the last step, so the
folder's ruler, as spacy.load read it back, is applied to copies of them.
The span_ruler variants (annotate_ents true: each registered ents_filter with and without
overwrite, after the ner, and before it then a second after it; one with annotate_ents false)
compare the entities the same way, and doc.to_json()'s "spans" (doc.spans[spans_key]) with
`nerd ner --pipeline doc --format doc` (POST /doc's answer) on the same folder.
Prints the first differences and "ruler-spacy: N docs, M identical, D differ ...; doc.spans of
N docs, ..."; exits 1 on any difference.

    python tests/ruler/parity.py --model MODEL --nerd build/nerd --work build/ruler golden.jsonl...
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "spacy"))

OPS = ["?", "*", "+", "!", "{2}", "{1,2}", "{2,}", "{,2}"]

# Before the ner: lexical attributes and flags; two keys on "paris" (a phrase and a token
# pattern) so that the set order decides; ids set, empty and null.
BEFORE = [
    {"label": "GPE", "pattern": "paris", "id": "paris-fr"},
    {"label": "CITY", "pattern": [{"LOWER": "paris"}]},
    {"label": "GPE", "pattern": "new york", "id": "nyc"},
    {"label": "ORG", "pattern": [{"LOWER": "new"}, {"LOWER": "york"}, {"LOWER": "times", "OP": "?"}], "id": "nyt"},
    {"label": "MONEY", "pattern": [{"IS_CURRENCY": True}, {"LIKE_NUM": True, "OP": "+"}]},
    {"label": "QUANTITY", "pattern": [{"IS_DIGIT": True}, {"LOWER": {"IN": ["km", "kg", "miles", "mph", "%"]}}]},
    {"label": "EMAIL", "pattern": [{"LIKE_EMAIL": True}], "id": "mail"},
    {"label": "URL", "pattern": [{"LIKE_URL": True}], "id": None},
    {"label": "PERSON", "pattern": [{"IS_TITLE": True, "LOWER": {"IN": ["mr", "mrs", "ms", "dr"]}},
                                    {"ORTH": ".", "OP": "?"}, {"IS_TITLE": True, "OP": "{1,2}"}], "id": "honorific"},
    {"label": "TITLE_RUN", "pattern": [{"SHAPE": "Xxxxx"}, {"SHAPE": {"REGEX": "^Xx+$"}, "OP": "+"}]},
    {"label": "DATE", "pattern": [{"SHAPE": "dddd", "TEXT": {"REGEX": "^(19|20)"}}], "id": "year"},
    {"label": "NUMWORD", "pattern": [{"LIKE_NUM": True, "IS_ALPHA": True}]},
    {"label": "DATE", "pattern": [{"NORM": {"IN": ["monday", "tuesday", "wednesday", "thursday", "friday"]}}], "id": ""},
    {"label": "ACRONYM", "pattern": [{"IS_UPPER": True, "LENGTH": {">=": 2, "<=": 5}, "IS_ALPHA": True}]},
    {"label": "QUOTED", "pattern": [{"IS_QUOTE": True, "IS_LEFT_PUNCT": True}, {"IS_PUNCT": False, "OP": "{1,3}"},
                                    {"IS_QUOTE": True, "IS_RIGHT_PUNCT": True}]},
    {"label": "PAREN", "pattern": [{"IS_BRACKET": True, "ORTH": "("}, {"IS_BRACKET": False, "LENGTH": {"<": 8}, "OP": "*"},
                                   {"ORTH": ")"}]},
    {"label": "THE_X_OF", "pattern": [{"LOWER": "the"}, {"IS_STOP": True, "OP": "!"}, {"LOWER": "of"}]},
    {"label": "CAPWORDS", "pattern": [{"IS_SENT_START": False, "IS_TITLE": True, "LOWER": {"NOT_IN": ["i", "the"]},
                                       "LENGTH": {">": 3}}, {"IS_TITLE": True, "SPACY": True}]},
    {"label": "ORDINAL", "pattern": [{"LOWER": {"REGEX": "^\\d+(st|nd|rd|th)$"}}], "id": "ord"},
    {"label": "CARDINAL", "pattern": [{"IS_DIGIT": True, "OP": "{3}"}]},
    {"label": "RANGE", "pattern": [{"IS_DIGIT": True}, {"ORTH": "-", "OP": "{,1}"}, {"IS_DIGIT": True, "OP": "{1,}"}]},
    {"label": "PERSON", "pattern": [{"LOWER": {"INTERSECTS": ["obama", "bush", "clinton"]}}], "id": "president"},
    {"label": "NON_ASCII", "pattern": [{"IS_ASCII": False, "IS_ALPHA": True}]},
    {"label": "LONGWORD", "pattern": [{"IS_LOWER": True, "LENGTH": {"==": 13}}]},
    {"label": "ORG", "pattern": [{"LOWER": {"IS_SUBSET": ["apple", "google", "microsoft"]}}], "id": "tech"},
    {"label": "ORG", "pattern": [{"LOWER": {"IS_SUPERSET": ["ibm"]}}]},
    {"label": "NOT_EQ", "pattern": [{"ORTH": "Mr."}, {"LENGTH": {"!=": 3}, "IS_TITLE": True}]},
    {"label": "EVENT", "pattern": "world war ii"},
    {"label": "FAC", "pattern": "the white house", "id": "wh"},
]

# After the ner, with overwrite_ents: patterns on the ner's entities
AFTER = [
    {"label": "ORG", "pattern": "Apple", "id": "apple"},
    {"label": "PRODUCT", "pattern": [{"ORTH": "Apple"}]},
    {"label": "GPE", "pattern": [{"ENT_TYPE": "GPE", "OP": "+"}], "id": "gpe-ruled"},
    {"label": "ORG", "pattern": [{"ENT_TYPE": "ORG"}, {"ENT_TYPE": "ORG", "OP": "*"},
                                 {"LOWER": {"IN": ["inc", "inc.", "corp", "ltd"]}, "OP": "?"}], "id": "org-ruled"},
    {"label": "DATE", "pattern": [{"ENT_IOB": "B", "ENT_TYPE": "DATE"}, {"ENT_IOB": "I", "OP": "*"}], "id": "date"},
    {"label": "PERSON", "pattern": [{"ENT_TYPE": "PERSON"}, {"ORTH": "'s"}]},
    {"label": "MONEY", "pattern": [{"IS_CURRENCY": True}, {"LIKE_NUM": True, "OP": "+"}], "id": "money"},
    {"label": "PERCENT", "pattern": [{"LIKE_NUM": True}, {"LOWER": {"IN": ["percent", "%"]}}]},
    {"label": "EMAIL", "pattern": [{"LIKE_EMAIL": True}], "id": "mail"},
    {"label": "HEADLINE", "pattern": [{"IS_SENT_START": True, "IS_TITLE": True}, {"IS_TITLE": True, "OP": "{2,}"}]},
    {"label": "NORP", "pattern": [{"ENT_TYPE": {"IN": ["NORP", "LANGUAGE"]}}, {"IS_TITLE": True, "OP": "?"}]},
    {"label": "CARDINAL", "pattern": [{"ENT_TYPE": {"NOT_IN": ["", "CARDINAL"]}, "LIKE_NUM": True}], "id": ""},
    {"label": "GPE", "pattern": "New York City", "id": "nyc"},
]

# Patterns on what the components before the ruler set (tagger: TAG; attribute_ruler: POS,
# MORPH and the whitespace tokens' DEP "dep"; lemmatizer: LEMMA; parser: DEP), before the ner and
# after it. spaCy's --pipeline ner (those components excluded) raises E155 on them: nerd refuses it.
ANNOT = [
    {"label": "ORG", "pattern": [{"TAG": "NNP"}, {"TAG": "NNPS", "OP": "+"}], "id": "nnps"},
    {"label": "SPEAKER", "pattern": [{"POS": "PROPN", "OP": "+"}, {"LEMMA": {"IN": ["say", "tell", "announce"]}}]},
    {"label": "SUBJ", "pattern": [{"DEP": "nsubj", "POS": "PRON"}, {"LEMMA": {"IN": ["be", "have"]}}]},
    {"label": "PLURAL", "pattern": [{"MORPH": {"IS_SUPERSET": ["Number=Plur"]}, "POS": "NOUN", "LENGTH": {">": 8}}]},
    {"label": "DATE", "pattern": [{"LEMMA": {"REGEX": "^(year|month|week)$"}}], "id": "period"},
    {"label": "QUANTITY", "pattern": [{"POS": "NUM", "DEP": "nummod"}, {"POS": "NOUN", "OP": "{1,2}"}]},
    {"label": "ROOT", "pattern": [{"DEP": "ROOT", "TAG": {"IN": ["VBD", "VBZ"]}, "IS_SENT_START": False}]},
    {"label": "SUPERL", "pattern": [{"MORPH": "Degree=Sup"}, {"POS": "NOUN", "OP": "+"}]},
    {"label": "NEG", "pattern": [{"DEP": "neg"}, {"POS": {"NOT_IN": ["AUX"]}, "OP": "?"}, {"POS": "VERB"}], "id": "neg"},
    {"label": "PERSON", "pattern": [{"MORPH": {"INTERSECTS": ["Person=1", "Person=2"]}, "TAG": "PRP"}]},
    {"label": "SPACE", "pattern": [{"DEP": "dep", "IS_SPACE": True}]},
    {"label": "GERUND", "pattern": [{"TAG": "VBG", "MORPH": {"IS_SUBSET": ["Aspect=Prog", "Tense=Pres", "VerbForm=Part"]}},
                                    {"POS": "DET", "OP": "!"}]},
    {"label": "CITY", "pattern": [{"LEMMA": "paris"}]},
]
ANNOT_AFTER = ANNOT + [
    {"label": "GPE", "pattern": [{"ENT_TYPE": "GPE", "POS": "PROPN", "OP": "+"}], "id": "gpe-propn"},
    {"label": "ORG", "pattern": [{"ENT_IOB": "B", "DEP": {"IN": ["nsubj", "nsubjpass"]}}, {"ENT_IOB": "I", "OP": "*"}]},
]

VARIANTS = {
    "before": dict(patterns=BEFORE, where={"before": "ner"},
                   config={"overwrite_ents": False, "phrase_matcher_attr": "LOWER"}),
    "after-overwrite": dict(patterns=AFTER, where={"after": "ner"},
                            config={"overwrite_ents": True, "ent_id_sep": "##"}),
    "after-keep": dict(patterns=BEFORE, where={"after": "ner"},
                       config={"overwrite_ents": False, "phrase_matcher_attr": "LOWER"}),
    # both: the ner keeps the first's entities (and their ent_ids), the second overwrites some
    "two-rulers": dict(patterns=BEFORE, where={"before": "ner"},
                       config={"overwrite_ents": False, "phrase_matcher_attr": "LOWER"},
                       then=dict(patterns=AFTER, where={"after": "ner"},
                                 config={"overwrite_ents": True, "ent_id_sep": "##"})),
    "annot-before": dict(patterns=ANNOT, where={"before": "ner"}, config={"overwrite_ents": False}, annot=True),
    "annot-after": dict(patterns=ANNOT_AFTER, where={"after": "ner"}, config={"overwrite_ents": True}, annot=True),
}

# The span_ruler with annotate_ents (spacy/pipeline/span_ruler.py): its matches as Spans (one per
# span, label and id: a phrase and a token pattern on the same span with the same label and id
# are one; with another id, two), then ents_filter(the doc's entities unless overwrite, matches).
# Empty label (a span that blocks others in the filter and is then dropped by Doc.ents), empty id,
# an id that is one of spaCy's symbols, several labels and ids on one span (ordered by their
# StringStore keys).
SPAN_EXTRA = [
    {"label": "GPE", "pattern": "paris", "id": "paris-fr"},
    {"label": "GPE", "pattern": [{"LOWER": "paris"}], "id": "paris-fr"},
    {"label": "GPE", "pattern": [{"LOWER": "paris"}], "id": "PERSON"},
    {"label": "LOC", "pattern": [{"LOWER": "paris"}], "id": ""},
    {"label": "", "pattern": [{"LOWER": "the"}, {"IS_TITLE": True, "OP": "+"}]},
    {"label": "ORG", "pattern": [{"IS_TITLE": True}, {"LOWER": {"IN": ["university", "inc", "corp", "group"]}}],
     "id": "org-suffix"},
    {"label": "DATE", "pattern": [{"LIKE_NUM": True}, {"LOWER": {"IN": ["years", "days", "months"]}}]},
]
# (a null id, which BEFORE has, makes spaCy's SpanRuler raise TypeError on its matches: nerd
# refuses it at load, tests/ruler/test_entity_ruler.c)
SPAN_BEFORE = [{k: v for k, v in p.items() if not (k == "id" and v is None)} for p in BEFORE] + SPAN_EXTRA
SPAN_AFTER = AFTER + SPAN_EXTRA
SPAN_FILTERS = {name: {"@misc": f"spacy.{name}.v1"} for name in
                ("first_longest_spans_filter", "prioritize_new_ents_filter", "prioritize_existing_ents_filter")}


def span_variant(patterns, where, ents_filter, overwrite, attr=None, **more):
    return dict(factory="span_ruler", patterns=patterns, where=where,
                config={"annotate_ents": True, "ents_filter": SPAN_FILTERS[ents_filter], "overwrite": overwrite,
                        "phrase_matcher_attr": attr, **more})


# before the ner (its entities are the ner's presets) and after it, each filter with and without
# overwrite, on patterns that overlap each other and the ner's entities
VARIANTS.update({
    "span-after-longest-keep": span_variant(SPAN_BEFORE, {"after": "ner"}, "first_longest_spans_filter", False, "LOWER"),
    "span-after-longest-overwrite": span_variant(SPAN_AFTER, {"after": "ner"}, "first_longest_spans_filter", True),
    "span-after-new-keep": span_variant(SPAN_AFTER, {"after": "ner"}, "prioritize_new_ents_filter", False),
    "span-after-new-overwrite": span_variant(SPAN_BEFORE, {"after": "ner"}, "prioritize_new_ents_filter", True, "LOWER"),
    "span-after-existing-keep": span_variant(SPAN_BEFORE, {"after": "ner"}, "prioritize_existing_ents_filter", False,
                                             "LOWER"),
    "span-after-existing-overwrite": span_variant(SPAN_AFTER, {"after": "ner"}, "prioritize_existing_ents_filter", True,
                                                  spans_key=None),
})
# a span_ruler before the ner, then one after it: the second sees and keeps the first's ids, and
# extends the first's doc.spans group with spans_filter(the group, its matches) (the group's
# spans twice, as spaCy's SpanRuler does: it extends the group with a filter of itself)
# (the first alone is not a variant of its own: spaCy's pipeline over every text, twice, is most
# of this check's time; tests/ruler/test_entity_ruler.c has one before the ner alone)
VARIANTS["span-two-rulers"] = dict(span_variant(SPAN_BEFORE, {"before": "ner"}, "first_longest_spans_filter", True,
                                                "LOWER"), then=dict(
    span_variant(SPAN_AFTER, {"after": "ner"}, "prioritize_new_ents_filter", False,
                 spans_filter=SPAN_FILTERS["first_longest_spans_filter"])))
# doc.spans only: annotate_ents false (the ner's entities stay), a spans_filter, another key
VARIANTS["span-spans-only"] = span_variant(SPAN_AFTER, {"after": "ner"}, "first_longest_spans_filter", True,
                                           annotate_ents=False, spans_key="rules",
                                           spans_filter=SPAN_FILTERS["prioritize_existing_ents_filter"])
NER_ONLY_EXCLUDE = ["tagger", "parser", "attribute_ruler", "lemmatizer"]


def build(spacy, model, folder, spec):
    nlp = spacy.load(model)
    ruler = nlp.add_pipe(spec.get("factory", "entity_ruler"), config=spec["config"], **spec["where"])
    ruler.add_patterns(spec["patterns"])
    if "then" in spec:
        then = spec["then"]
        late = nlp.add_pipe(then.get("factory", "entity_ruler"), name="late_ruler", config=then["config"],
                            **then["where"])
        late.add_patterns(then["patterns"])
    nlp.to_disk(folder)


def spacy_ents(docs, spans=None):
    """The docs' entities; with a list as spans, each doc.to_json()'s "spans" (None without) into it."""
    out = []
    for doc in docs:
        out.append([[e.text, e.label_, e.start_char, e.end_char, e.start, e.end, e.ent_id_] for e in doc.ents])
        if spans is not None:
            spans.append(doc.to_json().get("spans"))
    return out


def nerd_spans(nerd, folder, texts, work):
    """The "spans" of `nerd ner --pipeline doc --format doc` (POST /doc's answer), None without."""
    run = run_nerd(nerd, folder, "doc", texts, work, "doc")
    if run.returncode:
        sys.exit(f"ruler-spacy: nerd failed on {folder}: {run.stderr.strip()}")
    return [json.loads(line).get("spans") for line in run.stdout.split("\n")[:-1]]


def run_nerd(nerd, folder, pipeline, texts, work, fmt="ents"):
    inp = os.path.join(work, "texts.jsonl")
    with open(inp, "w", encoding="utf-8") as f:
        for t in texts:
            f.write(json.dumps({"text": t}, ensure_ascii=False) + "\n")
    return subprocess.run([nerd, "ner", "--model", folder, "--pipeline", pipeline, "--format", fmt, "--jsonl", inp],
                          capture_output=True, text=True, encoding="utf-8")


def refusals_agree(spacy, nerd, folder, texts, work):
    """spaCy without the components the patterns need raises E155 on a text with tokens; nerd
    refuses --pipeline ner by the same reason. Prints and returns whether both did."""
    try:
        spacy.load(folder, exclude=NER_ONLY_EXCLUDE)(texts[0])
        spacy_says = "no error"
    except ValueError as e:
        spacy_says = str(e).split(".")[0]
    run = run_nerd(nerd, folder, "ner", texts[:1], work)
    ok = "[E155]" in spacy_says and run.returncode != 0 and "E155" in run.stderr
    print(f"{os.path.basename(folder)} --pipeline ner: spaCy {spacy_says}; nerd exit {run.returncode}: "
          f"{run.stderr.strip()[:160]}")
    return ok


def nerd_ents(nerd, folder, pipeline, texts, work):
    run = run_nerd(nerd, folder, pipeline, texts, work)
    if run.returncode:
        sys.exit(f"ruler-spacy: nerd failed on {folder}: {run.stderr.strip()}")
    out = []
    for line in run.stdout.split("\n")[:-1]:   # not splitlines: U+2028 may be inside a string
        out.append([[e["text"], e["label"], e["start_char"], e["end_char"], e["start"], e["end"], e.get("ent_id", "")]
                    for e in json.loads(line)])
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--nerd", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--gen-count", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--only", default="", help="run the variants whose name starts with this (all by default)")
    ap.add_argument("golden", nargs="+")
    a = ap.parse_args()
    import spacy
    import gen_texts

    texts = []
    for g in a.golden:
        with open(g, encoding="utf-8") as f:
            texts += [json.loads(line)["text"] for line in f if line.strip()]
    n_golden = len(texts)
    texts += [t["text"] if isinstance(t, dict) else t for t in gen_texts.generate(a.seed, a.gen_count)]
    os.makedirs(a.work, exist_ok=True)
    total = same = 0
    ruler_ents = ids = 0
    span_docs = span_same = n_spans = 0
    # the model's own docs, once per pipeline: a ruler after the ner is the pipeline's last step,
    # so spacy.load(folder) answers what that folder's ruler (read back from disk) makes of them
    base_nlp = {pipeline: spacy.load(a.model, exclude=exclude)
                for pipeline, exclude in (("full", []), ("ner", NER_ONLY_EXCLUDE))}
    base = {pipeline: list(nlp.pipe(texts, batch_size=64)) for pipeline, nlp in base_nlp.items()}
    for name, spec in VARIANTS.items():
        if not name.startswith(a.only):
            continue
        folder = os.path.join(a.work, name)
        build(spacy, a.model, folder, spec)
        refused = 0
        if spec.get("annot"):
            refused = 1
            if not refusals_agree(spacy, a.nerd, folder, texts, a.work):
                sys.exit("ruler-spacy: spaCy and nerd do not both refuse --pipeline ner")
        # nerd's doc pipeline computes the same entities as full: spaCy's are full's
        pipelines = (("full", []), ("doc", [])) if refused else (("full", []), ("ner", NER_ONLY_EXCLUDE))
        want_full = None
        # a span_ruler's doc.spans: doc.to_json()'s "spans" against /doc's (nerd's doc pipeline)
        with_spans = any(s.get("factory") == "span_ruler" for s in (spec, spec.get("then", {})))
        for pipeline, exclude in pipelines:
            want_spans = [] if with_spans and pipeline == "full" else None
            if want_full is not None:
                want = want_full
            elif "after" in spec["where"] and "then" not in spec:
                # the folder's ruler read back as spacy.load reads it (from_disk: its cfg and
                # patterns.jsonl), in the vocab of the docs it annotates
                factory = spec.get("factory", "entity_ruler")
                ruler = base_nlp[pipeline].add_pipe(factory, name=f"ruler_{name}", config=spec["config"])
                ruler.from_disk(os.path.join(folder, factory))
                want = spacy_ents((ruler(d.copy()) for d in base[pipeline]), want_spans)
                base_nlp[pipeline].remove_pipe(f"ruler_{name}")
            else:
                want = spacy_ents(spacy.load(folder, exclude=exclude).pipe(texts, batch_size=64), want_spans)
            if refused:
                want_full = want
            got = nerd_ents(a.nerd, folder, pipeline, texts, a.work)
            if len(got) != len(want):
                sys.exit(f"ruler-spacy: {name} {pipeline}: nerd answered {len(got)} lines for {len(want)} texts")
            shown = 0
            for i, (w, g) in enumerate(zip(want, got)):
                total += 1
                ruler_ents += len(w)
                ids += sum(1 for e in w if e[6])
                if w == g:
                    same += 1
                elif shown < 3:
                    shown += 1
                    where = f"golden {i}" if i < n_golden else f"generated {i - n_golden}"
                    print(f"{name} {pipeline} {where}: {texts[i][:80]!r}\n  spaCy {w}\n  nerd  {g}")
            if want_spans is not None:
                got_spans = nerd_spans(a.nerd, folder, texts, a.work)
                if len(got_spans) != len(want_spans):
                    sys.exit(f"ruler-spacy: {name} doc: nerd answered {len(got_spans)} lines for {len(texts)} texts")
                same_spans = sum(1 for w, g in zip(want_spans, got_spans) if w == g)
                span_docs += len(texts)
                span_same += same_spans
                n_spans += sum(len(g) for w in want_spans if w for g in w.values())
                for i, (w, g) in enumerate((w, g) for w, g in zip(want_spans, got_spans) if w != g):
                    if i < 3:
                        print(f"{name} doc.spans: spaCy {w}\n  nerd  {g}")
                print(f"{name} doc.spans (--pipeline doc): {len(texts)} docs, {same_spans} identical")
            print(f"{name} --pipeline {pipeline}: {len(texts)} docs ({n_golden} golden, {len(texts) - n_golden} "
                  f"generated, {sum(len(w) for w in want)} entities), {sum(1 for w, g in zip(want, got) if w == g)} "
                  f"identical")
    print(f"ruler-spacy: {total} docs, {same} identical, {total - same} differ "
          f"({ruler_ents} entities, {ids} with an ent_id); doc.spans of {span_docs} docs, {span_same} identical, "
          f"{span_docs - span_same} differ ({n_spans} spans)")
    sys.exit(0 if same == total and span_same == span_docs else 1)


if __name__ == "__main__":
    main()
