/* embed_cache.h - a bounded, thread-safe cache of the tok2vec's per-word rows: the output of
 * the embedding lookups and the mixing layer depends only on a token's lexical attributes (the
 * ner's four hashes; the shared tok2vec's four and SPACY, IS_SPACE), so it is computed once per
 * distinct word (per precision) and reused.
 *
 * Direct-mapped: a fixed table of 2^k slots, a new word replaces the slot's old one. Each slot
 * has a one-byte lock that is only ever tried, never waited for: a lookup that finds it taken
 * counts as a miss and the caller computes the row itself, a store that finds it taken is
 * dropped. Readers and writers on many threads therefore never block each other, and a row is
 * copied in or out (or read in place, embed_cache_hold) only under its slot's lock (ASan/TSan
 * clean). */
#ifndef NERD_EMBED_CACHE_H
#define NERD_EMBED_CACHE_H

#include <stddef.h>
#include <stdint.h>

typedef struct embed_cache embed_cache;

#define EMBED_CACHE_MAX_KEY 8

/* A table of at least `entries` slots (rounded up to a power of two) of `width` floats, keyed
 * by nkey attribute values (1 to EMBED_CACHE_MAX_KEY). NULL if entries is 0, nkey is out of
 * range or on allocation failure. Pages are touched only as slots are used. */
embed_cache *embed_cache_new(size_t entries, int nkey, int width);
int embed_cache_nkey(const embed_cache *c);
int embed_cache_width(const embed_cache *c);
/* Frees c and the table attached to it. */
void embed_cache_free(embed_cache *c);

/* A second table attached to c (same keys, its own slots of `width` floats), freed with it: the
 * fast modes keep a word's row with its first encoder block's partial products there
 * (t2v_fast.h), wider rows than c's, so fewer of them. 0, or -1 (nothing attached) when entries
 * is 0 or on allocation failure; replaces a table attached before. */
int embed_cache_attach(embed_cache *c, size_t entries, int width);
embed_cache *embed_cache_attached(const embed_cache *c); /* NULL when none */

/* key: the nkey attribute values; tag: which computation made the row (the precision). Copies
 * the row into out and returns 1 on a hit, else returns 0. */
int embed_cache_get(embed_cache *c, const uint64_t *key, uint32_t tag, float *out);
/* A hit read in place: on a hit, the slot stays locked and its row is returned (NULL on a
 * miss, or when the slot is taken). Until embed_cache_release(c, key, tag), the row cannot
 * change: other lookups of the slot miss and stores to it are dropped, as while any lookup
 * copies it, so nobody waits. For rows too wide to copy (a fast mode's partials, read once by
 * the pass that sums them); the holder releases them before its call returns. */
const float *embed_cache_hold(embed_cache *c, const uint64_t *key, uint32_t tag);
void embed_cache_release(embed_cache *c, const uint64_t *key, uint32_t tag);
void embed_cache_put(embed_cache *c, const uint64_t *key, uint32_t tag, const float *row);
/* Starts loading the slot a lookup of key would read (a hint: no effect on results). A
 * document's lookups land on random slots far apart; issued a few tokens ahead, their cache
 * misses overlap instead of following one another. */
void embed_cache_prefetch(const embed_cache *c, const uint64_t *key, uint32_t tag);

/* Adds a document's lookups to the totals (once per document: one atomic add each). */
void embed_cache_count(embed_cache *c, uint64_t hits, uint64_t misses);

/* The table's own counts, slots and bytes at most (an attached table's are its own stats). */
typedef struct { uint64_t hits, misses; size_t slots, bytes; } embed_cache_stats;
void embed_cache_get_stats(const embed_cache *c, embed_cache_stats *s);

#endif
