/* edit_tree.c - spaCy's edit trees (edit_tree.h): loading, applying, choosing. */
#include "components/edit_tree.h"
#include "modelfile/modelfile.h"
#include "text/hash.h"
#include "text/pystr.h"
#include "text/symbols.h"
#include "util/u64map.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void et_free(edit_trees *t)
{
    free(t->nodes);
    free(t->labels);
    free(t->str_off);
    free(t->str_len);
    buf_free(&t->strs);
    memset(t, 0, sizeof *t);
}

/* An unsigned integer of a msgpack map, at most max: 0, or -1. */
static int map_uint(const msgpack_object *map, const char *key, uint64_t max, uint64_t *out)
{
    const msgpack_object *v = mf_map_get(map, key);
    if (!v || v->type != MSGPACK_OBJECT_POSITIVE_INTEGER || v->via.u64 > max) return -1;
    *out = v->via.u64;
    return 0;
}

/* The string table slot of StringStore key `key`, added to keys (key -> slot) when new. */
static int string_slot(u64map *keys, uint64_t key, uint32_t *nslots, uint32_t *slot)
{
    if (u64map_get(keys, key, slot)) return 0;
    *slot = (*nslots)++;
    return u64map_put(keys, key, *slot);
}

/* The nodes of trees[]; the StringStore keys of substitution nodes go to keys. 0, -1 corrupt, -2 memory. */
static int read_nodes(edit_trees *t, const msgpack_object_array *trees, u64map *keys)
{
    t->nodes = calloc(trees->size ? trees->size : 1, sizeof *t->nodes);
    if (!t->nodes) return -2;
    for (uint32_t i = 0; i < trees->size; i++) {
        const msgpack_object *o = &trees->ptr[i];
        et_node *n = &t->nodes[i];
        uint64_t v[4];
        if (o->type != MSGPACK_OBJECT_MAP) return -1;
        if (mf_map_get(o, "prefix_len")) {
            if (map_uint(o, "prefix_len", UINT32_MAX, &v[0]) || map_uint(o, "suffix_len", UINT32_MAX, &v[1]) ||
                map_uint(o, "prefix_tree", UINT32_MAX, &v[2]) || map_uint(o, "suffix_tree", UINT32_MAX, &v[3]))
                return -1;
            /* spaCy adds a node's subtrees before the node: a subtree with a later id (a cycle
             * among them) is no file spaCy writes, and would recurse without end */
            if ((v[2] != ET_NO_TREE && v[2] >= i) || (v[3] != ET_NO_TREE && v[3] >= i)) return -1;
            *n = (et_node){.is_match = 1, .prefix_len = (uint32_t)v[0], .suffix_len = (uint32_t)v[1],
                           .prefix_tree = (uint32_t)v[2], .suffix_tree = (uint32_t)v[3]};
        } else {
            if (map_uint(o, "orig", UINT64_MAX, &v[0]) || map_uint(o, "subst", UINT64_MAX, &v[1])) return -1;
            if (string_slot(keys, v[0], &t->nstrs, &n->orig) || string_slot(keys, v[1], &t->nstrs, &n->subst))
                return -2;
        }
        t->nnodes = i + 1;
    }
    return 0;
}

/* Records string s[0..len) in its slot. 0, or -1 out of memory. */
static int set_string(edit_trees *t, uint32_t slot, const char *s, size_t len)
{
    t->str_off[slot] = (uint32_t)t->strs.len;
    t->str_len[slot] = (uint32_t)len;
    return buf_append(&t->strs, s, len) || buf_putc(&t->strs, 0) ? -1 : 0;
}

/* The strings of the keys the nodes hold, from vocab/strings.json (a JSON list of strings; the
 * empty string, key 0, and spaCy's symbols, keyed by their IDs, are not in it). NERD_OK, or the
 * status with err. */
static nerd_status read_strings(edit_trees *t, const u64map *keys, const char *path, char *err, size_t errlen)
{
    t->str_off = calloc(t->nstrs + 1, sizeof *t->str_off);
    t->str_len = calloc(t->nstrs + 1, sizeof *t->str_len);
    uint8_t *found = calloc(t->nstrs + 1, 1);
    json_doc jd = {0};
    nerd_status rc = NERD_ERR_NOMEM;
    if (!t->str_off || !t->str_len || !found || buf_putc(&t->strs, 0)) goto out;
    uint32_t slot;
    if (u64map_get(keys, 0, &slot)) found[slot] = 1; /* offset 0, length 0: "" */
    for (size_t i = 0; i < nerd_symbol_count(); i++) {
        unsigned id;
        const char *name = nerd_symbol_at(i, &id);
        if (!u64map_get(keys, id, &slot) || found[slot]) continue;
        found[slot] = 1;
        if (set_string(t, slot, name, strlen(name))) goto out;
    }
    if (t->nstrs) {
        rc = mf_read_json(path, &jd, err, errlen);
        if (rc != NERD_OK) goto out;
        rc = NERD_ERR_FORMAT;
        if (jd.root.type != JSON_ARRAY) {
            snprintf(err, errlen, "%s: not a JSON list of strings", path);
            goto out;
        }
        for (size_t i = 0; i < jd.root.u.arr.n; i++) {
            const json_value *s = &jd.root.u.arr.items[i];
            if (s->type != JSON_STRING) {
                snprintf(err, errlen, "%s: item %zu is not a string", path, i);
                goto out;
            }
            if (!u64map_get(keys, nerd_string_hash(s->u.str.ptr, s->u.str.len), &slot) || found[slot]) continue;
            if (t->strs.len + s->u.str.len >= UINT32_MAX) goto out;
            found[slot] = 1;
            if (set_string(t, slot, s->u.str.ptr, s->u.str.len)) {
                rc = NERD_ERR_NOMEM;
                goto out;
            }
        }
    }
    for (slot = 0; slot < t->nstrs; slot++)
        if (!found[slot]) {
            snprintf(err, errlen, "%s: a string of the lemmatizer's edit trees is missing", path);
            rc = NERD_ERR_FORMAT;
            goto out;
        }
    rc = NERD_OK;
out:
    if (rc == NERD_ERR_NOMEM) snprintf(err, errlen, "%s: out of memory", path);
    json_doc_free(&jd);
    free(found);
    return rc;
}

/* cfg's labels: tree ids of the softmax's columns. */
static nerd_status read_labels(edit_trees *t, const char *path, char *err, size_t errlen)
{
    json_doc jd = {0};
    nerd_status rc = mf_read_json(path, &jd, err, errlen);
    if (rc != NERD_OK) goto out;
    const json_value *labels = json_get(&jd.root, "labels");
    rc = NERD_ERR_FORMAT;
    if (!labels || labels->type != JSON_ARRAY || !labels->u.arr.n || labels->u.arr.n >= UINT32_MAX) {
        snprintf(err, errlen, "%s: no list of labels", path);
        goto out;
    }
    t->labels = malloc(labels->u.arr.n * sizeof *t->labels);
    if (!t->labels) {
        rc = NERD_ERR_NOMEM;
        snprintf(err, errlen, "%s: out of memory", path);
        goto out;
    }
    for (size_t i = 0; i < labels->u.arr.n; i++) {
        const json_value *v = &labels->u.arr.items[i];
        if (v->type != JSON_NUMBER || v->u.num < 0 || v->u.num >= t->nnodes || v->u.num != (uint32_t)v->u.num) {
            snprintf(err, errlen, "%s: label %zu is not the id of one of its %u edit trees", path, i, t->nnodes);
            goto out;
        }
        t->labels[i] = (uint32_t)v->u.num;
    }
    t->nlabels = (uint32_t)labels->u.arr.n;
    rc = NERD_OK;
out:
    json_doc_free(&jd);
    return rc;
}

nerd_status et_load(edit_trees *t, const char *dir, const char *vocab_strings, int top_k, et_backoff backoff,
                    int overwrite, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    t->top_k = top_k;
    t->backoff = backoff;
    t->overwrite = overwrite;
    char path[4096];
    snprintf(path, sizeof path, "%s/trees", dir);
    mf_msgpack mp;
    u64map keys = {0};
    nerd_status rc = mf_msgpack_read(&mp, path, "a trainable_lemmatizer trees file", MSGPACK_OBJECT_MAP, err, errlen);
    if (rc != NERD_OK) goto out;
    const msgpack_object *trees = mf_map_get(mp.root, "trees");
    int got = u64map_init(&keys, 64) ? -2 : !trees || trees->type != MSGPACK_OBJECT_ARRAY ? -1
                                                                                         : read_nodes(t, &trees->via.array, &keys);
    if (got) {
        rc = got == -2 ? NERD_ERR_NOMEM : NERD_ERR_FORMAT;
        snprintf(err, errlen, "%s: %s", path, got == -2 ? "out of memory" : "not a list of spaCy's edit trees");
        goto out;
    }
    rc = read_strings(t, &keys, vocab_strings, err, errlen);
    if (rc != NERD_OK) goto out;
    snprintf(path, sizeof path, "%s/cfg", dir);
    rc = read_labels(t, path, err, errlen);
out:
    mf_msgpack_free(&mp);
    u64map_free(&keys);
    if (rc != NERD_OK) et_free(t);
    return rc;
}

/* Bytes of the first n code points of s[0..len) (len when it has fewer). */
static size_t utf8_prefix_bytes(const char *s, size_t len, size_t n)
{
    size_t at = 0;
    uint32_t cp;
    while (n-- && at < len) at += py_utf8_next(s + at, len - at, &cp);
    return at;
}

/* Appends node id applied to s[0..len) of nchars code points: 0, 1 does not apply, -1 memory.
 * The depth is bounded by the number of nodes: subtrees have smaller ids (read_nodes). */
static int apply_node(const edit_trees *t, uint32_t id, const char *s, size_t len, size_t nchars, buf *out)
{
    const et_node *n = &t->nodes[id];
    if (!n->is_match) {
        if (len != t->str_len[n->orig] || memcmp(s, t->strs.ptr + t->str_off[n->orig], len)) return 1;
        return buf_append(out, t->strs.ptr + t->str_off[n->subst], t->str_len[n->subst]);
    }
    if ((size_t)n->prefix_len + n->suffix_len > nchars) return 1;
    size_t mid = utf8_prefix_bytes(s, len, n->prefix_len);
    size_t tail = mid + utf8_prefix_bytes(s + mid, len - mid, nchars - n->prefix_len - n->suffix_len);
    int rc;
    if (n->prefix_tree != ET_NO_TREE && (rc = apply_node(t, n->prefix_tree, s, mid, n->prefix_len, out))) return rc;
    if (buf_append(out, s + mid, tail - mid)) return -1;
    if (n->suffix_tree != ET_NO_TREE) return apply_node(t, n->suffix_tree, s + tail, len - tail, n->suffix_len, out);
    return 0;
}

int et_apply(const edit_trees *t, uint32_t tree, const char *form, size_t len, buf *out)
{
    if (tree >= t->nnodes) return 1;
    size_t before = out->len;
    int rc = apply_node(t, tree, form, len, py_utf8_count(form, len), out);
    if (rc) out->len = before; /* a failed subtree may have appended its siblings' pieces */
    return rc;
}

/* numpy's argmax: the first of the largest (NaN aside). */
static uint32_t argmax(const float *v, uint32_t n)
{
    uint32_t best = 0;
    for (uint32_t i = 1; i < n; i++)
        if (v[i] > v[best]) best = i;
    return best;
}

int et_choose(const edit_trees *t, const float *scores, float *scratch, const char *form, size_t len, buf *lemma,
              uint32_t *tree)
{
    *tree = ET_NO_TREE;
    uint32_t tries = t->top_k < 1 ? 1 : (uint32_t)t->top_k;
    if (tries > t->nlabels) tries = t->nlabels;
    /* top_k = 1 tries the argmax alone; up to ET_TOP_K_GUARDRAIL, spaCy takes argmaxes, setting each
     * tried score to float32's lowest; beyond, the last top_k of an ascending argsort, reversed, which
     * for scores without ties is the same order (ties: here the later column first, as a stable sort's) */
    int sorted_order = t->top_k > ET_TOP_K_GUARDRAIL;
    memcpy(scratch, scores, t->nlabels * sizeof *scratch);
    for (uint32_t k = 0; k < tries; k++) {
        uint32_t c;
        if (sorted_order) {
            c = 0;
            for (uint32_t i = 1; i < t->nlabels; i++)
                if (scratch[i] >= scratch[c]) c = i;
            scratch[c] = -INFINITY;
        } else {
            c = argmax(scratch, t->nlabels);
            scratch[c] = -FLT_MAX;
        }
        int rc = et_apply(t, t->labels[c], form, len, lemma);
        if (rc < 0) return -1;
        if (rc == 0) {
            *tree = t->labels[c];
            return 0;
        }
    }
    return 0;
}
