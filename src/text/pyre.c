#include "text/pyre.h"

#include <stdio.h>
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

pcre2_code *pyre_compile(const char *py, size_t len, char *err, size_t errlen)
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
    if (!re && ec == PCRE2_ERROR_HEAP_FAILED) {
        snprintf(err, errlen, "out of memory");
    } else if (!re) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(ec, msg, sizeof msg);
        snprintf(err, errlen, "pattern does not compile at offset %zu: %s", (size_t)eo, (char *)msg);
    } else {
        pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* falls back to the interpreter if JIT is absent */
    }
    buf_free(&b);
    return re;
}
