#include "nn/embed_cache.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint32_t tag;
    uint32_t used;
} slot_head;

struct embed_cache {
    size_t mask;                 /* slots - 1 */
    int nkey, width;
    atomic_uchar *lock;          /* one per slot: 0 free, 1 taken */
    slot_head *head;
    uint64_t *keys;              /* slots x nkey */
    float *rows;                 /* slots x width */
    _Atomic uint64_t hits, misses;
    embed_cache *attached;       /* embed_cache_attach's table, or NULL */
};

embed_cache *embed_cache_new(size_t entries, int nkey, int width)
{
    if (!entries || width < 1 || nkey < 1 || nkey > EMBED_CACHE_MAX_KEY) return NULL;
    size_t slots = 1;
    while (slots < entries) slots *= 2;
    embed_cache *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->mask = slots - 1;
    c->nkey = nkey;
    c->width = width;
    /* calloc: large tables come as untouched zero pages, so memory grows with use */
    c->lock = calloc(slots, sizeof *c->lock);
    c->head = calloc(slots, sizeof *c->head);
    c->keys = calloc(slots * (size_t)nkey, sizeof *c->keys);
    c->rows = calloc(slots * (size_t)width, sizeof(float));
    if (!c->lock || !c->head || !c->keys || !c->rows) {
        embed_cache_free(c);
        return NULL;
    }
    return c;
}

void embed_cache_free(embed_cache *c)
{
    if (!c) return;
    embed_cache_free(c->attached);
    free(c->lock);
    free(c->head);
    free(c->keys);
    free(c->rows);
    free(c);
}

int embed_cache_nkey(const embed_cache *c) { return c ? c->nkey : 0; }
int embed_cache_width(const embed_cache *c) { return c ? c->width : 0; }

int embed_cache_attach(embed_cache *c, size_t entries, int width)
{
    embed_cache *t = c ? embed_cache_new(entries, c->nkey, width) : NULL;
    if (!t) return -1;
    embed_cache_free(c->attached);
    c->attached = t;
    return 0;
}

embed_cache *embed_cache_attached(const embed_cache *c) { return c ? c->attached : NULL; }

static size_t slot_of(const embed_cache *c, const uint64_t *key, uint32_t tag)
{
    /* the keys are mostly string hashes already; mix each in so that no single one decides */
    uint64_t h = tag;
    for (int i = 0; i < c->nkey; i++) {
        h = (h ^ key[i]) * 0x9E3779B97F4A7C15ull;
        h ^= h >> 31;
    }
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 32;
    return (size_t)h & c->mask;
}

static int try_lock(embed_cache *c, size_t s)
{
    unsigned char free_ = 0;
    return atomic_compare_exchange_strong_explicit(&c->lock[s], &free_, 1, memory_order_acquire, memory_order_relaxed);
}

static void unlock(embed_cache *c, size_t s) { atomic_store_explicit(&c->lock[s], 0, memory_order_release); }

/* Whether slot s (locked by the caller) holds key's row made by tag. */
static int holds(const embed_cache *c, size_t s, const uint64_t *key, uint32_t tag)
{
    const slot_head *h = &c->head[s];
    const uint64_t *stored = c->keys + s * c->nkey;
    int hit = h->used && h->tag == tag;
    for (int i = 0; hit && i < c->nkey; i++) hit = stored[i] == key[i]; /* a few words: no libc call */
    return hit;
}

const float *embed_cache_hold(embed_cache *c, const uint64_t *key, uint32_t tag)
{
    size_t s = slot_of(c, key, tag);
    if (!try_lock(c, s)) return NULL;
    if (holds(c, s, key, tag)) return c->rows + s * (size_t)c->width;
    unlock(c, s);
    return NULL;
}

void embed_cache_release(embed_cache *c, const uint64_t *key, uint32_t tag) { unlock(c, slot_of(c, key, tag)); }

int embed_cache_get(embed_cache *c, const uint64_t *key, uint32_t tag, float *out)
{
    size_t s = slot_of(c, key, tag);
    if (!try_lock(c, s)) return 0;
    const int hit = holds(c, s, key, tag);
    if (hit) memcpy(out, c->rows + s * (size_t)c->width, (size_t)c->width * sizeof(float));
    unlock(c, s);
    return hit;
}

void embed_cache_prefetch(const embed_cache *c, const uint64_t *key, uint32_t tag)
{
    size_t s = slot_of(c, key, tag);
    const char *row = (const char *)(c->rows + s * (size_t)c->width);
    __builtin_prefetch(&c->lock[s], 1);
    __builtin_prefetch(&c->head[s]);
    __builtin_prefetch(c->keys + s * c->nkey);
    for (size_t b = 0; b < (size_t)c->width * sizeof(float); b += 64) __builtin_prefetch(row + b);
}

void embed_cache_put(embed_cache *c, const uint64_t *key, uint32_t tag, const float *row)
{
    size_t s = slot_of(c, key, tag);
    if (!try_lock(c, s)) return;
    slot_head *h = &c->head[s];
    memcpy(c->keys + s * c->nkey, key, (size_t)c->nkey * sizeof *key);
    h->tag = tag;
    h->used = 1;
    memcpy(c->rows + s * (size_t)c->width, row, (size_t)c->width * sizeof(float));
    unlock(c, s);
}

void embed_cache_count(embed_cache *c, uint64_t hits, uint64_t misses)
{
    if (hits) atomic_fetch_add_explicit(&c->hits, hits, memory_order_relaxed);
    if (misses) atomic_fetch_add_explicit(&c->misses, misses, memory_order_relaxed);
}

void embed_cache_get_stats(const embed_cache *c, embed_cache_stats *s)
{
    memset(s, 0, sizeof *s);
    if (!c) return;
    s->hits = atomic_load_explicit(&((embed_cache *)c)->hits, memory_order_relaxed);
    s->misses = atomic_load_explicit(&((embed_cache *)c)->misses, memory_order_relaxed);
    s->slots = c->mask + 1;
    s->bytes = s->slots * (sizeof(atomic_uchar) + sizeof(slot_head) + (size_t)c->nkey * sizeof(uint64_t) +
                           (size_t)c->width * sizeof(float));
}
