#include "modelfile/thinc_weights.h"
#include "modelfile/modelfile.h"
#include "util/msgpack_bounds.h"

#include <errno.h>
#include <msgpack.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static int fail(char *err, size_t errlen, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, const char *path, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(err, errlen, "%s: %s", path, msg);
    return -1;
}

/* Checks one serialized numpy array {nd, type "<f4", shape, data} and returns its shape. */
static int array_shape(const msgpack_object *a, tw_tensor *t, const char **data, size_t *nbytes)
{
    const msgpack_object *type = mf_map_get(a, "type"), *shape = mf_map_get(a, "shape"), *d = mf_map_get(a, "data");
    const char *ts;
    size_t tn;
    if (!type || !shape || !d || mf_str(type, &ts, &tn) || tn != 3 || memcmp(ts, "<f4", 3)) return -1;
    if (shape->type != MSGPACK_OBJECT_ARRAY || shape->via.array.size > 6) return -1;
    t->ndim = (int)shape->via.array.size;
    t->size = 1;
    for (int i = 0; i < t->ndim; i++) {
        const msgpack_object *s = &shape->via.array.ptr[i];
        if (s->type != MSGPACK_OBJECT_POSITIVE_INTEGER || s->via.u64 > (1u << 30)) return -1;
        t->shape[i] = (uint32_t)s->via.u64;
        t->size *= t->shape[i];
        if (t->size > ((size_t)1 << 32)) return -1;
    }
    if (mf_str(d, data, nbytes) || *nbytes != t->size * sizeof(float)) return -1;
    return 0;
}

nerd_status tw_load(const char *path, thinc_model *m, char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    mf_msgpack mp;
    nerd_status rc = mf_msgpack_read(&mp, path, "a thinc model", MSGPACK_OBJECT_MAP, err, errlen);
    if (rc != NERD_OK) goto out;
    rc = NERD_ERR_FORMAT;
    const msgpack_object *root = mp.root;
    const msgpack_object *nodes = mf_map_get(root, "nodes"), *params = mf_map_get(root, "params"),
                         *attrs = mf_map_get(root, "attrs");
    if (!nodes || !params || !attrs || nodes->type != MSGPACK_OBJECT_ARRAY || params->type != MSGPACK_OBJECT_ARRAY ||
        attrs->type != MSGPACK_OBJECT_ARRAY || params->via.array.size != nodes->via.array.size ||
        attrs->via.array.size != nodes->via.array.size) {
        fail(err, errlen, path, "not a thinc model (expected nodes, attrs and params of equal length)");
        goto out;
    }
    int n = (int)nodes->via.array.size;
    m->nodes = calloc(n ? (size_t)n : 1, sizeof *m->nodes);
    if (!m->nodes) { fail(err, errlen, path, "out of memory"); rc = NERD_ERR_NOMEM; goto out; }
    m->nnodes = n;

    /* pass 1: names, attrs, shapes, and the block's size */
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        tw_node *nd = &m->nodes[i];
        const msgpack_object *name = mf_map_get(&nodes->via.array.ptr[i], "name");
        const char *s;
        size_t sl;
        if (!name || mf_str(name, &s, &sl)) { fail(err, errlen, path, "node %d has no name", i); goto out; }
        if (!(nd->name = strndup(s, sl))) { fail(err, errlen, path, "out of memory"); rc = NERD_ERR_NOMEM; goto out; }
        const msgpack_object *am = &attrs->via.array.ptr[i];
        if (am->type == MSGPACK_OBJECT_MAP) {
            for (uint32_t k = 0; k < am->via.map.size && nd->nattrs < 6; k++) {
                const char *ks, *vs;
                size_t kl, vl;
                if (mf_str(&am->via.map.ptr[k].key, &ks, &kl) || kl >= 24 || mf_str(&am->via.map.ptr[k].val, &vs, &vl))
                    continue;
                memcpy(nd->attrs[nd->nattrs].key, ks, kl);
                nd->attrs[nd->nattrs].key[kl] = 0;
                nd->attrs[nd->nattrs].val = (const uint8_t *)vs;
                nd->attrs[nd->nattrs].len = vl;
                nd->nattrs++;
            }
        }
        const msgpack_object *pm = &params->via.array.ptr[i];
        if (pm->type == MSGPACK_OBJECT_NIL) continue;
        if (pm->type != MSGPACK_OBJECT_MAP) { fail(err, errlen, path, "params of node %d are not a map", i); goto out; }
        for (uint32_t k = 0; k < pm->via.map.size; k++) {
            const char *ks, *data;
            size_t kl, nbytes;
            if (nd->nparams == 4 || mf_str(&pm->via.map.ptr[k].key, &ks, &kl) || kl >= 24) {
                fail(err, errlen, path, "node %d (%s): unexpected parameters", i, nd->name);
                goto out;
            }
            tw_param *p = &nd->params[nd->nparams++];
            memcpy(p->name, ks, kl);
            p->name[kl] = 0;
            if (array_shape(&pm->via.map.ptr[k].val, &p->t, &data, &nbytes)) {
                fail(err, errlen, path, "node %d (%s): parameter %s is not a float32 array", i, nd->name, p->name);
                goto out;
            }
            total += (p->t.size + 15) & ~(size_t)15; /* 64-byte aligned slots */
        }
    }

    /* pass 2: copy every array into one block, then make it read-only */
    m->block_bytes = total * sizeof(float);
    if (m->block_bytes) {
        void *b = mmap(NULL, m->block_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (b == MAP_FAILED) {
            m->block_bytes = 0;
            fail(err, errlen, path, "out of memory");
            rc = NERD_ERR_NOMEM;
            goto out;
        }
        m->block = b;
    }
    size_t at = 0;
    for (int i = 0; i < n; i++) {
        const msgpack_object *pm = &params->via.array.ptr[i];
        if (pm->type != MSGPACK_OBJECT_MAP) continue;
        for (int k = 0; k < m->nodes[i].nparams; k++) {
            tw_param *p = &m->nodes[i].params[k];
            const char *data;
            size_t nbytes;
            array_shape(&pm->via.map.ptr[k].val, &p->t, &data, &nbytes);
            memcpy(m->block + at, data, nbytes);
            p->t.data = m->block + at;
            at += (p->t.size + 15) & ~(size_t)15;
        }
    }
    if (m->block && mprotect(m->block, m->block_bytes, PROT_READ)) {
        fail(err, errlen, path, "mprotect: %s", strerror(errno));
        rc = NERD_ERR_NOMEM;
        goto out;
    }
    /* the weights' checksum is of the bytes as read; the attrs point into them */
    m->raw = (uint8_t *)mp.raw.ptr;
    m->raw_len = mp.raw.len;
    mp.raw = (buf){0};
    rc = NERD_OK;
out:
    mf_msgpack_free(&mp);
    if (rc != NERD_OK) tw_free(m);
    return rc;
}

void tw_free(thinc_model *m)
{
    if (m->block) munmap(m->block, m->block_bytes);
    for (int i = 0; i < m->nnodes; i++) free(m->nodes[i].name);
    free(m->nodes);
    free(m->raw);
    memset(m, 0, sizeof *m);
}

int tw_find(const thinc_model *m, const char *name, int nth)
{
    for (int i = 0; i < m->nnodes; i++)
        if (!strcmp(m->nodes[i].name, name) && nth-- == 0) return i;
    return -1;
}

const tw_tensor *tw_param_of(const thinc_model *m, int node, const char *name)
{
    if (node < 0 || node >= m->nnodes) return NULL;
    for (int k = 0; k < m->nodes[node].nparams; k++)
        if (!strcmp(m->nodes[node].params[k].name, name)) return &m->nodes[node].params[k].t;
    return NULL;
}

int tw_attr_int(const thinc_model *m, int node, const char *key, int64_t *out)
{
    if (node < 0 || node >= m->nnodes) return -1;
    const tw_node *nd = &m->nodes[node];
    for (int k = 0; k < nd->nattrs; k++) {
        if (strcmp(nd->attrs[k].key, key)) continue;
        /* the value is itself msgpack-encoded */
        msgpack_unpacked up;
        msgpack_unpacked_init(&up);
        size_t off = 0;
        int rc = -1;
        if (mp_unpack_next(&up, (const char *)nd->attrs[k].val, nd->attrs[k].len, &off) == MSGPACK_UNPACK_SUCCESS) {
            if (up.data.type == MSGPACK_OBJECT_POSITIVE_INTEGER && up.data.via.u64 <= INT64_MAX) {
                *out = (int64_t)up.data.via.u64;
                rc = 0;
            } else if (up.data.type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
                *out = up.data.via.i64;
                rc = 0;
            }
        }
        msgpack_unpacked_destroy(&up);
        return rc;
    }
    return -1;
}
