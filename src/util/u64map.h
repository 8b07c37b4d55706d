/* u64map.h - an open-addressing map from 64-bit string hashes to 32-bit values, built once
 * at model load and read-only afterwards (so lookups are safe from many threads). */
#ifndef NERD_U64MAP_H
#define NERD_U64MAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t *keys;   /* 0 marks an empty slot: spaCy never hashes a non-empty string to 0 in practice;
                         key 0 is stored apart */
    uint32_t *vals;
    size_t mask, count;
    int has_zero;
    uint32_t zero_val;
} u64map;

int u64map_init(u64map *m, size_t expected);
void u64map_free(u64map *m);
/* Inserts or replaces. Returns 0 or -1 (memory). */
int u64map_put(u64map *m, uint64_t key, uint32_t val);
/* 1 and *val if present, else 0. */
int u64map_get(const u64map *m, uint64_t key, uint32_t *val);

#endif
