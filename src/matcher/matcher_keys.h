/* matcher_keys.h - the match keys of a matcher: strings numbered in the order first added. */
#ifndef NERD_MATCHER_KEYS_H
#define NERD_MATCHER_KEYS_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char **names;
    uint64_t *ids;   /* spaCy's StringStore key of each name (its hash, or its symbol ID) */
    size_t n, cap, ids_cap;
} matcher_keys;

/* The number of key, added if new; -1 when memory runs out. */
int matcher_keys_intern(matcher_keys *k, const char *key);
const char *matcher_keys_name(const matcher_keys *k, unsigned key);
/* Forgets the keys added after the first n (a failed add). */
void matcher_keys_truncate(matcher_keys *k, size_t n);
void matcher_keys_free(matcher_keys *k);

#endif
