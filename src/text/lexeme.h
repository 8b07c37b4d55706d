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

typedef struct {
    u64map by_hash;  /* hash of the orth string -> offset of its norm in pool */
    buf pool;
} lex_norms;

/* Reads vocab/lookups.bin's lexeme_norm table (absent table: no entries). NERD_OK, or the cause
 * (modelfile.h) with a message naming the file. */
nerd_status lex_norms_load(lex_norms *n, const char *path, char *err, size_t errlen);
void lex_norms_free(lex_norms *n);
/* The table's norm for s, or NULL. */
const char *lex_norms_get(const lex_norms *n, const char *s, size_t len, size_t *normlen);

/* spaCy's word_shape of s (valid UTF-8), appended to out. */
int lex_shape(const char *s, size_t len, buf *out);

#endif
