/* pyre_tail.c - where a match of an end-anchored pattern (spaCy's suffix_search: every branch
 * ends in `$`) can start, so that a search need not try every position of the string.
 *
 * Python's re.search tries positions 0, 1, 2, ... and PCRE2 from a start offset tries the same
 * positions from there, seeing the characters before the offset for lookbehinds. So starting
 * at any offset at or before the first position where a match can begin gives the same match.
 * A branch ending in `$` consumes the characters from its start to the end of the string: a
 * branch of bounded width w (in characters) starts within the last w characters; a branch of
 * unbounded width consumes only characters its atoms can match, so it starts within the
 * longest run at the end of characters that one of its atoms matches. Anything the analysis
 * does not understand (flags, backreferences, unknown escapes) leaves the pattern unbounded. */
#include "text/pyre.h"

#include <string.h>

/* A bounded branch wider than this is treated as unbounded: its window would be no help. */
enum { TAIL_MAX_WIDTH = 1 << 16 };

typedef struct {
    const char *p;
    size_t n, i;
    int fail;       /* a construct outside the analysis: the pattern gets no bound */
    int nomem;      /* with fail: memory ran out, which pyre_tail_init reports (no silent slow path) */
    int lookaround; /* depth inside lookarounds, whose characters are not consumed */
    buf *atoms;     /* the consuming atoms of the current top-level branch, '|'-separated */
} tail_parser;

typedef struct {
    size_t max;    /* the most characters a match consumes (when not unbounded) */
    int unbounded;
    int ends;      /* every match ends at an end anchor ($, \z, \Z) */
} width;

static width seq_width(tail_parser *tp);

static int is_cont(unsigned char c) { return (c & 0xC0) == 0x80; }

static size_t add_width(size_t a, size_t b) { return a + b > TAIL_MAX_WIDTH ? TAIL_MAX_WIDTH + 1 : a + b; }

/* alternation up to ')' or the end */
static width alt_width(tail_parser *tp)
{
    width w = seq_width(tp);
    while (!tp->fail && tp->i < tp->n && tp->p[tp->i] == '|') {
        tp->i++;
        width b = seq_width(tp);
        if (b.max > w.max) w.max = b.max;
        w.unbounded |= b.unbounded;
        w.ends &= b.ends;
    }
    return w;
}

/* after "(": the group's kind, its contents and ')' */
static width group_width(tail_parser *tp)
{
    const char *p = tp->p;
    int look = 0;
    if (tp->i < tp->n && p[tp->i] == '?') {
        const char *q = p + tp->i + 1;
        size_t left = tp->n - tp->i - 1;
        if (left >= 1 && (q[0] == ':' || q[0] == '>')) tp->i += 2;
        else if (left >= 1 && (q[0] == '=' || q[0] == '!')) tp->i += 2, look = 1;
        else if (left >= 2 && q[0] == '<' && (q[1] == '=' || q[1] == '!')) tp->i += 3, look = 1;
        else if (left >= 2 && (q[0] == '<' || (q[0] == 'P' && q[1] == '<'))) { /* a named group */
            const char *close = memchr(q, '>', left);
            if (!close) { tp->fail = 1; return (width){0, 0, 0}; }
            tp->i = (size_t)(close - p) + 1;
        } else { /* flags, comments, conditionals, backreferences by name */
            tp->fail = 1;
            return (width){0, 0, 0};
        }
    }
    tp->lookaround += look;
    width w = alt_width(tp);
    tp->lookaround -= look;
    if (tp->i >= tp->n || p[tp->i] != ')') { tp->fail = 1; return w; }
    tp->i++;
    return look ? (width){0, 0, 0} : w;
}

/* after '\\': one escape; *consumes is set when it matches exactly one character */
static width escape_width(tail_parser *tp, int *consumes)
{
    if (tp->i >= tp->n) { tp->fail = 1; return (width){0, 0, 0}; }
    const char *p = tp->p;
    unsigned char e = (unsigned char)p[tp->i++];
    if (e == 'x' || e == 'p' || e == 'P') { /* \x{hex} \xhh \p{prop} \pL */
        if (tp->i < tp->n && p[tp->i] == '{') {
            const char *close = memchr(p + tp->i, '}', tp->n - tp->i);
            if (!close) { tp->fail = 1; return (width){0, 0, 0}; }
            tp->i = (size_t)(close - p) + 1;
        } else if (e == 'x') {
            for (int k = 0; k < 2 && tp->i < tp->n && strchr("0123456789abcdefABCDEF", p[tp->i]); k++) tp->i++;
        } else if (tp->i < tp->n) {
            tp->i++; /* a one-letter property */
        }
        *consumes = 1;
        return (width){1, 0, 0};
    }
    if (e == 'z' || e == 'Z') return (width){0, 0, 1};
    if (e == 'b' || e == 'B' || e == 'A' || e == 'G') return (width){0, 0, 0};
    if (e == '0') { /* octal */
        for (int k = 0; k < 2 && tp->i < tp->n && p[tp->i] >= '0' && p[tp->i] <= '7'; k++) tp->i++;
        *consumes = 1;
        return (width){1, 0, 0};
    }
    if (e < 0x80 && ((e >= '0' && e <= '9') || ((e | 0x20) >= 'a' && (e | 0x20) <= 'z'))) {
        if (!strchr("dDwWsShHvVtnrfae", e)) { tp->fail = 1; return (width){0, 0, 0}; } /* backreferences, \X, \R, \K, \Q... */
        *consumes = 1;
        return (width){1, 0, 0};
    }
    while (tp->i < tp->n && is_cont((unsigned char)p[tp->i])) tp->i++; /* an escaped literal */
    *consumes = 1;
    return (width){1, 0, 0};
}

/* a quantifier after an atom, if any: {min, max or SIZE_MAX}; 0 when there is none */
static int quantifier(tail_parser *tp, size_t *qmax)
{
    const char *p = tp->p;
    size_t i = tp->i;
    if (i >= tp->n) return 0;
    if (p[i] == '*' || p[i] == '+') { *qmax = SIZE_MAX; i++; }
    else if (p[i] == '?') { *qmax = 1; i++; }
    else if (p[i] == '{') {
        size_t j = i + 1, lo = 0, hi;
        if (j < tp->n && p[j] == ',') { tp->fail = 1; return 0; } /* "{,n}": Python and PCRE2 10.42 disagree */
        if (j >= tp->n || p[j] < '0' || p[j] > '9') return 0;   /* a literal '{' */
        while (j < tp->n && p[j] >= '0' && p[j] <= '9') lo = lo * 10 + (size_t)(p[j++] - '0');
        hi = lo;
        if (j < tp->n && p[j] == ',') {
            j++;
            if (j < tp->n && p[j] >= '0' && p[j] <= '9') {
                hi = 0;
                while (j < tp->n && p[j] >= '0' && p[j] <= '9') hi = hi * 10 + (size_t)(p[j++] - '0');
            } else {
                hi = SIZE_MAX;
            }
        }
        if (j >= tp->n || p[j] != '}') return 0;
        *qmax = hi > TAIL_MAX_WIDTH && hi != SIZE_MAX ? TAIL_MAX_WIDTH + 1 : hi;
        i = j + 1;
    } else {
        return 0;
    }
    if (i < tp->n && (p[i] == '?' || p[i] == '+')) i++; /* lazy, possessive: same widths */
    tp->i = i;
    return 1;
}

static width seq_width(tail_parser *tp)
{
    width w = {0, 0, 0};
    const char *p = tp->p;
    while (!tp->fail && tp->i < tp->n && p[tp->i] != '|' && p[tp->i] != ')') {
        size_t start = tp->i;
        unsigned char c = (unsigned char)p[tp->i++];
        int consumes = 0;
        width a = {0, 0, 0};
        if (c == '(') a = group_width(tp);
        else if (c == '\\') a = escape_width(tp, &consumes);
        else if (c == '$') a.ends = 1;
        else if (c == '^') {} /* zero width */
        else if (c == '*' || c == '+' || c == '?') tp->fail = 1;
        else {
            if (c == '[') { /* a class: a leading ']' is literal; '[' inside is escaped (pyre_translate) */
                if (tp->i < tp->n && p[tp->i] == '^') tp->i++;
                if (tp->i < tp->n && p[tp->i] == ']') tp->i++;
                while (tp->i < tp->n && p[tp->i] != ']') tp->i += p[tp->i] == '\\' ? 2 : 1;
                if (tp->i >= tp->n) { tp->fail = 1; break; }
                tp->i++;
            } else {
                while (tp->i < tp->n && is_cont((unsigned char)p[tp->i])) tp->i++;
            }
            a.max = 1;
            consumes = 1;
        }
        if (tp->fail) break;
        if (consumes && !tp->lookaround &&
            ((tp->atoms->len && buf_putc(tp->atoms, '|')) || buf_append(tp->atoms, p + start, tp->i - start))) {
            tp->fail = tp->nomem = 1;
            break;
        }
        size_t qmax;
        if (quantifier(tp, &qmax)) {
            a.ends = 0;
            if (qmax == SIZE_MAX) a.unbounded |= a.max > 0;
            else a.max = qmax > TAIL_MAX_WIDTH || a.max * qmax > TAIL_MAX_WIDTH ? TAIL_MAX_WIDTH + 1 : a.max * qmax;
        }
        w.max = add_width(w.max, a.max);
        w.unbounded |= a.unbounded;
        w.ends = a.ends; /* the last item decides */
    }
    if (w.max > TAIL_MAX_WIDTH) w.unbounded = 1;
    return w;
}

int pyre_tail_init(const char *py, size_t len, pyre_tail *t)
{
    memset(t, 0, sizeof *t);
    buf pat = {0}, branch = {0}, run = {0};
    char err[256];
    int rc = 0;
    int translated = pyre_translate(py, len, &pat, err, sizeof err);
    if (translated) { /* pyre_compile reports a pattern it cannot translate; out of memory is ours */
        rc = translated == PYRE_NOMEM ? -1 : 0;
        goto out;
    }
    tail_parser tp = {pat.ptr, pat.len, 0, 0, 0, 0, &branch};
    int any_unbounded = 0;
    size_t max_chars = 0;
    for (;;) { /* the top-level branches */
        buf_clear(&branch);
        width w = seq_width(&tp);
        if (tp.fail || !w.ends) {
            rc = tp.nomem ? -1 : 0;
            goto out;
        }
        if (w.unbounded) {
            any_unbounded = 1;
            if ((run.len && buf_putc(&run, '|')) || buf_append(&run, branch.ptr, branch.len)) { rc = -1; goto out; }
        } else if (w.max > max_chars) {
            max_chars = w.max;
        }
        if (tp.i >= tp.n) break;
        if (tp.p[tp.i] != '|') goto out; /* an unbalanced ')' */
        tp.i++;
    }
    if (any_unbounded) {
        buf one = {0};
        if (buf_printf(&one, "(?:%.*s)", (int)run.len, run.len ? run.ptr : "")) { rc = -1; goto out; }
        int ec;
        PCRE2_SIZE eo;
        t->run_char = pcre2_compile((PCRE2_SPTR)one.ptr, one.len, PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK, &ec, &eo, NULL);
        buf_free(&one);
        if (!t->run_char) { /* only out of memory, for atoms of a pattern that compiled */
            rc = ec == PCRE2_ERROR_HEAP_FAILED ? -1 : 0;
            goto out;
        }
        pcre2_jit_compile(t->run_char, PCRE2_JIT_COMPLETE);
    }
    t->max_chars = max_chars;
    t->bounded = 1;
out:
    buf_free(&pat);
    buf_free(&branch);
    buf_free(&run);
    return rc;
}

size_t pyre_tail_from(const pyre_tail *t, const char *s, size_t len, pcre2_match_data *md)
{
    if (!t->bounded || (len && s[len - 1] == '\n')) return 0; /* `$` also matches before a final newline */
    size_t from = len;
    for (size_t k = t->max_chars; k && from > 0; k--)
        while (--from > 0 && is_cont((unsigned char)s[from])) {}
    if (t->run_char) {
        size_t run = len; /* start of the characters at the end that an unbounded branch can consume */
        while (run > 0) {
            size_t c = run - 1;
            while (c > 0 && is_cont((unsigned char)s[c])) c--;
            int rc = pcre2_match(t->run_char, (PCRE2_SPTR)s, len, c, PCRE2_ANCHORED | PCRE2_NO_UTF_CHECK, md, NULL);
            if (rc == PCRE2_ERROR_NOMEMORY) return 0; /* the search from the start is always right */
            if (rc < 0) break;
            run = c;
        }
        if (run < from) from = run;
    }
    return from;
}

void pyre_tail_free(pyre_tail *t)
{
    pcre2_code_free(t->run_char);
    memset(t, 0, sizeof *t);
}
