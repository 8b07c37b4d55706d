/* vectors_file.h - a pipeline's static vectors table (vocab/vectors, vocab/key2row,
 * vocab/vectors.cfg), as spaCy's Vectors reads it, for spacy.StaticVectors.v2.
 *
 * The table (vocab/vectors, a little-endian float32 C-order .npy) is memory-mapped read-only
 * as it is: its pages are the page cache's, shared by every process that maps the folder (all
 * of nerd serve's workers, other instances), never a private copy. key2row (a msgpack map of
 * key -> row) cannot be mapped; it is read into two sorted arrays in a mapping of its own that
 * is made read-only once filled, so forked workers share those pages too. */
#ifndef NERD_VECTORS_FILE_H
#define NERD_VECTORS_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "nerd.h"

typedef enum { VEC_MODE_DEFAULT = 0, VEC_MODE_FLORET } vec_mode;

/* spaCy's attribute IDs a table may be keyed by (spacy/attrs.pxd) */
enum { VEC_ATTR_ORTH = 65, VEC_ATTR_LOWER = 66, VEC_ATTR_NORM = 67 };

#define VEC_MAX_AFFIX 16

typedef struct {
    vec_mode mode;
    int attr;                     /* VEC_ATTR_*: which token attribute's hash is the key */
    const float *data;            /* rows x dims, inside the file's mapping */
    size_t rows;
    int dims;
    /* default mode: the keys sorted ascending and each key's row */
    const uint64_t *keys;
    const uint32_t *key_rows;
    size_t nkeys;
    /* floret mode (vectors.cfg) */
    uint32_t minn, maxn, hash_count, hash_seed;
    char bow[VEC_MAX_AFFIX], eow[VEC_MAX_AFFIX];
    /* the mappings */
    void *file_map, *key_map;
    size_t file_map_len, key_map_len;
} vec_table;

/* Loads vocab_dir's table. NERD_OK, or the cause with a message naming the file: a table that
 * is not float32 little-endian C order, a vectors.cfg mode or attribute nerd does not compute
 * (NERD_ERR_UNSUPPORTED), a missing vectors file (NERD_ERR_NOT_FOUND), a corrupt one. */
nerd_status vec_load(const char *vocab_dir, vec_table *vt, char *err, size_t errlen);
void vec_free(vec_table *vt);

/* Default mode: the row of key, or -1 when the table has none (spaCy's zero vector). */
long vec_row(const vec_table *vt, uint64_t key);

/* Floret mode: the mean of the rows of the hashed character n-grams (Vectors.get_batch) into
 * out[dims]. s is the padded key: bow + the key's string + eow (UTF-8, len bytes). */
void vec_floret(const vec_table *vt, const char *s, size_t len, float *out);

/* "default" or "floret" */
const char *vec_mode_name(vec_mode m);
/* "ORTH", "LOWER" or "NORM" */
const char *vec_attr_name(int attr);

#endif
