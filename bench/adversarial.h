/* bench/adversarial.h - the tokenizer's hostile texts: one long token of a repeated prefix,
 * suffix or infix character, emoji runs and sequences, combining marks, scripts written
 * without spaces. spaCy's tokenizer is quadratic on most of them; nerd's must be linear.
 * Used by bench/engine.c (tokens/s beside the golden texts') and by the CPU-time bounds of
 * tests/ner/test_tokenizer_linear.c; tests/spacy/adversarial.py has the Python family that
 * the differential test compares with spaCy's tokens. */
#ifndef NERD_BENCH_ADVERSARIAL_H
#define NERD_BENCH_ADVERSARIAL_H

#include <stdlib.h>
#include <string.h>

typedef struct { const char *kind, *unit; } adversarial_kind;

static const adversarial_kind ADVERSARIAL_KINDS[] = {
    {"prefix €", "\xe2\x82\xac"},
    {"prefix $", "$"},
    {"prefix (", "("},
    {"prefix \"", "\""},
    {"prefix «", "\xc2\xab"},
    {"suffix )", ")"},
    {"suffix %", "%"},
    {"suffix ”", "\xe2\x80\x9d"},
    {"suffix !", "!"},
    {"affix '", "'"},
    {"affix .", "."},
    {"affix …", "\xe2\x80\xa6"},
    {"affix -", "-"},
    {"affix –", "\xe2\x80\x93"},
    {"affix ,", ","},
    {"affix :", ":"},
    {"infix a-", "a-"},
    {"infix a.", "a."},
    {"infix 1+", "1+"},
    {"infix a:", "a:"},
    {"emoji 😀", "\xf0\x9f\x98\x80"},
    {"emoji skin tone 👍🏽", "\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd"},
    {"emoji ZWJ family", "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7"},
    {"emoji flag 🇫🇷", "\xf0\x9f\x87\xab\xf0\x9f\x87\xb7"},
    {"emoji ❤️ (VS16)", "\xe2\x9d\xa4\xef\xb8\x8f"},
    {"combining é (e + U+0301)", "e\xcc\x81"},
    {"combining U+0301 alone", "\xcc\x81"},
    {"Chinese", "\xe8\x87\xaa\xe7\x84\xb6\xe8\xaf\xad\xe8\xa8\x80\xe5\xa4\x84\xe7\x90\x86\xe3\x80\x82"},
    {"Japanese", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe3\x83\x86\xe3\x82\xad\xe3\x82\xb9\xe3\x83\x88\xe3\x80\x81"},
    {"Thai", "\xe0\xb8\xa0\xe0\xb8\xb2\xe0\xb8\xa9\xe0\xb8\xb2\xe0\xb9\x84\xe0\xb8\x97\xe0\xb8\xa2"},
    {"letters a", "a"},
};
enum { ADVERSARIAL_NKINDS = sizeof ADVERSARIAL_KINDS / sizeof ADVERSARIAL_KINDS[0] };

/* The kind's unit repeated, as many whole units as fit in `bytes`; *len gets the length.
 * The caller frees it. NULL when memory runs out. */
static inline char *adversarial_text(const adversarial_kind *k, size_t bytes, size_t *len)
{
    size_t unit = strlen(k->unit), n = bytes / unit;
    char *t = malloc(n * unit + 1);
    if (!t) return NULL;
    for (size_t i = 0; i < n; i++) memcpy(t + i * unit, k->unit, unit);
    t[n * unit] = 0;
    *len = n * unit;
    return t;
}

#endif
