/* pyre.h - spaCy's tokenizer patterns are Python `re` syntax; this translates them to PCRE2
 * at load time (\uXXXX and \UXXXXXXXX escapes, \Z, the (?u) flag, '[' inside classes) and
 * compiles them with Unicode semantics, so Python's matching is reproduced on UTF-8. */
#ifndef NERD_PYRE_H
#define NERD_PYRE_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stddef.h>

#include "util/buf.h"

/* Appends the PCRE2 form of the Python pattern py[0..len) to out. -1 on a construct that
 * cannot be translated (message in err), PYRE_NOMEM when memory runs out. */
#define PYRE_NOMEM (-2)
int pyre_translate(const char *py, size_t len, buf *out, char *err, size_t errlen);

/* Translates and compiles (UTF, UCP, JIT when available). NULL with a message in err. */
pcre2_code *pyre_compile(const char *py, size_t len, char *err, size_t errlen);

/* A pattern used only to ask whether it matches at the start of a string (spaCy's token_match
 * and url_match: re.match truthiness). A top-level alternation too large for one PCRE2 program
 * (French's token_match) is compiled as several, each holding some of the branches with the
 * pattern's global flags: it matches when one of them does. */
typedef struct {
    pcre2_code **codes;
    size_t n;             /* 0: no pattern */
} pyre_any;
int pyre_any_compile(const char *py, size_t len, pyre_any *a, char *err, size_t errlen);
int pyre_any_match(const pyre_any *a, const char *s, size_t len, pcre2_match_data *md);
void pyre_any_free(pyre_any *a);

/* Where a search for an end-anchored pattern (spaCy's suffixes: every branch ends in `$`) can
 * start without changing its result, so that stripping suffixes one by one off a long token
 * does not rescan the whole token each time (pyre_tail.c). */
typedef struct {
    int bounded;          /* every branch was analyzed and ends at an end anchor */
    size_t max_chars;     /* the widest match of the branches of bounded width, in characters */
    pcre2_code *run_char; /* one character that a branch of unbounded width consumes; NULL if none is */
} pyre_tail;

/* Analyzes the Python pattern py[0..len). A pattern outside the analysis gets bounded = 0
 * (search from the start). 0, or -1 when memory runs out. */
int pyre_tail_init(const char *py, size_t len, pyre_tail *t);
/* The byte offset in s[0..len) from which a search finds the same first match as one from 0. */
size_t pyre_tail_from(const pyre_tail *t, const char *s, size_t len, pcre2_match_data *md);
void pyre_tail_free(pyre_tail *t);

#endif
