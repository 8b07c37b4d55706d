#include "text/morph.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *s;
    size_t len;
} piece;

static int piece_cmp(const void *a, const void *b)
{
    const piece *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->s, y->s, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* Splits s at sep into at most max pieces; the count, or -1 when there are more. */
static long split(const char *s, size_t len, char sep, piece *out, size_t max)
{
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != sep) continue;
        if (n == max) return -1;
        out[n++] = (piece){s + start, i - start};
        start = i + 1;
    }
    return (long)n;
}

int morph_normalize(const char *feats, size_t len, buf *out)
{
    if (len == 0 || (len == 1 && feats[0] == '_')) return buf_append(out, MORPH_EMPTY, 1) ? -2 : 0;
    size_t nmax = 1;
    for (size_t i = 0; i < len; i++) nmax += feats[i] == '|' || feats[i] == ',';
    piece *p = malloc(2 * nmax * sizeof *p);
    buf scratch = {0};
    int rc = -2;
    if (!p) goto out;
    piece *fv = p, *vals = p + nmax;
    long nf = split(feats, len, '|', fv, nmax);
    if (nf <= 0) goto out; /* cannot be: nmax counts every separator */
    /* each feature's values sorted, written "Field=V1,V2" into scratch; fv then points there */
    size_t *off = malloc((size_t)nf * 2 * sizeof *off);
    if (!off) goto out;
    long kept = 0;
    for (long f = 0; f < nf; f++) {
        const char *eq = memchr(fv[f].s, '=', fv[f].len);
        if (!eq || memchr(eq + 1, '=', fv[f].len - (size_t)(eq + 1 - fv[f].s))) {
            rc = -1;
            free(off);
            goto out;
        }
        size_t flen = (size_t)(eq - fv[f].s);
        /* a repeated field: the later one replaces the earlier (a Python dict) */
        for (long k = 0; k < kept; k++) {
            const char *ks = scratch.ptr + off[2 * k];
            if (memchr(ks, '=', off[2 * k + 1]) == ks + flen && !memcmp(ks, fv[f].s, flen)) {
                off[2 * k + 1] = 0; /* dropped */
            }
        }
        long nv = split(eq + 1, fv[f].len - flen - 1, ',', vals, nmax);
        qsort(vals, (size_t)nv, sizeof *vals, piece_cmp);
        size_t at = scratch.len;
        if (buf_append(&scratch, fv[f].s, flen + 1)) {
            free(off);
            goto out;
        }
        for (long v = 0; v < nv; v++)
            if ((v && buf_putc(&scratch, ',')) || buf_append(&scratch, vals[v].s, vals[v].len)) {
                free(off);
                goto out;
            }
        off[2 * kept] = at;
        off[2 * kept + 1] = scratch.len - at;
        kept++;
    }
    long n = 0;
    for (long k = 0; k < kept; k++)
        if (off[2 * k + 1]) fv[n++] = (piece){scratch.ptr + off[2 * k], off[2 * k + 1]};
    free(off);
    qsort(fv, (size_t)n, sizeof *fv, piece_cmp);
    rc = 0;
    for (long k = 0; k < n && !rc; k++)
        if ((k && buf_putc(out, '|')) || buf_append(out, fv[k].s, fv[k].len)) rc = -2;
out:
    buf_free(&scratch);
    free(p);
    return rc;
}
