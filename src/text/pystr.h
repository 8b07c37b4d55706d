/* pystr.h - the Python str semantics spaCy's tokenizer and lexical attributes rely on,
 * on UTF-8: code point decoding, isspace/isalpha/isdigit/isupper of one character, and
 * str.lower() with its full (multi-character and final-sigma) mappings. */
#ifndef NERD_PYSTR_H
#define NERD_PYSTR_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* Decodes the code point at s[0..len) (len >= 1) and returns its byte length; validates
 * strictly (returns 0 for invalid UTF-8: overlong, surrogates, > U+10FFFF, truncated). */
size_t py_utf8_next(const char *s, size_t len, uint32_t *cp);
/* Number of code points of valid UTF-8. */
size_t py_utf8_count(const char *s, size_t len);
/* 1 if s[0..len) is valid UTF-8, else 0 and *bad_offset gets the first bad byte. */
int py_utf8_valid(const char *s, size_t len, size_t *bad_offset);

int py_isspace(uint32_t cp);
/* py_isspace of an ASCII code point (below 0x80), inline for the tokenizer's scan */
static inline int py_isspace_ascii(uint32_t c) { return c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F); }
int py_isalpha(uint32_t cp);
int py_isdigit(uint32_t cp);
int py_isupper(uint32_t cp);
/* Python's Lowercase property (Ll and Other_Lowercase) and titlecase (Lt) of one character. */
int py_islower(uint32_t cp);
int py_istitle_char(uint32_t cp);
/* unicodedata.category(chr(cp)) as Python 3.11 gives it ("Lu", "Po", ...; "Cn" unassigned). */
const char *py_category(uint32_t cp);

/* str.isalpha(), isdigit(), islower(), isupper(), istitle() of s[0..len) (valid UTF-8), as
 * Python defines them on whole strings (empty: 0). */
int py_str_isalpha(const char *s, size_t len);
int py_str_isdigit(const char *s, size_t len);
int py_str_islower(const char *s, size_t len);
int py_str_isupper(const char *s, size_t len);
int py_str_istitle(const char *s, size_t len);

/* Appends str.lower() of s[0..len) (valid UTF-8) to out. Returns 0 or -1 (memory). */
int py_lower(const char *s, size_t len, buf *out);
/* 1 if every character of s is whitespace (Python's str.isspace on a non-empty string). */
int py_str_isspace(const char *s, size_t len);

#endif
