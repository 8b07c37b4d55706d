/* ruler_load.c - the entity_ruler in the pipeline: its load function (registry.c's row) and
 * the run of the rulers before the ner, the ner keeping their entities, and the rulers after. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/engine.h"
#include "util/deadline.h"
#include "util/json.h"

/* the attributes the doc pipeline's components set, and which ones (spaCy's E155 names them) */
static const struct {
    matcher_str_attr attr;
    const char *name, *setter;
} doc_attrs[] = {
    {MATCHER_TAG, "TAG", "tagger"},
    {MATCHER_POS, "POS", "morphologizer or tagger+attribute_ruler"},
    {MATCHER_MORPH, "MORPH", "morphologizer or tagger+attribute_ruler"},
    {MATCHER_LEMMA, "LEMMA", "lemmatizer"},
    {MATCHER_DEP, "DEP", "parser"},
};

/* A span_ruler's filter setting (ents_filter or spans_filter): {"@misc": NAME} inline, the
 * section [SEC.KEY] with @misc = NAME, or null; absent, the factory's default. */
static nerd_status read_span_filter(const spacy_config *c, const char *sec, const char *key, span_filter dflt,
                                    span_filter *out, const char *path, char *err, size_t errlen)
{
    char sub[128], name[128] = "";
    const char *raw = cfg_raw(c, sec, key);
    snprintf(sub, sizeof sub, "%s.%s", sec, key);
    *out = dflt;
    if (raw && !strcmp(raw, "null")) {
        *out = SPAN_FILTER_NONE;
        return NERD_OK;
    }
    if (raw) {
        json_doc jd;
        char why[128];
        if (json_parse(raw, strlen(raw), 4, &jd, why, sizeof why) == 0) {
            const json_value *f = json_get(&jd.root, "@misc");
            if (f && f->type == JSON_STRING && jd.root.u.obj.n == 1) snprintf(name, sizeof name, "%s", f->u.str.ptr);
            json_doc_free(&jd);
        }
        if (!*name) {
            snprintf(err, errlen, "%s [%s]: %s = %.80s is not a registered span filter ({\"@misc\": name})", path,
                     sec, key, raw);
            return NERD_ERR_UNSUPPORTED;
        }
    } else if (cfg_str(c, sub, "@misc", name, sizeof name)) {
        return NERD_OK; /* absent: the default */
    }
    int f = span_filter_by_name(name);
    if (f < 0) {
        snprintf(err, errlen,
                 "%s [%s]: %s \"%s\" is not supported (nerd implements spacy.first_longest_spans_filter.v1, "
                 "spacy.prioritize_new_ents_filter.v1 and spacy.prioritize_existing_ents_filter.v1)",
                 path, sec, key, name);
        return NERD_ERR_UNSUPPORTED;
    }
    *out = (span_filter)f;
    return NERD_OK;
}

/* A span_ruler's settings from its config.cfg section, the factory's defaults for those absent
 * (spacy/pipeline/factories.py: overwrite true, spans_key "ruler", first_longest ents_filter). */
static nerd_status read_span_ruler(const spacy_config *c, const char *dir, const char *name, span_ruler_settings *set,
                                   char *err, size_t errlen)
{
    char sec[64], path[4096], attr[32];
    snprintf(sec, sizeof sec, "components.%.31s", name);
    snprintf(path, sizeof path, "%s/config.cfg", dir);
    *set = (span_ruler_settings){.overwrite = 1, .phrase_attr = MATCHER_ORTH};
    snprintf(set->spans_key, sizeof set->spans_key, "ruler");
    const struct { const char *key; int *value; } flags[] = {{"annotate_ents", &set->annotate_ents},
                                                             {"overwrite", &set->overwrite}};
    for (size_t i = 0; i < sizeof flags / sizeof *flags; i++)
        if (cfg_raw(c, sec, flags[i].key) && cfg_bool(c, sec, flags[i].key, flags[i].value)) {
            snprintf(err, errlen, "%s [%s]: %s is not true or false", path, sec, flags[i].key);
            return NERD_ERR_FORMAT;
        }
    const char *raw;
    if ((raw = cfg_raw(c, sec, "spans_key")) && strcmp(raw, "null") &&
        cfg_str(c, sec, "spans_key", set->spans_key, sizeof set->spans_key)) {
        snprintf(err, errlen, "%s [%s]: spans_key %.80s is not null or a string of under %d bytes", path, sec, raw,
                 SPANS_KEY_MAX);
        return NERD_ERR_UNSUPPORTED;
    }
    if (raw && !strcmp(raw, "null")) *set->spans_key = 0;
    if ((raw = cfg_raw(c, sec, "phrase_matcher_attr")) && strcmp(raw, "null") &&
        (cfg_str(c, sec, "phrase_matcher_attr", attr, sizeof attr) ||
         ruler_phrase_attr_by_name(attr, &set->phrase_attr))) {
        snprintf(err, errlen,
                 "%s [%s]: phrase_matcher_attr %.80s is not supported (nerd's PhraseMatcher matches ORTH or LOWER)",
                 path, sec, raw);
        return NERD_ERR_UNSUPPORTED;
    }
    nerd_status st =
        read_span_filter(c, sec, "ents_filter", SPAN_FILTER_FIRST_LONGEST, &set->ents_filter, path, err, errlen);
    if (st == NERD_OK)
        st = read_span_filter(c, sec, "spans_filter", SPAN_FILTER_NONE, &set->spans_filter, path, err, errlen);
    if (st == NERD_OK && set->annotate_ents && set->ents_filter == SPAN_FILTER_NONE) {
        snprintf(err, errlen, "%s [%s]: ents_filter is null (spaCy's SpanRuler calls it with annotate_ents)", path, sec);
        st = NERD_ERR_UNSUPPORTED;
    }
    return st;
}

nerd_status entity_ruler_component_load(nerd_model *m, const spacy_config *c, const char *dir, const char *name,
                                        const pipeline_plan *plan, char *err, size_t errlen)
{
    int k = 0;
    while (k < plan->n_entity_rulers && strcmp(plan->entity_rulers[k], name)) k++;
    if (k == plan->n_entity_rulers || m->nrulers == MAX_ENTITY_RULERS) {
        snprintf(err, errlen, "%s: entity_ruler %s is not in the pipeline's plan", dir, name);
        return NERD_ERR_ARG;
    }
    /* an entity_ruler's settings are in its own folder (NAME/cfg); a span_ruler's in config.cfg */
    char sec[64], factory[32] = "";
    snprintf(sec, sizeof sec, "components.%.31s", name);
    cfg_str(c, sec, "factory", factory, sizeof factory);
    ruler_place place = {plan->entity_ruler_before_ner[k], plan->entity_ruler_after_parser[k]};
    nerd_status st = NERD_OK;
    span_ruler_settings set;
    const int span = !strcmp(factory, "span_ruler");
    if (span && (st = read_span_ruler(c, dir, name, &set, err, errlen)) != NERD_OK) return st;
    entity_ruler *r = span ? span_ruler_load(dir, name, place, &set, m->tok, &st, err, errlen)
                           : entity_ruler_load(dir, name, place, m->tok, &st, err, errlen);
    if (!r) return st;
    /* patterns on what other components set: those must all come before the ruler, which then
     * sees what spaCy's does (the doc pipeline's components, computed before it) */
    const unsigned reads = entity_ruler_reads(r);
    for (size_t i = 0; i < sizeof doc_attrs / sizeof *doc_attrs; i++) {
        if (!(reads & (1u << doc_attrs[i].attr))) continue;
        const char *file = span ? "patterns" : "patterns.jsonl";
        if (!(plan->entity_ruler_sees[k] & (1u << doc_attrs[i].attr)))
            snprintf(err, errlen,
                     "%s/%s/%s: a pattern matches on %s, which no component before the ruler sets "
                     "(spaCy raises E155: the %s sets it)", dir, name, file, doc_attrs[i].name, doc_attrs[i].setter);
        else if (*plan->entity_ruler_then[k][doc_attrs[i].attr])
            snprintf(err, errlen,
                     "%s/%s/%s: a pattern matches on %s and component %s after the ruler can set it: "
                     "nerd computes a ruler only after every component that sets what it reads", dir, name, file,
                     doc_attrs[i].name, plan->entity_ruler_then[k][doc_attrs[i].attr]);
        else continue;
        entity_ruler_free(r);
        return NERD_ERR_UNSUPPORTED;
    }
    m->rulers[m->nrulers++] = r;
    return NERD_OK;
}

/* the tokens as the rulers' matchers read them (engine_matcher_view), with what the doc
 * pipeline's components set when they ran before the rulers; no entities yet */
static nerd_status begin_doc(const nerd_model *m, nerd_doc *d)
{
    const doc_token_annot *annot = d->has_doc ? d->annot : NULL;
    const unsigned need = MATCHER_VIEW_LOWER | MATCHER_VIEW_FLAGS; /* the phrase patterns may read LOWER */
    if (ruler_doc_begin(&d->rd, d->ntoks) || engine_matcher_view(m, d, annot, need, d->rd.mtoks, &d->rd.strs))
        return NERD_ERR_NOMEM;
    return NERD_OK;
}

/* A token's number of children in the parse. */
static size_t n_children(const nerd_doc *d, size_t i)
{
    size_t k = 0;
    for (size_t j = 0; j < d->ntoks; j++) k += j != i && (size_t)d->heads[j] == i;
    return k;
}

/* spaCy's Span.ent_id_ is its root token's ent_id (spacy/tokens/span.pyx's root): the first
 * sentence root inside the span, else the first token whose head is outside it with the fewest
 * steps up to its sentence's root (a whitespace or punctuation token without children counts
 * n - 1); the span's first token without a parse (every head is then the token itself). */
size_t engine_span_root(const nerd_doc *d, size_t start, size_t end)
{
    const ruler_doc *rd = &d->rd;
    if (!d->has_parse) return start;
    const size_t n = d->ntoks;
    for (size_t i = start; i < end; i++)
        if ((size_t)d->heads[i] == i) return i;
    size_t best = n, root = start;
    int found = 0;
    for (size_t i = start; i < end; i++) {
        size_t h = (size_t)d->heads[i];
        if (h >= start && h < end) continue;
        size_t steps = 0;
        if ((d->space[i] || (rd->mtoks[i].flags & MATCHER_IS_PUNCT)) && !n_children(d, i)) {
            steps = n - 1;
        } else {
            for (size_t t = i; (size_t)d->heads[t] != t && steps < n; t = (size_t)d->heads[t]) steps++;
        }
        if (steps < best) {
            best = steps;
            root = i;
            found = 1;
        }
    }
    return found ? root : start;
}

nerd_status engine_ner_ruled(const nerd_model *m, nerd_doc *d, const uint8_t *sent_start, double deadline)
{
    nerd_status s = begin_doc(m, d);
    if (s != NERD_OK) return s;
    /* the parser's sentence starts, for the rulers that come after it */
    const uint8_t *parsed = d->has_parse ? d->sent_starts : NULL;
    int r = 0;
    for (; r < m->nrulers && entity_ruler_place(m->rulers[r]).before_ner; r++)
        if (entity_ruler_run(m->rulers[r], &d->rd, entity_ruler_place(m->rulers[r]).after_parser ? parsed : NULL))
            return NERD_ERR_NOMEM;
    const biluo_preset *preset = NULL;
    if (r > 0) {
        if (grow_array((void **)&d->presets, &d->presetcap, d->ntoks + 1, sizeof *d->presets)) return NERD_ERR_NOMEM;
        ruler_doc_presets(&d->rd, m->ner_moves.labels, m->ner_moves.nlabels, d->presets);
        preset = d->presets;
    }
    if (deadline_passed(deadline)) return NERD_ERR_DEADLINE;
    if ((s = engine_ner(m, d, sent_start, preset, deadline)) != NERD_OK) return s;
    ruler_doc_set_ner(&d->rd, d->ents, d->nents, m->ner_moves.labels);
    for (; r < m->nrulers; r++)
        if (entity_ruler_run(m->rulers[r], &d->rd, entity_ruler_place(m->rulers[r]).after_parser ? parsed : NULL))
            return NERD_ERR_NOMEM;
    if (grow_array((void **)&d->rents, &d->rentcap, d->ntoks + 1, sizeof *d->rents)) return NERD_ERR_NOMEM;
    d->nrents = ruler_doc_ents(&d->rd, d->rents);
    /* what the doc reports: each entity's ent_id_ is its root token's */
    for (size_t e = 0; e < d->nrents; e++) {
        const char *id = d->rd.id[engine_span_root(d, d->rents[e].start, d->rents[e].end)];
        d->rents[e].ent_id = id ? id : "";
    }
    d->ruled = 1;
    return NERD_OK;
}
