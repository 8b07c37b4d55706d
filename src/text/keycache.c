#include "text/keycache.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* a slot: this header, then key_max bytes of key, then val_max bytes of value */
typedef struct {
    uint64_t hash;
    uint64_t owner;         /* 0: empty (owners start at 1) */
    uint16_t key_len, val_len;
} slot_head;

enum { SLOT_ALIGN = 8, KEY_CACHE_MAX_LEN = UINT16_MAX };

void key_cache_free(key_cache *c)
{
    free(c->slots);
    c->slots = NULL;
}

void key_cache_setup(key_cache *c, size_t entries, uint32_t key_max, uint32_t val_max)
{
    key_cache_free(c);
    memset(c, 0, sizeof *c);
    if (!entries || key_max > KEY_CACHE_MAX_LEN || val_max > KEY_CACHE_MAX_LEN) return;
    size_t n = 1;
    while (n < entries) n *= 2;
    c->nslots = n;
    c->key_max = key_max;
    c->val_max = val_max;
    size_t bytes = sizeof(slot_head) + key_max + val_max;
    c->slot_bytes = (uint32_t)((bytes + SLOT_ALIGN - 1) / SLOT_ALIGN * SLOT_ALIGN);
}

size_t key_cache_bytes(const key_cache *c) { return c->nslots * c->slot_bytes; }

static slot_head *slot_at(const key_cache *c, uint64_t h)
{
    /* the callers' hashes are murmur64a: their low bits are as good as any */
    return (slot_head *)(c->slots + (size_t)(h & (c->nslots - 1)) * c->slot_bytes);
}

const void *key_cache_get(key_cache *c, uint64_t owner, const char *key, size_t len, uint64_t h, size_t *val_len)
{
    if (!c->slots) {
        c->misses += c->nslots != 0;
        return NULL;
    }
    const slot_head *s = slot_at(c, h);
    const unsigned char *k = (const unsigned char *)(s + 1);
    if (s->owner != owner || s->hash != h || s->key_len != len || memcmp(k, key, len)) {
        c->misses++;
        return NULL;
    }
    c->hits++;
    *val_len = s->val_len;
    return k + c->key_max;
}

void *key_cache_put(key_cache *c, uint64_t owner, const char *key, size_t len, uint64_t h, size_t val_len)
{
    if (!c->nslots || len > c->key_max || val_len > c->val_max || !owner) return NULL;
    if (!c->slots && !(c->slots = calloc(c->nslots, c->slot_bytes))) return NULL;
    slot_head *s = slot_at(c, h);
    *s = (slot_head){h, owner, (uint16_t)len, (uint16_t)val_len};
    unsigned char *k = (unsigned char *)(s + 1);
    memcpy(k, key, len);
    return k + c->key_max;
}

uint64_t key_cache_new_owner(void)
{
    static _Atomic uint64_t last;
    return atomic_fetch_add_explicit(&last, 1, memory_order_relaxed) + 1;
}
