/* entity_ruler.c - see entity_ruler.h. */
#include "components/entity_ruler.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "matcher/matcher_keys.h"
#include "modelfile/modelfile.h"
#include "text/hash.h"
#include "text/pystr.h"
#include "util/json.h"

/* One match key (a label, or label + ent_id_sep + id; a span_ruler's (label, id)): the entity
 * it makes. */
typedef struct {
    char *label;      /* the entity's label */
    char *ent_id;     /* "" when none */
    uint64_t label_hash, id_hash;   /* their StringStore keys, which order a span_ruler's Spans */
} ruler_key;

struct entity_ruler {
    ruler_place place;
    int overwrite;
    int is_span_ruler;          /* a span_ruler (settings in span), else an entity_ruler */
    span_ruler_settings span;
    matcher *tokens;
    phrase_matcher *phrases;
    matcher_str_attr phrase_attr;
    matcher_keys keys;          /* every key, numbered; its id is spaCy's match_id */
    ruler_key *key_info;
    size_t key_info_cap;
    unsigned *token_key, *phrase_key;   /* a matcher's key number -> ours */
};

typedef struct ruler_match {
    uint64_t match_id;
    unsigned key;
    int start, end;
    size_t set_pos;     /* its place in the Python set's table */
    uint64_t label_hash, id_hash;   /* its key's (a span_ruler orders its Spans by them) */
} ruler_match;

/* PhraseMatcher attr values nerd's PhraseMatcher implements */
static const struct { const char *name; matcher_str_attr attr; } phrase_attrs[] = {
    {"ORTH", MATCHER_ORTH}, {"TEXT", MATCHER_ORTH}, {"LOWER", MATCHER_LOWER},
};

#define DEFAULT_ENT_ID_SEP "||"
#define MAX_SEP 64

void entity_ruler_free(entity_ruler *r)
{
    if (!r) return;
    matcher_free(r->tokens);
    phrase_matcher_free(r->phrases);
    for (size_t i = 0; i < r->keys.n; i++) {
        free(r->key_info[i].label);
        free(r->key_info[i].ent_id);
    }
    free(r->key_info);
    matcher_keys_free(&r->keys);
    free(r->token_key);
    free(r->phrase_key);
    free(r);
}

ruler_place entity_ruler_place(const entity_ruler *r) { return r->place; }
unsigned entity_ruler_reads(const entity_ruler *r) { return matcher_str_attrs_used(r->tokens); }

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

/* The key of a pattern, as EntityRuler.add_patterns makes it; records the (label, id) of a key
 * that has an id entry (its _ent_ids), the last one winning. Key number, or -1. */
static int add_key(entity_ruler *r, const char *label, const char *id, int has_id_entry, const char *sep)
{
    char *key = NULL;
    size_t ll = strlen(label);
    if (id) {
        size_t il = strlen(id), sl = strlen(sep);
        if (!(key = malloc(ll + sl + il + 1))) return -1;
        memcpy(key, label, ll);
        memcpy(key + ll, sep, sl);
        memcpy(key + ll + sl, id, il + 1);
    }
    size_t before = r->keys.n;
    int k = matcher_keys_intern(&r->keys, key ? key : label);
    free(key);
    if (k < 0 || grow_array((void **)&r->key_info, &r->key_info_cap, r->keys.n, sizeof *r->key_info)) return -1;
    if ((size_t)k >= before) { /* new: without an id entry the label is the key itself */
        r->key_info[k].label = dup_n(r->keys.names[k], strlen(r->keys.names[k]));
        r->key_info[k].ent_id = dup_n("", 0);
        if (!r->key_info[k].label || !r->key_info[k].ent_id) return -1;
    }
    if (has_id_entry) {
        char *l = dup_n(label, ll), *i = dup_n(id ? id : "", id ? strlen(id) : 0);
        if (!l || !i) {
            free(l);
            free(i);
            return -1;
        }
        free(r->key_info[k].label);
        free(r->key_info[k].ent_id);
        r->key_info[k].label = l;
        r->key_info[k].ent_id = i;
    }
    return k;
}

/* A span_ruler's key: one per (label, id), as SpanRuler.add_patterns keys its matchers by
 * repr((label, id)); here the label's length, the label and the id, which is as unique. Key
 * number, or -1. */
static int add_span_key(entity_ruler *r, const char *label, const char *id)
{
    size_t ll = strlen(label), il = strlen(id);
    char *key = malloc(ll + il + 24);
    if (!key) return -1;
    snprintf(key, ll + il + 24, "%zu:%s%s", ll, label, id);
    size_t before = r->keys.n;
    int k = matcher_keys_intern(&r->keys, key);
    free(key);
    if (k < 0 || grow_array((void **)&r->key_info, &r->key_info_cap, r->keys.n, sizeof *r->key_info)) return -1;
    if ((size_t)k >= before) {
        ruler_key *ki = &r->key_info[k];
        ki->label = dup_n(label, ll);
        ki->ent_id = dup_n(id, il);
        if (!ki->label || !ki->ent_id) return -1;
        ki->label_hash = nerd_string_hash(label, ll);
        ki->id_hash = nerd_string_hash(id, il);
    }
    return k;
}

static nerd_status fail(nerd_status *status, nerd_status s, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static nerd_status fail(nerd_status *status, nerd_status s, char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    *status = s;
    return s;
}

/* The cfg file (EntityRuler.from_disk reads overwrite, phrase_matcher_attr and ent_id_sep from
 * it, whatever config.cfg says). */
static nerd_status read_cfg(entity_ruler *r, const char *path, char *sep, nerd_status *status, char *err,
                            size_t errlen)
{
    json_doc jd;
    nerd_status rc = mf_read_json(path, &jd, err, errlen);
    if (rc != NERD_OK) return *status = rc;
    const json_value *ow = json_get(&jd.root, "overwrite"), *attr = json_get(&jd.root, "phrase_matcher_attr"),
                     *s = json_get(&jd.root, "ent_id_sep");
    rc = NERD_OK;
    r->overwrite = ow && ow->type == JSON_TRUE;
    r->phrase_attr = MATCHER_ORTH;
    if (ow && ow->type != JSON_TRUE && ow->type != JSON_FALSE)
        rc = fail(status, NERD_ERR_FORMAT, err, errlen, "%s: \"overwrite\" is not true or false", path);
    else if (attr && attr->type != JSON_NULL &&
             (attr->type != JSON_STRING || ruler_phrase_attr_by_name(attr->u.str.ptr, &r->phrase_attr)))
        rc = fail(status, NERD_ERR_UNSUPPORTED, err, errlen,
                  "%s: phrase_matcher_attr %s is not supported (nerd's PhraseMatcher matches ORTH or LOWER)", path,
                  attr->type == JSON_STRING ? attr->u.str.ptr : "(not a string)");
    if (rc == NERD_OK && s && (s->type != JSON_STRING || s->u.str.len >= MAX_SEP))
        rc = fail(status, NERD_ERR_FORMAT, err, errlen, "%s: \"ent_id_sep\" is not a string (of under %d bytes)",
                  path, MAX_SEP);
    snprintf(sep, MAX_SEP, "%s", s && rc == NERD_OK ? s->u.str.ptr : DEFAULT_ENT_ID_SEP);
    json_doc_free(&jd);
    return rc;
}

/* A line's label and id: label a string; id absent, null or a string (spaCy would put any
 * other value in span_id, a hash). */
static int line_fields(const json_value *v, const char **label, const json_value **id, const json_value **pattern)
{
    const json_value *l = v->type == JSON_OBJECT ? json_get(v, "label") : NULL;
    *pattern = v->type == JSON_OBJECT ? json_get(v, "pattern") : NULL;
    *id = v->type == JSON_OBJECT ? json_get(v, "id") : NULL;
    if (!l || l->type != JSON_STRING || strlen(l->u.str.ptr) != l->u.str.len) return -1;
    if (!*pattern || ((*pattern)->type != JSON_STRING && (*pattern)->type != JSON_ARRAY)) return -1;
    if (*id && (*id)->type != JSON_NULL &&
        ((*id)->type != JSON_STRING || strlen((*id)->u.str.ptr) != (*id)->u.str.len))
        return -1;
    *label = l->u.str.ptr;
    return 0;
}

/* A phrase pattern: its tokens' ORTH or LOWER, as the tokenizer splits it. */
static int add_phrase(entity_ruler *r, unsigned key, const char *text, size_t len, const tokenizer *tok,
                      tok_scratch *tsc, buf *lower)
{
    if (tokenizer_run(tok, text, len, tsc)) return -1;
    matcher_text *parts = calloc(tsc->ntoks + 1, sizeof *parts);
    if (!parts) return -1;
    buf_clear(lower);
    size_t *offs = calloc(tsc->ntoks + 1, sizeof *offs);
    int rc = offs ? 0 : -1;
    for (size_t i = 0; i < tsc->ntoks && !rc; i++) {
        const char *s = text + tsc->toks[i].start;
        size_t n = tsc->toks[i].len;
        if (r->phrase_attr == MATCHER_LOWER) {
            offs[i] = lower->len;
            rc = py_lower(s, n, lower);
            parts[i].len = lower->len - offs[i];
        } else {
            parts[i] = (matcher_text){s, n};
        }
    }
    if (!rc && r->phrase_attr == MATCHER_LOWER)
        for (size_t i = 0; i < tsc->ntoks; i++) parts[i].s = lower->ptr + offs[i];
    if (!rc) rc = phrase_matcher_add(r->phrases, r->keys.names[key], parts, tsc->ntoks);
    free(parts);
    free(offs);
    return rc;
}

/* The patterns of DIR/NAME/FILE on r's matchers (its kind and settings set): one code for both
 * rulers, which differ in their keys and ids. sep: the entity_ruler's ent_id_sep. r, or NULL
 * (r freed) with *status and err. */
static entity_ruler *load_patterns(entity_ruler *r, const char *dir, const char *name, const char *file_name,
                                   const char *sep, const tokenizer *tok, nerd_status *status, char *err, size_t errlen)
{
    char path[4096];
    if (!(r->tokens = matcher_new()) || !(r->phrases = phrase_matcher_new(r->phrase_attr))) {
        fail(status, NERD_ERR_NOMEM, err, errlen, "out of memory");
        goto out;
    }
    snprintf(path, sizeof path, "%s/%s/%s", dir, name, file_name);
    buf file = {0}, lower = {0};
    tok_scratch tsc = {0};
    nerd_status rc = mf_read(path, MF_MAX_MODEL_FILE, &file, err, errlen);
    if (rc != NERD_OK) {
        *status = rc;
        goto out;
    }
    /* add_patterns: the token patterns first, then the phrase patterns, each in file order */
    for (int pass = 0; pass < 2 && *status == NERD_OK; pass++) {
        jsonl_iter it;
        jsonl_init(&it, file.ptr, file.len, JSONL_MAX_LINE);
        int got;
        while (*status == NERD_OK && (got = jsonl_next(&it)) != 0) {
            const char *label;
            const json_value *id, *pattern;
            if (got < 0) {
                fail(status, NERD_ERR_FORMAT, err, errlen, "%s: %s", path, it.err);
                break;
            }
            if (line_fields(&it.doc.root, &label, &id, &pattern)) {
                fail(status, NERD_ERR_FORMAT, err, errlen,
                     "%s: line %zu: expected {\"label\": string, \"pattern\": string or list, \"id\": string}", path,
                     it.lineno);
                break;
            }
            int is_phrase = pattern->type == JSON_STRING;
            if (is_phrase != pass) continue;
            const char *id_str = id && id->type == JSON_STRING ? id->u.str.ptr : NULL;
            if (r->is_span_ruler && id && !id_str) {
                /* Span(span_id=None) raises TypeError on every doc the pattern matches */
                fail(status, NERD_ERR_UNSUPPORTED, err, errlen,
                     "%s: line %zu: \"id\" is null (spaCy's SpanRuler raises TypeError where the pattern matches)",
                     path, it.lineno);
                break;
            }
            /* an entity_ruler's phrase pattern keeps its id only when it is not empty; a token
             * pattern's "id" key, whatever its value, makes an _ent_ids entry */
            if (!r->is_span_ruler && is_phrase && id_str && !*id_str) id_str = NULL;
            int key = r->is_span_ruler ? add_span_key(r, label, id_str ? id_str : "")
                                       : add_key(r, label, id_str, is_phrase ? id_str != NULL : id != NULL, sep);
            char why[512] = "out of memory";
            int bad = key < 0;
            if (!bad && !is_phrase) {
                json_value one = {.type = JSON_ARRAY, .u.arr = {(json_value *)pattern, 1}};
                bad = matcher_add(r->tokens, r->keys.names[key], &one, MATCHER_GREEDY_NONE, why, sizeof why);
            } else if (!bad) {
                bad = add_phrase(r, (unsigned)key, pattern->u.str.ptr, pattern->u.str.len, tok, &tsc, &lower);
            }
            if (bad) fail(status, key < 0 || is_phrase ? NERD_ERR_NOMEM : NERD_ERR_UNSUPPORTED, err, errlen,
                          "%s: line %zu: %s", path, it.lineno, why);
        }
        jsonl_free(&it);
    }
    buf_free(&file);
    buf_free(&lower);
    tok_scratch_free(&tsc);
    if (*status != NERD_OK) goto out;
    /* each matcher's key numbers to ours */
    size_t nt = matcher_key_count(r->tokens), np = r->keys.n;
    r->token_key = calloc(nt + 1, sizeof *r->token_key);
    r->phrase_key = calloc(np + 1, sizeof *r->phrase_key);
    if (!r->token_key || !r->phrase_key) {
        fail(status, NERD_ERR_NOMEM, err, errlen, "out of memory");
        goto out;
    }
    for (size_t k = 0; k < r->keys.n; k++) {
        for (size_t t = 0; t < nt; t++)
            if (!strcmp(matcher_key_name(r->tokens, (unsigned)t), r->keys.names[k])) r->token_key[t] = (unsigned)k;
        for (size_t p = 0; p < np; p++) {
            const char *pn = phrase_matcher_key_name(r->phrases, (unsigned)p);
            if (pn && !strcmp(pn, r->keys.names[k])) r->phrase_key[p] = (unsigned)k;
        }
    }
    return r;
out:
    entity_ruler_free(r);
    return NULL;
}

entity_ruler *entity_ruler_load(const char *dir, const char *name, ruler_place place, const tokenizer *tok,
                                nerd_status *status, char *err, size_t errlen)
{
    char path[4096], sep[MAX_SEP];
    entity_ruler *r = calloc(1, sizeof *r);
    if (!r) {
        fail(status, NERD_ERR_NOMEM, err, errlen, "out of memory");
        return NULL;
    }
    r->place = place;
    *status = NERD_OK;
    snprintf(path, sizeof path, "%s/%s/cfg", dir, name);
    if (read_cfg(r, path, sep, status, err, errlen) != NERD_OK) {
        entity_ruler_free(r);
        return NULL;
    }
    return load_patterns(r, dir, name, "patterns.jsonl", sep, tok, status, err, errlen);
}

entity_ruler *span_ruler_load(const char *dir, const char *name, ruler_place place, const span_ruler_settings *set,
                              const tokenizer *tok, nerd_status *status, char *err, size_t errlen)
{
    entity_ruler *r = calloc(1, sizeof *r);
    if (!r) {
        fail(status, NERD_ERR_NOMEM, err, errlen, "out of memory");
        return NULL;
    }
    r->place = place;
    r->is_span_ruler = 1;
    r->span = *set;
    r->overwrite = set->overwrite;
    r->phrase_attr = set->phrase_attr;
    *status = NERD_OK;
    return load_patterns(r, dir, name, "patterns", NULL, tok, status, err, errlen);
}

/* spaCy's names for its phrase_matcher_attr values, and for its registered span filters */
int ruler_phrase_attr_by_name(const char *name, matcher_str_attr *attr)
{
    for (size_t k = 0; k < sizeof phrase_attrs / sizeof *phrase_attrs; k++)
        if (!strcasecmp(name, phrase_attrs[k].name)) {
            *attr = phrase_attrs[k].attr;
            return 0;
        }
    return -1;
}

static const struct {
    const char *name;
    span_filter filter;
} span_filter_names[] = {
    {"spacy.first_longest_spans_filter.v1", SPAN_FILTER_FIRST_LONGEST},
    {"spacy.prioritize_new_ents_filter.v1", SPAN_FILTER_PRIORITIZE_NEW},
    {"spacy.prioritize_existing_ents_filter.v1", SPAN_FILTER_PRIORITIZE_EXISTING},
};

int span_filter_by_name(const char *name)
{
    for (size_t k = 0; k < sizeof span_filter_names / sizeof *span_filter_names; k++)
        if (!strcmp(name, span_filter_names[k].name)) return (int)span_filter_names[k].filter;
    return -1;
}

/* ---- per doc ---- */

void ruler_doc_free(ruler_doc *rd)
{
    free(rd->iob);
    free(rd->type);
    free(rd->id);
    free(rd->mtoks);
    buf_free(&rd->strs);
    matcher_matches_free(&rd->tm);
    matcher_matches_free(&rd->pm);
    free(rd->cands);
    free(rd->table);
    free(rd->seen);
    free(rd->old);
    free(rd->fresh);
    free(rd->spans);
    free(rd->merged);
    for (size_t g = 0; g < rd->groups_made; g++) free(rd->groups[g].items);
    free(rd->groups);
    *rd = (ruler_doc){0};
}

int ruler_doc_begin(ruler_doc *rd, size_t n)
{
    if (rd->cap < n + 1) {
        size_t cap = n + 1;
        uint8_t *iob = realloc(rd->iob, cap), *seen = iob ? realloc(rd->seen, cap) : NULL;
        if (iob) rd->iob = iob;
        if (seen) rd->seen = seen;
        const char **type = seen ? realloc(rd->type, cap * sizeof *type) : NULL;
        if (type) rd->type = type;
        const char **id = type ? realloc(rd->id, cap * sizeof *id) : NULL;
        if (id) rd->id = id;
        matcher_token *mt = id ? realloc(rd->mtoks, cap * sizeof *mt) : NULL;
        if (mt) rd->mtoks = mt;
        ruler_ent *old = mt ? realloc(rd->old, cap * sizeof *old) : NULL;
        if (old) rd->old = old;
        ruler_ent *fresh = old ? realloc(rd->fresh, cap * sizeof *fresh) : NULL;
        if (!fresh) return -1;
        rd->fresh = fresh;
        rd->cap = cap;
    }
    rd->n = n;
    rd->ngroups = 0;
    for (size_t i = 0; i < n; i++) {
        rd->iob[i] = 0;
        rd->type[i] = rd->id[i] = NULL;
    }
    return 0;
}

/* ---- Python's set of (match_id, start, end) tuples: its iteration order ----
 * EntityRuler.match puts the matches in a set, then sorts them by length and start; two matches
 * of the same span under different keys stay in the set's order, and the first wins. CPython
 * 3.11's order is that of its open-addressing table: tuple hashes (xxHash-like over the items'
 * hashes), probing 10 slots linearly, then perturbed jumps, the table growing 4x once 3/5 full. */

#define PY_HASH_MODULUS (((uint64_t)1 << 61) - 1)
#define PY_XXPRIME_1 11400714785074694791ULL
#define PY_XXPRIME_2 14029467366897019727ULL
#define PY_XXPRIME_5 2870177450012600261ULL
#define PY_SET_MINSIZE 8
#define PY_LINEAR_PROBES 9
#define PY_PERTURB_SHIFT 5

static uint64_t py_tuple3_hash(uint64_t a, uint64_t b, uint64_t c)
{
    const uint64_t lanes[3] = {a % PY_HASH_MODULUS, b, c};   /* hash(int) for non-negative ints */
    uint64_t acc = PY_XXPRIME_5;
    for (int i = 0; i < 3; i++) {
        acc += lanes[i] * PY_XXPRIME_2;
        acc = (acc << 31) | (acc >> 33);
        acc *= PY_XXPRIME_1;
    }
    acc += 3 ^ (PY_XXPRIME_5 ^ 3527539UL);
    return acc == UINT64_MAX ? 1546275796 : acc;
}

/* the slot where an entry of hash h lands in a table (slots of SIZE_MAX are empty) */
static size_t py_set_slot(const size_t *table, size_t mask, uint64_t h)
{
    size_t perturb = (size_t)h, i = (size_t)h & mask;
    for (;;) {
        size_t probes = i + PY_LINEAR_PROBES <= mask ? PY_LINEAR_PROBES : 0;
        for (size_t j = 0; j <= probes; j++)
            if (table[i + j] == SIZE_MAX) return i + j;
        perturb >>= PY_PERTURB_SHIFT;
        i = (i * 5 + 1 + perturb) & mask;
    }
}

static int same_match(const ruler_match *a, const ruler_match *b)
{
    return a->match_id == b->match_id && a->start == b->start && a->end == b->end;
}

/* Inserts cands[0..n) into a simulated set (dropping duplicates, which compare equal only
 * with equal hashes), then leaves the kept ones in rd->cands in the table's order. */
static int py_set_order(ruler_doc *rd)
{
    size_t mask = PY_SET_MINSIZE - 1, used = 0;
    if (grow_array((void **)&rd->table, &rd->tablecap, PY_SET_MINSIZE, sizeof *rd->table)) return -1;
    for (size_t i = 0; i <= mask; i++) rd->table[i] = SIZE_MAX;
    uint64_t *hashes = malloc((rd->ncands + 1) * sizeof *hashes);
    size_t *newtab = NULL;
    if (!hashes) return -1;
    for (size_t c = 0; c < rd->ncands; c++) {
        const ruler_match *m = &rd->cands[c];
        uint64_t h = hashes[c] = py_tuple3_hash(m->match_id, (uint64_t)m->start, (uint64_t)m->end);
        /* the probe sequence stops at an equal entry or an empty slot */
        size_t perturb = (size_t)h, i = (size_t)h & mask, slot = SIZE_MAX;
        int dup = 0;
        while (slot == SIZE_MAX && !dup) {
            size_t probes = i + PY_LINEAR_PROBES <= mask ? PY_LINEAR_PROBES : 0;
            for (size_t j = 0; j <= probes; j++) {
                size_t e = rd->table[i + j];
                if (e == SIZE_MAX) { slot = i + j; break; }
                if (hashes[e] == h && same_match(&rd->cands[e], m)) { dup = 1; break; }
            }
            perturb >>= PY_PERTURB_SHIFT;
            i = (i * 5 + 1 + perturb) & mask;
        }
        if (dup) continue;
        rd->table[slot] = c;
        used++;
        if (used * 5 < mask * 3) continue;
        /* set_table_resize(used * 4): the smallest power of two above it, entries reinserted in
         * the old table's order */
        size_t newsize = PY_SET_MINSIZE;
        while (newsize <= (used > 50000 ? used * 2 : used * 4)) newsize <<= 1;
        if (!(newtab = malloc(newsize * sizeof *newtab))) goto fail;
        for (size_t k = 0; k < newsize; k++) newtab[k] = SIZE_MAX;
        for (size_t k = 0; k <= mask; k++)
            if (rd->table[k] != SIZE_MAX) newtab[py_set_slot(newtab, newsize - 1, hashes[rd->table[k]])] = rd->table[k];
        if (grow_array((void **)&rd->table, &rd->tablecap, newsize, sizeof *rd->table)) goto fail;
        memcpy(rd->table, newtab, newsize * sizeof *newtab);
        free(newtab);
        newtab = NULL;
        mask = newsize - 1;
    }
    /* the kept matches, in the table's order */
    ruler_match *ordered = malloc((used + 1) * sizeof *ordered);
    if (!ordered) goto fail;
    size_t kept = 0;
    for (size_t k = 0; k <= mask; k++)
        if (rd->table[k] != SIZE_MAX) {
            ordered[kept] = rd->cands[rd->table[k]];
            ordered[kept].set_pos = kept;
            kept++;
        }
    memcpy(rd->cands, ordered, kept * sizeof *ordered);
    rd->ncands = kept;
    free(ordered);
    free(hashes);
    return 0;
fail:
    free(hashes);
    free(newtab);
    return -1;
}

/* ---- the doc's entities per token: Doc.set_ents and Doc.ents ---- */

static int same_label(const char *a, const char *b) { return a == b || (a && b && !strcmp(a, b)); }

/* Doc.set_ents' last step: an I after a missing or O token, or after a token of another type,
 * becomes a B */
static void fix_iob(ruler_doc *rd)
{
    for (size_t i = 0; i + 1 < rd->n; i++) {
        if ((rd->iob[i] == 0 || rd->iob[i] == 2) && rd->iob[i + 1] == 1) rd->iob[i + 1] = 3;
        if (!same_label(rd->type[i], rd->type[i + 1]) && (rd->iob[i] == 3 || rd->iob[i] == 1) && rd->iob[i + 1] == 1)
            rd->iob[i + 1] = 3;
    }
}

/* one entity's tokens; its ent_id only when it has one (spaCy keeps the token's otherwise) */
static void set_span(ruler_doc *rd, const ruler_ent *e)
{
    for (uint32_t i = e->start; i < e->end; i++) {
        rd->iob[i] = i == e->start ? 3 : 1;
        rd->type[i] = e->label;
        if (e->ent_id && *e->ent_id) rd->id[i] = e->ent_id;
    }
}

/* Doc.ents = ents: spans without a label are dropped, every other token becomes O */
static void set_ents_outside(ruler_doc *rd, const ruler_ent *a, size_t na, const ruler_ent *b, size_t nb)
{
    memset(rd->seen, 0, rd->n);
    const ruler_ent *lists[2] = {a, b};
    size_t counts[2] = {na, nb};
    for (int l = 0; l < 2; l++)
        for (size_t k = 0; k < counts[l]; k++) {
            const ruler_ent *e = &lists[l][k];
            if (!e->label || !*e->label) continue;
            set_span(rd, e);
            memset(rd->seen + e->start, 1, e->end - e->start);
        }
    for (size_t i = 0; i < rd->n; i++)
        if (!rd->seen[i]) {
            rd->type[i] = NULL;
            rd->iob[i] = 2;
        }
    fix_iob(rd);
}

size_t ruler_doc_ents(const ruler_doc *rd, ruler_ent *out)
{
    size_t n = 0;
    long start = -1;
    const char *label = NULL, *id = NULL;
    for (size_t i = 0; i <= rd->n; i++) {
        int iob = i < rd->n ? rd->iob[i] : 0;
        if (iob == 1 && start >= 0) continue;
        if (start >= 0 && label && *label)
            out[n++] = (ruler_ent){(uint32_t)start, (uint32_t)i, label, id ? id : ""};
        start = -1;
        if (iob == 3 && rd->type[i]) {
            start = (long)i;
            label = rd->type[i];
            id = rd->id[i];
        }
    }
    return n;
}

void ruler_doc_set_ner(ruler_doc *rd, const biluo_ent *ents, size_t nents, char *const *labels)
{
    for (size_t k = 0; k < nents; k++) {
        /* an entity of a preset label the ner lacks is that preset's: its tokens have the label */
        const char *label = ents[k].label >= 0 ? labels[ents[k].label] : rd->type[ents[k].start];
        ruler_ent e = {ents[k].start, ents[k].end, label, NULL};
        set_span(rd, &e);
    }
    fix_iob(rd);
    for (size_t i = 0; i < rd->n; i++)
        if (rd->iob[i] == 0) rd->iob[i] = 2;
}

void ruler_doc_presets(const ruler_doc *rd, char *const *labels, int nlabels, biluo_preset *out)
{
    for (size_t i = 0; i < rd->n; i++) {
        int label = BILUO_PRESET_NONE;
        if (rd->type[i]) {
            label = BILUO_PRESET_UNKNOWN;
            for (int l = 0; l < nlabels; l++)
                if (!strcmp(labels[l], rd->type[i])) label = l;
        }
        out[i] = (biluo_preset){rd->iob[i], (int16_t)label};
    }
}

/* longest first, then earliest, then in the set's order (Python's stable sort) */
static int by_length_then_start(const void *pa, const void *pb)
{
    const ruler_match *a = pa, *b = pb;
    int la = a->end - a->start, lb = b->end - b->start;
    if (la != lb) return la > lb ? -1 : 1;
    if (a->start != b->start) return a->start < b->start ? -1 : 1;
    return (a->set_pos > b->set_pos) - (a->set_pos < b->set_pos);
}

static int add_cands(ruler_doc *rd, const entity_ruler *r, const matcher_matches *mm, const unsigned *to_key)
{
    for (size_t i = 0; i < mm->n; i++) {
        const matcher_match *m = &mm->items[i];
        if (m->start == m->end) continue;
        if (grow_array((void **)&rd->cands, &rd->candcap, rd->ncands + 1, sizeof *rd->cands)) return -1;
        unsigned k = to_key[m->key];
        rd->cands[rd->ncands++] = (ruler_match){r->keys.ids[k], k, m->start, m->end, 0, r->key_info[k].label_hash,
                                                r->key_info[k].id_hash};
    }
    return 0;
}

/* ---- the span_ruler ---- */

/* Span.__richcmp__'s order: start_char, end_char, label, kb_id (0 for every match), id; token
 * offsets order as character offsets do. Equal under it is equal as a Span (the set's dedup). */
static int span_order(const void *pa, const void *pb)
{
    const ruler_match *a = pa, *b = pb;
    if (a->start != b->start) return a->start < b->start ? -1 : 1;
    if (a->end != b->end) return a->end < b->end ? -1 : 1;
    if (a->label_hash != b->label_hash) return a->label_hash < b->label_hash ? -1 : 1;
    return (a->id_hash > b->id_hash) - (a->id_hash < b->id_hash);
}

/* an item of filter(a, b)'s sort: longest first, then earliest, then first in the chain
 * (Python's sort is stable) */
typedef struct {
    uint32_t len, start;
    size_t pos;
} span_rank;

static int by_rank(const void *pa, const void *pb)
{
    const span_rank *a = pa, *b = pb;
    if (a->len != b->len) return a->len > b->len ? -1 : 1;
    if (a->start != b->start) return a->start < b->start ? -1 : 1;
    return (a->pos > b->pos) - (a->pos < b->pos);
}

static int by_start(const void *pa, const void *pb)
{
    const ruler_ent *a = pa, *b = pb;
    return (a->start > b->start) - (a->start < b->start);
}

long span_filter_apply(span_filter f, const ruler_ent *ents, size_t nents, const ruler_ent *spans, size_t nspans,
                       ruler_ent *out)
{
    if (f == SPAN_FILTER_NONE) {
        if (nspans) memcpy(out, spans, nspans * sizeof *spans);
        return (long)nspans;
    }
    /* first_longest filters the chain of both lists; the other two sort the spans only */
    const int chain = f == SPAN_FILTER_FIRST_LONGEST;
    const size_t nrank = chain ? nents + nspans : nspans;
    uint32_t ntoks = 0;
    for (size_t i = 0; i < nents; i++) ntoks = ents[i].end > ntoks ? ents[i].end : ntoks;
    for (size_t i = 0; i < nspans; i++) ntoks = spans[i].end > ntoks ? spans[i].end : ntoks;
    span_rank *rank = malloc((nrank + 1) * sizeof *rank);
    uint8_t *seen = calloc(ntoks + 1, 1), *dropped = calloc(nents + 1, 1);
    if (!rank || !seen || !dropped) {
        free(rank);
        free(seen);
        free(dropped);
        return -1;
    }
#define RANKED(i) (chain && (i) < nents ? &ents[i] : &spans[chain ? (i) - nents : (i)])
    for (size_t i = 0; i < nrank; i++) rank[i] = (span_rank){RANKED(i)->end - RANKED(i)->start, RANKED(i)->start, i};
    qsort(rank, nrank, sizeof *rank, by_rank);
    if (f == SPAN_FILTER_PRIORITIZE_EXISTING)
        for (size_t e = 0; e < nents; e++) memset(seen + ents[e].start, 1, ents[e].end - ents[e].start);
    size_t nout = 0, nnew = 0;
    ruler_ent *fresh = out + (chain ? 0 : nents);   /* prioritize_*: the kept entities go first */
    for (size_t k = 0; k < nrank; k++) {
        const ruler_ent *s = RANKED(rank[k].pos);
        int free_span = 1;
        if (chain) { /* filter_spans looks at the span's two ends only */
            free_span = !seen[s->start] && !seen[s->end - 1];
        } else {
            for (uint32_t t = s->start; t < s->end && free_span; t++) free_span = !seen[t];
        }
        if (!free_span) continue;
        fresh[nnew++] = *s;
        memset(seen + s->start, 1, s->end - s->start);
        if (f == SPAN_FILTER_PRIORITIZE_NEW)
            for (size_t e = 0; e < nents; e++) dropped[e] |= ents[e].start < s->end && ents[e].end > s->start;
    }
#undef RANKED
    if (chain) {
        qsort(out, nnew, sizeof *out, by_start); /* accepted spans never share a start */
        nout = nnew;
    } else {
        for (size_t e = 0; e < nents; e++)
            if (!dropped[e]) out[nout++] = ents[e];
        memmove(out + nout, fresh, nnew * sizeof *fresh);
        nout += nnew;
    }
    free(rank);
    free(seen);
    free(dropped);
    return (long)nout;
}

/* SpanRuler.match: the matches as Spans, deduplicated and sorted, into rd->spans */
static long span_ruler_matches(const entity_ruler *r, ruler_doc *rd)
{
    qsort(rd->cands, rd->ncands, sizeof *rd->cands, span_order);
    if (grow_array((void **)&rd->spans, &rd->spancap, rd->ncands + 1, sizeof *rd->spans)) return -1;
    size_t n = 0;
    for (size_t c = 0; c < rd->ncands; c++) {
        if (c && !span_order(&rd->cands[c - 1], &rd->cands[c])) continue;
        const ruler_key *k = &r->key_info[rd->cands[c].key];
        rd->spans[n++] = (ruler_ent){(uint32_t)rd->cands[c].start, (uint32_t)rd->cands[c].end, k->label, k->ent_id};
    }
    return (long)n;
}

/* SpanRuler.set_annotations' doc.spans[spans_key]: the group as it was unless overwrite (or a
 * new one, last in the dict), extended by spans_filter(the group, the matches), or the matches */
static int span_ruler_set_spans(const entity_ruler *r, ruler_doc *rd, size_t nspans)
{
    const char *key = r->span.spans_key;
    size_t g = 0;
    while (g < rd->ngroups && strcmp(rd->groups[g].key, key)) g++;
    if (g == rd->ngroups) {
        if (grow_array((void **)&rd->groups, &rd->groupcap, g + 1, sizeof *rd->groups)) return -1;
        if (g == rd->groups_made) rd->groups[rd->groups_made++] = (ruler_span_group){0};
        rd->groups[g].key = key;
        rd->groups[g].n = 0;
        rd->ngroups++;
    } else if (r->overwrite) {
        rd->groups[g].n = 0;
    }
    ruler_span_group *grp = &rd->groups[g];
    if (grow_array((void **)&rd->merged, &rd->mergedcap, grp->n + nspans + 1, sizeof *rd->merged)) return -1;
    long n = span_filter_apply(r->span.spans_filter, grp->items, grp->n, rd->spans, nspans, rd->merged);
    if (n < 0 || grow_array((void **)&grp->items, &grp->cap, grp->n + (size_t)n + 1, sizeof *grp->items)) return -1;
    if (n) memcpy(grp->items + grp->n, rd->merged, (size_t)n * sizeof *rd->merged);
    grp->n += (size_t)n;
    return 0;
}

/* SpanRuler.set_annotations' doc.ents: ents_filter(the doc's entities unless overwrite, the
 * matches), set as Doc.ents */
static int span_ruler_set_ents(const entity_ruler *r, ruler_doc *rd, size_t nspans)
{
    size_t nold = r->overwrite ? 0 : ruler_doc_ents(rd, rd->old);
    if (grow_array((void **)&rd->merged, &rd->mergedcap, nold + nspans + 1, sizeof *rd->merged)) return -1;
    long n = span_filter_apply(r->span.ents_filter, rd->old, nold, rd->spans, nspans, rd->merged);
    if (n < 0) return -1;
    set_ents_outside(rd, rd->merged, (size_t)n, NULL, 0);
    return 0;
}

int entity_ruler_run(const entity_ruler *r, ruler_doc *rd, const uint8_t *sent_starts)
{
    const size_t n = rd->n;
    static const matcher_text empty = {"", 0};
    for (size_t i = 0; i < n; i++) {
        matcher_token *t = &rd->mtoks[i];
        t->str[MATCHER_ENT_TYPE] = rd->type[i] ? (matcher_text){rd->type[i], strlen(rd->type[i])} : empty;
        t->str[MATCHER_ENT_ID] = rd->id[i] ? (matcher_text){rd->id[i], strlen(rd->id[i])} : empty;
        t->ent_iob = rd->iob[i];
        /* spaCy's first token always starts a sentence; the others once a parser ran */
        t->sent_start = i == 0 ? 1 : sent_starts ? (sent_starts[i] ? 1 : -1) : 0;
    }
    rd->ncands = 0;
    if (matcher_run(r->tokens, rd->mtoks, n, &rd->tm) || phrase_matcher_run(r->phrases, rd->mtoks, n, &rd->pm) ||
        add_cands(rd, r, &rd->tm, r->token_key) || add_cands(rd, r, &rd->pm, r->phrase_key))
        return -1;
    if (r->is_span_ruler) {
        long nspans = span_ruler_matches(r, rd);
        if (nspans < 0 || (*r->span.spans_key && span_ruler_set_spans(r, rd, (size_t)nspans))) return -1;
        return r->span.annotate_ents ? span_ruler_set_ents(r, rd, (size_t)nspans) : 0;
    }
    if (py_set_order(rd)) return -1;
    qsort(rd->cands, rd->ncands, sizeof *rd->cands, by_length_then_start);

    /* set_annotations: the doc's entities, then each match in turn */
    size_t nold = ruler_doc_ents(rd, rd->old), nfresh = 0;
    memset(rd->seen, 0, n);
    for (size_t c = 0; c < rd->ncands; c++) {
        const ruler_match *m = &rd->cands[c];
        int typed = 0;
        for (int i = m->start; i < m->end && !r->overwrite; i++) typed |= rd->type[i] != NULL;
        if (typed) continue;
        /* spaCy looks at the span's two ends only */
        if (rd->seen[m->start] || rd->seen[m->end - 1]) continue;
        const ruler_key *k = &r->key_info[m->key];
        rd->fresh[nfresh++] = (ruler_ent){(uint32_t)m->start, (uint32_t)m->end, k->label, k->ent_id};
        size_t kept = 0;
        for (size_t o = 0; o < nold; o++)
            if (!((int)rd->old[o].start < m->end && (int)rd->old[o].end > m->start)) rd->old[kept++] = rd->old[o];
        nold = kept;
        memset(rd->seen + m->start, 1, (size_t)(m->end - m->start));
    }
    set_ents_outside(rd, rd->old, nold, rd->fresh, nfresh);
    return 0;
}
