#include "components/attr_ruler.h"
#include "util/buf.h"
#include "util/msgpack_bounds.h"

#include <errno.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int str_is(const msgpack_object *o, const char *s)
{
    size_t n = strlen(s);
    return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n && !memcmp(o->via.str.ptr, s, n);
}

static const msgpack_object *map_get(const msgpack_object *map, const char *key)
{
    if (map->type != MSGPACK_OBJECT_MAP) return NULL;
    for (uint32_t i = 0; i < map->via.map.size; i++)
        if (str_is(&map->via.map.ptr[i].key, key)) return &map->via.map.ptr[i].val;
    return NULL;
}

/* A list of label strings into rule->deps. 0, -1 not a list of strings, -2 out of memory. */
static int read_labels(ar_dep_rule *rule, ae_moves *mv, const msgpack_object *list)
{
    if (list->type != MSGPACK_OBJECT_ARRAY || rule->deps) return -1;
    rule->deps = malloc((list->via.array.size + 1) * sizeof *rule->deps);
    if (!rule->deps) return -2;
    for (uint32_t i = 0; i < list->via.array.size; i++) {
        const msgpack_object *s = &list->via.array.ptr[i];
        if (s->type != MSGPACK_OBJECT_STR) return -1;
        int li = ae_label(mv, s->via.str.ptr, s->via.str.size);
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
        if (str_is(k, "IS_SPACE") && v->type == MSGPACK_OBJECT_BOOLEAN) {
            rule->is_space = (int8_t)v->via.boolean;
        } else if (str_is(k, "DEP") && v->type == MSGPACK_OBJECT_STR) {
            rule->dep_op = 1;
            msgpack_object one = {.type = MSGPACK_OBJECT_ARRAY, .via.array = {1, (msgpack_object *)v}};
            int rc = read_labels(rule, mv, &one);
            if (rc) return rc;
        } else if (str_is(k, "DEP") && v->type == MSGPACK_OBJECT_MAP && v->via.map.size == 1 &&
                   (str_is(&v->via.map.ptr[0].key, "IN") || str_is(&v->via.map.ptr[0].key, "NOT_IN"))) {
            rule->dep_op = str_is(&v->via.map.ptr[0].key, "IN") ? 1 : 2;
            int rc = read_labels(rule, mv, &v->via.map.ptr[0].val);
            if (rc) return rc;
        } else {
            return -1;
        }
    }
    return 0;
}

/* The patterns file as one msgpack array (up and raw are always initialised: free both). */
static int read_patterns(const char *path, buf *raw, msgpack_unpacked *up, char *err, size_t errlen)
{
    msgpack_unpacked_init(up);
    if (buf_read_file(raw, path)) {
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        return -1;
    }
    size_t off = 0;
    if (!raw->ptr || mp_unpack_next(up, raw->ptr, raw->len, &off) != MSGPACK_UNPACK_SUCCESS ||
        up->data.type != MSGPACK_OBJECT_ARRAY) {
        snprintf(err, errlen, "%s: not an attribute_ruler patterns file (truncated or corrupt msgpack)", path);
        return -1;
    }
    return 0;
}

int ar_load(ar_dep_rules *r, ae_moves *mv, const char *path, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    buf raw = {0};
    msgpack_unpacked up;
    int rc = -1;
    if (read_patterns(path, &raw, &up, err, errlen)) goto out;
    const msgpack_object_array *entries = &up.data.via.array;
    r->rules = calloc(entries->size + 1, sizeof *r->rules);
    if (!r->rules) goto oom;
    for (uint32_t e = 0; e < entries->size; e++) {
        const msgpack_object *ent = &entries->ptr[e], *attrs = map_get(ent, "attrs");
        const msgpack_object *pats = map_get(ent, "patterns"), *index = map_get(ent, "index");
        const msgpack_object *dep = attrs ? map_get(attrs, "DEP") : NULL;
        if (!dep) continue; /* sets what nerd does not output */
        ar_dep_rule *rule = &r->rules[r->nrules];
        int ok = dep->type == MSGPACK_OBJECT_STR && pats && pats->type == MSGPACK_OBJECT_ARRAY &&
                 pats->via.array.size == 1 && pats->via.array.ptr[0].type == MSGPACK_OBJECT_ARRAY &&
                 pats->via.array.ptr[0].via.array.size == 1 &&
                 (!index || (index->type == MSGPACK_OBJECT_POSITIVE_INTEGER && index->via.u64 == 0));
        int got = ok ? read_token_pattern(rule, mv, &pats->via.array.ptr[0].via.array.ptr[0]) : -1;
        int li = got ? -1 : ae_label(mv, dep->via.str.ptr, dep->via.str.size);
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
    rc = 0;
    goto out;
oom:
    snprintf(err, errlen, "out of memory");
out:
    msgpack_unpacked_destroy(&up);
    buf_free(&raw);
    if (rc) ar_free(r);
    return rc;
}

int ar_sets_only(const char *path, const char *const *allowed, char *bad, size_t badlen, char *err, size_t errlen)
{
    buf raw = {0};
    msgpack_unpacked up;
    int rc = -1;
    if (read_patterns(path, &raw, &up, err, errlen)) goto out;
    rc = 0;
    for (uint32_t e = 0; !rc && e < up.data.via.array.size; e++) {
        const msgpack_object *attrs = map_get(&up.data.via.array.ptr[e], "attrs");
        for (uint32_t i = 0; !rc && attrs && attrs->type == MSGPACK_OBJECT_MAP && i < attrs->via.map.size; i++) {
            const msgpack_object *k = &attrs->via.map.ptr[i].key;
            int ok = 0;
            for (int a = 0; allowed[a] && !ok; a++) ok = str_is(k, allowed[a]);
            if (!ok) {
                rc = 1;
                if (k->type == MSGPACK_OBJECT_STR) snprintf(bad, badlen, "%.*s", (int)k->via.str.size, k->via.str.ptr);
                else snprintf(bad, badlen, "a non-string attribute");
            }
        }
    }
out:
    msgpack_unpacked_destroy(&up);
    buf_free(&raw);
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
