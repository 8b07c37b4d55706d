#include "text/lexeme.h"
#include "text/hash.h"
#include "text/pystr.h"
#include "modelfile/modelfile.h"

#include <stdio.h>
#include <string.h>

nerd_status lex_norms_load(lex_norms *n, const char *path, char *err, size_t errlen)
{
    memset(n, 0, sizeof *n);
    mf_msgpack mp;
    nerd_status rc = mf_msgpack_read(&mp, path, "a spaCy lookups file", MSGPACK_OBJECT_MAP, err, errlen);
    if (rc != NERD_OK) goto out;
    const msgpack_object *table = mf_map_get(mp.root, "lexeme_norm");
    if (table && table->type != MSGPACK_OBJECT_MAP) {
        snprintf(err, errlen, "%s: lexeme_norm is not a table", path);
        rc = NERD_ERR_FORMAT;
        goto out;
    }
    rc = NERD_ERR_NOMEM;
    if (u64map_init(&n->by_hash, table ? table->via.map.size : 16)) goto oom;
    for (uint32_t i = 0; table && i < table->via.map.size; i++) {
        const msgpack_object *k = &table->via.map.ptr[i].key, *v = &table->via.map.ptr[i].val;
        const char *vs;
        size_t vl;
        if (k->type != MSGPACK_OBJECT_POSITIVE_INTEGER || mf_str(v, &vs, &vl)) continue;
        uint32_t at = (uint32_t)n->pool.len;
        /* stored as length-prefixed strings */
        uint32_t l32 = (uint32_t)vl;
        if (buf_append(&n->pool, &l32, 4) || buf_append(&n->pool, vs, vl) || u64map_put(&n->by_hash, k->via.u64, at))
            goto oom;
    }
    rc = NERD_OK;
    goto out;
oom:
    snprintf(err, errlen, "%s: out of memory", path);
out:
    mf_msgpack_free(&mp);
    if (rc != NERD_OK) lex_norms_free(n);
    return rc;
}

void lex_norms_free(lex_norms *n)
{
    u64map_free(&n->by_hash);
    buf_free(&n->pool);
}

/* spaCy's language-independent norm exceptions (BASE_NORMS in spacy/lang/norm_exceptions.py),
 * consulted after the model's lexeme_norm table and before lowercasing. */
typedef struct { const char *from, *to; uint8_t from_len, to_len; } base_norm;
#define N(a, b) {a, b, sizeof(a) - 1, sizeof(b) - 1}
static const base_norm base_norms[] = {
    N("'s", "'s"), N("'S", "'s"), N("\u2019s", "'s"), N("\u2019S", "'s"), N("\u2019", "'"),
    N("\u2018", "'"), N("\u00b4", "'"), N("`", "'"), N("\u201d", "\""), N("\u201c", "\""), N("''", "\""),
    N("``", "\""), N("\u00b4\u00b4", "\""), N("\u201e", "\""), N("\u00bb", "\""), N("\u00ab", "\""),
    N("\u2018\u2018", "\""), N("\u2019\u2019", "\""), N("\uff1f", "?"), N("\uff01", "!"), N("\uff0c", ","),
    N("\uff1b", ";"), N("\uff1a", ":"), N("\u3002", "."), N("\u0964", "."), N("\u2026", "..."),
    N("\u2014", "-"), N("\u2013", "-"), N("--", "-"), N("---", "-"), N("\u2014\u2014", "-"),
    N("\u20ac", "$"), N("\u00a3", "$"), N("\u00a5", "$"), N("\u0e3f", "$"), N("US$", "$"), N("C$", "$"),
    N("A$", "$"), N("\u20ba", "$"), N("\u20b9", "$"), N("\u09f3", "$"), N("\u20a9", "$"), N("Mex$", "$"),
    N("\u20a3", "$"), N("E\u00a3", "$"),
};
#undef N
#define BASE_NORM_MAX_LEN 6 /* bytes of the longest key: a doubled dash or quote */

const char *lex_norms_get(const lex_norms *n, const char *s, size_t len, size_t *normlen)
{
    uint32_t at;
    if (!n->pool.len || !u64map_get(&n->by_hash, nerd_string_hash(s, len), &at)) {
        if (len > BASE_NORM_MAX_LEN) return NULL;
        for (size_t i = 0; i < sizeof base_norms / sizeof base_norms[0]; i++)
            if (base_norms[i].from_len == len && !memcmp(base_norms[i].from, s, len)) {
                *normlen = base_norms[i].to_len;
                return base_norms[i].to;
            }
        return NULL;
    }
    uint32_t l32;
    memcpy(&l32, n->pool.ptr + at, 4);
    *normlen = l32;
    return n->pool.ptr + at + 4;
}

int lex_shape(const char *s, size_t len, buf *out)
{
    if (py_utf8_count(s, len) >= 100) return buf_puts(out, "LONG");
    uint32_t last = 0xFFFFFFFF;
    int seq = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = py_utf8_next(s + i, len - i, &cp);
        if (!n) return -1;
        uint32_t shape;
        if (py_isalpha(cp)) shape = py_isupper(cp) ? 'X' : 'x';
        else if (py_isdigit(cp)) shape = 'd';
        else shape = cp;
        if (shape == last) seq++;
        else { seq = 0; last = shape; }
        if (seq < 4) {
            if (shape == cp) { if (buf_append(out, s + i, n)) return -1; }
            else if (buf_putc(out, (char)shape)) return -1;
        }
        i += n;
    }
    return 0;
}
