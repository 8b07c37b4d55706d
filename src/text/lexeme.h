/* lexeme.h - the lexical attributes spaCy's ner reads: NORM (special case's norm, else the
 * vocab's lexeme_norm table, else str.lower()), PREFIX (first character), SUFFIX (last three),
 * SHAPE (spaCy's word shape), as strings and as StringStore hashes. */
#ifndef NERD_LEXEME_H
#define NERD_LEXEME_H

#include <stddef.h>
#include <stdint.h>

#include "nerd.h"
#include "util/u64map.h"
#include "util/buf.h"
#include "text/keycache.h"

typedef struct {
    u64map by_hash;  /* hash of the orth string -> offset of its norm in pool */
    buf pool;
    uint64_t cache_owner; /* the word caches' id of this table (key_cache_new_owner) */
} lex_norms;

/* Reads vocab/lookups.bin's lexeme_norm table (absent table: no entries). NERD_OK, or the cause
 * (modelfile.h) with a message naming the file. */
nerd_status lex_norms_load(lex_norms *n, const char *path, char *err, size_t errlen);
void lex_norms_free(lex_norms *n);
/* The table's norm for s, or NULL. */
const char *lex_norms_get(const lex_norms *n, const char *s, size_t len, size_t *normlen);

/* spaCy's word_shape of s (valid UTF-8), appended to out. */
int lex_shape(const char *s, size_t len, buf *out);

/* Everything the pipelines read of one token that depends on its text alone: the norm and
 * shape strings (appended to a buffer), the first character and last three characters, and the
 * four hashes of ATTR_NORM ... ATTR_SHAPE. */
typedef struct {
    uint32_t nchars;
    uint8_t is_space;
    uint8_t prefix_len;           /* bytes: the first character */
    uint8_t suffix_len;           /* bytes: the last three characters */
    uint32_t norm_off, norm_len;  /* in the buffer */
    uint32_t shape_off, shape_len;
    uint64_t norm_hash, prefix_hash, suffix_hash, shape_hash;
} lex_attrs;

/* A word cache: at most `entries` words (0: off). A word's attributes depend on its bytes and
 * the norms table, both in the key (docs/design.md). */
void lex_word_cache(key_cache *c, size_t entries);

/* The lex_attrs of token s (valid UTF-8, not empty), its strings appended to strs. special_norm:
 * the NORM a special case gives this token, else NULL (the table's norm, else the lowercase).
 * Words without a special norm are looked up in and stored to cache (off: computed each time).
 * 0, or -1 when memory runs out. */
int lex_attrs_of(const lex_norms *n, key_cache *cache, const char *s, size_t len, const char *special_norm,
                 size_t special_norm_len, buf *strs, lex_attrs *out);

#endif
