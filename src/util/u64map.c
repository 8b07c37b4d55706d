#include "util/u64map.h"

#include <stdlib.h>

int u64map_init(u64map *m, size_t expected)
{
    size_t cap = 16;
    while (cap < expected * 2) cap *= 2;
    m->keys = calloc(cap, sizeof *m->keys);
    m->vals = calloc(cap, sizeof *m->vals);
    m->mask = cap - 1;
    m->count = 0;
    m->has_zero = 0;
    if (!m->keys || !m->vals) { u64map_free(m); return -1; }
    return 0;
}

void u64map_free(u64map *m)
{
    free(m->keys);
    free(m->vals);
    m->keys = NULL;
    m->vals = NULL;
}

static int grow(u64map *m)
{
    u64map n;
    if (u64map_init(&n, (m->mask + 1))) return -1;
    for (size_t i = 0; i <= m->mask; i++)
        if (m->keys[i]) u64map_put(&n, m->keys[i], m->vals[i]);
    n.has_zero = m->has_zero;
    n.zero_val = m->zero_val;
    u64map_free(m);
    *m = n;
    return 0;
}

int u64map_put(u64map *m, uint64_t key, uint32_t val)
{
    if (!key) { m->has_zero = 1; m->zero_val = val; return 0; }
    if ((m->count + 1) * 2 > m->mask + 1 && grow(m)) return -1;
    size_t i = (size_t)(key ^ (key >> 29)) & m->mask;
    while (m->keys[i] && m->keys[i] != key) i = (i + 1) & m->mask;
    if (!m->keys[i]) { m->keys[i] = key; m->count++; }
    m->vals[i] = val;
    return 0;
}

int u64map_get(const u64map *m, uint64_t key, uint32_t *val)
{
    if (!key) { if (m->has_zero) *val = m->zero_val; return m->has_zero; }
    if (!m->keys) return 0;
    size_t i = (size_t)(key ^ (key >> 29)) & m->mask;
    while (m->keys[i]) {
        if (m->keys[i] == key) { *val = m->vals[i]; return 1; }
        i = (i + 1) & m->mask;
    }
    return 0;
}
