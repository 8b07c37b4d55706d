/* lemmatizer.c - spaCy's rule lemmatizer over a lemmatizer folder's lookups (lemmatizer.h).
 *
 * The lookups file stays parsed in memory; the tables below point into it. lemma_index and
 * lemma_exc get a hash table each per POS for their membership tests (spaCy's `in` on a Python
 * list or dict), the rules stay the msgpack arrays they are. */
#include "components/lemmatizer.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modelfile/modelfile.h"
#include "modelfile/spacy_config.h"
#include "text/hash.h"
#include "text/pystr.h"
#include "util/u64map.h"

/* A set of strings with a value each, open addressing over the entries' indices; the strings
 * point into the lookups file. Equal strings: the last one put wins, as in a Python dict. */
typedef struct {
    nerd_str *keys;
    const msgpack_object **vals;
    size_t n;
    uint32_t *slots; /* entry index + 1; 0 is an empty slot */
    size_t mask;
} strtab;

static uint64_t str_hash(const char *p, size_t n) { return murmur64a(p, n, 1); }

static int strtab_init(strtab *t, size_t expected)
{
    size_t cap = 16;
    while (cap < expected * 2) cap *= 2;
    t->keys = malloc((expected ? expected : 1) * sizeof *t->keys);
    t->vals = malloc((expected ? expected : 1) * sizeof *t->vals);
    t->slots = calloc(cap, sizeof *t->slots);
    t->n = 0;
    t->mask = cap - 1;
    return t->keys && t->vals && t->slots ? 0 : -1;
}

static void strtab_free(strtab *t)
{
    free(t->keys);
    free(t->vals);
    free(t->slots);
    memset(t, 0, sizeof *t);
}

/* The slot holding s, or the empty slot where it would go. */
static size_t strtab_slot(const strtab *t, const char *p, size_t n)
{
    size_t i = (size_t)str_hash(p, n) & t->mask;
    for (;;) {
        uint32_t e = t->slots[i];
        if (!e) return i;
        const nerd_str *k = &t->keys[e - 1];
        if (k->len == n && !memcmp(k->ptr, p, n)) return i;
        i = (i + 1) & t->mask;
    }
}

/* Room for the count given to strtab_init is the caller's promise. */
static void strtab_put(strtab *t, nerd_str key, const msgpack_object *val)
{
    size_t i = strtab_slot(t, key.ptr, key.len);
    if (t->slots[i]) {
        t->vals[t->slots[i] - 1] = val;
        return;
    }
    t->keys[t->n] = key;
    t->vals[t->n] = val;
    t->slots[i] = (uint32_t)++t->n;
}

/* 1 and *val (may be NULL) if present, else 0. */
static int strtab_get(const strtab *t, const char *p, size_t n, const msgpack_object **val)
{
    if (!t->slots) return 0;
    uint32_t e = t->slots[strtab_slot(t, p, n)];
    if (!e) return 0;
    if (val) *val = t->vals[e - 1];
    return 1;
}

/* One POS's share of the three tables. */
typedef struct {
    uint64_t key;                 /* StringStore hash of the lower-case POS name */
    const msgpack_object *rules;  /* lemma_rules: [[old suffix, new suffix], ...], or NULL */
    strtab index;                 /* lemma_index: the known lemmas */
    strtab exc;                   /* lemma_exc: form -> [lemma, ...] */
    size_t nrules, nindex, nexc;  /* entries in each (spaCy tests each table's entry for truth) */
} lz_pos;

struct lemmatizer {
    mf_msgpack file;
    lz_pos *pos;
    size_t npos;
    lemmatizer_class cls;
    int overwrite;
    /* lemma_lookup (read by the French class only): StringStore key of a form -> the index of its
     * entry in the table's map, whose value is a lemma or a list of lemmas */
    u64map lookup;
    const msgpack_object *lookup_table;
};

void lemmatizer_free(lemmatizer *lz)
{
    if (!lz) return;
    for (size_t i = 0; i < lz->npos; i++) {
        strtab_free(&lz->pos[i].index);
        strtab_free(&lz->pos[i].exc);
    }
    free(lz->pos);
    u64map_free(&lz->lookup);
    mf_msgpack_free(&lz->file);
    free(lz);
}

static lz_pos *pos_entry(lemmatizer *lz, uint64_t key)
{
    for (size_t i = 0; i < lz->npos; i++)
        if (lz->pos[i].key == key) return &lz->pos[i];
    lz_pos *grown = realloc(lz->pos, (lz->npos + 1) * sizeof *grown);
    if (!grown) return NULL;
    lz->pos = grown;
    memset(&grown[lz->npos], 0, sizeof *grown);
    grown[lz->npos].key = key;
    return &grown[lz->npos++];
}

/* A string of valid UTF-8 (spaCy would fail decoding another), so that every lemma is valid. */
static int is_str(const msgpack_object *o)
{
    const char *p;
    size_t n, bad;
    return mf_str(o, &p, &n) == 0 && py_utf8_valid(p, n, &bad);
}

static nerd_str str_of(const msgpack_object *o)
{
    nerd_str s = {"", 0};
    mf_str(o, &s.ptr, &s.len);
    if (!s.ptr) s.ptr = ""; /* an empty string may have no bytes to point at: memcmp needs some */
    return s;
}

/* The tables spaCy's rule mode reads; lemma_lookup only for the French class (for another class a
 * table of another name is not read). */
enum { TABLE_RULES, TABLE_EXC, TABLE_INDEX, TABLE_LOOKUP, NTABLES };
static const char *const table_names[NTABLES] = {"lemma_rules", "lemma_exc", "lemma_index", "lemma_lookup"};

/* A lemma_lookup value: a non-empty string or a non-empty list of them (spaCy takes the first;
 * an empty one would fail in spaCy at the token that reaches it, so the load refuses it). */
static int is_lookup_value(const msgpack_object *v)
{
    if (v->type == MSGPACK_OBJECT_ARRAY) {
        for (uint32_t i = 0; i < v->via.array.size; i++)
            if (!is_str(&v->via.array.ptr[i])) return 0;
        return v->via.array.size > 0;
    }
    return is_str(v) && v->via.str.size > 0;
}

/* lemma_lookup: its keys are StringStore keys of forms (not per POS as the other tables). */
static nerd_status load_lookup(lemmatizer *lz, const msgpack_object *table, const char **bad)
{
    u64map_free(&lz->lookup);
    if (u64map_init(&lz->lookup, table->via.map.size)) return NERD_ERR_NOMEM;
    for (uint32_t j = 0; j < table->via.map.size; j++) {
        const msgpack_object_kv *kv = &table->via.map.ptr[j];
        if (kv->key.type != MSGPACK_OBJECT_POSITIVE_INTEGER) return *bad = "a lemma_lookup key is not a string hash", NERD_ERR_FORMAT;
        if (!is_lookup_value(&kv->val))
            return *bad = "a lemma_lookup value is not a lemma or a non-empty list of lemmas (UTF-8 strings)", NERD_ERR_FORMAT;
        if (u64map_put(&lz->lookup, kv->key.via.u64, j)) return NERD_ERR_NOMEM;
    }
    lz->lookup_table = table;
    return NERD_OK;
}

/* Checks one POS's entry of table `which` and records it. A message names what is wrong. */
static nerd_status load_entry(lemmatizer *lz, int which, uint64_t key, const msgpack_object *v, const char **bad)
{
    lz_pos *p = pos_entry(lz, key);
    if (!p) return NERD_ERR_NOMEM;
    if (which == TABLE_RULES) {
        if (v->type != MSGPACK_OBJECT_ARRAY) return *bad = "a lemma_rules entry is not a list", NERD_ERR_FORMAT;
        for (uint32_t i = 0; i < v->via.array.size; i++) {
            const msgpack_object *r = &v->via.array.ptr[i];
            if (r->type != MSGPACK_OBJECT_ARRAY || r->via.array.size != 2 || !is_str(&r->via.array.ptr[0]) ||
                !is_str(&r->via.array.ptr[1]))
                return *bad = "a lemma rule is not [old suffix, new suffix] (UTF-8 strings)", NERD_ERR_FORMAT;
        }
        p->rules = v;
        p->nrules = v->via.array.size;
    } else if (which == TABLE_INDEX) {
        if (v->type != MSGPACK_OBJECT_ARRAY) return *bad = "a lemma_index entry is not a list", NERD_ERR_FORMAT;
        strtab_free(&p->index);
        if (strtab_init(&p->index, v->via.array.size)) return NERD_ERR_NOMEM;
        for (uint32_t i = 0; i < v->via.array.size; i++) {
            if (!is_str(&v->via.array.ptr[i])) return *bad = "a lemma_index entry holds what is no UTF-8 string", NERD_ERR_FORMAT;
            strtab_put(&p->index, str_of(&v->via.array.ptr[i]), NULL);
        }
        p->nindex = v->via.array.size;
    } else {
        if (v->type != MSGPACK_OBJECT_MAP) return *bad = "a lemma_exc entry is not a map", NERD_ERR_FORMAT;
        strtab_free(&p->exc);
        if (strtab_init(&p->exc, v->via.map.size)) return NERD_ERR_NOMEM;
        for (uint32_t i = 0; i < v->via.map.size; i++) {
            const msgpack_object_kv *kv = &v->via.map.ptr[i];
            if (!is_str(&kv->key) || kv->val.type != MSGPACK_OBJECT_ARRAY)
                return *bad = "a lemma exception is not UTF-8 string -> [lemma, ...]", NERD_ERR_FORMAT;
            for (uint32_t j = 0; j < kv->val.via.array.size; j++)
                if (!is_str(&kv->val.via.array.ptr[j])) return *bad = "a lemma exception holds what is no UTF-8 string", NERD_ERR_FORMAT;
            strtab_put(&p->exc, str_of(&kv->key), &kv->val);
        }
        p->nexc = v->via.map.size;
    }
    return NERD_OK;
}

nerd_status lemmatizer_load(lemmatizer **out, const char *component_dir, lemmatizer_class cls, int overwrite,
                            char *err, size_t errlen)
{
    *out = NULL;
    lemmatizer *lz = calloc(1, sizeof *lz);
    buf path = {0};
    if (!lz || buf_printf(&path, "%s/lookups/lookups.bin", component_dir)) {
        free(lz);
        snprintf(err, errlen, "%s: out of memory", component_dir);
        return NERD_ERR_NOMEM;
    }
    lz->cls = cls;
    lz->overwrite = overwrite;
    nerd_status st = mf_msgpack_read(&lz->file, path.ptr, "a spaCy lookups file", MSGPACK_OBJECT_MAP, err, errlen);
    const char *bad = NULL;
    int seen[NTABLES] = {0};
    const msgpack_object *root = lz->file.root;
    for (uint32_t i = 0; st == NERD_OK && i < root->via.map.size; i++) {
        int which = 0;
        while (which < NTABLES && !mf_key_is(&root->via.map.ptr[i].key, table_names[which])) which++;
        if (which == NTABLES || (which == TABLE_LOOKUP && cls != LEMMATIZER_FR)) continue;
        seen[which] = 1;
        const msgpack_object *table = &root->via.map.ptr[i].val;
        if (table->type != MSGPACK_OBJECT_MAP) {
            bad = "a table is not a map";
            st = NERD_ERR_FORMAT;
            break;
        }
        if (which == TABLE_LOOKUP) {
            st = load_lookup(lz, table, &bad);
            continue;
        }
        for (uint32_t j = 0; st == NERD_OK && j < table->via.map.size; j++) {
            const msgpack_object_kv *kv = &table->via.map.ptr[j];
            /* spaCy's Table keys every entry by the StringStore hash of its name */
            if (kv->key.type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
                bad = "a table key is not a string hash";
                st = NERD_ERR_FORMAT;
            } else {
                st = load_entry(lz, which, kv->key.via.u64, &kv->val, &bad);
            }
        }
    }
    if (st == NERD_OK && !seen[TABLE_RULES]) {
        bad = "no table lemma_rules (spaCy's rule mode requires it)";
        st = NERD_ERR_FORMAT;
    }
    /* FrenchLemmatizer.get_lookups_config: all four tables are required in rule mode */
    for (int t = 0; st == NERD_OK && cls == LEMMATIZER_FR && t < NTABLES; t++) {
        if (seen[t]) continue;
        static const char *const missing[NTABLES] = {
            [TABLE_EXC] = "no table lemma_exc (spaCy's French rule mode requires it)",
            [TABLE_INDEX] = "no table lemma_index (spaCy's French rule mode requires it)",
            [TABLE_LOOKUP] = "no table lemma_lookup (spaCy's French rule mode requires it)"};
        bad = missing[t];
        st = NERD_ERR_FORMAT;
    }
    if (st != NERD_OK && bad) snprintf(err, errlen, "%s: %s", path.ptr, bad);
    else if (st == NERD_ERR_NOMEM) snprintf(err, errlen, "%s: out of memory", path.ptr);
    buf_free(&path);
    if (st != NERD_OK) {
        lemmatizer_free(lz);
        return st;
    }
    *out = lz;
    return NERD_OK;
}

nerd_status lemmatizer_load_component(lemmatizer **out, const spacy_config *c, const char *model_dir,
                                      const char *name, char *err, size_t errlen)
{
    *out = NULL;
    char section[256], mode[32] = "lookup", lang[32] = "";
    int overwrite = 0;
    snprintf(section, sizeof section, "components.%s", name);
    /* absent keys take spaCy's defaults (the factory's mode "lookup", overwrite False) */
    if (cfg_raw(c, section, "mode") && cfg_str(c, section, "mode", mode, sizeof mode)) {
        snprintf(err, errlen, "config.cfg: [%s] mode is not a string", section);
        return NERD_ERR_FORMAT;
    }
    if (cfg_raw(c, section, "overwrite") && cfg_bool(c, section, "overwrite", &overwrite)) {
        snprintf(err, errlen, "config.cfg: [%s] overwrite is not true or false", section);
        return NERD_ERR_FORMAT;
    }
    cfg_str(c, "nlp", "lang", lang, sizeof lang);
    if (strcmp(mode, "rule")) {
        snprintf(err, errlen, "config.cfg: [%s] mode \"%s\": nerd implements the lemmatizer's \"rule\" mode only",
                 section, mode);
        return NERD_ERR_UNSUPPORTED;
    }
    /* the language's class of spacy.load: English's and French's override the base rules */
    lemmatizer_class cls;
    if (!strcmp(lang, "en")) cls = LEMMATIZER_BASE_EN;
    else if (!strcmp(lang, "fr")) cls = LEMMATIZER_FR;
    else {
        snprintf(err, errlen, "config.cfg: [%s] of language \"%s\": nerd implements the English and French rule "
                 "lemmatizers only", section, lang);
        return NERD_ERR_UNSUPPORTED;
    }
    buf dir = {0};
    if (buf_printf(&dir, "%s/%s", model_dir, name)) {
        snprintf(err, errlen, "%s: out of memory", model_dir);
        return NERD_ERR_NOMEM;
    }
    nerd_status st = lemmatizer_load(out, dir.ptr, cls, overwrite, err, errlen);
    buf_free(&dir);
    return st;
}

/* ---- the rules ---------------------------------------------------------------------------- */

static int str_is(nerd_str s, const char *lit) { return s.len == strlen(lit) && !memcmp(s.ptr, lit, s.len); }
static int str_eq(nerd_str a, nerd_str b) { return a.len == b.len && (!a.len || !memcmp(a.ptr, b.ptr, a.len)); }

/* The value of feature name in a morph string ("Number=Sing|Person=3"), as token.morph.to_dict()
 * gives it: 1 and *val, or 0 when absent. */
static int morph_get(nerd_str morph, const char *name, nerd_str *val)
{
    size_t name_len = strlen(name), at = 0;
    while (at < morph.len) {
        const char *field = morph.ptr + at, *bar = memchr(field, '|', morph.len - at);
        size_t len = bar ? (size_t)(bar - field) : morph.len - at;
        const char *eq = memchr(field, '=', len);
        if (eq && (size_t)(eq - field) == name_len && !memcmp(field, name, name_len)) {
            val->ptr = eq + 1;
            val->len = len - name_len - 1;
            return 1;
        }
        at += len + 1;
    }
    return 0;
}

static int morph_is(nerd_str morph, const char *name, const char *value)
{
    nerd_str v;
    return morph_get(morph, name, &v) && str_is(v, value);
}

/* EnglishLemmatizer.is_base_form: an uninflected paradigm, lemmatized by lower-casing alone. */
static int en_is_base_form(nerd_str univ_pos, nerd_str morph)
{
    nerd_str unused;
    if (str_is(univ_pos, "noun") && morph_is(morph, "Number", "Sing")) return 1;
    if (str_is(univ_pos, "verb") && morph_is(morph, "VerbForm", "Inf")) return 1;
    if (str_is(univ_pos, "verb") && morph_is(morph, "VerbForm", "Fin") && morph_is(morph, "Tense", "Pres") &&
        !morph_get(morph, "Number", &unused))
        return 1;
    if (str_is(univ_pos, "adj") && morph_is(morph, "Degree", "Pos")) return 1;
    return morph_is(morph, "VerbForm", "Inf") || morph_is(morph, "VerbForm", "None") ||
           morph_is(morph, "Degree", "Pos");
}

/* A candidate lemma: [off, off + len) of the forms pool. */
typedef struct {
    size_t off, len;
} span;

static int span_in(const buf *pool, const span *list, size_t n, const char *p, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (list[i].len == len && !memcmp(pool->ptr + list[i].off, p, len)) return 1;
    return 0;
}

/* rule_lemmatize's suffix rules and exceptions over the lower-cased text low; appends the first
 * of its answers. */
static int apply_rules(const lz_pos *p, nerd_str orig, nerd_str low, buf *out)
{
    buf pool = {0};
    span *forms = NULL, *oov = NULL;
    size_t nforms = 0, noov = 0, cap = p->nrules ? p->nrules : 1;
    int rc = -1;
    forms = malloc(cap * sizeof *forms);
    oov = malloc(cap * sizeof *oov);
    if (!forms || !oov) goto done;
    for (size_t i = 0; i < p->nrules; i++) {
        nerd_str old = str_of(&p->rules->via.array.ptr[i].via.array.ptr[0]);
        nerd_str new = str_of(&p->rules->via.array.ptr[i].via.array.ptr[1]);
        if (old.len > low.len || memcmp(low.ptr + low.len - old.len, old.ptr, old.len)) continue;
        size_t stem = low.len - old.len, off = pool.len, len = stem + new.len;
        if (!len) continue; /* an empty form is no lemma */
        if (buf_append(&pool, low.ptr, stem) || buf_append(&pool, new.ptr, new.len)) goto done;
        const char *form = pool.ptr + off;
        if (strtab_get(&p->index, form, len, NULL) || !py_str_isalpha(form, len)) {
            if (!span_in(&pool, forms, nforms, form, len)) forms[nforms++] = (span){off, len};
        } else {
            oov[noov++] = (span){off, len};
        }
    }
    /* Each exception not yet among the forms goes to their front: the last such one wins. */
    const msgpack_object *exc = NULL;
    nerd_str winner = {"", 0};
    int have_winner = 0;
    if (strtab_get(&p->exc, low.ptr, low.len, &exc)) {
        for (uint32_t i = 0; i < exc->via.array.size; i++) {
            nerd_str e = str_of(&exc->via.array.ptr[i]);
            int earlier = 0;
            for (uint32_t j = 0; j < i && !earlier; j++) earlier = str_eq(str_of(&exc->via.array.ptr[j]), e);
            if (!earlier && !span_in(&pool, forms, nforms, e.ptr, e.len)) {
                winner = e;
                have_winner = 1;
            }
        }
    }
    if (have_winner) rc = buf_append(out, winner.ptr, winner.len);
    else if (nforms) rc = buf_append(out, pool.ptr + forms[0].off, forms[0].len);
    else if (noov) rc = buf_append(out, pool.ptr + oov[0].off, oov[0].len);
    else rc = buf_append(out, orig.ptr, orig.len);
done:
    free(forms);
    free(oov);
    buf_free(&pool);
    return rc;
}

static int append_lower(nerd_str s, buf *out) { return py_lower(s.ptr, s.len, out); }

/* lemma_lookup's entry for s, or NULL. */
static const msgpack_object *lookup_get(const lemmatizer *lz, nerd_str s)
{
    uint32_t at;
    if (!lz->lookup_table || !u64map_get(&lz->lookup, nerd_string_hash(s.ptr, s.len), &at)) return NULL;
    return &lz->lookup_table->via.map.ptr[at].val;
}

/* The first element of a lemma_lookup value as Python's `value[0]` takes it: a list's first lemma,
 * a string's first character. */
static nerd_str first_of(const msgpack_object *v)
{
    if (v->type == MSGPACK_OBJECT_ARRAY) return str_of(&v->via.array.ptr[0]);
    nerd_str s = str_of(v);
    uint32_t cp;
    s.len = py_utf8_next(s.ptr, s.len, &cp); /* non-empty valid UTF-8 (is_lookup_value) */
    return s;
}

/* Lemmatizer.lookup_lemmatize(token)[0]: the entry of the text as it is, else the text. A string
 * entry is the lemma itself (spaCy wraps it in a list). */
static int lookup_lemma(const lemmatizer *lz, nerd_str text, buf *out)
{
    const msgpack_object *v = lookup_get(lz, text);
    nerd_str lemma = !v ? text : v->type == MSGPACK_OBJECT_ARRAY ? first_of(v) : str_of(v);
    return buf_append(out, lemma.ptr, lemma.len);
}

/* The POS FrenchLemmatizer.rule_lemmatize runs its rules for; any other goes to lookup_lemmatize. */
static const char *const fr_rule_pos[] = {"noun", "verb", "adj", "adp", "adv", "aux",
                                          "cconj", "det", "pron", "punct", "sconj"};

/* FrenchLemmatizer.rule_lemmatize(token)[0] (spacy/lang/fr/lemmatizer.py), from the lower-cased
 * POS on: the index first, then the exceptions, then the rules, then lemma_lookup. */
static int fr_rule_lemma(const lemmatizer *lz, nerd_str text, nerd_str univ_pos, buf *scratch, buf *out)
{
    int rule_pos = 0;
    for (size_t i = 0; i < sizeof fr_rule_pos / sizeof *fr_rule_pos && !rule_pos; i++)
        rule_pos = str_is(univ_pos, fr_rule_pos[i]);
    if (!rule_pos) return lookup_lemma(lz, text, out); /* PROPN, NUM, X...: the text's case counts */
    size_t low_off = scratch->len;
    if (append_lower(text, scratch)) return -1;
    nerd_str low = {scratch->ptr + low_off, scratch->len - low_off};
    const lz_pos *p = NULL;
    uint64_t key = nerd_string_hash(univ_pos.ptr, univ_pos.len);
    for (size_t i = 0; i < lz->npos && !p; i++)
        if (lz->pos[i].key == key) p = &lz->pos[i];
    if (p && strtab_get(&p->index, low.ptr, low.len, NULL)) return buf_append(out, low.ptr, low.len);
    const msgpack_object *exc = NULL;
    if (p && strtab_get(&p->exc, low.ptr, low.len, &exc) && exc->via.array.size) {
        nerd_str e = str_of(&exc->via.array.ptr[0]);
        return buf_append(out, e.ptr, e.len);
    }
    /* the rules: the first form known to the index (or not all letters), else the first other */
    size_t oov_off = 0, oov_len = 0; /* the first out-of-index form, in scratch */
    for (size_t i = 0; p && i < p->nrules; i++) {
        nerd_str old = str_of(&p->rules->via.array.ptr[i].via.array.ptr[0]);
        nerd_str new = str_of(&p->rules->via.array.ptr[i].via.array.ptr[1]);
        if (old.len > low.len || memcmp(low.ptr + low.len - old.len, old.ptr, old.len)) continue;
        size_t stem = low.len - old.len, off = scratch->len, len = stem + new.len;
        if (!len) continue; /* an empty form is no lemma */
        /* scratch may move as it grows: room first, then the stem copied from within it */
        if (buf_reserve(scratch, len)) return -1;
        low.ptr = scratch->ptr + low_off;
        if (buf_append(scratch, low.ptr, stem) || buf_append(scratch, new.ptr, new.len)) return -1;
        const char *form = scratch->ptr + off;
        if (strtab_get(&p->index, form, len, NULL) || !py_str_isalpha(form, len)) return buf_append(out, form, len);
        if (!oov_len) {
            oov_len = len;
            oov_off = off;
        }
    }
    if (oov_len) return buf_append(out, scratch->ptr + oov_off, oov_len);
    /* lemma_lookup.get(string, [string])[0], of the lower-cased text */
    const msgpack_object *v = lookup_get(lz, low);
    nerd_str lemma = v ? first_of(v) : low;
    return buf_append(out, lemma.ptr, lemma.len);
}

int lemmatizer_rule_lemma(const lemmatizer *lz, nerd_str text, nerd_str pos, nerd_str morph, buf *out)
{
    buf scratch = {0};
    int rc = -1;
    /* univ_pos: token.pos_.lower() */
    if (append_lower(pos, &scratch)) return -1;
    nerd_str univ_pos = {scratch.ptr ? scratch.ptr : "", scratch.len};
    if (!univ_pos.len || str_is(univ_pos, "eol") || str_is(univ_pos, "space") ||
        (lz->cls == LEMMATIZER_BASE_EN && en_is_base_form(univ_pos, morph))) {
        rc = append_lower(text, out);
        goto done;
    }
    if (lz->cls == LEMMATIZER_FR) {
        /* univ_pos is copied out of scratch, which the French rules grow */
        char pos_copy[16];
        if (univ_pos.len >= sizeof pos_copy) {
            rc = lookup_lemma(lz, text, out); /* longer than any POS the rules run for */
            goto done;
        }
        memcpy(pos_copy, univ_pos.ptr, univ_pos.len);
        rc = fr_rule_lemma(lz, text, (nerd_str){pos_copy, univ_pos.len}, &scratch, out);
        goto done;
    }
    const lz_pos *p = NULL;
    uint64_t key = nerd_string_hash(univ_pos.ptr, univ_pos.len);
    for (size_t i = 0; i < lz->npos && !p; i++)
        if (lz->pos[i].key == key && (lz->pos[i].nrules || lz->pos[i].nindex || lz->pos[i].nexc)) p = &lz->pos[i];
    if (!p) {
        /* a POS the tables do not know: proper nouns keep their case */
        rc = str_is(univ_pos, "propn") ? buf_append(out, text.ptr, text.len) : append_lower(text, out);
        goto done;
    }
    size_t low_off = scratch.len;
    if (append_lower(text, &scratch)) goto done;
    rc = apply_rules(p, text, (nerd_str){scratch.ptr + low_off, scratch.len - low_off}, out);
done:
    buf_free(&scratch);
    return rc;
}

int lemmatizer_lemma(const lemmatizer *lz, const lemmatizer_token *t, buf *out)
{
    /* spaCy's Lemmatizer.__call__: `if self.overwrite or token.lemma == 0` */
    if (!lz->overwrite && t->preset.len) return buf_append(out, t->preset.ptr, t->preset.len);
    return lemmatizer_rule_lemma(lz, t->text, t->pos, t->morph, out);
}
