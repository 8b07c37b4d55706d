/* buf.h - a growable byte buffer, the one string builder used across nerd. */
#ifndef NERD_BUF_H
#define NERD_BUF_H

#include <stddef.h>

typedef struct {
    char *ptr;  /* always NUL-terminated when non-NULL */
    size_t len;
    size_t cap;
} buf;

/* Each returns 0, or -1 when memory runs out (the buffer is then unchanged). */
int buf_reserve(buf *b, size_t extra);
int buf_append(buf *b, const void *p, size_t n);
int buf_puts(buf *b, const char *s);
int buf_putc(buf *b, char c);
int buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_clear(buf *b);   /* len = 0, keeps the memory */
void buf_free(buf *b);

/* Grows an array *p of *cap elements of elem bytes to hold at least need (doubling, from 64).
 * 0, or -1 when memory runs out or the size overflows (the array is then unchanged). */
int grow_array(void **p, size_t *cap, size_t need, size_t elem);
/* The same for an array whose start must be on a cache line (BUF_LINE bytes; the new memory from
 * aligned_alloc, the old elements copied, free() frees it): the networks' scratch, where a
 * product's 64-byte vector stores that start rows off a line's start split every store in two
 * lines (the parsers' tables took 1.6x the time in int8). */
#define BUF_LINE 64
int grow_array_aligned(void **p, size_t *cap, size_t need, size_t elem);

#endif
