/* thinc_weights.h - a thinc model file (msgpack: nodes, attrs, params) read into one
 * read-only block of floats, so that forked server workers share a single copy. */
#ifndef NERD_THINC_WEIGHTS_H
#define NERD_THINC_WEIGHTS_H

#include <stddef.h>
#include <stdint.h>

#include "nerd.h"

typedef struct {
    const float *data;   /* 64-byte aligned, inside the model's block */
    int ndim;
    uint32_t shape[6];
    size_t size;         /* number of floats */
} tw_tensor;

typedef struct {
    char name[24];
    tw_tensor t;
} tw_param;

typedef struct {
    char *name;          /* thinc's node name, e.g. "hashembed", "maxout", "linear" */
    tw_param params[4];
    int nparams;
    struct { char key[24]; const uint8_t *val; size_t len; } attrs[6]; /* msgpack-encoded values */
    int nattrs;
} tw_node;

typedef struct {
    float *block;        /* every parameter, read-only after load (mprotect) */
    size_t block_bytes;
    tw_node *nodes;
    int nnodes;
    uint8_t *raw;        /* the file (attr values point into it) */
    size_t raw_len;
} thinc_model;

/* Loads a thinc msgpack model file. NERD_OK, or the cause (modelfile.h) with a message naming
 * the file. */
nerd_status tw_load(const char *path, thinc_model *m, char *err, size_t errlen);
void tw_free(thinc_model *m);

/* The index of the nth node (0-based) whose name is exactly `name`, or -1. */
int tw_find(const thinc_model *m, const char *name, int nth);
/* A parameter of node i, or NULL. */
const tw_tensor *tw_param_of(const thinc_model *m, int node, const char *name);
/* An integer attribute of node i (e.g. hashembed's "seed", "column"). Returns 0 or -1. */
int tw_attr_int(const thinc_model *m, int node, const char *key, int64_t *out);

#endif
