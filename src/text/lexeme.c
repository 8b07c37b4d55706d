#include "text/lexeme.h"
#include "text/hash.h"
#include "text/pystr.h"
#include "modelfile/modelfile.h"

#include <stdio.h>
#include <string.h>

nerd_status lex_norms_load(lex_norms *n, const char *path, char *err, size_t errlen)
{
    memset(n, 0, sizeof *n);
    n->cache_owner = key_cache_new_owner();
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

/* ---- a token's attributes, through the word cache ---- */

/* a cached word: this header, then the norm's bytes, then the shape's */
typedef struct {
    uint64_t norm_hash, prefix_hash, suffix_hash, shape_hash;
    uint32_t nchars;
    uint8_t is_space, prefix_len, suffix_len, norm_len, shape_len;
} word_val;

enum {
    WORD_KEY_MAX = 32,       /* bytes: longer tokens are computed each time */
    WORD_STRS_MAX = 64,      /* bytes of norm and shape together (a shape is at most its word's bytes) */
};
static const uint64_t WORD_HASH_SEED = 0x776f7264; /* any seed: the keys are compared in full */

void lex_word_cache(key_cache *c, size_t entries)
{
    key_cache_setup(c, entries, WORD_KEY_MAX, sizeof(word_val) + WORD_STRS_MAX);
}

static int compute_attrs(const lex_norms *n, const char *s, size_t len, const char *norm, size_t nl, buf *strs,
                         lex_attrs *a)
{
    a->nchars = (uint32_t)py_utf8_count(s, len);
    a->is_space = (uint8_t)py_str_isspace(s, len);
    a->norm_off = (uint32_t)strs->len;
    if (!norm) norm = lex_norms_get(n, s, len, &nl);
    if (norm ? buf_append(strs, norm, nl) : py_lower(s, len, strs)) return -1;
    a->norm_len = (uint32_t)(strs->len - a->norm_off);
    a->shape_off = (uint32_t)strs->len;
    if (lex_shape(s, len, strs)) return -1;
    a->shape_len = (uint32_t)(strs->len - a->shape_off);
    size_t p = 1;
    while (p < len && ((unsigned char)s[p] & 0xC0) == 0x80) p++;
    size_t k = len, c3 = 0;
    while (k > 0 && c3 < 3) {
        k--;
        if (((unsigned char)s[k] & 0xC0) != 0x80) c3++;
    }
    a->prefix_len = (uint8_t)p;
    a->suffix_len = (uint8_t)(len - k);
    a->norm_hash = nerd_string_hash(strs->ptr + a->norm_off, a->norm_len);
    a->prefix_hash = nerd_string_hash(s, a->prefix_len);
    a->suffix_hash = nerd_string_hash(s + len - a->suffix_len, a->suffix_len);
    a->shape_hash = nerd_string_hash(strs->ptr + a->shape_off, a->shape_len);
    return 0;
}

int lex_attrs_of(const lex_norms *n, key_cache *cache, const char *s, size_t len, const char *special_norm,
                 size_t special_norm_len, buf *strs, lex_attrs *a)
{
    /* a special case's norm belongs to the token's place in the text, not to its bytes */
    if (special_norm || !cache || !cache->nslots || len > WORD_KEY_MAX)
        return compute_attrs(n, s, len, special_norm, special_norm_len, strs, a);
    const uint64_t h = murmur64a(s, len, WORD_HASH_SEED);
    size_t vlen;
    const unsigned char *hit = key_cache_get(cache, n->cache_owner, s, len, h, &vlen);
    word_val w;
    if (hit) {
        memcpy(&w, hit, sizeof w);
        *a = (lex_attrs){w.nchars, w.is_space, w.prefix_len, w.suffix_len, (uint32_t)strs->len, w.norm_len,
                         (uint32_t)strs->len + w.norm_len, w.shape_len, w.norm_hash, w.prefix_hash, w.suffix_hash,
                         w.shape_hash};
        return buf_append(strs, hit + sizeof w, (size_t)w.norm_len + w.shape_len);
    }
    if (compute_attrs(n, s, len, NULL, 0, strs, a)) return -1;
    const size_t nstrs = (size_t)a->norm_len + a->shape_len;
    unsigned char *slot = nstrs <= WORD_STRS_MAX ? key_cache_put(cache, n->cache_owner, s, len, h, sizeof w + nstrs) : NULL;
    if (slot) {
        w = (word_val){a->norm_hash, a->prefix_hash, a->suffix_hash, a->shape_hash, a->nchars, a->is_space,
                       a->prefix_len, a->suffix_len, (uint8_t)a->norm_len, (uint8_t)a->shape_len};
        memcpy(slot, &w, sizeof w);
        memcpy(slot + sizeof w, strs->ptr + a->norm_off, nstrs); /* norm then shape, adjacent in strs */
    }
    return 0;
}
