/* phrase.c - spaCy's PhraseMatcher: a trie of the phrases' token values (ORTH or LOWER); from
 * every token, the trie is walked as far as the doc follows it, and each node that ends phrases
 * yields a match per key. When several keys end at one node, spaCy lists them in the order of
 * its hash table (preshed's map, keyed by the StringStore key of each match key): that table is
 * reproduced here so that the order is the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "matcher/matcher.h"
#include "matcher/matcher_keys.h"
#include "text/hash.h"
#include "util/buf.h"

/* preshed's MapStruct as far as its order of iteration goes: open addressing from
 * id & (length - 1), linear probing, doubling when (filled + 1) * 5 >= length * 3, and the
 * ids 0 and 1 (its empty and deleted markers) kept apart and listed last. */
typedef struct {
    uint64_t id;
    unsigned key;   /* 0 in an empty cell: id 0 marks empty */
} key_cell;

typedef struct {
    key_cell *cells;
    size_t length, filled;
    int has_id0, has_id1;
    unsigned key0, key1;
} key_table;

enum { KEY_TABLE_INITIAL = 8 };

static int key_table_set(key_table *t, uint64_t id, unsigned key)
{
    if (id == 0) { t->has_id0 = 1; t->key0 = key; return 0; }
    if (id == 1) { t->has_id1 = 1; t->key1 = key; return 0; }
    if (!t->cells) {
        if (!(t->cells = calloc(KEY_TABLE_INITIAL, sizeof *t->cells))) return -1;
        t->length = KEY_TABLE_INITIAL;
    }
    size_t i = (size_t)(id & (t->length - 1));
    while (t->cells[i].id != 0 && t->cells[i].id != id) i = (i + 1) & (t->length - 1);
    if (t->cells[i].id == 0) t->filled++;
    t->cells[i] = (key_cell){id, key};
    if ((t->filled + 1) * 5 >= t->length * 3) {
        key_table bigger = {0};
        if (!(bigger.cells = calloc(t->length * 2, sizeof *bigger.cells))) return -1;
        bigger.length = t->length * 2;
        for (size_t j = 0; j < t->length; j++)
            if (t->cells[j].id != 0 && key_table_set(&bigger, t->cells[j].id, t->cells[j].key)) {
                free(bigger.cells);
                return -1;
            }
        free(t->cells);
        t->cells = bigger.cells;
        t->length = bigger.length;
        t->filled = bigger.filled;
    }
    return 0;
}

typedef struct {
    key_table ends;   /* the keys of the phrases that end here */
} trie_node;

/* An edge parent --value--> child, in one hash table for the whole trie. */
typedef struct {
    char *value;
    size_t len;
    uint64_t hash;
    unsigned parent, child;   /* child 0: an empty slot (the root is never a child) */
} trie_edge;

struct phrase_matcher {
    matcher_str_attr attr;
    matcher_keys keys;
    trie_node *nodes;
    size_t n_nodes, nodes_cap;
    trie_edge *edges;
    size_t n_edges, edges_mask;
};

static uint64_t edge_hash(unsigned parent, const char *s, size_t len)
{
    return murmur64a(s, len, 1) ^ ((uint64_t)parent * 0x9E3779B97F4A7C15ull);
}

static trie_edge *edge_slot(const phrase_matcher *pm, unsigned parent, const char *s, size_t len, uint64_t h)
{
    size_t i = (size_t)h & pm->edges_mask;
    for (;;) {
        trie_edge *e = &pm->edges[i];
        if (!e->child || (e->hash == h && e->parent == parent && e->len == len && !memcmp(e->value, s, len)))
            return e;
        i = (i + 1) & pm->edges_mask;
    }
}

static int edges_grow(phrase_matcher *pm)
{
    size_t cap = pm->edges ? (pm->edges_mask + 1) * 2 : 64;
    trie_edge *old = pm->edges;
    size_t old_cap = old ? pm->edges_mask + 1 : 0;
    if (!(pm->edges = calloc(cap, sizeof *pm->edges))) { pm->edges = old; return -1; }
    pm->edges_mask = cap - 1;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].child) *edge_slot(pm, old[i].parent, old[i].value, old[i].len, old[i].hash) = old[i];
    free(old);
    return 0;
}

static int new_node(phrase_matcher *pm)
{
    if (grow_array((void **)&pm->nodes, &pm->nodes_cap, pm->n_nodes + 1, sizeof *pm->nodes)) return -1;
    pm->nodes[pm->n_nodes] = (trie_node){0};
    return (int)pm->n_nodes++;
}

phrase_matcher *phrase_matcher_new(matcher_str_attr attr)
{
    if (attr != MATCHER_ORTH && attr != MATCHER_LOWER) return NULL;
    phrase_matcher *pm = calloc(1, sizeof *pm);
    if (!pm) return NULL;
    pm->attr = attr;
    if (new_node(pm) < 0 || edges_grow(pm)) { phrase_matcher_free(pm); return NULL; }
    return pm;
}

void phrase_matcher_free(phrase_matcher *pm)
{
    if (!pm) return;
    matcher_keys_free(&pm->keys);
    for (size_t i = 0; i < pm->n_nodes; i++) free(pm->nodes[i].ends.cells);
    free(pm->nodes);
    if (pm->edges)
        for (size_t i = 0; i <= pm->edges_mask; i++) free(pm->edges[i].value);
    free(pm->edges);
    free(pm);
}

const char *phrase_matcher_key_name(const phrase_matcher *pm, unsigned key)
{
    return matcher_keys_name(&pm->keys, key);
}

int phrase_matcher_add(phrase_matcher *pm, const char *key, const matcher_text *phrase, size_t n)
{
    if (n == 0) return 0;
    int key_i = matcher_keys_intern(&pm->keys, key);
    if (key_i < 0) return -1;
    unsigned cur = 0;
    for (size_t i = 0; i < n; i++) {
        const char *s = phrase[i].s ? phrase[i].s : "";
        uint64_t h = edge_hash(cur, s, phrase[i].len);
        trie_edge *e = edge_slot(pm, cur, s, phrase[i].len, h);
        if (!e->child) {
            if ((pm->n_edges + 1) * 2 > pm->edges_mask + 1) {
                if (edges_grow(pm)) return -1;
                e = edge_slot(pm, cur, s, phrase[i].len, h);
            }
            int child = new_node(pm);
            char *copy = malloc(phrase[i].len + 1);
            if (child < 0 || !copy) { free(copy); return -1; }
            memcpy(copy, s, phrase[i].len);
            copy[phrase[i].len] = 0;
            *e = (trie_edge){copy, phrase[i].len, h, cur, (unsigned)child};
            pm->n_edges++;
        }
        cur = e->child;
    }
    return key_table_set(&pm->nodes[cur].ends, pm->keys.ids[key_i], (unsigned)key_i);
}

static int child_of(const phrase_matcher *pm, unsigned node, matcher_text t)
{
    const char *s = t.s ? t.s : "";
    trie_edge *e = edge_slot(pm, node, s, t.len, edge_hash(node, s, t.len));
    return e->child ? (int)e->child : -1;
}

static int emit_ends(const phrase_matcher *pm, unsigned node, int start, int end, matcher_matches *out)
{
    const key_table *t = &pm->nodes[node].ends;
    unsigned keys[2] = {t->key0, t->key1};
    int has[2] = {t->has_id0, t->has_id1};
    for (size_t i = 0; i < t->length + 2; i++) {
        unsigned key;
        if (i < t->length) {
            if (!t->cells[i].id) continue;
            key = t->cells[i].key;
        } else {
            if (!has[i - t->length]) continue;
            key = keys[i - t->length];
        }
        if (grow_array((void **)&out->items, &out->cap, out->n + 1, sizeof *out->items)) return -1;
        out->items[out->n++] = (matcher_match){key, start, end};
    }
    return 0;
}

int phrase_matcher_run(const phrase_matcher *pm, const matcher_token *toks, size_t n, matcher_matches *out)
{
    out->n = 0;
    for (size_t start = 0; start < n; start++) {
        int cur = child_of(pm, 0, toks[start].str[pm->attr]);
        if (cur < 0) continue;
        size_t end = start + 1;
        for (;;) {
            /* the phrases ending before token `end`, then one token further if the trie goes on */
            if (emit_ends(pm, (unsigned)cur, (int)start, (int)end, out)) return -1;
            if (end == n) break;
            int next = child_of(pm, (unsigned)cur, toks[end].str[pm->attr]);
            if (next < 0) break;
            cur = next;
            end++;
        }
    }
    return 0;
}
