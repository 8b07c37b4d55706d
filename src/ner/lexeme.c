#include "ner/lexeme.h"
#include "ner/hash.h"
#include "ner/pystr.h"

#include <errno.h>
#include <msgpack.h>
#include <stdio.h>
#include <string.h>

int lex_norms_load(lex_norms *n, const char *path, char *err, size_t errlen)
{
    memset(n, 0, sizeof *n);
    FILE *f = fopen(path, "rb");
    if (!f) { snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno)); return -1; }
    buf raw = {0};
    char chunk[65536];
    size_t r;
    while ((r = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (buf_append(&raw, chunk, r)) break;
    fclose(f);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    int rc = -1;
    if (!raw.len || msgpack_unpack_next(&up, raw.ptr, raw.len, &off) != MSGPACK_UNPACK_SUCCESS ||
        up.data.type != MSGPACK_OBJECT_MAP) {
        snprintf(err, errlen, "%s: not a spaCy lookups file (truncated or corrupt msgpack)", path);
        goto out;
    }
    const msgpack_object *table = NULL;
    for (uint32_t i = 0; i < up.data.via.map.size; i++) {
        const msgpack_object *k = &up.data.via.map.ptr[i].key;
        const char *ks = k->type == MSGPACK_OBJECT_STR ? k->via.str.ptr : k->type == MSGPACK_OBJECT_BIN ? k->via.bin.ptr : NULL;
        size_t kl = k->type == MSGPACK_OBJECT_STR ? k->via.str.size : k->via.bin.size;
        if (ks && kl == 11 && !memcmp(ks, "lexeme_norm", 11)) table = &up.data.via.map.ptr[i].val;
    }
    if (u64map_init(&n->by_hash, table && table->type == MSGPACK_OBJECT_MAP ? table->via.map.size : 16)) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    if (table && table->type != MSGPACK_OBJECT_MAP) {
        snprintf(err, errlen, "%s: lexeme_norm is not a table", path);
        goto out;
    }
    for (uint32_t i = 0; table && i < table->via.map.size; i++) {
        const msgpack_object *k = &table->via.map.ptr[i].key, *v = &table->via.map.ptr[i].val;
        if (k->type != MSGPACK_OBJECT_POSITIVE_INTEGER) continue;
        const char *vs = v->type == MSGPACK_OBJECT_STR ? v->via.str.ptr : v->type == MSGPACK_OBJECT_BIN ? v->via.bin.ptr : NULL;
        size_t vl = v->type == MSGPACK_OBJECT_STR ? v->via.str.size : v->via.bin.size;
        if (!vs) continue;
        uint32_t at = (uint32_t)n->pool.len;
        /* stored as length-prefixed strings */
        uint32_t l32 = (uint32_t)vl;
        if (buf_append(&n->pool, &l32, 4) || buf_append(&n->pool, vs, vl) || u64map_put(&n->by_hash, k->via.u64, at)) {
            snprintf(err, errlen, "out of memory");
            goto out;
        }
    }
    rc = 0;
out:
    msgpack_unpacked_destroy(&up);
    buf_free(&raw);
    if (rc) lex_norms_free(n);
    return rc;
}

void lex_norms_free(lex_norms *n)
{
    u64map_free(&n->by_hash);
    buf_free(&n->pool);
}

/* spaCy's language-independent norm exceptions (BASE_NORMS in spacy/lang/norm_exceptions.py),
 * consulted after the model's lexeme_norm table and before lowercasing. */
static const char *const base_norms[][2] = {
    {"'s", "'s"}, {"'S", "'s"}, {"\u2019s", "'s"}, {"\u2019S", "'s"}, {"\u2019", "'"}, {"\u2018", "'"},
    {"\u00b4", "'"}, {"`", "'"}, {"\u201d", "\""}, {"\u201c", "\""}, {"''", "\""}, {"``", "\""},
    {"\u00b4\u00b4", "\""}, {"\u201e", "\""}, {"\u00bb", "\""}, {"\u00ab", "\""}, {"\u2018\u2018", "\""},
    {"\u2019\u2019", "\""}, {"\uff1f", "?"}, {"\uff01", "!"}, {"\uff0c", ","}, {"\uff1b", ";"},
    {"\uff1a", ":"}, {"\u3002", "."}, {"\u0964", "."}, {"\u2026", "..."}, {"\u2014", "-"}, {"\u2013", "-"},
    {"--", "-"}, {"---", "-"}, {"\u2014\u2014", "-"}, {"\u20ac", "$"}, {"\u00a3", "$"}, {"\u00a5", "$"},
    {"\u0e3f", "$"}, {"US$", "$"}, {"C$", "$"}, {"A$", "$"}, {"\u20ba", "$"}, {"\u20b9", "$"},
    {"\u09f3", "$"}, {"\u20a9", "$"}, {"Mex$", "$"}, {"\u20a3", "$"}, {"E\u00a3", "$"},
};

const char *lex_norms_get(const lex_norms *n, const char *s, size_t len, size_t *normlen)
{
    uint32_t at;
    if (!n->pool.len || !u64map_get(&n->by_hash, nerd_string_hash(s, len), &at)) {
        for (size_t i = 0; i < sizeof base_norms / sizeof base_norms[0]; i++)
            if (strlen(base_norms[i][0]) == len && !memcmp(base_norms[i][0], s, len)) {
                *normlen = strlen(base_norms[i][1]);
                return base_norms[i][1];
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
