#include "util/json.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- arena ---- */

struct json_chunk {
    json_chunk *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

static void *arena_alloc(json_doc *d, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    json_chunk *c = d->chunks;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > 16384 ? n : 16384;
        c = malloc(sizeof *c + cap);
        if (!c) return NULL;
        c->used = 0;
        c->cap = cap;
        c->next = d->chunks;
        d->chunks = c;
    }
    void *p = c->data + c->used;
    c->used += n;
    return p;
}

void json_doc_free(json_doc *d)
{
    json_chunk *c = d->chunks;
    while (c) {
        json_chunk *n = c->next;
        free(c);
        c = n;
    }
    d->chunks = NULL;
}

/* ---- parser ---- */

typedef struct {
    const unsigned char *p, *start, *end;
    json_doc *doc;
    int max_depth;
    char *err;
    size_t errlen;
    /* scratch stacks for the children of open arrays/objects */
    json_value *vals; size_t nvals, capvals;
    json_member *mems; size_t nmems, capmems;
    buf sbuf;
    int nomem; /* the failure was memory, not the text (json_parse returns JSON_ERR_NOMEM) */
} parser;

static int fail(parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(parser *ps, const char *fmt, ...)
{
    if (ps->err && ps->errlen) {
        char msg[200];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        snprintf(ps->err, ps->errlen, "%s at byte %zu", msg, (size_t)(ps->p - ps->start));
    }
    return -1;
}

static int fail_nomem(parser *ps)
{
    ps->nomem = 1;
    return fail(ps, "out of memory");
}

static void skip_ws(parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static int hex4(const unsigned char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = p[i], d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
        else return -1;
        v = v << 4 | d;
    }
    *out = v;
    return 0;
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if invalid (overlong, surrogate,
 * beyond U+10FFFF, truncated). */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    if (c < 0x80) return 1;
    size_t n;
    unsigned min;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) { n = 2; cp = c & 0x1F; min = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { n = 3; cp = c & 0x0F; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 4; cp = c & 0x07; min = 0x10000; }
    else return 0;
    if ((size_t)(end - p) < n) return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80) return 0;
        cp = cp << 6 | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return n;
}

static int put_utf8(buf *b, uint32_t cp)
{
    char s[4];
    size_t n;
    if (cp < 0x80) { s[0] = (char)cp; n = 1; }
    else if (cp < 0x800) { s[0] = (char)(0xC0 | cp >> 6); s[1] = (char)(0x80 | (cp & 0x3F)); n = 2; }
    else if (cp < 0x10000) {
        s[0] = (char)(0xE0 | cp >> 12); s[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        s[2] = (char)(0x80 | (cp & 0x3F)); n = 3;
    } else {
        s[0] = (char)(0xF0 | cp >> 18); s[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        s[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); s[3] = (char)(0x80 | (cp & 0x3F)); n = 4;
    }
    return buf_append(b, s, n);
}

/* Parses a string literal at ps->p (which is '"'); the result is copied into the arena. */
static int parse_string(parser *ps, const char **out, size_t *outlen)
{
    ps->p++; /* opening quote */
    buf *b = &ps->sbuf;
    buf_clear(b);
    for (;;) {
        /* copy the longest run of plain bytes at once */
        const unsigned char *run = ps->p;
        while (ps->p < ps->end && *ps->p != '"' && *ps->p != '\\' && *ps->p >= 0x20 && *ps->p < 0x80)
            ps->p++;
        if (ps->p > run && buf_append(b, run, (size_t)(ps->p - run))) return fail_nomem(ps);
        if (ps->p >= ps->end) return fail(ps, "unterminated string");
        unsigned c = *ps->p;
        if (c == '"') { ps->p++; break; }
        if (c < 0x20) return fail(ps, "unescaped control character in string");
        if (c >= 0x80) {
            size_t n = utf8_seq(ps->p, ps->end);
            if (!n) return fail(ps, "invalid UTF-8 in string");
            if (buf_append(b, ps->p, n)) return fail_nomem(ps);
            ps->p += n;
            continue;
        }
        /* backslash escape */
        if (ps->end - ps->p < 2) return fail(ps, "unterminated string");
        unsigned e = ps->p[1];
        char ch = 0;
        switch (e) {
        case '"': ch = '"'; break;
        case '\\': ch = '\\'; break;
        case '/': ch = '/'; break;
        case 'b': ch = '\b'; break;
        case 'f': ch = '\f'; break;
        case 'n': ch = '\n'; break;
        case 'r': ch = '\r'; break;
        case 't': ch = '\t'; break;
        case 'u': {
            unsigned u, lo;
            if (ps->end - ps->p < 6 || hex4(ps->p + 2, &u)) return fail(ps, "bad \\u escape");
            ps->p += 6;
            uint32_t cp = u;
            if (u >= 0xD800 && u <= 0xDBFF) {
                if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u' || hex4(ps->p + 2, &lo) ||
                    lo < 0xDC00 || lo > 0xDFFF)
                    return fail(ps, "lone surrogate in \\u escape");
                ps->p += 6;
                cp = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
            } else if (u >= 0xDC00 && u <= 0xDFFF) {
                return fail(ps, "lone surrogate in \\u escape");
            }
            if (put_utf8(b, cp)) return fail_nomem(ps);
            continue;
        }
        default:
            return fail(ps, "bad escape in string");
        }
        if (buf_putc(b, ch)) return fail_nomem(ps);
        ps->p += 2;
    }
    char *s = arena_alloc(ps->doc, b->len + 1);
    if (!s) return fail_nomem(ps);
    if (b->len) memcpy(s, b->ptr, b->len);
    s[b->len] = 0;
    *out = s;
    *outlen = b->len;
    return 0;
}

static int parse_number(parser *ps, double *out)
{
    const unsigned char *s = ps->p;
    if (ps->p < ps->end && *ps->p == '-') ps->p++;
    if (ps->p >= ps->end) return fail(ps, "bad number");
    if (*ps->p == '0') ps->p++;
    else if (*ps->p >= '1' && *ps->p <= '9') while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') ps->p++;
    else return fail(ps, "bad number");
    if (ps->p < ps->end && *ps->p == '.') {
        ps->p++;
        if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9') return fail(ps, "bad number");
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') ps->p++;
    }
    if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
        ps->p++;
        if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-')) ps->p++;
        if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9') return fail(ps, "bad number");
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') ps->p++;
    }
    char tmp[64];
    size_t n = (size_t)(ps->p - s);
    if (n >= sizeof tmp) { /* very long numbers: precision beyond a double is moot */
        char *big = malloc(n + 1);
        if (!big) return fail_nomem(ps);
        memcpy(big, s, n);
        big[n] = 0;
        *out = strtod(big, NULL);
        free(big);
    } else {
        memcpy(tmp, s, n);
        tmp[n] = 0;
        *out = strtod(tmp, NULL);
    }
    return 0;
}

static int parse_value(parser *ps, json_value *v, int depth);

static int push_val(parser *ps, const json_value *v)
{
    if (ps->nvals == ps->capvals) {
        size_t cap = ps->capvals ? ps->capvals * 2 : 64;
        json_value *nv = realloc(ps->vals, cap * sizeof *nv);
        if (!nv) return fail_nomem(ps);
        ps->vals = nv;
        ps->capvals = cap;
    }
    ps->vals[ps->nvals++] = *v;
    return 0;
}

static int push_mem(parser *ps, const json_member *m)
{
    if (ps->nmems == ps->capmems) {
        size_t cap = ps->capmems ? ps->capmems * 2 : 64;
        json_member *nm = realloc(ps->mems, cap * sizeof *nm);
        if (!nm) return fail_nomem(ps);
        ps->mems = nm;
        ps->capmems = cap;
    }
    ps->mems[ps->nmems++] = *m;
    return 0;
}

static int parse_array(parser *ps, json_value *v, int depth)
{
    size_t base = ps->nvals;
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ']') {
        ps->p++;
    } else {
        for (;;) {
            json_value item;
            if (parse_value(ps, &item, depth + 1) || push_val(ps, &item)) return -1;
            skip_ws(ps);
            if (ps->p >= ps->end) return fail(ps, "unterminated array");
            if (*ps->p == ',') { ps->p++; continue; }
            if (*ps->p == ']') { ps->p++; break; }
            return fail(ps, "expected ',' or ']'");
        }
    }
    size_t n = ps->nvals - base;
    v->type = JSON_ARRAY;
    v->u.arr.n = n;
    v->u.arr.items = NULL;
    if (n) {
        v->u.arr.items = arena_alloc(ps->doc, n * sizeof(json_value));
        if (!v->u.arr.items) return fail_nomem(ps);
        memcpy(v->u.arr.items, ps->vals + base, n * sizeof(json_value));
    }
    ps->nvals = base;
    return 0;
}

static int parse_object(parser *ps, json_value *v, int depth)
{
    size_t base = ps->nmems;
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '}') {
        ps->p++;
    } else {
        for (;;) {
            json_member m;
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != '"') return fail(ps, "expected a string key");
            if (parse_string(ps, &m.key, &m.keylen)) return -1;
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':') return fail(ps, "expected ':'");
            ps->p++;
            if (parse_value(ps, &m.val, depth + 1) || push_mem(ps, &m)) return -1;
            skip_ws(ps);
            if (ps->p >= ps->end) return fail(ps, "unterminated object");
            if (*ps->p == ',') { ps->p++; continue; }
            if (*ps->p == '}') { ps->p++; break; }
            return fail(ps, "expected ',' or '}'");
        }
    }
    size_t n = ps->nmems - base;
    v->type = JSON_OBJECT;
    v->u.obj.n = n;
    v->u.obj.items = NULL;
    if (n) {
        v->u.obj.items = arena_alloc(ps->doc, n * sizeof(json_member));
        if (!v->u.obj.items) return fail_nomem(ps);
        memcpy(v->u.obj.items, ps->mems + base, n * sizeof(json_member));
    }
    ps->nmems = base;
    return 0;
}

static int literal(parser *ps, const char *word, json_type t, json_value *v)
{
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n)) return fail(ps, "unexpected character");
    ps->p += n;
    v->type = t;
    return 0;
}

static int parse_value(parser *ps, json_value *v, int depth)
{
    if (depth > ps->max_depth) return fail(ps, "nesting deeper than %d", ps->max_depth);
    skip_ws(ps);
    if (ps->p >= ps->end) return fail(ps, "unexpected end of input");
    memset(v, 0, sizeof *v);
    switch (*ps->p) {
    case '{': return parse_object(ps, v, depth);
    case '[': return parse_array(ps, v, depth);
    case '"':
        v->type = JSON_STRING;
        return parse_string(ps, &v->u.str.ptr, &v->u.str.len);
    case 't': return literal(ps, "true", JSON_TRUE, v);
    case 'f': return literal(ps, "false", JSON_FALSE, v);
    case 'n': return literal(ps, "null", JSON_NULL, v);
    default:
        if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9')) {
            v->type = JSON_NUMBER;
            return parse_number(ps, &v->u.num);
        }
        return fail(ps, "unexpected character");
    }
}

int json_parse(const char *text, size_t len, int max_depth, json_doc *doc, char *err, size_t errlen)
{
    parser ps = {
        .p = (const unsigned char *)text, .start = (const unsigned char *)text,
        .end = (const unsigned char *)text + len, .doc = doc,
        .max_depth = max_depth > 0 ? max_depth : JSON_MAX_DEPTH_DEFAULT, .err = err, .errlen = errlen,
    };
    doc->chunks = NULL;
    memset(&doc->root, 0, sizeof doc->root);
    if (err && errlen) err[0] = 0;
    int rc = text || !len ? parse_value(&ps, &doc->root, 0) : fail(&ps, "no input");
    if (!rc) {
        skip_ws(&ps);
        if (ps.p != ps.end) rc = fail(&ps, "extra data after the value");
    }
    free(ps.vals);
    free(ps.mems);
    buf_free(&ps.sbuf);
    return rc && ps.nomem ? JSON_ERR_NOMEM : rc;
}

const json_value *json_get(const json_value *obj, const char *key)
{
    if (!obj || obj->type != JSON_OBJECT) return NULL;
    size_t kl = strlen(key);
    for (size_t i = obj->u.obj.n; i-- > 0;) {
        const json_member *m = &obj->u.obj.items[i];
        if (m->keylen == kl && !memcmp(m->key, key, kl)) return &m->val;
    }
    return NULL;
}

/* ---- writer ---- */

int json_write_string(buf *b, const char *s, size_t len, int ensure_ascii)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    if (buf_reserve(b, len + 2) || buf_putc(b, '"')) return -1;
    while (p < end) {
        const unsigned char *run = p;
        while (p < end && *p >= 0x20 && *p != '"' && *p != '\\' && (*p < 0x80 || !ensure_ascii)) p++;
        if (p > run && buf_append(b, run, (size_t)(p - run))) return -1;
        if (p >= end) break;
        unsigned c = *p;
        char esc[16];
        int n;
        if (c == '"') n = snprintf(esc, sizeof esc, "\\\"");
        else if (c == '\\') n = snprintf(esc, sizeof esc, "\\\\");
        else if (c == '\n') n = snprintf(esc, sizeof esc, "\\n");
        else if (c == '\r') n = snprintf(esc, sizeof esc, "\\r");
        else if (c == '\t') n = snprintf(esc, sizeof esc, "\\t");
        else if (c == '\b') n = snprintf(esc, sizeof esc, "\\b");
        else if (c == '\f') n = snprintf(esc, sizeof esc, "\\f");
        else if (c < 0x20) n = snprintf(esc, sizeof esc, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
        else {
            /* non-ASCII with ensure_ascii: decode one code point, write \uXXXX (pairs above the BMP) */
            size_t k = utf8_seq(p, end);
            if (!k) return -1;
            uint32_t cp = k == 2 ? (p[0] & 0x1Fu) : k == 3 ? (p[0] & 0x0Fu) : (p[0] & 0x07u);
            for (size_t i = 1; i < k; i++) cp = cp << 6 | (p[i] & 0x3Fu);
            p += k;
            if (cp >= 0x10000) {
                cp -= 0x10000;
                unsigned hi = 0xD800 + (cp >> 10), lo = 0xDC00 + (cp & 0x3FF);
                n = snprintf(esc, sizeof esc, "\\u%04x\\u%04x", hi, lo);
            } else {
                n = snprintf(esc, sizeof esc, "\\u%04x", (unsigned)cp);
            }
            if (buf_append(b, esc, (size_t)n)) return -1;
            continue;
        }
        if (buf_append(b, esc, (size_t)n)) return -1;
        p++;
    }
    return buf_putc(b, '"');
}
