#include "npy.h"
#include "test.h"

#include <stdint.h>

int npy_load(const char *path, npy_array *a)
{
    memset(a, 0, sizeof *a);
    size_t len;
    unsigned char *raw = (unsigned char *)test_read_file(path, &len);
    if (!raw) { fprintf(stderr, "npy: cannot read %s\n", path); return -1; }
    if (len < 10 || memcmp(raw, "\x93NUMPY", 6)) goto bad;
    size_t hl, off;
    if (raw[6] == 1) { hl = raw[8] | (size_t)raw[9] << 8; off = 10; }
    else { if (len < 12) goto bad; hl = raw[8] | (size_t)raw[9] << 8 | (size_t)raw[10] << 16 | (size_t)raw[11] << 24; off = 12; }
    if (off + hl > len) goto bad;
    char hdr[4096];
    if (hl >= sizeof hdr) goto bad;
    memcpy(hdr, raw + off, hl);
    hdr[hl] = 0;
    char *d = strstr(hdr, "'descr': '");
    if (!d || strstr(hdr, "'fortran_order': True")) goto bad;
    d += 10;
    size_t k = 0;
    while (*d && *d != '\'' && k + 1 < sizeof a->descr) a->descr[k++] = *d++;
    a->itemsize = (size_t)atoi(a->descr + 2);
    char *s = strstr(hdr, "'shape': (");
    if (!s || !a->itemsize) goto bad;
    s += 10;
    a->count = 1;
    while (*s && *s != ')') {
        while (*s == ' ' || *s == ',') s++;
        if (*s == ')') break;
        if (a->ndim == 8) goto bad;
        a->shape[a->ndim] = strtoull(s, &s, 10);
        a->count *= a->shape[a->ndim++];
    }
    if (off + hl + a->count * a->itemsize > len) goto bad;
    a->raw_ = raw;
    a->data = raw + off + hl;
    return 0;
bad:
    fprintf(stderr, "npy: %s is not a C-order .npy file\n", path);
    free(raw);
    return -1;
}

void npy_free(npy_array *a)
{
    free(a->raw_);
    memset(a, 0, sizeof *a);
}
