"""spaCy's Matcher and PhraseMatcher as the reference for nerd's (src/matcher, `make test-matcher`).

Runs the real pipeline over the golden texts (../shared/golden/*.jsonl) and a few texts written to
exercise the patterns below, then spaCy's Matcher with PATTERNS and PhraseMatchers (ORTH, LOWER)
with PHRASES; then random patterns (every operator against every other) over random texts of
three words. Writes one JSON-lines file:
  line 1: {"flags": [...], "matchers": {"golden": [{"key", "greedy", "patterns"}], "random": [...]},
           "phrases": {...}}
  then a line per doc: which patterns ran on it, its tokens' attributes as spaCy computed them and
  spaCy's matches, each as [key, start, end] in the order spaCy returns them.
tests/matcher/test_matcher_spacy.c compiles the same patterns, feeds the same tokens and
compares, doc by doc.

    build/venv/bin/python tests/matcher/gen_cases.py --model DIR --out FILE golden.jsonl...
"""
import argparse
import json
import random
import sys

import spacy
from spacy.matcher import Matcher, PhraseMatcher

# The token flags in the order the cases file lists them (a string of 0/1 per token).
FLAGS = ["IS_ALPHA", "IS_ASCII", "IS_DIGIT", "IS_LOWER", "IS_UPPER", "IS_TITLE", "IS_PUNCT",
         "IS_SPACE", "IS_BRACKET", "IS_QUOTE", "IS_LEFT_PUNCT", "IS_RIGHT_PUNCT", "IS_CURRENCY",
         "IS_STOP", "LIKE_NUM", "LIKE_URL", "LIKE_EMAIL"]

# (key, greedy, patterns): every operator and predicate, alone and combined.
PATTERNS = [
    ("CAPITAL", None, [[{"LOWER": "paris"}], [{"TEXT": "France"}], [{"ORTH": "London"}]]),
    ("ADJ_NOUN", None, [[{"POS": "ADJ", "OP": "*"}, {"POS": "NOUN", "OP": "+"}]]),
    ("ADJ_NOUN_LONGEST", "LONGEST", [[{"POS": "ADJ", "OP": "*"}, {"POS": "NOUN", "OP": "+"}]]),
    ("ADJ_NOUN_FIRST", "FIRST", [[{"POS": "ADJ", "OP": "*"}, {"POS": "NOUN", "OP": "+"}]]),
    ("OPT_DET", None, [[{"POS": "DET", "OP": "?"}, {"POS": "ADJ", "OP": "?"}, {"POS": "NOUN"}]]),
    ("OPT_DET_FIRST", "FIRST", [[{"POS": "DET", "OP": "?"}, {"POS": "ADJ", "OP": "?"}, {"POS": "NOUN"}]]),
    ("BANG_END", None, [[{"POS": "PROPN"}, {"POS": "PROPN", "OP": "!"}]]),
    ("BANG_START", None, [[{"IS_PUNCT": True, "OP": "!"}, {"LOWER": "the"}],
                          [{"POS": "DET", "OP": "!"}, {"POS": "NOUN"}, {"OP": "!", "IS_PUNCT": True}]]),
    ("STAR_END", None, [[{"LOWER": "of"}, {"IS_ALPHA": True, "OP": "*"}]]),
    ("OPT_END", None, [[{"POS": "NUM"}, {"POS": "NOUN", "OP": "?"}]]),
    ("ZERO_LEN", None, [[{"POS": "X", "OP": "?"}], [{"ORTH": "zzz", "OP": "*"}],
                        [{"IS_DIGIT": True, "OP": "?"}, {"IS_PUNCT": True, "OP": "*"}]]),
    ("NESTED", None, [[{"POS": "DET", "OP": "?"}, {"POS": "ADJ", "OP": "*"}, {"POS": "ADJ", "OP": "+"},
                       {"POS": "NOUN"}],
                      [{"POS": "NOUN", "OP": "+"}, {"POS": "NOUN", "OP": "+"}],
                      [{"IS_ALPHA": True, "OP": "*"}, {"LOWER": "and"}]]),
    ("NESTED_LONGEST", "LONGEST", [[{"POS": "NOUN", "OP": "+"}, {"POS": "NOUN", "OP": "*"},
                                    {"POS": "ADP", "OP": "?"}]]),
    ("COUNT", None, [[{"IS_ALPHA": True, "OP": "{2}"}, {"IS_PUNCT": True}],
                     [{"POS": "NOUN", "OP": "{1,3}"}],
                     [{"IS_TITLE": True, "OP": "{2,}"}],
                     [{"POS": "ADJ", "OP": "{,2}"}, {"POS": "NOUN"}],
                     [{"POS": "ADP"}, {"POS": "DET", "OP": "!"}, {"IS_ALPHA": True, "OP": "{1,2}"}],
                     [{"LOWER": "the"}, {"OP": "{0}"}, {"POS": "NOUN"}]]),
    ("COUNT_FIRST", "FIRST", [[{"IS_ALPHA": True, "OP": "{2,4}"}]]),
    ("REGEX_TEXT", None, [[{"TEXT": {"REGEX": "^[A-Z][a-z]+$"}}, {"TEXT": {"REGEX": "^[0-9]"}}],
                          [{"TEXT": {"REGEX": r"\d{4}"}}]]),
    ("REGEX_LOWER", None, [[{"LOWER": {"REGEX": "(ing|ed)$"}}], [{"lower": {"regex": "^un"}}]]),
    ("REGEX_SET", None, [[{"LOWER": {"REGEX": {"IN": ["^un", "ness$"]}}}],
                         [{"POS": "ADJ", "LOWER": {"REGEX": {"NOT_IN": ["^[a-m]", "y$"]}}}]]),
    ("LEMMA_POS_IN", None, [[{"LEMMA": {"IN": ["be", "have", "do"]}}, {"POS": {"IN": ["VERB", "ADJ"]}}]]),
    ("NOT_IN", None, [[{"POS": {"NOT_IN": ["NOUN", "VERB", "PUNCT", "DET", "ADP"]}, "LENGTH": {">": 6}}]]),
    ("MORPH", None, [[{"MORPH": {"INTERSECTS": ["Number=Plur", "Tense=Past"]}}],
                     [{"MORPH": {"IS_SUPERSET": ["Number=Sing", "Person=3"]}}],
                     [{"MORPH": {"IS_SUBSET": ["Number=Sing", "PronType=Art", "Definite=Def",
                                               "Definite=Ind"]}, "POS": "DET"}],
                     [{"MORPH": "Degree=Pos"}],
                     [{"MORPH": {"IN": ["Person=3|Number=Sing|VerbForm=Fin|Tense=Pres"]}}],
                     [{"MORPH": {"NOT_IN": ["_", "Degree=Pos"]}, "POS": "ADJ"}],
                     [{"MORPH": ""}, {"MORPH": "_"}],
                     [{"MORPH": {"IS_SUBSET": []}, "IS_ALPHA": True}],
                     [{"MORPH": {"REGEX": "Plur"}}]]),
    ("LENGTH", None, [[{"LENGTH": {">=": 12}}], [{"LENGTH": 1, "IS_ALPHA": True}],
                      [{"LENGTH": {"<": 3, "!=": 1}}, {"LENGTH": {"==": 4}}],
                      [{"LENGTH": {"IN": [2, 7]}, "POS": "VERB"}], [{"LENGTH": {"<=": 1}, "IS_PUNCT": False}],
                      [{"LENGTH": {"NOT_IN": [1, 2, 3, 4, 5, 6, 7, 8]}, "IS_TITLE": True}],
                      [{"LENGTH": {"IS_SUBSET": [3]}, "IS_UPPER": True}]]),
    ("SENT", None, [[{"IS_SENT_START": True}, {"POS": "PROPN", "OP": "+"}],
                    [{"IS_SENT_START": False, "IS_TITLE": True, "POS": "NOUN"}],
                    [{"IS_PUNCT": True}, {"SENT_START": True}]]),
    ("FLAGS", None, [[{"LIKE_NUM": True}], [{"LIKE_URL": True}], [{"LIKE_EMAIL": True}],
                     [{"IS_STOP": True, "IS_LOWER": False}], [{"IS_UPPER": True, "LENGTH": {">": 1}}],
                     [{"IS_CURRENCY": True}], [{"IS_BRACKET": True}], [{"IS_QUOTE": True}],
                     [{"IS_LEFT_PUNCT": True}, {"OP": "*", "IS_RIGHT_PUNCT": False}, {"IS_RIGHT_PUNCT": True}],
                     [{"IS_SPACE": True}], [{"IS_ASCII": False}], [{"IS_DIGIT": True}],
                     [{"SPACY": False, "IS_ALPHA": True}, {"IS_PUNCT": True}]]),
    ("DEP_TAG", None, [[{"DEP": "nsubj"}, {"TAG": "VBZ"}],
                       [{"DEP": {"IN": ["amod", "compound"]}, "OP": "+"}, {"DEP": {"NOT_IN": ["punct"]}}],
                       [{"TAG": {"INTERSECTS": ["NNP", "NNPS"]}, "OP": "+"}, {"TAG": {"IS_SUPERSET": ["POS"]}}]]),
    ("ENT", None, [[{"ENT_TYPE": "GPE"}], [{"ENT_TYPE": "", "IS_ALPHA": True, "OP": "{3}"}],
                   [{"ENT_IOB": "B"}, {"ENT_IOB": "I", "OP": "+"}], [{"ENT_IOB": 2, "POS": "PROPN"}],
                   [{"ENT_TYPE": {"IN": ["PERSON", "ORG"]}, "OP": "+"}]]),
    ("SHAPE_NORM", None, [[{"SHAPE": "dddd"}], [{"SHAPE": {"IN": ["Xxxxx", "xx"]}, "IS_STOP": False}],
                          [{"NORM": "'s"}], [{"NORM": {"REGEX": "^n[aeiou]"}}],
                          [{"LOWER": {"IS_SUBSET": ["a", "an", "the"]}}, {"LOWER": {"IS_SUPERSET": ["new"]}}]]),
    ("PROPN_RUN", None, [[{"POS": "PROPN", "OP": "+"}]]),
    ("PROPN_RUN_LONGEST", "LONGEST", [[{"POS": "PROPN", "OP": "+"}]]),
    ("EMPTY_DICT", None, [[{}, {"LOWER": "of"}, {}]]),
    ("DUP", None, [[{"LOWER": "the"}], [{"LOWER": "the"}], [{"TEXT": {"IN": ["The", "the"]}}]]),
    ("LOWER_KEYS", None, [[{"lower": "in", "op": "?"}, {"pos": "PROPN"}],
                          [{"pos": {"in": ["NUM"]}}, {"op": "{1,2}", "is_alpha": True}]]),
    ("OPT_FIRST", "FIRST", [[{"POS": "ADJ"}, {"POS": "NOUN", "OP": "?"}, {"POS": "NOUN", "OP": "?"}]]),
    ("PERSON", None, [[{"ENT_TYPE": "PERSON", "OP": "+"}]]),
]

# PhraseMatcher patterns: key -> phrases (tokenized by the pipeline's tokenizer). Several keys
# end on the same phrases, so that the order of keys on one span is exercised (spaCy's own
# hash table decides it), including the reserved symbols PERSON, ORG, GPE as keys.
PHRASES = {
    "ORTH": {
        "CITY": ["Paris", "New York", "New York City", "London", "Washington"],
        "GPE": ["New York", "France", "the United States"],
        "PERSON": ["Bush", "George W. Bush"],
        "ORG": ["the", "AP", "United Nations"],
        "THE_OF": ["of the", "the world", "one of the"],
        **{f"K{i}": ["the", "of"] for i in range(14)},
    },
    "LOWER": {
        "CITY": ["paris", "new york", "new york city"],
        "LOWER_THE": ["the", "the united states", "in the"],
        "GPE": ["france", "u.s."],
        **{f"L{i}": ["of the"] for i in range(6)},
    },
}

# Texts written to reach what the golden texts may not.
EXTRA_TEXTS = [
    "zzz zzz zzz and New York City is in the United States of America.",
    "The big old red barn and the very very good dogs ran quickly. Paris! London? 2023 was a year.",
    "Send mail to jane.doe@example.com or visit https://example.org/page?id=3 for $5 (or \u20ac4).",
    "\"Unhappiness,\" she said, \"is unending.\"  Running, jumped, walked  \n\n  The end.",
    "A B C D E F G. HELLO WORLD ABC DEF. the the the of of the world of the.",
    "1 2 3 4 5 apples and 10 pears; ten cats, one dog.",
    "George W. Bush met the AP in Washington on 1 January 2004 with Jennifer M. Anderson.",
    "",
    "x",
    "Paris",
    "New York",
]

# Random patterns over random texts of three words, where the operators meet in every
# combination: keys of two patterns each, some greedy (seeded, so the file is reproducible).
RANDOM_SPECS = [{"ORTH": "a"}, {"ORTH": "b"}, {"LOWER": {"IN": ["a", "c"]}}, {}, {"ORTH": {"NOT_IN": ["a"]}},
                {"LENGTH": 1, "ORTH": {"REGEX": "[bc]"}}]
RANDOM_OPS = [None, None, "?", "*", "+", "!", "{2}", "{1,3}", "{2,}", "{,2}", "{0,1}"]


def random_patterns(rng, n_keys):
    rules = []
    for k in range(n_keys):
        patterns = []
        for _ in range(2):
            pattern = []
            for _ in range(rng.randint(1, 4)):
                spec = dict(rng.choice(RANDOM_SPECS))
                op = rng.choice(RANDOM_OPS)
                if op:
                    spec["OP"] = op
                pattern.append(spec)
            patterns.append(pattern)
        rules.append((f"R{k}", rng.choice([None, None, "FIRST", "LONGEST"]), patterns))
    return rules


def random_texts(rng, n):
    return [" ".join(rng.choice("abc") for _ in range(rng.randint(0, 10))) for _ in range(n)]


TOKEN_STR_ATTRS = ["text", "lower", "norm", "lemma", "pos", "tag", "morph", "dep", "ent_type",
                   "ent_id", "ent_kb_id", "shape"]


def token_attrs(nlp, t):
    flags = "".join("1" if getattr(t, name.lower()) else "0" for name in FLAGS)
    return {
        "text": t.text, "lower": t.lower_, "norm": t.norm_, "lemma": t.lemma_, "pos": t.pos_,
        "tag": t.tag_,
        # the analysis key as spaCy stores it: "_" for an analysed token without features
        "morph": nlp.vocab.strings[t.morph.key] if t.morph.key else "",
        "dep": t.dep_, "ent_type": t.ent_type_, "ent_id": t.ent_id_, "ent_kb_id": t.ent_kb_id_,
        "shape": t.shape_, "length": len(t), "flags": flags, "spacy": bool(t.whitespace_),
        "sent_start": {True: 1, False: -1, None: 0}[t.is_sent_start], "ent_iob": t.ent_iob,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("golden", nargs="*")

    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--random-keys", type=int, default=60)
    ap.add_argument("--random-docs", type=int, default=400)
    args = ap.parse_args()

    nlp = spacy.load(args.model)
    rng = random.Random(args.seed)
    rule_sets = {"golden": PATTERNS, "random": random_patterns(rng, args.random_keys)}
    matchers = {}
    for name, rules in rule_sets.items():
        matchers[name] = Matcher(nlp.vocab)
        for key, greedy, patterns in rules:
            matchers[name].add(key, patterns, greedy=greedy)
    phrase_matchers = {}
    phrases_out = {}
    for attr, keys in PHRASES.items():
        pm = PhraseMatcher(nlp.vocab, attr=attr)
        phrases_out[attr] = []
        for key, phrases in keys.items():
            docs = [nlp.make_doc(p) for p in phrases]
            pm.add(key, docs)
            phrases_out[attr].append({"key": key, "phrases": [[getattr(t, "text" if attr == "ORTH" else "lower_")
                                                                for t in d] for d in docs]})
        phrase_matchers[attr] = pm

    texts = [("extra-%d" % i, t, "golden") for i, t in enumerate(EXTRA_TEXTS)]
    for path in args.golden:
        with open(path, encoding="utf-8") as f:
            texts += [(d["id"], d["text"], "golden") for d in map(json.loads, f)]
    texts += [("random-%d" % i, t, "random") for i, t in enumerate(random_texts(rng, args.random_docs))]

    n_matches = n_phrase = 0
    with open(args.out, "w", encoding="utf-8") as out:
        header = {"flags": FLAGS,
                  "matchers": {name: [{"key": k, "greedy": g, "patterns": p} for k, g, p in rules]
                               for name, rules in rule_sets.items()},
                  "phrases": phrases_out}
        out.write(json.dumps(header, ensure_ascii=False) + "\n")
        for (doc_id, _, rule_set), doc in zip(texts, nlp.pipe(t for _, t, _ in texts)):
            s = nlp.vocab.strings
            matches = [[s[k], b, e] for k, b, e in matchers[rule_set](doc)]
            phrase = {attr: [[s[k], b, e] for k, b, e in pm(doc)] for attr, pm in phrase_matchers.items()}
            n_matches += len(matches)
            n_phrase += sum(len(v) for v in phrase.values())
            out.write(json.dumps({"id": doc_id, "patterns": rule_set, "tokens": [token_attrs(nlp, t) for t in doc],
                                  "matches": matches, "phrase_matches": phrase}, ensure_ascii=False) + "\n")
    print(f"gen_cases: {len(texts)} docs, {n_matches} matches; phrase matches {n_phrase}", file=sys.stderr)


if __name__ == "__main__":
    main()
