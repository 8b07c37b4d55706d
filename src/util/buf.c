#include "util/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int buf_reserve(buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1) {
        if (cap > ((size_t)-1) / 2) return -1;
        cap *= 2;
    }
    char *p = realloc(b->ptr, cap);
    if (!p) return -1;
    b->ptr = p;
    b->cap = cap;
    return 0;
}

int buf_append(buf *b, const void *p, size_t n)
{
    if (buf_reserve(b, n)) return -1;
    if (n) memcpy(b->ptr + b->len, p, n);
    b->len += n;
    b->ptr[b->len] = 0;
    return 0;
}

int buf_puts(buf *b, const char *s) { return buf_append(b, s, strlen(s)); }
int buf_putc(buf *b, char c) { return buf_append(b, &c, 1); }

int buf_printf(buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || buf_reserve(b, (size_t)n)) return -1;
    va_start(ap, fmt);
    vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void buf_clear(buf *b)
{
    b->len = 0;
    if (b->ptr) b->ptr[0] = 0;
}

void buf_free(buf *b)
{
    free(b->ptr);
    *b = (buf){0};
}

/* The capacity grow_array would give: doubling from 64 until need fits; 0 on overflow. */
static size_t grown_capacity(size_t cap, size_t need, size_t elem)
{
    size_t c = cap ? cap : 64;
    while (c < need) {
        if (c > SIZE_MAX / 2) return 0;
        c *= 2;
    }
    return elem && c > SIZE_MAX / elem ? 0 : c;
}

int grow_array(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 0;
    size_t c = grown_capacity(*cap, need, elem);
    if (!c) return -1;
    void *n = realloc(*p, c * elem);
    if (!n) return -1;
    *p = n;
    *cap = c;
    return 0;
}

int grow_array_aligned(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 0;
    size_t c = grown_capacity(*cap, need, elem);
    if (!c || c * elem > SIZE_MAX - BUF_LINE) return -1;
    /* aligned_alloc wants a multiple of the alignment */
    void *n = aligned_alloc(BUF_LINE, (c * elem + BUF_LINE - 1) / BUF_LINE * BUF_LINE);
    if (!n) return -1;
    if (*p) memcpy(n, *p, *cap * elem);
    free(*p);
    *p = n;
    *cap = c;
    return 0;
}
