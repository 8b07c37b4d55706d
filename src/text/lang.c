/* lang.c - the languages nerd computes and their lexical attributes. Each like_num is spaCy's
 * base one (spacy/lang/lex_attrs.py: an optional sign, "," and "." removed, digits or
 * digits/digits) with the steps its language's lex_attrs.py adds, as LN_* bits; the word lists
 * are generated from spaCy (lang_words.c). */
#include "text/lang.h"
#include "text/pystr.h"
#include "util/buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const strip_pt[] = {"\u00ba", "\u00aa", NULL};  /* º ª: 1º, 2ª */
static const char *const strip_zh[] = {"\uff0c", "\u3002", NULL};  /* fullwidth comma, ideographic full stop */

const nerd_lang lang_table[] = {
    {"en", "English", LANG_TOKENIZER_RULES, LN_SIGN | LN_WORDS_LOWER | LN_ORDINAL_SUFFIX, NULL},
    {"de", "German", LANG_TOKENIZER_RULES, LN_SIGN, NULL},
    {"es", "Spanish", LANG_TOKENIZER_RULES, LN_SIGN | LN_WORDS_LOWER, NULL},
    {"fr", "French", LANG_TOKENIZER_RULES, LN_SIGN | LN_WORDS_LOWER, NULL},
    {"it", "Italian", LANG_TOKENIZER_RULES, LN_SIGN, NULL},
    {"nl", "Dutch", LANG_TOKENIZER_RULES, LN_WORDS_LOWER, NULL},
    {"pt", "Portuguese", LANG_TOKENIZER_RULES, LN_SIGN | LN_WORDS_LOWER, strip_pt},
    {"ru", "Russian", LANG_TOKENIZER_RULES, LN_SIGN | LN_PERCENT | LN_WORDS_LOWER, NULL},
    {"el", "Greek", LANG_TOKENIZER_RULES, LN_SIGN | LN_CARET | LN_WORDS_LOWER | LN_WORDS_FIRST | LN_WORDS_EXACT, NULL},
    {"zh", "Chinese", LANG_TOKENIZER_CHARS, LN_SIGN | LN_WORDS_EXACT | LN_CJK_COUNT, strip_zh},
};
const size_t lang_count = sizeof lang_table / sizeof *lang_table;

const nerd_lang *lang_find(const char *code)
{
    for (size_t i = 0; code && i < lang_count; i++)
        if (!strcmp(lang_table[i].code, code)) return &lang_table[i];
    return NULL;
}

static const lang_words *words_of(const nerd_lang *l)
{
    for (size_t i = 0; i < lang_nword_lists; i++)
        if (!strcmp(lang_word_lists[i].code, l->code)) return &lang_word_lists[i];
    return NULL;
}

typedef struct { const char *s; size_t len; } span;

static int cmp_word(const void *key, const void *elem)
{
    const span *k = key;
    const char *w = *(const char *const *)elem;
    size_t wl = strlen(w);
    int c = memcmp(k->s, w, k->len < wl ? k->len : wl);
    return c ? c : (k->len > wl) - (k->len < wl);
}

static int in_list(const char *const *list, size_t n, const char *s, size_t len)
{
    span k = {s, len};
    return list && n && bsearch(&k, list, n, sizeof *list, cmp_word) != NULL;
}

/* text.count(sep) == 1 and both sides of it isdigit() */
static int digits_around(const char *s, size_t len, char sep)
{
    const char *at = memchr(s, sep, len);
    if (!at || memchr(at + 1, sep, len - (size_t)(at + 1 - s))) return 0;
    return py_str_isdigit(s, (size_t)(at - s)) && py_str_isdigit(at + 1, len - (size_t)(at + 1 - s));
}

static int starts_with(const char *s, size_t len, const char *p)
{
    size_t pl = strlen(p);
    return len >= pl && !memcmp(s, p, pl);
}

static int in_set(const uint32_t *set, size_t n, uint32_t cp)
{
    for (size_t i = 0; i < n; i++)
        if (set[i] == cp) return 1;
    return 0;
}

/* (count word, base word)+ count word?, as zh's like_num regex with re.match and a final $ */
static int cjk_counted(const char *s, size_t len)
{
    static const uint32_t counts[] = {0x4E00, 0x4E8C, 0x4E09, 0x56DB, 0x4E94, 0x516D, 0x4E03, 0x516B, 0x4E5D,
                                      0x58F9, 0x8D30, 0x53C1, 0x8086, 0x4F0D, 0x9646, 0x67D2, 0x634C, 0x7396};
    static const uint32_t bases[] = {0x5341, 0x767E, 0x5343, 0x4E07, 0x4EBF, 0x5146, 0x62FE, 0x4F70, 0x4EDF};
    if (len && s[len - 1] == '\n') len--;  /* Python's $ also matches before a final newline */
    int pairs = 0;
    for (size_t i = 0; i < len;) {
        uint32_t count, base;
        size_t n = py_utf8_next(s + i, len - i, &count);
        if (!n || !in_set(counts, sizeof counts / sizeof *counts, count)) return 0;
        i += n;
        if (i == len) break;  /* the optional last count word */
        n = py_utf8_next(s + i, len - i, &base);
        if (!n || !in_set(bases, sizeof bases / sizeof *bases, base)) return 0;
        i += n;
        pairs++;
    }
    return pairs > 0;
}

int lang_like_num(const nerd_lang *l, const char *s, size_t len)
{
    static const char *const signs[] = {"+", "-", "\u00b1", "~"};
    unsigned steps = l->like_num_steps;
    if (steps & LN_SIGN)
        for (size_t i = 0; i < sizeof signs / sizeof *signs; i++)
            if (starts_with(s, len, signs[i])) {
                s += strlen(signs[i]);
                len -= strlen(signs[i]);
                break;
            }
    if ((steps & LN_PERCENT) && len && s[len - 1] == '%') len--;
    /* the text without "," "." and the language's own strip characters */
    buf t = {0}, low = {0};
    int rc = -1;
    if (buf_reserve(&t, len + 1)) goto out;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = py_utf8_next(s + i, len - i, &cp);
        if (!n) n = 1;
        int drop = cp == ',' || cp == '.';
        for (const char *const *x = l->num_strip; x && *x && !drop; x++)
            drop = strlen(*x) == n && !memcmp(*x, s + i, n);
        if (!drop) buf_append(&t, s + i, n);  /* reserved above */
        i += n;
    }
    const char *p = t.ptr ? t.ptr : "";
    size_t pl = t.len;
    rc = 1;
    if (py_str_isdigit(p, pl) || digits_around(p, pl, '/')) goto out;
    if ((steps & LN_CARET) && digits_around(p, pl, '^')) goto out;
    const lang_words *w = words_of(l);
    const char *const *num = w ? w->num : NULL;
    size_t nnum = w ? w->nnum : 0;
    if (steps & (LN_WORDS_LOWER | LN_ORDINAL_SUFFIX)) {
        rc = -1;
        if (py_lower(p, pl, &low)) goto out;
        rc = 1;
        const char *lp = low.ptr ? low.ptr : "";
        if ((steps & LN_WORDS_LOWER) && in_list(num, nnum, lp, low.len)) goto out;
        if (steps & LN_WORDS_FIRST) {
            const char *space = memchr(lp, ' ', low.len);
            if (in_list(num, nnum, lp, space ? (size_t)(space - lp) : low.len)) goto out;
        }
        if ((steps & LN_ORDINAL_SUFFIX) && low.len >= 2) {
            const char *end = lp + low.len - 2;
            if ((!memcmp(end, "st", 2) || !memcmp(end, "nd", 2) || !memcmp(end, "rd", 2) || !memcmp(end, "th", 2)) &&
                py_str_isdigit(lp, low.len - 2))
                goto out;
        }
    }
    if ((steps & LN_WORDS_EXACT) && in_list(num, nnum, p, pl)) goto out;
    if ((steps & LN_CJK_COUNT) && cjk_counted(p, pl)) goto out;
    rc = 0;
out:
    buf_free(&t);
    buf_free(&low);
    return rc;
}

int lang_is_stop(const nerd_lang *l, const char *s, size_t len)
{
    const lang_words *w = words_of(l);
    if (!w || !w->nstop) return 0;
    buf low = {0};
    if (py_lower(s, len, &low)) return -1;
    int stop = in_list(w->stop, w->nstop, low.ptr ? low.ptr : "", low.len);
    buf_free(&low);
    return stop;
}
