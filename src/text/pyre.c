#include "text/pyre.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Python's \s is str.isspace(); PCRE2's \s under UCP differs (it lacks U+001C..U+001F and
 * has U+180E), so \s and \S are spelled out as Python's set. Checked over every code point. */
#define PY_SPACE_SET "\\t-\\r\\x{1C}-\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}"

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int pyre_translate(const char *py, size_t len, buf *out, char *err, size_t errlen)
{
    int in_class = 0;       /* inside [...] */
    size_t class_start = 0; /* position after '[' (and '^'), where ']' is literal */
    for (size_t i = 0; i < len; i++) {
        char c = py[i];
        if (c == '\\') {
            if (i + 1 >= len) { snprintf(err, errlen, "trailing backslash"); return -1; }
            char e = py[i + 1];
            if (e == 'u' || e == 'U') {
                size_t nd = e == 'u' ? 4 : 8;

                unsigned v = 0;
                for (size_t k = 0; k < nd; k++) {
                    int h = i + 2 + k < len ? hexval(py[i + 2 + k]) : -1;
                    if (h < 0) { snprintf(err, errlen, "bad \\%c escape at %zu", e, i); return -1; }
                    v = v << 4 | (unsigned)h;
                }
                if (buf_printf(out, "\\x{%X}", v)) return PYRE_NOMEM;
                i += 1 + nd;
                continue;
            }
            if (e == 's' || e == 'S') {
                int rc;
                if (in_class && e == 'S') /* no set difference inside a class in PCRE2 10.42 */
                    rc = buf_append(out, "\\S", 2);
                else if (in_class)
                    rc = buf_append(out, PY_SPACE_SET, sizeof PY_SPACE_SET - 1);
                else
                    rc = buf_printf(out, "[%s%s]", e == 'S' ? "^" : "", PY_SPACE_SET);
                if (rc) return PYRE_NOMEM;
                i++;
                continue;
            }
            if (e == 'Z') { /* Python's \Z is the very end of the string: PCRE2's \z */
                if (buf_append(out, "\\z", 2)) return PYRE_NOMEM;
                i++;
                continue;
            }
            if (buf_putc(out, '\\') || buf_putc(out, e)) return PYRE_NOMEM;
            i++;
            continue;
        }
        if (in_class) {
            if (c == ']' && i > class_start) in_class = 0;
            else if (c == '[') { /* a literal '[' in Python; PCRE2 would read "[:" as a POSIX class */
                if (buf_append(out, "\\[", 2)) return PYRE_NOMEM;
                continue;
            }
            if (buf_putc(out, c)) return PYRE_NOMEM;
            continue;
        }
        if (c == '[') {
            in_class = 1;
            if (buf_putc(out, c)) return PYRE_NOMEM;
            if (i + 1 < len && py[i + 1] == '^') {
                if (buf_putc(out, '^')) return PYRE_NOMEM;
                i++;
            }
            class_start = i + 1;
            continue;
        }
        if (c == '(' && i + 2 < len && py[i + 1] == '?') {
            /* inline flags (?aiLmsux): drop u (always on here) and a/L (not applicable) */
            size_t j = i + 2;
            while (j < len && strchr("aiLmsux", py[j])) j++;
            if (j > i + 2 && j < len && (py[j] == ')' || py[j] == ':')) {
                char flags[8];
                size_t nf = 0;
                for (size_t k = i + 2; k < j; k++)
                    if (strchr("imsx", py[k]) && nf < sizeof flags) flags[nf++] = py[k];
                if (nf == 0 && py[j] == ')') { i = j; continue; }
                if (buf_append(out, "(?", 2) || buf_append(out, flags, nf)) return PYRE_NOMEM;
                if (nf == 0) { /* "(?u:" -> a plain non-capturing group */
                    if (buf_putc(out, ':')) return PYRE_NOMEM;
                } else if (buf_putc(out, py[j])) return PYRE_NOMEM;
                i = j;
                continue;
            }
        }
        if (buf_putc(out, c)) return PYRE_NOMEM;
    }
    if (in_class) { snprintf(err, errlen, "unterminated character class"); return -1; }
    return 0;
}

static pcre2_code *compile_ec(const char *py, size_t len, char *err, size_t errlen, int *ec_out)
{
    buf b = {0};
    int translated = pyre_translate(py, len, &b, err, errlen);
    if (translated) {
        if (translated == PYRE_NOMEM) snprintf(err, errlen, "out of memory");
        buf_free(&b);
        return NULL;
    }
    int ec;
    PCRE2_SIZE eo;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)b.ptr, b.len, PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK, &ec, &eo, NULL);
    if (ec_out) *ec_out = re ? 0 : ec;
    if (!re) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(ec, msg, sizeof msg);
        snprintf(err, errlen, "pattern does not compile at offset %zu: %s", (size_t)eo, (char *)msg);
    } else {
        pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* falls back to the interpreter if JIT is absent */
    }
    buf_free(&b);
    return re;
}

pcre2_code *pyre_compile(const char *py, size_t len, char *err, size_t errlen)
{
    return compile_ec(py, len, err, errlen, NULL);
}

/* ---- a top-level alternation too large for one PCRE2 program ---- */

/* The length of a leading global-flags group such as (?iu), 0 when there is none. */
static size_t flags_prefix(const char *py, size_t len)
{
    if (len < 4 || py[0] != '(' || py[1] != '?') return 0;
    size_t i = 2;
    while (i < len && strchr("aiLmsux", py[i]) && py[i]) i++;
    return i > 2 && i < len && py[i] == ')' ? i + 1 : 0;
}

/* Offsets of the top-level `|` of py (outside groups and classes, not escaped): n of them in
 * *bars (malloc'd). -1 when memory runs out. */
static int top_bars(const char *py, size_t len, size_t **bars, size_t *n)
{
    size_t cap = 0, depth = 0;
    *bars = NULL;
    *n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = py[i];
        if (c == '\\') i++;
        else if (c == '[') {
            /* a class: a `]` right after `[` or `[^` is literal */
            i++;
            if (i < len && py[i] == '^') i++;
            if (i < len && py[i] == ']') i++;
            while (i < len && py[i] != ']') i += py[i] == '\\' ? 2 : 1;
        } else if (c == '(') depth++;
        else if (c == ')' && depth) depth--;
        else if (c == '|' && !depth) {
            if (grow_array((void **)bars, &cap, *n + 1, sizeof **bars)) return -1;
            (*bars)[(*n)++] = i;
        }
    }
    return 0;
}

static int any_push(pyre_any *a, pcre2_code *re)
{
    pcre2_code **nc = realloc(a->codes, (a->n + 1) * sizeof *nc);
    if (!nc) return -1;
    a->codes = nc;
    a->codes[a->n++] = re;
    return 0;
}

/* Compiles the flags plus branches [lo, hi) of py (branch k spans starts[k]..starts[k+1]-1),
 * halving the range while PCRE2 finds it too large. */
static int any_range(pyre_any *a, const char *py, size_t nflags, const size_t *starts, size_t lo, size_t hi,
                     char *err, size_t errlen)
{
    size_t from = starts[lo], to = starts[hi] - 1; /* without the `|` after the last branch */
    buf b = {0};
    if (buf_append(&b, py, nflags) || buf_append(&b, py + from, to - from)) {
        buf_free(&b);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int ec;
    pcre2_code *re = compile_ec(b.ptr, b.len, err, errlen, &ec);
    buf_free(&b);
    if (re) {
        if (any_push(a, re)) {
            pcre2_code_free(re);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        return 0;
    }
    if (ec != PCRE2_ERROR_PATTERN_TOO_LARGE || hi - lo < 2) return -1;
    size_t mid = lo + (hi - lo) / 2;
    return any_range(a, py, nflags, starts, lo, mid, err, errlen) || any_range(a, py, nflags, starts, mid, hi, err, errlen)
               ? -1
               : 0;
}

/* Source bytes per program to begin with: French's token_match compiles to about as many bytes as
 * its source, so groups of this size stay under PCRE2's 64 KB program limit (27 programs for
 * its 1.4 MB; a group that does not fit is halved). Fewer programs, fewer calls per token. */
#define PYRE_ANY_CHUNK 60000

int pyre_any_compile(const char *py, size_t len, pyre_any *a, char *err, size_t errlen)
{
    memset(a, 0, sizeof *a);
    int ec;
    pcre2_code *re = compile_ec(py, len, err, errlen, &ec);
    if (re) {
        if (!any_push(a, re)) return 0;
        pcre2_code_free(re);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (ec != PCRE2_ERROR_PATTERN_TOO_LARGE) return -1;
    /* re.match of A|B|C matches where one of A, B, C matches: the branches in several programs */
    size_t nflags = flags_prefix(py, len), *bars, nbars;
    if (top_bars(py + nflags, len - nflags, &bars, &nbars)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    size_t *starts = malloc((nbars + 2) * sizeof *starts);
    int rc = -1;
    if (!starts) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    /* branch k is py[starts[k], starts[k+1] - 1) */
    starts[0] = nflags;
    for (size_t k = 0; k < nbars; k++) starts[k + 1] = nflags + bars[k] + 1;
    starts[nbars + 1] = len + 1;
    for (size_t lo = 0; lo <= nbars;) {
        size_t hi = lo + 1;
        while (hi <= nbars && starts[hi + 1] - starts[lo] < PYRE_ANY_CHUNK) hi++;
        if (any_range(a, py, nflags, starts, lo, hi, err, errlen)) goto out;
        lo = hi;
    }
    rc = 0;
out:
    free(bars);
    free(starts);
    if (rc) pyre_any_free(a);
    return rc;
}

int pyre_any_match(const pyre_any *a, const char *s, size_t len, pcre2_match_data *md)
{
    for (size_t i = 0; i < a->n; i++)
        if (pcre2_match(a->codes[i], (PCRE2_SPTR)s, len, 0, PCRE2_ANCHORED | PCRE2_NO_UTF_CHECK, md, NULL) >= 0)
            return 1;
    return 0;
}

void pyre_any_free(pyre_any *a)
{
    for (size_t i = 0; i < a->n; i++) pcre2_code_free(a->codes[i]);
    free(a->codes);
    memset(a, 0, sizeof *a);
}
