/* npy.h - reads numpy .npy files (format 1.x/2.x, C order, little-endian) for the layer tests. */
#ifndef NERD_TEST_NPY_H
#define NERD_TEST_NPY_H

#include <stddef.h>

typedef struct {
    char descr[16];   /* e.g. "<f4", "<u8", "<u4", "<i4", "|b1" */
    size_t shape[8];
    int ndim;
    size_t count;     /* product of shape */
    size_t itemsize;
    void *data;       /* count * itemsize bytes */
    void *raw_;
} npy_array;

/* Returns 0, or -1 (message on stderr) if the file is missing or not a C-order .npy. */
int npy_load(const char *path, npy_array *a);
void npy_free(npy_array *a);

#endif
