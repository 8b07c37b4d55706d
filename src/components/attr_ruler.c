#include "components/attr_ruler.h"
#include "modelfile/modelfile.h"
#include "text/morph.h"
#include "util/json.h"


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A list of label strings into rule->deps. 0, -1 not a list of strings, -2 out of memory. */
static int read_labels(ar_dep_rule *rule, ae_moves *mv, const msgpack_object *list)
{
    if (list->type != MSGPACK_OBJECT_ARRAY || rule->deps) return -1;
    rule->deps = malloc((list->via.array.size + 1) * sizeof *rule->deps);
    if (!rule->deps) return -2;
    for (uint32_t i = 0; i < list->via.array.size; i++) {
        const char *label;
        size_t len;
        if (mf_str(&list->via.array.ptr[i], &label, &len)) return -1;
        int li = ae_label(mv, label, len);
        if (li < 0) return -2;
        rule->deps[rule->ndeps++] = (int16_t)li;
    }
    return 0;
}

/* One token pattern over IS_SPACE and DEP. 0, -1 (something else), -2 out of memory. */
static int read_token_pattern(ar_dep_rule *rule, ae_moves *mv, const msgpack_object *tok)
{
    if (tok->type != MSGPACK_OBJECT_MAP) return -1;
    rule->is_space = -1;
    for (uint32_t i = 0; i < tok->via.map.size; i++) {
        const msgpack_object *k = &tok->via.map.ptr[i].key, *v = &tok->via.map.ptr[i].val;
        if (mf_key_is(k, "IS_SPACE") && v->type == MSGPACK_OBJECT_BOOLEAN) {
            rule->is_space = (int8_t)v->via.boolean;
        } else if (mf_key_is(k, "DEP") && (v->type == MSGPACK_OBJECT_STR || v->type == MSGPACK_OBJECT_BIN)) {
            rule->dep_op = 1;
            msgpack_object one = {.type = MSGPACK_OBJECT_ARRAY, .via.array = {1, (msgpack_object *)v}};
            int rc = read_labels(rule, mv, &one);
            if (rc) return rc;
        } else if (mf_key_is(k, "DEP") && v->type == MSGPACK_OBJECT_MAP && v->via.map.size == 1 &&
                   (mf_key_is(&v->via.map.ptr[0].key, "IN") || mf_key_is(&v->via.map.ptr[0].key, "NOT_IN"))) {
            rule->dep_op = mf_key_is(&v->via.map.ptr[0].key, "IN") ? 1 : 2;
            int rc = read_labels(rule, mv, &v->via.map.ptr[0].val);
            if (rc) return rc;
        } else {
            return -1;
        }
    }
    return 0;
}

nerd_status ar_load(ar_dep_rules *r, ae_moves *mv, const char *path, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    mf_msgpack mp;
    nerd_status rc = mf_msgpack_read(&mp, path, "an attribute_ruler patterns file", MSGPACK_OBJECT_ARRAY, err, errlen);
    if (rc != NERD_OK) goto out;
    const msgpack_object_array *entries = &mp.root->via.array;
    r->rules = calloc(entries->size + 1, sizeof *r->rules);
    if (!r->rules) goto oom;
    for (uint32_t e = 0; e < entries->size; e++) {
        const msgpack_object *ent = &entries->ptr[e], *attrs = mf_map_get(ent, "attrs");
        const msgpack_object *pats = mf_map_get(ent, "patterns"), *index = mf_map_get(ent, "index");
        const msgpack_object *dep = attrs ? mf_map_get(attrs, "DEP") : NULL;
        if (!dep) continue; /* sets what nerd does not output */
        ar_dep_rule *rule = &r->rules[r->nrules];
        const char *dep_label;
        size_t dep_len;
        int ok = !mf_str(dep, &dep_label, &dep_len) && pats && pats->type == MSGPACK_OBJECT_ARRAY &&
                 pats->via.array.size == 1 && pats->via.array.ptr[0].type == MSGPACK_OBJECT_ARRAY &&
                 pats->via.array.ptr[0].via.array.size == 1 &&
                 (!index || (index->type == MSGPACK_OBJECT_POSITIVE_INTEGER && index->via.u64 == 0));
        int got = ok ? read_token_pattern(rule, mv, &pats->via.array.ptr[0].via.array.ptr[0]) : -1;
        int li = got ? -1 : ae_label(mv, dep_label, dep_len);
        if (got == -2 || (!got && li < 0)) goto oom;
        if (got) {
            free(rule->deps);
            memset(rule, 0, sizeof *rule);
            r->skipped++;
            continue;
        }
        rule->set_dep = (int16_t)li;
        r->nrules++;
    }
    rc = NERD_OK;
    goto out;
oom:
    snprintf(err, errlen, "%s: out of memory", path);
    rc = NERD_ERR_NOMEM;
out:
    mf_msgpack_free(&mp);
    if (rc != NERD_OK) ar_free(r);
    return rc;
}

nerd_status ar_sets_only(const char *path, const char *const *allowed, int *sets_other, char *bad, size_t badlen,
                         char *err, size_t errlen)
{
    *sets_other = 0;
    mf_msgpack mp;
    nerd_status rc = mf_msgpack_read(&mp, path, "an attribute_ruler patterns file", MSGPACK_OBJECT_ARRAY, err, errlen);
    for (uint32_t e = 0; rc == NERD_OK && !*sets_other && e < mp.root->via.array.size; e++) {
        const msgpack_object *attrs = mf_map_get(&mp.root->via.array.ptr[e], "attrs");
        for (uint32_t i = 0; !*sets_other && attrs && attrs->type == MSGPACK_OBJECT_MAP && i < attrs->via.map.size;
             i++) {
            const msgpack_object *k = &attrs->via.map.ptr[i].key;
            int ok = 0;
            for (int a = 0; allowed[a] && !ok; a++) ok = mf_key_is(k, allowed[a]);
            if (ok) continue;
            *sets_other = 1;
            const char *name;
            size_t n;
            if (!mf_str(k, &name, &n)) snprintf(bad, badlen, "%.*s", (int)n, name);
            else snprintf(bad, badlen, "a non-string attribute");
        }
    }
    mf_msgpack_free(&mp);
    return rc;
}

void ar_free(ar_dep_rules *r)
{
    for (int i = 0; r->rules && i <= r->nrules; i++) free(r->rules[i].deps);
    free(r->rules);
    memset(r, 0, sizeof *r);
}

void ar_apply(const ar_dep_rules *r, size_t n, const uint8_t *is_space, int16_t *dep)
{
    /* every rule matches against the parser's labels (the Matcher runs before any is set);
     * the last matching rule in the file's order sets the label */
    for (size_t i = 0; r->nrules && i < n; i++) {
        const int parsed = dep[i];
        for (int k = 0; k < r->nrules; k++) {
            const ar_dep_rule *rule = &r->rules[k];
            if (rule->is_space >= 0 && is_space[i] != rule->is_space) continue;
            int in = 0;
            for (int j = 0; j < rule->ndeps; j++) in |= rule->deps[j] == parsed;
            if ((rule->dep_op == 1 && !in) || (rule->dep_op == 2 && in)) continue;
            dep[i] = rule->set_dep;
        }
    }
}

/* ---- the whole attribute_ruler (doc pipeline) ---- */

/* What a pattern may read in the doc pipeline: the token's text attributes and lexical flags,
 * the tagger's and the parser's output (engine_matcher_view); not the entities, which the ner
 * after the ruler sets. */
static const char *const ruler_readable[] = {
    "ORTH", "TEXT", "LOWER", "NORM", "SHAPE", "LENGTH", "TAG", "POS", "MORPH", "LEMMA", "DEP",
    "IS_ALPHA", "IS_ASCII", "IS_DIGIT", "IS_LOWER", "IS_UPPER", "IS_TITLE", "IS_PUNCT", "IS_SPACE",
    "IS_BRACKET", "IS_QUOTE", "IS_LEFT_PUNCT", "IS_RIGHT_PUNCT", "IS_CURRENCY", "IS_STOP", "LIKE_NUM",
    "LIKE_URL", "LIKE_EMAIL", "SPACY", "IS_SENT_START", "SENT_START", "OP", NULL,
};

/* A UD part of speech as spaCy spells it (another value, "noun" too, leaves spaCy a pos it cannot name) */
static const char *const ud_pos[] = {"ADJ", "ADP", "ADV", "AUX", "CONJ", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART",
                                     "PRON", "PROPN", "PUNCT", "SCONJ", "SYM", "VERB", "X", "EOL", "SPACE", NULL};

static int copy_str(nerd_str *out, const char *s, size_t n)
{
    char *c = malloc(n + 1);
    if (!c) return -1;
    memcpy(c, s, n);
    c[n] = 0;
    *out = (nerd_str){c, n};
    return 0;
}

/* The first key a pattern token reads that the doc pipeline cannot give, or NULL. */
static const msgpack_object *unreadable_key(const msgpack_object *pats)
{
    for (uint32_t p = 0; pats->type == MSGPACK_OBJECT_ARRAY && p < pats->via.array.size; p++) {
        const msgpack_object *pat = &pats->via.array.ptr[p];
        for (uint32_t t = 0; pat->type == MSGPACK_OBJECT_ARRAY && t < pat->via.array.size; t++) {
            const msgpack_object *tok = &pat->via.array.ptr[t];
            for (uint32_t i = 0; tok->type == MSGPACK_OBJECT_MAP && i < tok->via.map.size; i++) {
                int ok = 0;
                for (int a = 0; ruler_readable[a] && !ok; a++) ok = mf_key_is(&tok->via.map.ptr[i].key, ruler_readable[a]);
                if (!ok) return &tok->via.map.ptr[i].key;
            }
        }
    }
    return NULL;
}

/* One rule's attrs into rule. 0, or -1 with the reason in why. */
static int read_attrs(ar_rule *rule, ae_moves *mv, const msgpack_object *attrs, buf *scratch, char *why, size_t whylen)
{
    rule->dep = -1;
    if (!attrs || attrs->type != MSGPACK_OBJECT_MAP) return snprintf(why, whylen, "no attrs map"), -1;
    for (uint32_t i = 0; i < attrs->via.map.size; i++) {
        const msgpack_object *k = &attrs->via.map.ptr[i].key, *v = &attrs->via.map.ptr[i].val;
        const char *s, *name;
        size_t n, nn;
        if (mf_str(k, &name, &nn)) return snprintf(why, whylen, "a non-string attribute"), -1;
        if (mf_str(v, &s, &n)) return snprintf(why, whylen, "%.*s is not a string", (int)nn, name), -1;
        int rc = 0;
        if (mf_key_is(k, "TAG")) rc = copy_str(&rule->tag, s, n);
        else if (mf_key_is(k, "LEMMA")) rc = copy_str(&rule->lemma, s, n);
        else if (mf_key_is(k, "MORPH")) {
            buf_clear(scratch);
            int m = morph_normalize(s, n, scratch);
            if (m == -1) return snprintf(why, whylen, "MORPH \"%.*s\" is not Field=Value|...", (int)n, s), -1;
            rc = m ? -1 : copy_str(&rule->morph, scratch->ptr, scratch->len);
        } else if (mf_key_is(k, "POS")) {
            int found = -1;
            for (int p = 0; ud_pos[p] && found < 0; p++)
                if (strlen(ud_pos[p]) == n && !memcmp(ud_pos[p], s, n)) found = p;
            if (found < 0) return snprintf(why, whylen, "POS \"%.*s\" is no universal part of speech", (int)n, s), -1;
            rule->pos = (nerd_str){ud_pos[found], strlen(ud_pos[found])};
        } else if (mf_key_is(k, "DEP") && mv) {
            rule->dep = ae_label(mv, s, n);
            rc = rule->dep < 0 ? -1 : 0;
        } else {
            return snprintf(why, whylen, "it sets %.*s (the doc pipeline sets TAG, POS, MORPH, LEMMA and DEP%s)",
                            (int)nn, name, mv ? "" : " after a parser"), -1;
        }
        if (rc) return snprintf(why, whylen, "out of memory"), -2;
    }
    return 0;
}

/* Every rule of the file into r: 0, -1 a rule nerd does not compute (why says which and how),
 * -2 out of memory. */
static int read_rules(ar_ruler *r, ae_moves *mv, const msgpack_object_array *entries, char *why, size_t whylen)
{
    buf json = {0}, scratch = {0};
    json_doc jd = {0};
    r->rules = calloc(entries->size + 1, sizeof *r->rules);
    r->mt = matcher_new();
    int rc = r->rules && r->mt ? 0 : -2;
    for (uint32_t e = 0; !rc && e < entries->size; e++, r->nrules++) {
        const msgpack_object *ent = &entries->ptr[e], *pats = mf_map_get(ent, "patterns"),
                             *index = mf_map_get(ent, "index");
        ar_rule *rule = &r->rules[e];
        if ((rc = read_attrs(rule, mv, mf_map_get(ent, "attrs"), &scratch, why, whylen))) break;
        rc = -1;
        if (index && index->type == MSGPACK_OBJECT_POSITIVE_INTEGER && index->via.u64 < 1u << 20)
            rule->index = (int)index->via.u64;
        else if (index && index->type == MSGPACK_OBJECT_NEGATIVE_INTEGER && index->via.i64 > -(1 << 20))
            rule->index = (int)index->via.i64;
        else if (index) {
            snprintf(why, whylen, "its index is not an integer");
            break;
        }
        const msgpack_object *bad = pats ? unreadable_key(pats) : NULL;
        const char *bs = "?";
        size_t bn = 1;
        if (bad) {
            mf_str(bad, &bs, &bn);
            snprintf(why, whylen, "a pattern reads %.*s, which the doc pipeline does not give the Matcher",
                     (int)(bn < 64 ? bn : 64), bs);
            break;
        }
        buf_clear(&json);
        json_doc_free(&jd);
        int tj = pats ? mf_to_json(pats, &json, 0) : -1;
        int pj = tj ? tj : json_parse(json.ptr, json.len, JSON_MAX_DEPTH_DEFAULT, &jd, why, whylen);
        if (tj == -2 || pj == JSON_ERR_NOMEM) {
            rc = -2;
            break;
        }
        char key[16];
        snprintf(key, sizeof key, "%u", e);
        if (pj) snprintf(why, whylen, "its patterns are no list of token patterns");
        if (pj || matcher_add(r->mt, key, &jd.root, MATCHER_GREEDY_NONE, why, whylen)) {
            if (!pj && strstr(why, "out of memory")) rc = -2; /* matcher_add says so only in its message */
            break;
        }
        rc = matcher_key_count(r->mt) == e + 1 ? 0 : -2; /* keys number the rules */
        if (rc) break;
    }
    json_doc_free(&jd);
    buf_free(&json);
    buf_free(&scratch);
    return rc;
}

nerd_status ar_ruler_load(ar_ruler *r, ae_moves *mv, const char *path, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    mf_msgpack mp;
    char why[300] = "";
    nerd_status rc = mf_msgpack_read(&mp, path, "an attribute_ruler patterns file", MSGPACK_OBJECT_ARRAY, err, errlen);
    int got = rc == NERD_OK ? read_rules(r, mv, &mp.root->via.array, why, sizeof why) : 0;
    if (got == -2) {
        snprintf(err, errlen, "%s: out of memory", path);
        rc = NERD_ERR_NOMEM;
    } else if (got) {
        snprintf(err, errlen, "%s: rule %d: %s", path, r->nrules, why);
        rc = NERD_ERR_UNSUPPORTED;
    }
    mf_msgpack_free(&mp);
    if (rc == NERD_OK) {
        r->reads = matcher_str_attrs_used(r->mt);
        r->view = ((r->reads >> MATCHER_LOWER) & 1 ? MATCHER_VIEW_LOWER : 0) |
                  (matcher_flags_used(r->mt) & ~(unsigned)(MATCHER_IS_SPACE | MATCHER_SPACY) ? MATCHER_VIEW_FLAGS : 0);
    }
    else ar_ruler_free(r);
    return rc;
}

void ar_ruler_free(ar_ruler *r)
{
    for (int i = 0; r->rules && i <= r->nrules; i++) {
        free((char *)r->rules[i].tag.ptr);
        free((char *)r->rules[i].morph.ptr);
        free((char *)r->rules[i].lemma.ptr);
    }
    free(r->rules);
    matcher_free(r->mt);
    memset(r, 0, sizeof *r);
}

static int match_order(const void *a, const void *b)
{
    const matcher_match *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    return (x->end > y->end) - (x->end < y->end);
}

int ar_ruler_run(const ar_ruler *r, const matcher_token *toks, size_t n, matcher_matches *scratch, ar_apply_fn apply,
                 void *ctx)
{
    if (!r->mt || matcher_run(r->mt, toks, n, scratch)) return r->mt ? -1 : 0;
    /* spaCy sorts (rule number, match id, start, end): one match id per rule */
    if (scratch->n > 1) qsort(scratch->items, scratch->n, sizeof *scratch->items, match_order); /* items NULL when none */
    for (size_t i = 0; i < scratch->n; i++) {
        const matcher_match *mm = &scratch->items[i];
        const ar_rule *rule = &r->rules[mm->key];
        int len = mm->end - mm->start, at = rule->index < 0 ? len + rule->index : rule->index;
        if (at < 0 || at >= len) continue; /* spaCy raises (E1001); no rule of a shipped folder does */
        apply(ctx, rule, (size_t)(mm->start + at));
    }
    return 0;
}
