#include "modelfile/modelfile.h"
#include "util/msgpack_bounds.h"
#include "text/pystr.h"

#include <math.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

nerd_status mf_read(const char *path, size_t max_bytes, buf *out, char *err, size_t errlen)
{
    /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT || e == ENOTDIR) {
            snprintf(err, errlen, "%s: no such file", path);
            return NERD_ERR_NOT_FOUND;
        }
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(e));
        return e == ENOMEM ? NERD_ERR_NOMEM : NERD_ERR_IO;
    }
    nerd_status st = NERD_OK;
    struct stat sb;
    if (fstat(fd, &sb)) {
        snprintf(err, errlen, "%s: cannot stat: %s", path, strerror(errno));
        st = NERD_ERR_IO;
    } else if (S_ISDIR(sb.st_mode)) {
        snprintf(err, errlen, "%s: is a folder, not a file", path);
        st = NERD_ERR_IO;
    } else if (!S_ISREG(sb.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        st = NERD_ERR_IO;
    } else if ((unsigned long long)sb.st_size > max_bytes) {
        snprintf(err, errlen, "%s: %lld bytes, more than the %zu such a file may have", path, (long long)sb.st_size,
                 max_bytes);
        st = NERD_ERR_FORMAT;
    } else if (out->len + (size_t)sb.st_size + 1 > out->cap) {
        /* exactly the file's size: a weights file's bytes stay with the model */
        char *p = realloc(out->ptr, out->len + (size_t)sb.st_size + 1);
        if (p) {
            out->ptr = p;
            out->cap = out->len + (size_t)sb.st_size + 1;
            out->ptr[out->len] = 0;
        } else {
            snprintf(err, errlen, "%s: out of memory for its %lld bytes", path, (long long)sb.st_size);
            st = NERD_ERR_NOMEM;
        }
    }
    /* read to the end, not to st_size: the file may change size while being read */
    size_t start = out->len;
    while (st == NERD_OK) {
        char probe[4096];
        size_t room = out->cap - out->len - 1;
        ssize_t r = room ? read(fd, out->ptr + out->len, room) : read(fd, probe, sizeof probe);
        if (r == 0) break;
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            snprintf(err, errlen, "%s: read error: %s", path, strerror(errno));
            st = NERD_ERR_IO;
        } else if (!room && buf_append(out, probe, (size_t)r)) {
            snprintf(err, errlen, "%s: out of memory after %zu bytes", path, out->len - start);
            st = NERD_ERR_NOMEM;
        } else {
            if (room) out->len += (size_t)r;
            out->ptr[out->len] = 0;
            if (out->len - start > max_bytes) {
                snprintf(err, errlen, "%s: grew past the %zu bytes such a file may have", path, max_bytes);
                st = NERD_ERR_FORMAT;
            }
        }
    }
    close(fd);
    return st;
}

nerd_status mf_read_json(const char *path, json_doc *jd, char *err, size_t errlen)
{
    memset(jd, 0, sizeof *jd);
    buf text = {0};
    nerd_status rc = mf_read(path, MF_MAX_TEXT_FILE, &text, err, errlen);
    char why[128];
    int parsed = rc == NERD_OK ? json_parse(text.ptr, text.len, 0, jd, why, sizeof why) : 0;
    if (parsed == JSON_ERR_NOMEM) {
        snprintf(err, errlen, "%s: out of memory", path);
        rc = NERD_ERR_NOMEM;
    } else if (parsed) {
        snprintf(err, errlen, "%s: not JSON: %s", path, why);
        rc = NERD_ERR_FORMAT;
    }
    buf_free(&text);
    return rc;
}

static const char *type_name(msgpack_object_type t)
{
    switch (t) {
    case MSGPACK_OBJECT_NIL: return "nil";
    case MSGPACK_OBJECT_BOOLEAN: return "a boolean";
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return "an integer";
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: return "a float";
    case MSGPACK_OBJECT_STR: return "a string";
    case MSGPACK_OBJECT_ARRAY: return "an array";
    case MSGPACK_OBJECT_MAP: return "a map";
    case MSGPACK_OBJECT_BIN: return "bytes";
    default: return "an extension";
    }
}

nerd_status mf_msgpack_read(mf_msgpack *mp, const char *path, const char *what, msgpack_object_type want,
                            char *err, size_t errlen)
{
    memset(mp, 0, sizeof *mp);
    msgpack_unpacked_init(&mp->up);
    nerd_status st = mf_read(path, MF_MAX_MODEL_FILE, &mp->raw, err, errlen);
    if (st != NERD_OK) return st;
    if (!mp->raw.len) {
        snprintf(err, errlen, "%s: empty, not %s", path, what);
        return NERD_ERR_FORMAT;
    }
    size_t off = 0;
    msgpack_unpack_return r = mp_unpack_next(&mp->up, mp->raw.ptr, mp->raw.len, &off);
    if (r == MSGPACK_UNPACK_NOMEM_ERROR) {
        snprintf(err, errlen, "%s: out of memory parsing its %zu bytes", path, mp->raw.len);
        return NERD_ERR_NOMEM;
    }
    if (r != MSGPACK_UNPACK_SUCCESS) {
        snprintf(err, errlen, "%s: not %s (truncated or corrupt msgpack)", path, what);
        return NERD_ERR_FORMAT;
    }
    if (mp->up.data.type != want) {
        snprintf(err, errlen, "%s: not %s (msgpack %s, expected %s)", path, what, type_name(mp->up.data.type),
                 type_name(want));
        return NERD_ERR_FORMAT;
    }
    mp->root = &mp->up.data;
    return NERD_OK;
}

void mf_msgpack_free(mf_msgpack *mp)
{
    msgpack_unpacked_destroy(&mp->up);
    buf_free(&mp->raw);
    mp->root = NULL;
}

int mf_str(const msgpack_object *o, const char **p, size_t *n)
{
    if (o->type == MSGPACK_OBJECT_STR) { *p = o->via.str.ptr; *n = o->via.str.size; return 0; }
    if (o->type == MSGPACK_OBJECT_BIN) { *p = o->via.bin.ptr; *n = o->via.bin.size; return 0; }
    return -1;
}

int mf_key_is(const msgpack_object *k, const char *key)
{
    const char *s;
    size_t n;
    return !mf_str(k, &s, &n) && n == strlen(key) && !memcmp(s, key, n);
}

const msgpack_object *mf_map_get(const msgpack_object *map, const char *key)
{
    if (map->type != MSGPACK_OBJECT_MAP) return NULL;
    for (uint32_t i = 0; i < map->via.map.size; i++)
        if (mf_key_is(&map->via.map.ptr[i].key, key)) return &map->via.map.ptr[i].val;
    return NULL;
}

void jsonl_init(jsonl_iter *it, const char *data, size_t len, size_t max_line)
{
    memset(it, 0, sizeof *it);
    it->at = data;
    it->end = data ? data + len : data;
    it->max_line = max_line;
}

static int blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r') return 0;
    return 1;
}

int jsonl_next(jsonl_iter *it)
{
    json_doc_free(&it->doc);
    it->err[0] = 0;
    while (it->at && it->at < it->end) {
        const char *line = it->at, *nl = memchr(line, '\n', (size_t)(it->end - line));
        const char *stop = nl ? nl : it->end;
        it->at = nl ? nl + 1 : it->end;
        it->lineno++;
        size_t n = (size_t)(stop - line);
        if (n && line[n - 1] == '\r') n--;
        if (blank(line, n)) continue;
        if (n > it->max_line) {
            snprintf(it->err, sizeof it->err, "line %zu: %zu bytes, longer than %zu", it->lineno, n, it->max_line);
            return -1;
        }
        char why[160];
        if (json_parse(line, n, 0, &it->doc, why, sizeof why)) {
            json_doc_free(&it->doc);
            snprintf(it->err, sizeof it->err, "line %zu: %s", it->lineno, why);
            return -1;
        }
        return 1;
    }
    return 0;
}

void jsonl_free(jsonl_iter *it)
{
    json_doc_free(&it->doc);
}

int mf_to_json(const msgpack_object *o, buf *out, int depth)
{
    const char *s;
    size_t n;
    if (depth > JSON_MAX_DEPTH_DEFAULT) return -1;
    if (!mf_str(o, &s, &n)) {
        if (!py_utf8_valid(s, n, NULL)) return -1;
        return json_write_string(out, s, n, 0) ? -2 : 0;
    }
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: return buf_puts(out, "null") ? -2 : 0;
    case MSGPACK_OBJECT_BOOLEAN: return buf_puts(out, o->via.boolean ? "true" : "false") ? -2 : 0;
    case MSGPACK_OBJECT_POSITIVE_INTEGER: return buf_printf(out, "%llu", (unsigned long long)o->via.u64) ? -2 : 0;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return buf_printf(out, "%lld", (long long)o->via.i64) ? -2 : 0;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        if (!isfinite(o->via.f64)) return -1;
        return buf_printf(out, "%.17g", o->via.f64) ? -2 : 0;
    case MSGPACK_OBJECT_ARRAY:
        if (buf_putc(out, '[')) return -2;
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            int rc = i && buf_putc(out, ',') ? -2 : mf_to_json(&o->via.array.ptr[i], out, depth + 1);
            if (rc) return rc;
        }
        return buf_putc(out, ']') ? -2 : 0;
    case MSGPACK_OBJECT_MAP:
        if (buf_putc(out, '{')) return -2;
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            const msgpack_object *k = &o->via.map.ptr[i].key;
            if (k->type != MSGPACK_OBJECT_STR && k->type != MSGPACK_OBJECT_BIN) return -1;
            int rc = i && buf_putc(out, ',') ? -2 : mf_to_json(k, out, depth + 1);
            if (!rc) rc = buf_putc(out, ':') ? -2 : mf_to_json(&o->via.map.ptr[i].val, out, depth + 1);
            if (rc) return rc;
        }
        return buf_putc(out, '}') ? -2 : 0;
    default: return -1;
    }
}
