/* entity_ruler.h - spaCy's entity_ruler (spacy/pipeline/entityruler.py, the EntityRuler class
 * its factory makes in 3.8): the folder's patterns.jsonl on nerd's Matcher and PhraseMatcher,
 * matches chosen longest first then earliest, written to the doc's entities over or around the
 * ones already there (overwrite_ents), a pattern's "id" becoming the entity's ent_id.
 * The same object is the span_ruler with annotate_ents = true (spacy/pipeline/span_ruler.py's
 * SpanRuler): the same matchers over the same patterns, its matches deduplicated and ordered as
 * Span objects, then merged with the doc's entities by its ents_filter.
 *
 * The doc's entities are kept per token as spaCy keeps them (ent_iob, ent_type, ent_id), so that
 * rulers before the ner (whose entities the ner must keep: biluo.h's presets), the ner and rulers
 * after it compose as spaCy's Doc.set_ents and Doc.ents make them. */
#ifndef NERD_ENTITY_RULER_H
#define NERD_ENTITY_RULER_H

#include <stddef.h>
#include <stdint.h>

#include "nerd.h"
#include "matcher/matcher.h"
#include "text/lexattr.h"
#include "text/tokenizer.h"
#include "transition/biluo.h"
#include "util/buf.h"

typedef struct entity_ruler entity_ruler;

/* Where a ruler runs in the pipeline. */
typedef struct {
    int before_ner;     /* its entities are the ner's presets */
    int after_parser;   /* the parser's sentence starts are set when it runs (full pipeline) */
} ruler_place;

/* Loads DIR/NAME/cfg and DIR/NAME/patterns.jsonl. tok splits the phrase patterns; lang gives
 * the lexical attributes the token patterns read. NULL with err (naming the file, the line and
 * the reason) and *status set on failure. */
entity_ruler *entity_ruler_load(const char *dir, const char *name, ruler_place place, const tokenizer *tok,
                                nerd_status *status, char *err, size_t errlen);
void entity_ruler_free(entity_ruler *r);

/* The span filters spaCy registers (@misc), which a span_ruler's ents_filter and spans_filter
 * name: spacy.first_longest_spans_filter.v1 (util.filter_chain_spans), and span_ruler.py's
 * prioritize_new_ents_filter / prioritize_existing_ents_filter. */
typedef enum {
    SPAN_FILTER_NONE,               /* spans_filter null: the matches as they are */
    SPAN_FILTER_FIRST_LONGEST,
    SPAN_FILTER_PRIORITIZE_NEW,
    SPAN_FILTER_PRIORITIZE_EXISTING,
} span_filter;
/* phrase_matcher_attr's value (case as spaCy ignores it) as nerd's PhraseMatcher matches it:
 * ORTH, TEXT or LOWER. 0, or -1 for another. */
int ruler_phrase_attr_by_name(const char *name, matcher_str_attr *attr);
/* The filter a registered name (e.g. "spacy.first_longest_spans_filter.v1") makes, or -1. */
int span_filter_by_name(const char *name);

#define SPANS_KEY_MAX 64
/* A span_ruler's settings, from its config.cfg section (SpanRuler.from_disk reads only the
 * patterns from its folder). */
typedef struct {
    int annotate_ents, overwrite;
    span_filter ents_filter, spans_filter;
    char spans_key[SPANS_KEY_MAX];  /* "" when null: no doc.spans group */
    matcher_str_attr phrase_attr;   /* MATCHER_ORTH or MATCHER_LOWER */
} span_ruler_settings;

/* Loads DIR/NAME/patterns (the span_ruler's file: JSON lines, no extension). As
 * entity_ruler_load otherwise. */
entity_ruler *span_ruler_load(const char *dir, const char *name, ruler_place place, const span_ruler_settings *set,
                              const tokenizer *tok, nerd_status *status, char *err, size_t errlen);

/* A doc's entities per token, as spaCy's TokenC has them, and what the matchers read. */
typedef struct {
    size_t n, cap;
    uint8_t *iob;           /* 0 missing, 1 I, 2 O, 3 B */
    const char **type;      /* the label, NULL for none */
    const char **id;        /* the ent_id, NULL for none */
    matcher_token *mtoks;   /* the tokens' attributes for the matchers */
    buf strs;               /* their LOWER strings */
    matcher_matches tm, pm; /* the matchers' answers */
    struct ruler_match *cands;  /* the matches in spaCy's order, and a hash table to order them */
    size_t ncands, candcap, *table, tablecap;
    uint8_t *seen;
    struct ruler_ent *old, *fresh;  /* set_annotations' lists */
    struct ruler_ent *spans, *merged;   /* a span_ruler's matches, and its filter's answer */
    size_t spancap, mergedcap;
    struct ruler_span_group *groups;    /* doc.spans: the groups the span_rulers set, in the order */
    size_t ngroups, groupcap, groups_made;  /* first set (a dict's); groups_made: slots initialised */
} ruler_doc;

typedef struct ruler_ent {
    uint32_t start, end;
    const char *label, *ent_id;   /* ent_id "" when none */
} ruler_ent;

/* doc.spans[key]: a SpanGroup a span_ruler set (its spans carry their pattern's id, Span.id_, in
 * ent_id) */
typedef struct ruler_span_group {
    const char *key;
    ruler_ent *items;
    size_t n, cap;
} ruler_span_group;

/* filter(entities, spans) as spaCy's function of that name computes it on Span objects (only
 * their token offsets matter to it) into out (room for nents + nspans): the entities come first
 * in its chain. The count, or -1 out of memory. */
long span_filter_apply(span_filter f, const ruler_ent *ents, size_t nents, const ruler_ent *spans, size_t nspans,
                       ruler_ent *out);

void ruler_doc_free(ruler_doc *rd);

/* A doc of n tokens without entities: rd->mtoks has room for their Matcher view, which the
 * caller fills (engine.h's engine_matcher_view, strings in rd->strs). 0, or -1 out of memory. */
int ruler_doc_begin(ruler_doc *rd, size_t n);

/* The ruler over the doc; sent_starts (the parser's, or NULL) gives IS_SENT_START. */
int entity_ruler_run(const entity_ruler *r, ruler_doc *rd, const uint8_t *sent_starts);
ruler_place entity_ruler_place(const entity_ruler *r);
/* The string attributes its token patterns read (1u << matcher_str_attr each). */
unsigned entity_ruler_reads(const entity_ruler *r);

/* The ner's entities written as its set_annotations does (Doc.set_ents with default
 * "unmodified", then every missing token O). */
void ruler_doc_set_ner(ruler_doc *rd, const biluo_ent *ents, size_t nents, char *const *labels);
/* The presets the ner must respect, over its labels. out has rd->n entries. */
void ruler_doc_presets(const ruler_doc *rd, char *const *labels, int nlabels, biluo_preset *out);
/* Doc.ents: the entities the token states spell, into out (room for rd->n). */
size_t ruler_doc_ents(const ruler_doc *rd, ruler_ent *out);

#endif
