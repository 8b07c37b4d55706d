/* symbols.h - spaCy's reserved symbol strings, which StringStore keys by fixed small IDs. */
#ifndef NERD_SYMBOLS_H
#define NERD_SYMBOLS_H

#include <stddef.h>

/* 1 and *id if s is one of spaCy's symbols (e.g. "X" -> 101, "PERSON" -> 380), else 0. */
int nerd_symbol_id(const char *s, size_t len, unsigned *id);
/* The i-th symbol's name and *id, or NULL past the last (for tests). */
const char *nerd_symbol_at(size_t i, unsigned *id);

/* The i-th symbol (0 <= i < nerd_symbol_count()) and its ID: a model's files may hold a symbol's
 * ID where a string's key is expected (vocab/strings.json leaves the symbols out). */
size_t nerd_symbol_count(void);
const char *nerd_symbol_at(size_t i, unsigned *id);

#endif
