/* fuzz_json.c - libFuzzer target for json_parse: it never crashes, and whatever it accepts
 * survives a round trip: every string (values and keys) re-serialised with json_write_string,
 * both escaping modes, parses back to the same bytes, and so does the whole tree. */
#include "util/json.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define ASSERT(c) do { if (!(c)) __builtin_trap(); } while (0)

static void check_string(const char *s, size_t n)
{
    for (int ascii = 0; ascii < 2; ascii++) {
        buf b = {0};
        ASSERT(json_write_string(&b, s, n, ascii) == 0);
        if (ascii) for (size_t i = 0; i < b.len; i++) ASSERT((unsigned char)b.ptr[i] < 0x80);
        json_doc doc = {0};
        char err[128];
        ASSERT(json_parse(b.ptr, b.len, 4, &doc, err, sizeof err) == 0);
        ASSERT(doc.root.type == JSON_STRING && doc.root.u.str.len == n && !memcmp(doc.root.u.str.ptr, s, n));
        ASSERT(doc.root.u.str.ptr[n] == 0);
        json_doc_free(&doc);
        buf_free(&b);
    }
}

/* Writes v; returns 0 if it holds a number that JSON cannot spell (inf from 1e999). */
static int write_value(buf *b, const json_value *v)
{
    switch (v->type) {
    case JSON_NULL: buf_puts(b, "null"); return 1;
    case JSON_FALSE: buf_puts(b, "false"); return 1;
    case JSON_TRUE: buf_puts(b, "true"); return 1;
    case JSON_NUMBER:
        if (!isfinite(v->u.num)) return 0;
        buf_printf(b, "%.17g", v->u.num);
        return 1;
    case JSON_STRING:
        check_string(v->u.str.ptr, v->u.str.len);
        json_write_string(b, v->u.str.ptr, v->u.str.len, 0);
        return 1;
    case JSON_ARRAY: {
        int ok = 1;
        buf_putc(b, '[');
        for (size_t i = 0; i < v->u.arr.n; i++) {
            if (i) buf_putc(b, ',');
            ok &= write_value(b, &v->u.arr.items[i]);
        }
        buf_putc(b, ']');
        return ok;
    }
    case JSON_OBJECT: {
        int ok = 1;
        buf_putc(b, '{');
        for (size_t i = 0; i < v->u.obj.n; i++) {
            const json_member *m = &v->u.obj.items[i];
            if (i) buf_putc(b, ',');
            check_string(m->key, m->keylen);
            json_write_string(b, m->key, m->keylen, 1);
            buf_putc(b, ':');
            ok &= write_value(b, &m->val);
        }
        buf_putc(b, '}');
        return ok;
    }
    }
    ASSERT(0);
    return 0;
}

static int same(const json_value *a, const json_value *b)
{
    if (a->type != b->type) return 0;
    switch (a->type) {
    case JSON_NUMBER: return a->u.num == b->u.num;
    case JSON_STRING: return a->u.str.len == b->u.str.len && !memcmp(a->u.str.ptr, b->u.str.ptr, a->u.str.len);
    case JSON_ARRAY:
        if (a->u.arr.n != b->u.arr.n) return 0;
        for (size_t i = 0; i < a->u.arr.n; i++) if (!same(&a->u.arr.items[i], &b->u.arr.items[i])) return 0;
        return 1;
    case JSON_OBJECT:
        if (a->u.obj.n != b->u.obj.n) return 0;
        for (size_t i = 0; i < a->u.obj.n; i++) {
            const json_member *x = &a->u.obj.items[i], *y = &b->u.obj.items[i];
            if (x->keylen != y->keylen || memcmp(x->key, y->key, x->keylen) || !same(&x->val, &y->val)) return 0;
        }
        return 1;
    default: return 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_doc doc = {0};
    char err[128];
    err[0] = 0;
    int rc = json_parse((const char *)data, size, 16, &doc, err, sizeof err);
    ASSERT(rc == 0 || (rc == -1 && err[0] && memchr(err, 0, sizeof err)));
    if (rc == 0) {
        buf b = {0};
        if (write_value(&b, &doc.root)) {
            json_doc again = {0};
            ASSERT(json_parse(b.ptr ? b.ptr : "", b.len, 16, &again, err, sizeof err) == 0);
            ASSERT(same(&doc.root, &again.root));
            json_doc_free(&again);
        }
        buf_free(&b);
    }
    json_doc_free(&doc);
    return 0;
}
