/* keycache.h - a bounded, direct-mapped table from a short byte string to a short value, owned by
 * one thread at a time (it lives in a document's workspace). The tokenizer keeps the tokens of
 * whitespace-delimited chunks in one and the lexical attributes of words in another, so that a
 * chunk or word seen before costs a hash, a compare and a copy instead of the regexes and the
 * attribute functions.
 *
 * Exact by construction: a slot holds its key's bytes and the id of what computed the value (a
 * tokenizer, a norms table), and a lookup hits only when both are equal, so a hash collision or
 * another model's entry is a miss, never a wrong answer. A new key replaces the slot's old one.
 * The table is allocated at the first store (calloc: its pages are touched as slots are used). */
#ifndef NERD_KEYCACHE_H
#define NERD_KEYCACHE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    unsigned char *slots;   /* nslots x slot_bytes, NULL until the first store */
    size_t nslots;          /* a power of two, 0: the cache is off */
    uint32_t key_max, val_max, slot_bytes;
    uint64_t hits, misses;  /* lookups since it was set up (tests and benchmarks read them) */
} key_cache;

/* Sets up c for at least `entries` slots (rounded up to a power of two; 0: off) of keys up to
 * key_max bytes and values up to val_max bytes. Frees what c held. */
void key_cache_setup(key_cache *c, size_t entries, uint32_t key_max, uint32_t val_max);
void key_cache_free(key_cache *c);
/* Bytes the table takes once every slot is used. */
size_t key_cache_bytes(const key_cache *c);

/* The value stored for (owner, key) whose hash is h, with its length in *val_len, or NULL. The
 * pointer is valid until the next store. */
const void *key_cache_get(key_cache *c, uint64_t owner, const char *key, size_t len, uint64_t h, size_t *val_len);
/* Where to write the val_len bytes of (owner, key)'s value (the slot now holds that key), or NULL
 * when the cache is off, the key or value is too long, or memory runs out: the caller then
 * simply does not store. */
void *key_cache_put(key_cache *c, uint64_t owner, const char *key, size_t len, uint64_t h, size_t val_len);

/* A process-wide unique id for what fills a cache (never reused, unlike an address). */
uint64_t key_cache_new_owner(void);

#endif
