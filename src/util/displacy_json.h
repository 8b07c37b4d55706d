/* displacy_json.h - a doc as the JSON spaCy's displaCy renders: displacy.parse_ents(doc) and
 * displacy.parse_deps(doc, options) (spaCy 3.8), for the HTTP route /displacy and the page /ui. */
#ifndef NERD_DISPLACY_JSON_H
#define NERD_DISPLACY_JSON_H

#include "nerd.h"
#include "util/buf.h"

/* parse_deps' options, spaCy's defaults by DISPLACY_DEP_DEFAULTS. */
typedef struct {
    int collapse_punct;   /* merge each word with the punctuation that follows it (default on) */
    int collapse_phrases; /* merge each noun chunk into one word (default off) */
    int fine_grained;     /* words' "tag" is the fine tag (tag_) rather than the part of speech (pos_) */
    int add_lemma;        /* words' "lemma" is the lemma rather than null */
} displacy_dep_options;
#define DISPLACY_DEP_DEFAULTS ((displacy_dep_options){.collapse_punct = 1})

/* {"text","ents":[{"start","end","label","kb_id","kb_url"}],"title":null,"settings":{"lang","direction"}}
 * lang is the doc's language code (doc.lang_). 0, or -1 when memory ran out. */
int displacy_write_ents(const nerd_doc *d, const char *text, size_t len, const char *lang, buf *out);

/* {"words":[{"text","tag","lemma"}],"arcs":[{"start","end","label","dir"}],"settings":{"lang","direction"}}
 * with parse_deps' merges of punctuation and noun chunks. 0, or -1 when memory ran out. */
int displacy_write_deps(const nerd_doc *d, const char *text, const char *lang, const displacy_dep_options *o, buf *out);

#endif
