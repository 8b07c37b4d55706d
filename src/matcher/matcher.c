/* matcher.c - spaCy's token Matcher: patterns compiled from spaCy's JSON into nodes (one per
 * repetition a quantifier needs), run as spaCy runs them: a list of partial matches ("states")
 * advanced token by token, so that the same matches come out in the same order
 * (docs/matcher.md gives the rules this reproduces). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "matcher/matcher.h"

#include <math.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "matcher/matcher_keys.h"
#include "text/morph.h"
#include "text/pyre.h"
#include "util/buf.h"

/* ---- what a token dict may name ---- */

typedef enum { VT_STRING, VT_NUMBER, VT_BOOL, VT_IOB } value_type;
typedef enum { ATTR_STR, ATTR_LENGTH, ATTR_FLAG, ATTR_SENT_START, ATTR_ENT_IOB } attr_kind;

typedef struct {
    const char *name;    /* as spaCy's schema spells it; the lower-case form is accepted too */
    attr_kind kind;
    unsigned which;      /* matcher_str_attr for ATTR_STR, the flag bit for ATTR_FLAG */
    value_type type;
} attr_def;

static const attr_def attr_defs[] = {
    {"ORTH", ATTR_STR, MATCHER_ORTH, VT_STRING},
    {"TEXT", ATTR_STR, MATCHER_ORTH, VT_STRING},
    {"LOWER", ATTR_STR, MATCHER_LOWER, VT_STRING},
    {"NORM", ATTR_STR, MATCHER_NORM, VT_STRING},
    {"LEMMA", ATTR_STR, MATCHER_LEMMA, VT_STRING},
    {"POS", ATTR_STR, MATCHER_POS, VT_STRING},
    {"TAG", ATTR_STR, MATCHER_TAG, VT_STRING},
    {"MORPH", ATTR_STR, MATCHER_MORPH, VT_STRING},
    {"DEP", ATTR_STR, MATCHER_DEP, VT_STRING},
    {"ENT_TYPE", ATTR_STR, MATCHER_ENT_TYPE, VT_STRING},
    {"ENT_ID", ATTR_STR, MATCHER_ENT_ID, VT_STRING},
    {"ENT_KB_ID", ATTR_STR, MATCHER_ENT_KB_ID, VT_STRING},
    {"SHAPE", ATTR_STR, MATCHER_SHAPE, VT_STRING},
    {"LENGTH", ATTR_LENGTH, 0, VT_NUMBER},
    {"ENT_IOB", ATTR_ENT_IOB, 0, VT_IOB},
    {"SPACY", ATTR_FLAG, MATCHER_SPACY, VT_BOOL},
    {"IS_ALPHA", ATTR_FLAG, MATCHER_IS_ALPHA, VT_BOOL},
    {"IS_ASCII", ATTR_FLAG, MATCHER_IS_ASCII, VT_BOOL},
    {"IS_DIGIT", ATTR_FLAG, MATCHER_IS_DIGIT, VT_BOOL},
    {"IS_LOWER", ATTR_FLAG, MATCHER_IS_LOWER, VT_BOOL},
    {"IS_UPPER", ATTR_FLAG, MATCHER_IS_UPPER, VT_BOOL},
    {"IS_TITLE", ATTR_FLAG, MATCHER_IS_TITLE, VT_BOOL},
    {"IS_PUNCT", ATTR_FLAG, MATCHER_IS_PUNCT, VT_BOOL},
    {"IS_SPACE", ATTR_FLAG, MATCHER_IS_SPACE, VT_BOOL},
    {"IS_BRACKET", ATTR_FLAG, MATCHER_IS_BRACKET, VT_BOOL},
    {"IS_QUOTE", ATTR_FLAG, MATCHER_IS_QUOTE, VT_BOOL},
    {"IS_LEFT_PUNCT", ATTR_FLAG, MATCHER_IS_LEFT_PUNCT, VT_BOOL},
    {"IS_RIGHT_PUNCT", ATTR_FLAG, MATCHER_IS_RIGHT_PUNCT, VT_BOOL},
    {"IS_CURRENCY", ATTR_FLAG, MATCHER_IS_CURRENCY, VT_BOOL},
    {"IS_STOP", ATTR_FLAG, MATCHER_IS_STOP, VT_BOOL},
    {"LIKE_NUM", ATTR_FLAG, MATCHER_LIKE_NUM, VT_BOOL},
    {"LIKE_URL", ATTR_FLAG, MATCHER_LIKE_URL, VT_BOOL},
    {"LIKE_EMAIL", ATTR_FLAG, MATCHER_LIKE_EMAIL, VT_BOOL},
    {"IS_SENT_START", ATTR_SENT_START, 0, VT_BOOL},
    {"SENT_START", ATTR_SENT_START, 0, VT_BOOL},
};
#define N_ATTR_DEFS (sizeof attr_defs / sizeof attr_defs[0])

/* token.ent_iob's strings by value, as spaCy's Token.iob_strings() */
static const char *const iob_strings[] = {"", "I", "O", "B"};

typedef enum {
    P_REGEX, P_IN, P_NOT_IN, P_IS_SUBSET, P_IS_SUPERSET, P_INTERSECTS,
    P_EQ, P_NE, P_GE, P_LE, P_GT, P_LT
} pred_type;

static const struct {
    const char *name, *lower;
    pred_type type;
    int set_valued;  /* takes a list */
    int numeric_only;
} pred_defs[] = {
    {"REGEX", "regex", P_REGEX, 0, 0},
    {"IN", "in", P_IN, 1, 0},
    {"NOT_IN", "not_in", P_NOT_IN, 1, 0},
    {"IS_SUBSET", "is_subset", P_IS_SUBSET, 1, 0},
    {"IS_SUPERSET", "is_superset", P_IS_SUPERSET, 1, 0},
    {"INTERSECTS", "intersects", P_INTERSECTS, 1, 0},
    {"==", "==", P_EQ, 0, 1},
    {"!=", "!=", P_NE, 0, 1},
    {">=", ">=", P_GE, 0, 1},
    {"<=", "<=", P_LE, 0, 1},
    {">", ">", P_GT, 0, 1},
    {"<", "<", P_LT, 0, 1},
};
#define N_PRED_DEFS (sizeof pred_defs / sizeof pred_defs[0])

/* ---- compiled patterns ---- */

/* Quantifiers of one node. ZERO is '!': the node must consume a token that does not match. */
typedef enum { Q_ONE, Q_ZERO, Q_ZERO_PLUS, Q_ZERO_ONE } quantifier;

/* attribute == value */
typedef struct {
    attr_kind kind;
    unsigned which;
    char *str;          /* ATTR_STR */
    size_t len;
    long num;           /* the other kinds */
} constraint;

typedef struct {
    pred_type type;
    attr_kind kind;     /* ATTR_STR or ATTR_LENGTH */
    unsigned which;
    int regex_set;      /* IN / NOT_IN inside REGEX: the values are regular expressions */
    size_t n;
    char **strs;        /* string values (MORPH values normalized), or */
    size_t *lens;
    double *nums;       /* numbers (LENGTH) */
    pcre2_code **res;   /* REGEX (n = 1) and regex sets */
} predicate;

typedef struct {
    size_t first_constraint, n_constraints;
    size_t first_pred, n_preds;   /* indexes into pred_refs */
} token_spec;

typedef struct {
    quantifier q;
    size_t spec;
} node;

typedef struct {
    unsigned key;
    size_t first_node, n_nodes;
} pattern;

struct matcher {
    matcher_keys keys;
    matcher_greedy *greedy;   /* by key */
    size_t greedy_cap;
    pattern *patterns;
    size_t n_patterns, patterns_cap;
    node *nodes;
    size_t n_nodes, nodes_cap;
    token_spec *specs;
    size_t n_specs, specs_cap;
    constraint *constraints;
    size_t n_constraints, constraints_cap;
    predicate *preds;
    size_t n_preds, preds_cap;
    size_t *pred_refs;
    size_t n_pred_refs, pred_refs_cap;
};

#define PUSH(arr, n, cap) (grow_array((void **)&(arr), &(cap), (n) + 1, sizeof *(arr)) ? NULL : &(arr)[(n)++])

matcher *matcher_new(void)
{
    return calloc(1, sizeof(matcher));
}

static void predicate_free(predicate *p)
{
    for (size_t i = 0; i < p->n; i++) {
        if (p->strs) free(p->strs[i]);
        if (p->res) pcre2_code_free(p->res[i]);
    }
    free(p->strs);
    free(p->lens);
    free(p->nums);
    free(p->res);
}

void matcher_free(matcher *m)
{
    if (!m) return;
    matcher_keys_free(&m->keys);
    free(m->greedy);
    free(m->patterns);
    free(m->nodes);
    free(m->specs);
    for (size_t i = 0; i < m->n_constraints; i++) free(m->constraints[i].str);
    free(m->constraints);
    for (size_t i = 0; i < m->n_preds; i++) predicate_free(&m->preds[i]);
    free(m->preds);
    free(m->pred_refs);
    free(m);
}

const char *matcher_key_name(const matcher *m, unsigned key) { return matcher_keys_name(&m->keys, key); }

unsigned matcher_str_attrs_used(const matcher *m)
{
    unsigned used = 0;
    for (size_t i = 0; i < m->n_constraints; i++)
        if (m->constraints[i].kind == ATTR_STR) used |= 1u << m->constraints[i].which;
    for (size_t i = 0; i < m->n_preds; i++)
        if (m->preds[i].kind == ATTR_STR) used |= 1u << m->preds[i].which;
    return used;
}
unsigned matcher_flags_used(const matcher *m)
{
    unsigned used = 0;
    for (size_t i = 0; i < m->n_constraints; i++)
        if (m->constraints[i].kind == ATTR_FLAG) used |= m->constraints[i].which;
    for (size_t i = 0; i < m->n_preds; i++)
        if (m->preds[i].kind == ATTR_FLAG) used |= m->preds[i].which;
    return used;
}
size_t matcher_key_count(const matcher *m) { return m->keys.n; }

void matcher_matches_free(matcher_matches *m)
{
    free(m->items);
    m->items = NULL;
    m->n = m->cap = 0;
}

/* ---- compiling ---- */

typedef struct {
    char *err;
    size_t errlen;
    const char *key;
    size_t pattern_i, token_i;
} compile_ctx;

__attribute__((format(printf, 2, 3)))
static int fail(compile_ctx *c, const char *fmt, ...)
{
    int n = snprintf(c->err, c->errlen, "pattern %zu of \"%s\", token %zu: ", c->pattern_i, c->key, c->token_i);
    if (n >= 0 && (size_t)n < c->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* key is NAME or its lower-case form (pydantic accepts a field by name or by alias). */
static int key_is(const json_member *mb, const char *name, const char *lower)
{
    return (strlen(name) == mb->keylen && !memcmp(mb->key, name, mb->keylen)) ||
           (strlen(lower) == mb->keylen && !memcmp(mb->key, lower, mb->keylen));
}

static int key_is_attr(const json_member *mb, const char *name)
{
    if (strlen(name) != mb->keylen) return 0;
    if (!memcmp(mb->key, name, mb->keylen)) return 1;
    for (size_t i = 0; i < mb->keylen; i++)
        if (mb->key[i] != (name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i])) return 0;
    return 1;
}

/* As a Python dict from json.loads, a repeated key counts once, with its last value. */
static int shadowed(const json_value *obj, size_t i)
{
    const json_member *mb = &obj->u.obj.items[i];
    for (size_t j = i + 1; j < obj->u.obj.n; j++)
        if (obj->u.obj.items[j].keylen == mb->keylen && !memcmp(obj->u.obj.items[j].key, mb->key, mb->keylen))
            return 1;
    return 0;
}

static const char *type_name(json_type t)
{
    static const char *const names[] = {"null", "false", "true", "a number", "a string", "a list", "a dict"};
    return names[t];
}

static pcre2_code *compile_regex(compile_ctx *c, const attr_def *a, const json_value *v)
{
    char perr[256];
    pcre2_code *re = pyre_compile(v->u.str.ptr, v->u.str.len, perr, sizeof perr);
    if (!re) fail(c, "%s: bad REGEX \"%s\": %s", a->name, v->u.str.ptr, perr);
    return re;
}

/* One predicate: name (REGEX, IN, ...) with value v on attribute a. */
static int add_predicate(matcher *m, compile_ctx *c, const attr_def *a, const json_member *mb, int regex_set)
{
    size_t d = 0;
    while (d < N_PRED_DEFS && !key_is(mb, pred_defs[d].name, pred_defs[d].lower)) d++;
    if (d == N_PRED_DEFS) {
        if (mb->keylen >= 5 && !strncasecmp(mb->key, "FUZZY", 5))
            return fail(c, "%s: the FUZZY predicates are not supported", a->name);
        return fail(c, "%s: unknown predicate \"%s\" (REGEX, IN, NOT_IN, IS_SUBSET, IS_SUPERSET, INTERSECTS, "
                       "==, !=, >=, <=, >, <)", a->name, mb->key);
    }
    pred_type t = pred_defs[d].type;
    const json_value *v = &mb->val;
    int numeric = a->type == VT_NUMBER;
    if (pred_defs[d].numeric_only && !numeric)
        return fail(c, "%s: %s compares numbers (LENGTH) only", a->name, pred_defs[d].name);
    if (regex_set && t != P_IN && t != P_NOT_IN && t != P_REGEX)
        return fail(c, "%s: REGEX may hold IN, NOT_IN or REGEX, not %s", a->name, pred_defs[d].name);
    if (t == P_REGEX && v->type == JSON_OBJECT) {
        if (numeric) return fail(c, "%s: REGEX applies to string attributes", a->name);
        if (a->which == MATCHER_MORPH) return fail(c, "MORPH: REGEX with a list is not supported by spaCy for MORPH");
        for (size_t i = 0; i < v->u.obj.n; i++)
            if (!shadowed(v, i) && add_predicate(m, c, a, &v->u.obj.items[i], 1)) return -1;
        return 0;
    }
    predicate p = {.type = t, .kind = a->kind, .which = a->which, .regex_set = regex_set};
    if (t == P_REGEX) {
        if (numeric) return fail(c, "%s: REGEX applies to string attributes", a->name);
        if (v->type != JSON_STRING) return fail(c, "%s: REGEX takes a string, not %s", a->name, type_name(v->type));
        p.n = 1;
        if (!(p.res = calloc(1, sizeof *p.res))) return fail(c, "out of memory");
        if (!(p.res[0] = compile_regex(c, a, v))) { free(p.res); return -1; }
    } else if (pred_defs[d].set_valued) {
        if (v->type != JSON_ARRAY) return fail(c, "%s: %s takes a list, not %s", a->name, pred_defs[d].name, type_name(v->type));
        p.n = v->u.arr.n;
        size_t alloc_n = p.n ? p.n : 1;
        if (numeric) p.nums = calloc(alloc_n, sizeof *p.nums);
        else if (regex_set) p.res = calloc(alloc_n, sizeof *p.res);
        else { p.strs = calloc(alloc_n, sizeof *p.strs); p.lens = calloc(alloc_n, sizeof *p.lens); }
        if (!p.nums && !p.res && (!p.strs || !p.lens)) { predicate_free(&p); return fail(c, "out of memory"); }
        buf morph = {0};
        for (size_t i = 0; i < p.n; i++) {
            const json_value *e = &v->u.arr.items[i];
            if (numeric) {
                if (e->type != JSON_NUMBER || e->u.num != floor(e->u.num)) {
                    predicate_free(&p);
                    return fail(c, "%s: %s takes a list of integers", a->name, pred_defs[d].name);
                }
                p.nums[i] = e->u.num;
                continue;
            }
            if (e->type != JSON_STRING) {
                predicate_free(&p);
                buf_free(&morph);
                return fail(c, "%s: %s takes a list of strings, item %zu is %s", a->name, pred_defs[d].name, i, type_name(e->type));
            }
            if (regex_set) {
                if (!(p.res[i] = compile_regex(c, a, e))) { predicate_free(&p); return -1; }
                continue;
            }
            const char *s = e->u.str.ptr;
            size_t len = e->u.str.len;
            /* a MORPH value is compared as spaCy's morphology table keys it */
            if (a->kind == ATTR_STR && a->which == MATCHER_MORPH) {
                buf_clear(&morph);
                int mr = morph_normalize(s, len, &morph);
                if (mr) {
                    predicate_free(&p);
                    buf_free(&morph);
                    if (mr == -2) return fail(c, "out of memory");
                    return fail(c, "MORPH: %s value \"%s\" is not FIELD=VALUE|...", pred_defs[d].name, s);
                }
                s = morph.ptr;
                len = morph.len;
            }
            if (!(p.strs[i] = malloc(len + 1))) { predicate_free(&p); buf_free(&morph); return fail(c, "out of memory"); }
            memcpy(p.strs[i], s, len);
            p.strs[i][len] = 0;
            p.lens[i] = len;
        }
        buf_free(&morph);
    } else {
        if (v->type != JSON_NUMBER) return fail(c, "%s: %s takes a number, not %s", a->name, pred_defs[d].name, type_name(v->type));
        p.n = 1;
        if (!(p.nums = malloc(sizeof *p.nums))) return fail(c, "out of memory");
        p.nums[0] = v->u.num;
    }
    predicate *slot = PUSH(m->preds, m->n_preds, m->preds_cap);
    size_t *ref = slot ? PUSH(m->pred_refs, m->n_pred_refs, m->pred_refs_cap) : NULL;
    if (!ref) { if (slot) m->n_preds--; predicate_free(&p); return fail(c, "out of memory"); }
    *slot = p;
    *ref = m->n_preds - 1;
    return 0;
}

/* attribute: value (a plain value, or a dict of predicates) */
static int add_attr(matcher *m, compile_ctx *c, const attr_def *a, const json_value *v)
{
    if (v->type == JSON_OBJECT) {
        if (a->type == VT_BOOL || a->type == VT_IOB) return fail(c, "%s takes a plain value, not a dict of predicates", a->name);
        for (size_t i = 0; i < v->u.obj.n; i++)
            if (!shadowed(v, i) && add_predicate(m, c, a, &v->u.obj.items[i], 0)) return -1;
        return 0;
    }
    constraint k = {.kind = a->kind, .which = a->which};
    switch (a->type) {
    case VT_STRING:
        if (v->type != JSON_STRING) return fail(c, "%s takes a string or a dict of predicates, not %s", a->name, type_name(v->type));
        if (!(k.str = malloc(v->u.str.len + 1))) return fail(c, "out of memory");
        memcpy(k.str, v->u.str.ptr, v->u.str.len + 1);
        k.len = v->u.str.len;
        break;
    case VT_NUMBER:
        if (v->type != JSON_NUMBER || v->u.num != floor(v->u.num) || fabs(v->u.num) > 1e15)
            return fail(c, "%s takes an integer or a dict of predicates, not %s", a->name, type_name(v->type));
        k.num = (long)v->u.num;
        break;
    case VT_BOOL:
        if (v->type != JSON_TRUE && v->type != JSON_FALSE) return fail(c, "%s takes true or false, not %s", a->name, type_name(v->type));
        k.num = v->type == JSON_TRUE;
        break;
    case VT_IOB:
        k.num = -1;
        if (v->type == JSON_STRING) {
            for (size_t i = 0; i < 4; i++)
                if (!strcmp(v->u.str.ptr, iob_strings[i]) && v->u.str.len == strlen(iob_strings[i])) k.num = (long)i;
        } else if (v->type == JSON_NUMBER && v->u.num == floor(v->u.num) && v->u.num >= 0 && v->u.num <= 3) {
            k.num = (long)v->u.num;
        }
        if (k.num < 0) return fail(c, "ENT_IOB takes \"\", \"I\", \"O\", \"B\" or 0 to 3");
        break;
    }
    constraint *slot = PUSH(m->constraints, m->n_constraints, m->constraints_cap);
    if (!slot) { free(k.str); return fail(c, "out of memory"); }
    *slot = k;
    return 0;
}

/* The nodes an "OP" value stands for: '+' is ONE then ZERO_PLUS, {n,m} is n ONE then m-n
 * ZERO_ONE, {n,} n ONE then ZERO_PLUS. Returns the count (possibly 0: "{0}"), -1 if bad. */
#define MAX_REPEAT 1000
static int parse_op(const char *op, size_t len, quantifier *out)
{
    static const struct { const char *op; int n; quantifier q[2]; } simple[] = {
        {"*", 1, {Q_ZERO_PLUS}}, {"+", 2, {Q_ONE, Q_ZERO_PLUS}}, {"?", 1, {Q_ZERO_ONE}}, {"!", 1, {Q_ZERO}},
    };
    for (size_t i = 0; i < sizeof simple / sizeof simple[0]; i++)
        if (len == 1 && op[0] == simple[i].op[0]) {
            memcpy(out, simple[i].q, (size_t)simple[i].n * sizeof *out);
            return simple[i].n;
        }
    if (len < 3 || op[0] != '{' || op[len - 1] != '}') return -1;
    long n = -1, m = -1;       /* -1: the side is empty */
    int comma = 0;
    for (size_t i = 1; i + 1 < len; i++) {
        char ch = op[i];
        if (ch == ',') { if (comma++) return -1; continue; }
        if (ch < '0' || ch > '9') return -1;
        long *side = comma ? &m : &n;
        *side = (*side < 0 ? 0 : *side) * 10 + (ch - '0');
        if (*side > MAX_REPEAT) return -1;
    }
    if (!comma) m = n;
    if (n < 0 && m < 0) return -1;
    if (n >= 0 && m >= 0 && n > m) return -1;
    long lo = n < 0 ? 0 : n;
    int count = 0;
    for (long i = 0; i < lo; i++) out[count++] = Q_ONE;
    if (m < 0) out[count++] = Q_ZERO_PLUS;
    else for (long i = lo; i < m; i++) out[count++] = Q_ZERO_ONE;
    return count;
}

static int compile_token(matcher *m, compile_ctx *c, const json_value *tok)
{
    if (tok->type != JSON_OBJECT) return fail(c, "a token is a dict, not %s", type_name(tok->type));
    token_spec spec = {m->n_constraints, 0, m->n_pred_refs, 0};
    quantifier qs[2 * MAX_REPEAT + 2] = {Q_ONE};
    int n_q = 1;
    for (size_t i = 0; i < tok->u.obj.n; i++) {
        const json_member *mb = &tok->u.obj.items[i];
        if (shadowed(tok, i)) continue;
        if (mb->val.type == JSON_NULL) return fail(c, "%s: null is not allowed", mb->key);
        if (key_is(mb, "OP", "op")) {
            if (mb->val.type != JSON_STRING ||
                (n_q = parse_op(mb->val.u.str.ptr, mb->val.u.str.len, qs)) < 0)
                return fail(c, "bad operator %s%s%s: use !, ?, +, *, {n}, {n,m}, {n,} or {,m} with n <= m <= %d",
                            mb->val.type == JSON_STRING ? "\"" : "",
                            mb->val.type == JSON_STRING ? mb->val.u.str.ptr : type_name(mb->val.type),
                            mb->val.type == JSON_STRING ? "\"" : "", MAX_REPEAT);
            continue;
        }
        if (mb->keylen == 1 && mb->key[0] == '_') return fail(c, "custom extension attributes (\"_\") are not supported");
        size_t d = 0;
        while (d < N_ATTR_DEFS && !key_is_attr(mb, attr_defs[d].name)) d++;
        if (d == N_ATTR_DEFS) return fail(c, "unknown attribute \"%s\"", mb->key);
        if (add_attr(m, c, &attr_defs[d], &mb->val)) return -1;
    }
    spec.n_constraints = m->n_constraints - spec.first_constraint;
    spec.n_preds = m->n_pred_refs - spec.first_pred;
    token_spec *slot = PUSH(m->specs, m->n_specs, m->specs_cap);
    if (!slot) return fail(c, "out of memory");
    *slot = spec;
    for (int i = 0; i < n_q; i++) {
        node *nd = PUSH(m->nodes, m->n_nodes, m->nodes_cap);
        if (!nd) return fail(c, "out of memory");
        *nd = (node){qs[i], m->n_specs - 1};
    }
    return 0;
}

/* Undo everything compiled after the given counts (a pattern that failed). */
typedef struct { size_t patterns, nodes, specs, constraints, preds, pred_refs; } matcher_mark;

static matcher_mark mark_of(const matcher *m)
{
    return (matcher_mark){m->n_patterns, m->n_nodes, m->n_specs, m->n_constraints, m->n_preds, m->n_pred_refs};
}

static void rollback(matcher *m, matcher_mark k)
{
    for (size_t i = k.constraints; i < m->n_constraints; i++) free(m->constraints[i].str);
    for (size_t i = k.preds; i < m->n_preds; i++) predicate_free(&m->preds[i]);
    m->n_patterns = k.patterns;
    m->n_nodes = k.nodes;
    m->n_specs = k.specs;
    m->n_constraints = k.constraints;
    m->n_preds = k.preds;
    m->n_pred_refs = k.pred_refs;
}

int matcher_add(matcher *m, const char *key, const json_value *patterns, matcher_greedy greedy,
                char *err, size_t errlen)
{
    compile_ctx c = {err, errlen, key, 0, 0};
    if (patterns->type != JSON_ARRAY) {
        snprintf(err, errlen, "the patterns of \"%s\" are a list of patterns, not %s", key, type_name(patterns->type));
        return -1;
    }
    matcher_mark mark = mark_of(m);
    size_t n_keys = m->keys.n;
    int key_i = matcher_keys_intern(&m->keys, key);
    if (key_i < 0) { snprintf(err, errlen, "out of memory"); return -1; }
    for (size_t p = 0; p < patterns->u.arr.n; p++) {
        const json_value *pat = &patterns->u.arr.items[p];
        c.pattern_i = p;
        c.token_i = 0;
        if (pat->type != JSON_ARRAY) { snprintf(err, errlen, "pattern %zu of \"%s\" is a list of token dicts, not %s", p, key, type_name(pat->type)); goto bad; }
        if (pat->u.arr.n == 0) { snprintf(err, errlen, "pattern %zu of \"%s\" is empty", p, key); goto bad; }
        size_t first = m->n_nodes;
        for (size_t t = 0; t < pat->u.arr.n; t++) {
            c.token_i = t;
            if (compile_token(m, &c, &pat->u.arr.items[t])) goto bad;
        }
        if (m->n_nodes == first) { snprintf(err, errlen, "pattern %zu of \"%s\" matches nothing: every token has {0} repetitions", p, key); goto bad; }
        pattern *slot = PUSH(m->patterns, m->n_patterns, m->patterns_cap);
        if (!slot) { snprintf(err, errlen, "out of memory"); goto bad; }
        *slot = (pattern){(unsigned)key_i, first, m->n_nodes - first};
    }
    if (grow_array((void **)&m->greedy, &m->greedy_cap, m->keys.n, sizeof *m->greedy)) { snprintf(err, errlen, "out of memory"); goto bad; }
    m->greedy[key_i] = greedy;
    return 0;
bad:
    rollback(m, mark);
    matcher_keys_truncate(&m->keys, n_keys);
    return -1;
}

int matcher_add_json(matcher *m, const char *key, const char *patterns_json, size_t len,
                     matcher_greedy greedy, char *err, size_t errlen)
{
    json_doc doc;
    char perr[200];
    int rc = -1;
    if (json_parse(patterns_json, len, JSON_MAX_DEPTH_DEFAULT, &doc, perr, sizeof perr))
        snprintf(err, errlen, "the patterns of \"%s\" are not JSON: %s", key, perr);
    else
        rc = matcher_add(m, key, &doc.root, greedy, err, errlen);
    json_doc_free(&doc);
    return rc;
}

/* ---- running ---- */

static int text_eq(matcher_text t, const char *s, size_t len)
{
    return t.len == len && (len == 0 || !memcmp(t.s, s, len));
}

static long token_number(const matcher_token *t, attr_kind kind, unsigned which)
{
    switch (kind) {
    case ATTR_LENGTH: return t->length;
    case ATTR_FLAG: return (t->flags & which) != 0;
    case ATTR_SENT_START: return t->sent_start == 1;
    case ATTR_ENT_IOB: return t->ent_iob;
    case ATTR_STR: break;
    }
    return 0;
}

static int regex_search(const pcre2_code *re, matcher_text t, pcre2_match_data *md)
{
    return pcre2_match(re, (PCRE2_SPTR)(t.s ? t.s : ""), t.len, 0, 0, md, NULL) >= 0;
}

/* Is value v of the token one of the predicate's values? */
static int pred_has_str(const predicate *p, const char *s, size_t len)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->lens[i] == len && (len == 0 || !memcmp(p->strs[i], s, len))) return 1;
    return 0;
}

static int pred_has_num(const predicate *p, double x)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->nums[i] == x) return 1;
    return 0;
}

/* The set operations over the token's values: its one value, or MORPH's features. */
static int set_predicate(const predicate *p, const matcher_token *t)
{
    if (p->kind == ATTR_LENGTH) {
        double x = (double)t->length;
        int in = pred_has_num(p, x);
        switch (p->type) {
        case P_IN: case P_IS_SUBSET: case P_INTERSECTS: return in;
        case P_NOT_IN: return !in;
        case P_IS_SUPERSET:
            for (size_t i = 0; i < p->n; i++) if (p->nums[i] != x) return 0;
            return 1;
        default: return 0;
        }
    }
    matcher_text v = t->str[p->which];
    if (p->type == P_IN || p->type == P_NOT_IN || p->which != MATCHER_MORPH) {
        int in = pred_has_str(p, v.s, v.len);
        switch (p->type) {
        case P_IN: case P_IS_SUBSET: case P_INTERSECTS: return in;
        case P_NOT_IN: return !in;
        case P_IS_SUPERSET:
            for (size_t i = 0; i < p->n; i++) if (!text_eq(v, p->strs[i], p->lens[i])) return 0;
            return 1;
        default: return 0;
        }
    }
    /* MORPH: the token's features FIELD=VALUE, one per value of a multi-valued field */
    size_t n_feats = 0, n_in = 0;
    char feat[256];
    int any_in = 0;
    if (!(v.len == 0 || (v.len == 1 && v.s[0] == '_'))) {
        size_t at = 0;
        for (size_t i = 0; i <= v.len; i++) {
            if (i < v.len && v.s[i] != '|') continue;
            const char *f = v.s + at;
            size_t flen = i - at, eq = 0;
            while (eq < flen && f[eq] != '=') eq++;
            size_t vat = eq + 1;
            for (size_t k = eq + 1; k <= flen; k++) {
                if (k < flen && f[k] != ',') continue;
                size_t len = eq + 1 + (k - vat);
                int in = 0;
                if (len <= sizeof feat) {
                    memcpy(feat, f, eq + 1);
                    memcpy(feat + eq + 1, f + vat, k - vat);
                    in = pred_has_str(p, feat, len);
                }
                n_feats++;
                n_in += in;
                any_in |= in;
                vat = k + 1;
            }
            at = i + 1;
        }
    }
    switch (p->type) {
    case P_IS_SUBSET: return n_in == n_feats;
    case P_INTERSECTS: return any_in;
    case P_IS_SUPERSET: {
        /* every value of the predicate is one of the token's features */
        for (size_t i = 0; i < p->n; i++) {
            predicate one = *p;
            one.n = 1;
            one.strs = &p->strs[i];
            one.lens = &p->lens[i];
            one.type = P_INTERSECTS;
            if (!set_predicate(&one, t)) return 0;
        }
        return 1;
    }
    default: return 0;
    }
}

static int eval_predicate(const predicate *p, const matcher_token *t, pcre2_match_data *md)
{
    if (p->type == P_REGEX) return regex_search(p->res[0], t->str[p->which], md);
    if (p->regex_set) {
        int any = 0;
        for (size_t i = 0; i < p->n && !any; i++) any = regex_search(p->res[i], t->str[p->which], md);
        return p->type == P_IN ? any : !any;
    }
    if (p->type >= P_EQ) {
        double x = (double)t->length, y = p->nums[0];
        switch (p->type) {
        case P_EQ: return x == y;
        case P_NE: return x != y;
        case P_GE: return x >= y;
        case P_LE: return x <= y;
        case P_GT: return x > y;
        case P_LT: return x < y;
        default: return 0;
        }
    }
    return set_predicate(p, t);
}

typedef struct {
    const matcher *m;
    const matcher_token *toks;
    int8_t *pred_cache;   /* per token and predicate: 0 not computed, 1 true, -1 false */
    pcre2_match_data *md;
} run_ctx;

static int spec_matches(run_ctx *r, size_t spec_i, size_t tok_i)
{
    const matcher *m = r->m;
    const token_spec *s = &m->specs[spec_i];
    const matcher_token *t = &r->toks[tok_i];
    for (size_t i = 0; i < s->n_constraints; i++) {
        const constraint *k = &m->constraints[s->first_constraint + i];
        if (k->kind == ATTR_STR) {
            if (!text_eq(t->str[k->which], k->str, k->len)) return 0;
        } else if (token_number(t, k->kind, k->which) != k->num) {
            return 0;
        }
    }
    for (size_t i = 0; i < s->n_preds; i++) {
        size_t pi = m->pred_refs[s->first_pred + i];
        int8_t *cached = &r->pred_cache[tok_i * m->n_preds + pi];
        if (!*cached) *cached = eval_predicate(&m->preds[pi], t, r->md) ? 1 : -1;
        if (*cached < 0) return 0;
    }
    return 1;
}

/* A partial match: pattern, the node it is at, its first token and how many it has consumed. */
typedef struct {
    unsigned pattern;
    unsigned node;
    int start, length;
} state;

/* spaCy's actions for a state on a token: whether a match is emitted (and with or without the
 * token), whether the state stays, moves on, or tries the next node on the same token. */
typedef enum {
    A_REJECT, A_MATCH, A_ADVANCE, A_RETRY, A_MATCH_EXTEND, A_RETRY_ADVANCE, A_RETRY_EXTEND,
    A_MATCH_REJECT, A_MATCH_DOUBLE
} action;

static action decide(run_ctx *r, const state *s, size_t tok_i)
{
    const pattern *p = &r->m->patterns[s->pattern];
    const node *nd = &r->m->nodes[p->first_node + s->node];
    int is_final = s->node + 1 == p->n_nodes;
    int hit = spec_matches(r, nd->spec, tok_i);
    quantifier q = nd->q;
    if (q == Q_ZERO) { hit = !hit; q = Q_ONE; }
    switch (q) {
    case Q_ONE: return hit ? (is_final ? A_MATCH : A_ADVANCE) : A_REJECT;
    case Q_ZERO_PLUS: return hit ? (is_final ? A_MATCH_EXTEND : A_RETRY_EXTEND) : (is_final ? A_MATCH_REJECT : A_RETRY);
    case Q_ZERO_ONE: return hit ? (is_final ? A_MATCH_DOUBLE : A_RETRY_ADVANCE) : (is_final ? A_MATCH_REJECT : A_RETRY);
    default: return A_REJECT;
    }
}

typedef struct {
    state *items;
    size_t n, cap;
} state_list;

static int push_state(state_list *l, state s)
{
    state *slot = PUSH(l->items, l->n, l->cap);
    if (!slot) return -1;
    *slot = s;
    return 0;
}

static int emit(matcher_matches *raw, unsigned key, int start, int length)
{
    matcher_match *slot = PUSH(raw->items, raw->n, raw->cap);
    if (!slot) return -1;
    *slot = (matcher_match){key, start, start + length};
    return 0;
}

/* Moves every state over token tok_i, in order; states that survive keep their order and the
 * states forked off follow them. */
static int step(run_ctx *r, state_list *states, state_list *forks, size_t tok_i, matcher_matches *raw)
{
    size_t q = 0;
    forks->n = 0;
    for (size_t i = 0; i < states->n; i++) {
        state s = states->items[i];
        unsigned key = r->m->patterns[s.pattern].key;
        action a = decide(r, &s, tok_i);
        while (a == A_RETRY || a == A_RETRY_ADVANCE || a == A_RETRY_EXTEND) {
            if (a == A_RETRY_EXTEND && push_state(forks, (state){s.pattern, s.node, s.start, s.length + 1})) return -1;
            if (a == A_RETRY_ADVANCE && push_state(forks, (state){s.pattern, s.node + 1, s.start, s.length + 1})) return -1;
            s.node++;
            a = decide(r, &s, tok_i);
        }
        switch (a) {
        case A_ADVANCE:
            s.node++;
            s.length++;
            states->items[q++] = s;
            break;
        case A_MATCH:
            if (emit(raw, key, s.start, s.length + 1)) return -1;
            break;
        case A_MATCH_DOUBLE:
            if (s.length > 0 && emit(raw, key, s.start, s.length)) return -1;
            if (emit(raw, key, s.start, s.length + 1)) return -1;
            break;
        case A_MATCH_REJECT:
            if (emit(raw, key, s.start, s.length)) return -1;
            break;
        case A_MATCH_EXTEND:
            if (emit(raw, key, s.start, s.length)) return -1;
            s.length++;
            states->items[q++] = s;
            break;
        default:
            break;
        }
    }
    states->n = q;
    for (size_t i = 0; i < forks->n; i++)
        if (push_state(states, forks->items[i])) return -1;
    return 0;
}

/* At the end of the doc: a state whose remaining nodes may all match nothing is a match. */
static int finish(const matcher *m, const state_list *states, matcher_matches *raw)
{
    for (size_t i = 0; i < states->n; i++) {
        state s = states->items[i];
        const pattern *p = &m->patterns[s.pattern];
        while (s.node < p->n_nodes) {
            quantifier q = m->nodes[p->first_node + s.node].q;
            if (q != Q_ZERO_PLUS && q != Q_ZERO_ONE) break;
            if (s.node + 1 == p->n_nodes) {
                if (emit(raw, p->key, s.start, s.length)) return -1;
                break;
            }
            s.node++;
        }
    }
    return 0;
}

/* A set of (key, start, end) seen, to keep the first of equal matches. */
typedef struct {
    uint64_t *slots;   /* key << 42 | start << 21 | end, plus 1; 0 is empty */
    size_t mask;
} match_set;

static uint64_t match_code(const matcher_match *x)
{
    return ((uint64_t)x->key << 42 | (uint64_t)x->start << 21 | (uint64_t)x->end) + 1;
}

/* 1 if newly added, 0 if present */
static int match_set_add(match_set *s, uint64_t code)
{
    size_t i = (size_t)((code * 0x9E3779B97F4A7C15ull) >> 20) & s->mask;
    while (s->slots[i]) {
        if (s->slots[i] == code) return 0;
        i = (i + 1) & s->mask;
    }
    s->slots[i] = code;
    return 1;
}

/* FIRST: by start, the longer first; LONGEST: the longer first, then by start. */
static int by_first(const void *a, const void *b)
{
    const matcher_match *x = a, *y = b;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    return (y->end > x->end) - (y->end < x->end);
}

static int by_longest(const void *a, const void *b)
{
    const matcher_match *x = a, *y = b;
    int lx = x->end - x->start, ly = y->end - y->start;
    if (lx != ly) return lx > ly ? -1 : 1;
    return (x->start > y->start) - (x->start < y->start);
}

/* spaCy returns the matches of keys without a greedy filter as found, then for each greedy key
 * (in the order its first match was found) the matches that overlap none already kept. */
static int filter_greedy(const matcher *m, matcher_matches *found, size_t n_tokens, matcher_matches *out)
{
    out->n = 0;
    size_t n_keys = m->keys.n;
    unsigned *order = malloc((n_keys + 1) * sizeof *order);
    char *seen_key = calloc(n_keys + 1, 1);
    char *taken = calloc(n_tokens + 1, 1);
    matcher_match *group = malloc((found->n + 1) * sizeof *group);
    size_t n_order = 0;
    int rc = -1;
    if (!order || !seen_key || !taken || !group) goto out;
    if (grow_array((void **)&out->items, &out->cap, found->n + 1, sizeof *out->items)) goto out;
    for (size_t i = 0; i < found->n; i++) {
        const matcher_match *x = &found->items[i];
        if (m->greedy[x->key] == MATCHER_GREEDY_NONE) out->items[out->n++] = *x;
        else if (!seen_key[x->key]) { seen_key[x->key] = 1; order[n_order++] = x->key; }
    }
    for (size_t k = 0; k < n_order; k++) {
        size_t n = 0;
        for (size_t i = 0; i < found->n; i++)
            if (found->items[i].key == order[k]) group[n++] = found->items[i];
        qsort(group, n, sizeof *group, m->greedy[order[k]] == MATCHER_GREEDY_FIRST ? by_first : by_longest);
        memset(taken, 0, n_tokens);
        for (size_t i = 0; i < n; i++) {
            int free_span = 1;
            for (int t = group[i].start; t < group[i].end && free_span; t++) free_span = !taken[t];
            if (!free_span) continue;
            memset(taken + group[i].start, 1, (size_t)(group[i].end - group[i].start));
            out->items[out->n++] = group[i];
        }
    }
    rc = 0;
out:
    free(order);
    free(seen_key);
    free(taken);
    free(group);
    return rc;
}

int matcher_run(const matcher *m, const matcher_token *toks, size_t n, matcher_matches *out)
{
    out->n = 0;
    if (n == 0 || m->n_patterns == 0) return 0;
    if (n >= (1u << 20)) return -1;   /* match_code packs positions in 21 bits */
    run_ctx r = {m, toks, NULL, NULL};
    state_list states = {0}, forks = {0};
    matcher_matches raw = {0}, found = {0};
    match_set seen = {0};
    int rc = -1;
    if (m->n_preds && !(r.pred_cache = calloc(n * m->n_preds, 1))) goto out;
    if (!(r.md = pcre2_match_data_create(1, NULL))) goto out;
    for (size_t i = 0; i < n; i++) {
        for (size_t p = 0; p < m->n_patterns; p++)
            if (push_state(&states, (state){(unsigned)p, 0, (int)i, 0})) goto out;
        if (step(&r, &states, &forks, i, &raw)) goto out;
    }
    if (finish(m, &states, &raw)) goto out;
    /* the same match reached by two paths counts once; empty matches are dropped */
    size_t cap = 16;
    while (cap < 2 * raw.n) cap *= 2;
    if (!(seen.slots = calloc(cap, sizeof *seen.slots))) goto out;
    seen.mask = cap - 1;
    if (grow_array((void **)&found.items, &found.cap, raw.n + 1, sizeof *found.items)) goto out;
    for (size_t i = 0; i < raw.n; i++)
        if (raw.items[i].end > raw.items[i].start && match_set_add(&seen, match_code(&raw.items[i])))
            found.items[found.n++] = raw.items[i];
    rc = filter_greedy(m, &found, n, out);
out:
    free(r.pred_cache);
    pcre2_match_data_free(r.md);
    free(states.items);
    free(forks.items);
    free(raw.items);
    free(found.items);
    free(seen.slots);
    return rc;
}
