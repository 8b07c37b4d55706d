#include "components/attr_ruler.h"
#include "modelfile/modelfile.h"

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
