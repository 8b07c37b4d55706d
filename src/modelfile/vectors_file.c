/* vectors_file.c - vocab/vectors (.npy, mapped), vocab/key2row (msgpack, read into sorted
 * arrays), vocab/vectors.cfg (JSON), as spaCy's Vectors.from_disk reads them. */
#include "modelfile/vectors_file.h"
#include "modelfile/modelfile.h"
#include "text/hash.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct { int id; const char *name; } key_attrs[] = {
    {VEC_ATTR_ORTH, "ORTH"}, {VEC_ATTR_LOWER, "LOWER"}, {VEC_ATTR_NORM, "NORM"},
};
#define NKEY_ATTRS (sizeof key_attrs / sizeof *key_attrs)

const char *vec_attr_name(int attr)
{
    for (size_t i = 0; i < NKEY_ATTRS; i++)
        if (key_attrs[i].id == attr) return key_attrs[i].name;
    return "?";
}

const char *vec_mode_name(vec_mode m) { return m == VEC_MODE_FLORET ? "floret" : "default"; }

/* ---- vocab/vectors: the .npy header, then the data mapped where it lies ---- */

/* The value text after 'key': in the header dict, or NULL. */
static const char *npy_field(const char *hdr, size_t n, const char *key)
{
    size_t kl = strlen(key);
    for (size_t i = 0; i + kl + 2 < n; i++)
        if ((hdr[i] == '\'' || hdr[i] == '"') && !memcmp(hdr + i + 1, key, kl) && hdr[i + 1 + kl] == hdr[i]) {
            const char *p = hdr + i + kl + 2;
            while (p < hdr + n && (*p == ' ' || *p == ':')) p++;
            return p;
        }
    return NULL;
}

static nerd_status map_npy(const char *path, vec_table *vt, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "%s: %s", path, e == ENOENT ? "no such file" : strerror(e));
        return e == ENOENT || e == ENOTDIR ? NERD_ERR_NOT_FOUND : NERD_ERR_IO;
    }
    struct stat sb;
    if (fstat(fd, &sb) || !S_ISREG(sb.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        close(fd);
        return NERD_ERR_IO;
    }
    size_t len = (size_t)sb.st_size;
    void *map = len ? mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0) : MAP_FAILED;
    close(fd);
    if (map == MAP_FAILED) {
        snprintf(err, errlen, "%s: %s", path, len ? "cannot be mapped" : "empty");
        return len ? NERD_ERR_IO : NERD_ERR_FORMAT;
    }
    vt->file_map = map;
    vt->file_map_len = len;
    const unsigned char *b = map;
    /* magic, version, header length (2 bytes in 1.x, 4 in 2.x and 3.x), then the dict */
    size_t hl = 0, off = 0;
    if (len >= 12 && !memcmp(b, "\x93NUMPY", 6) && b[6] >= 1 && b[6] <= 3) {
        hl = b[6] == 1 ? (size_t)b[8] | (size_t)b[9] << 8 : (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
        off = (b[6] == 1 ? 10 : 12) + hl;
    }
    if (!off || off > len) {
        snprintf(err, errlen, "%s: not a .npy file", path);
        return NERD_ERR_FORMAT;
    }
    const char *hdr = (const char *)b + (off - hl);
    const char *descr = npy_field(hdr, hl, "descr"), *fo = npy_field(hdr, hl, "fortran_order"),
               *shape = npy_field(hdr, hl, "shape");
    unsigned long long r = 0, c = 0;
    if (!descr || !fo || !shape || sscanf(shape, "(%llu, %llu)", &r, &c) != 2) {
        snprintf(err, errlen, "%s: a .npy header without a 2-d shape", path);
        return NERD_ERR_FORMAT;
    }
    /* the only layout mapped as it is; spaCy's to_disk writes it (byte_order "<", float32) */
    if (strncmp(descr + 1, "<f4", 3) || strncmp(fo, "False", 5) || off % sizeof(float)) {
        snprintf(err, errlen, "%s: a vectors table of dtype %.3s%s is not supported (nerd maps float32 little-endian C order)",
                 path, descr + 1, strncmp(fo, "False", 5) ? ", Fortran order" : "");
        return NERD_ERR_UNSUPPORTED;
    }
    /* (0, 0) is spaCy's empty table (sm models ship one): loaded, and refused by its user */
    if (c > 4096 || (c && r > (len - off) / sizeof(float) / c) || (len - off) != r * c * sizeof(float)) {
        snprintf(err, errlen, "%s: shape (%llu, %llu) does not match its %zu bytes of data", path, r, c, len - off);
        return NERD_ERR_FORMAT;
    }
    vt->data = (const float *)(b + off);
    vt->rows = (size_t)r;
    vt->dims = (int)c;
    return NERD_OK;
}

/* ---- vocab/key2row: {key: row}, unpacked by hand (msgpack-c's objects for 700,000 pairs
 * would cost more than the table) ---- */

typedef struct { const unsigned char *p, *end; } mp_cursor;

static int mp_be(mp_cursor *c, int n, uint64_t *v)
{
    if (c->end - c->p < n) return -1;
    *v = 0;
    for (int i = 0; i < n; i++) *v = *v << 8 | c->p[i];
    c->p += n;
    return 0;
}

/* A non-negative integer (any msgpack width); -1 for anything else. */
static int mp_uint(mp_cursor *c, uint64_t *v)
{
    if (c->p >= c->end) return -1;
    unsigned t = *c->p++;
    if (t <= 0x7f) return *v = t, 0;
    static const struct { unsigned char tag; int bytes, is_signed; } ints[] = {
        {0xcc, 1, 0}, {0xcd, 2, 0}, {0xce, 4, 0}, {0xcf, 8, 0}, {0xd0, 1, 1}, {0xd1, 2, 1}, {0xd2, 4, 1}, {0xd3, 8, 1},
    };
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++)
        if (ints[i].tag == t) {
            if (mp_be(c, ints[i].bytes, v)) return -1;
            if (ints[i].is_signed && (*v >> (8 * ints[i].bytes - 1)) & 1) return -1; /* negative */
            return 0;
        }
    return -1;
}

typedef struct { uint64_t key; uint32_t row, seq; } key_pair;

static int pair_cmp(const void *a, const void *b)
{
    const key_pair *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static nerd_status read_key2row(const char *path, vec_table *vt, char *err, size_t errlen)
{
    buf raw = {0};
    nerd_status st = mf_read(path, MF_MAX_MODEL_FILE, &raw, err, errlen);
    if (st == NERD_ERR_NOT_FOUND) { /* spaCy then has no keys: every token gets zeros */
        buf_free(&raw);
        return NERD_OK;
    }
    if (st != NERD_OK) {
        buf_free(&raw);
        return st;
    }
    mp_cursor c = {(const unsigned char *)raw.ptr, (const unsigned char *)raw.ptr + raw.len};
    uint64_t n = 0;
    unsigned t = c.p < c.end ? *c.p++ : 0;
    int ok = (t & 0xf0) == 0x80 ? (n = t & 0x0f, 1) : t == 0xde ? !mp_be(&c, 2, &n) : t == 0xdf ? !mp_be(&c, 4, &n) : 0;
    key_pair *pairs = ok && n <= (uint64_t)(c.end - c.p) / 2 ? malloc((n ? n : 1) * sizeof *pairs) : NULL;
    if (ok && n <= (uint64_t)(c.end - c.p) / 2 && !pairs) st = NERD_ERR_NOMEM;
    for (uint64_t i = 0; pairs && i < n; i++) {
        uint64_t row;
        if (mp_uint(&c, &pairs[i].key) || mp_uint(&c, &row)) ok = 0;
        else if (row >= vt->rows) ok = -1;
        if (ok != 1) break;
        pairs[i].row = (uint32_t)row;
        pairs[i].seq = (uint32_t)i;
    }
    if (st == NERD_OK && (!pairs || ok != 1 || c.p != c.end)) {
        snprintf(err, errlen, "%s: %s", path,
                 ok == -1 ? "a row beyond the vectors table" : "not a msgpack map of integer keys to rows");
        st = NERD_ERR_FORMAT;
    }
    buf_free(&raw);
    if (st != NERD_OK) {
        free(pairs);
        if (st == NERD_ERR_NOMEM) snprintf(err, errlen, "%s: out of memory", path);
        return st;
    }
    /* sorted by key; a key given twice keeps its last row, as the Python dict does */
    qsort(pairs, n, sizeof *pairs, pair_cmp);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m && pairs[m - 1].key == pairs[i].key) m--;
        pairs[m++] = pairs[i];
    }
    size_t bytes = m * (sizeof(uint64_t) + sizeof(uint32_t));
    void *map = bytes ? mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) : NULL;
    if (bytes && map == MAP_FAILED) {
        free(pairs);
        snprintf(err, errlen, "%s: out of memory for %zu keys", path, m);
        return NERD_ERR_NOMEM;
    }
    uint64_t *keys = map;
    uint32_t *rows = (uint32_t *)(keys + m);
    for (size_t i = 0; i < m; i++) keys[i] = pairs[i].key, rows[i] = pairs[i].row;
    free(pairs);
    if (bytes) mprotect(map, bytes, PROT_READ); /* read-only from here: the workers share it */
    vt->key_map = map;
    vt->key_map_len = bytes;
    vt->keys = keys;
    vt->key_rows = rows;
    vt->nkeys = m;
    return NERD_OK;
}

/* ---- vocab/vectors.cfg ---- */

static int cfg_uint(const json_value *root, const char *key, uint32_t dflt, uint32_t *out)
{
    const json_value *v = json_get(root, key);
    if (!v) return *out = dflt, 0;
    if (v->type != JSON_NUMBER || v->u.num < 0 || v->u.num > 4294967295.0 || v->u.num != (double)(uint32_t)v->u.num)
        return -1;
    *out = (uint32_t)v->u.num;
    return 0;
}

static int cfg_affix(const json_value *root, const char *key, const char *dflt, char *out)
{
    const json_value *v = json_get(root, key);
    if (!v) return snprintf(out, VEC_MAX_AFFIX, "%s", dflt), 0;
    if (v->type != JSON_STRING || v->u.str.len >= VEC_MAX_AFFIX || memchr(v->u.str.ptr, 0, v->u.str.len)) return -1;
    memcpy(out, v->u.str.ptr, v->u.str.len + 1);
    return 0;
}

static nerd_status read_cfg(const char *path, vec_table *vt, char *err, size_t errlen)
{
    json_doc jd;
    vt->mode = VEC_MODE_DEFAULT;
    vt->attr = VEC_ATTR_ORTH;
    snprintf(vt->bow, sizeof vt->bow, "<");
    snprintf(vt->eow, sizeof vt->eow, ">");
    nerd_status st = mf_read_json(path, &jd, err, errlen);
    if (st == NERD_ERR_NOT_FOUND) { /* spaCy's defaults */
        json_doc_free(&jd);
        return NERD_OK;
    }
    if (st != NERD_OK) {
        json_doc_free(&jd);
        return st;
    }
    const json_value *mode = json_get(&jd.root, "mode"), *attr = json_get(&jd.root, "attr");
    uint32_t a = VEC_ATTR_ORTH;
    if (jd.root.type != JSON_OBJECT || (mode && mode->type != JSON_STRING) ||
        (attr && attr->type != JSON_NUMBER && attr->type != JSON_STRING) ||
        (attr && attr->type == JSON_NUMBER && cfg_uint(&jd.root, "attr", VEC_ATTR_ORTH, &a)) ||
        cfg_uint(&jd.root, "minn", 0, &vt->minn) || cfg_uint(&jd.root, "maxn", 0, &vt->maxn) ||
        cfg_uint(&jd.root, "hash_count", 0, &vt->hash_count) || cfg_uint(&jd.root, "hash_seed", 0, &vt->hash_seed) ||
        cfg_affix(&jd.root, "bow", "<", vt->bow) || cfg_affix(&jd.root, "eow", ">", vt->eow)) {
        snprintf(err, errlen, "%s: not spaCy's vectors settings", path);
        st = NERD_ERR_FORMAT;
    } else if (mode && strcmp(mode->u.str.ptr, "default") && strcmp(mode->u.str.ptr, "floret")) {
        snprintf(err, errlen, "%s: vectors mode \"%.32s\" is not supported (nerd implements default, floret)", path,
                 mode->u.str.ptr);
        st = NERD_ERR_UNSUPPORTED;
    } else {
        if (attr && attr->type == JSON_STRING) { /* spaCy stores the ID, but takes a name too */
            a = 0;
            for (size_t i = 0; i < NKEY_ATTRS; i++)
                if (!strcasecmp(attr->u.str.ptr, key_attrs[i].name)) a = (uint32_t)key_attrs[i].id;
        }
        vt->attr = (int)a;
        vt->mode = mode && !strcmp(mode->u.str.ptr, "floret") ? VEC_MODE_FLORET : VEC_MODE_DEFAULT;
        if (!strcmp(vec_attr_name(vt->attr), "?") || (vt->mode == VEC_MODE_FLORET && vt->attr == VEC_ATTR_LOWER)) {
            snprintf(err, errlen, "%s: vectors keyed by attribute %u are not supported (nerd implements ORTH, NORM%s)",
                     path, a, vt->mode == VEC_MODE_FLORET ? "" : ", LOWER");
            st = NERD_ERR_UNSUPPORTED;
        } else if (vt->mode == VEC_MODE_FLORET && (vt->maxn < vt->minn || vt->hash_count < 1 || vt->hash_count > 4)) {
            snprintf(err, errlen, "%s: floret settings out of range (minn %u, maxn %u, hash_count %u)", path, vt->minn,
                     vt->maxn, vt->hash_count);
            st = NERD_ERR_FORMAT;
        }
    }
    json_doc_free(&jd);
    return st;
}

nerd_status vec_load(const char *vocab_dir, vec_table *vt, char *err, size_t errlen)
{
    char path[4096];
    memset(vt, 0, sizeof *vt);
    snprintf(path, sizeof path, "%s/vectors.cfg", vocab_dir);
    nerd_status st = read_cfg(path, vt, err, errlen);
    if (st == NERD_OK) {
        snprintf(path, sizeof path, "%s/vectors", vocab_dir);
        st = map_npy(path, vt, err, errlen);
    }
    if (st == NERD_OK && vt->mode == VEC_MODE_FLORET && vt->rows == 0) {
        snprintf(err, errlen, "%s: a floret table without rows", path);
        st = NERD_ERR_FORMAT;
    }
    if (st == NERD_OK && vt->mode == VEC_MODE_DEFAULT) {
        snprintf(path, sizeof path, "%s/keys", vocab_dir);
        if (access(path, F_OK) == 0) { /* spaCy v2's key list, which v3 still reads */
            snprintf(err, errlen, "%s: a vectors key list of spaCy v2 is not supported (nerd reads vocab/key2row)", path);
            st = NERD_ERR_UNSUPPORTED;
        } else {
            snprintf(path, sizeof path, "%s/key2row", vocab_dir);
            st = read_key2row(path, vt, err, errlen);
        }
    }
    if (st != NERD_OK) vec_free(vt);
    return st;
}

void vec_free(vec_table *vt)
{
    if (vt->file_map) munmap(vt->file_map, vt->file_map_len);
    if (vt->key_map) munmap(vt->key_map, vt->key_map_len);
    memset(vt, 0, sizeof *vt);
}

long vec_row(const vec_table *vt, uint64_t key)
{
    size_t lo = 0, hi = vt->nkeys;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (vt->keys[mid] < key) lo = mid + 1;
        else hi = mid;
    }
    return lo < vt->nkeys && vt->keys[lo] == key ? (long)vt->key_rows[lo] : -1;
}

/* The byte length of the UTF-8 character at p (1 for a stray byte, as a bound). */
static size_t cp_len(const unsigned char *p, const unsigned char *end)
{
    size_t n = *p < 0x80 ? 1 : *p >= 0xf0 ? 4 : *p >= 0xe0 ? 3 : *p >= 0xc0 ? 2 : 1;
    return n <= (size_t)(end - p) ? n : (size_t)(end - p);
}

/* Adds the rows of one n-gram's hashes (at most hash_count of its four 32-bit words). */
static size_t add_ngram(const vec_table *vt, const unsigned char *p, size_t n, float scale, float *out, int count_only)
{
    if (count_only) return vt->hash_count;
    uint64_t h[2];
    murmur3_x64_128(p, n, vt->hash_seed, h);
    const uint64_t words[4] = {h[0] & 0xffffffffu, h[0] >> 32, h[1] & 0xffffffffu, h[1] >> 32};
    for (uint32_t k = 0; k < vt->hash_count; k++) {
        const float *row = vt->data + (size_t)(words[k] % vt->rows) * vt->dims;
        for (int j = 0; j < vt->dims; j++) out[j] += row[j] * scale;
    }
    return vt->hash_count;
}

/* The padded key bow + s + eow as a whole, then every n-gram of minn..maxn characters, in
 * spaCy's order (by size, then by start); count_only counts the rows they add. */
static size_t floret_pass(const vec_table *vt, const unsigned char *s, size_t len, float scale, float *out,
                          int count_only)
{
    const unsigned char *end = s + len;
    size_t total = add_ngram(vt, s, len, scale, out, count_only);
    for (uint32_t size = vt->minn; size <= vt->maxn; size++) {
        if (size == 0) { /* Python's key[i:i] for each of the len(key) + 1 starts */
            for (const unsigned char *a = s;; a += cp_len(a, end)) {
                total += add_ngram(vt, a, 0, scale, out, count_only);
                if (a >= end) break;
            }
            continue;
        }
        const unsigned char *a = s, *b = s;
        uint32_t k = 0;
        while (k < size && b < end) b += cp_len(b, end), k++;
        while (k == size) { /* [a, b) holds `size` characters */
            total += add_ngram(vt, a, (size_t)(b - a), scale, out, count_only);
            if (b >= end) break;
            a += cp_len(a, end);
            b += cp_len(b, end);
        }
    }
    return total;
}

void vec_floret(const vec_table *vt, const char *s, size_t len, float *out)
{
    memset(out, 0, (size_t)vt->dims * sizeof(float));
    size_t n = floret_pass(vt, (const unsigned char *)s, len, 0, out, 1);
    /* thinc's reduce_mean: each row times the float of 1/n, added in order */
    float scale = (float)(1.0 / (double)n);
    floret_pass(vt, (const unsigned char *)s, len, scale, out, 0);
}
