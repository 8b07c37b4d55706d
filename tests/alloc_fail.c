/* alloc_fail.c - the test binary's own allocator entry points: glibc's, counted, with one
 * chosen failure (alloc_fail.h). */
#include "alloc_fail.h"

#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>

__attribute__((noinline)) void alloc_site_here(alloc_site *s, int skip)
{
    void *f[ALLOC_FAIL_FRAMES + 8];
    if (skip > 7) skip = 7;
    int n = backtrace(f, ALLOC_FAIL_FRAMES + 1 + skip);
    s->n = n > skip + 1 ? n - skip - 1 : 0;
    memcpy(s->frame, f + skip + 1, (size_t)s->n * sizeof *f);
}

#if ALLOC_FAIL_HOOKS

/* glibc's allocator under its own names, which replacing malloc leaves in place */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static int armed, paused;
static uint64_t fail_at, count, *record, record_cap;
static int64_t live;
static int hit;
static alloc_site hit_site;
static uint64_t hit_key;
static __thread int in_hook; /* backtrace() may allocate: those allocations are not counted */

#define KEY_FRAMES 4 /* the frames a site is told apart by: its caller and three above */

static uint64_t site_key(const alloc_site *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a over the frames' addresses */
    for (int i = 0; i < s->n && i < KEY_FRAMES; i++) {
        h ^= (uint64_t)(uintptr_t)s->frame[i];
        h *= 1099511628211ull;
    }
    return h;
}


/* Counts one allocation; 1 if it is the one to fail. */
__attribute__((noinline)) static int must_fail(void)
{
    if (!__atomic_load_n(&armed, __ATOMIC_RELAXED) || paused || in_hook) return 0;
    uint64_t n = __atomic_add_fetch(&count, 1, __ATOMIC_RELAXED);
    int fail = n == fail_at;
    if (!record && !fail) return 0;
    in_hook = 1;
    alloc_site s;
    alloc_site_here(&s, 1); /* from the hook that called this function */
    if (record && n <= record_cap) record[n - 1] = site_key(&s);
    if (fail) { hit = 1; hit_site = s; hit_key = site_key(&s); }
    in_hook = 0;
    if (fail) errno = ENOMEM;
    return fail;
}

static void *counted(void *p)
{
    if (p) __atomic_add_fetch(&live, (int64_t)malloc_usable_size(p), __ATOMIC_RELAXED);
    return p;
}

void *malloc(size_t n) { return must_fail() ? NULL : counted(__libc_malloc(n)); }
void *calloc(size_t k, size_t n) { return must_fail() ? NULL : counted(__libc_calloc(k, n)); }
void *memalign(size_t a, size_t n) { return must_fail() ? NULL : counted(__libc_memalign(a, n)); }
void *aligned_alloc(size_t a, size_t n) { return memalign(a, n); }

int posix_memalign(void **out, size_t a, size_t n)
{
    if (a < sizeof(void *) || (a & (a - 1))) return EINVAL;
    void *p = memalign(a, n);
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}

void free(void *p)
{
    if (!p) return;
    __atomic_sub_fetch(&live, (int64_t)malloc_usable_size(p), __ATOMIC_RELAXED);
    __libc_free(p);
}

void *realloc(void *p, size_t n)
{
    if (!p) return malloc(n);
    if (!n) { free(p); return NULL; }
    if (must_fail()) return NULL; /* the old block stays as it was */
    size_t before = malloc_usable_size(p);
    void *q = __libc_realloc(p, n);
    if (q) __atomic_add_fetch(&live, (int64_t)malloc_usable_size(q) - (int64_t)before, __ATOMIC_RELAXED);
    return q;
}

void *reallocarray(void *p, size_t k, size_t n)
{
    size_t bytes;
    if (__builtin_mul_overflow(k, n, &bytes)) { errno = ENOMEM; return NULL; }
    return realloc(p, bytes);
}

int alloc_fail_available(void) { return 1; }

void alloc_fail_arm(uint64_t n, uint64_t *rec, uint64_t cap)
{
    alloc_site warm; /* backtrace's first call loads libgcc: before counting starts */
    in_hook = 1;
    alloc_site_here(&warm, 0);
    in_hook = 0;
    fail_at = n;
    record = rec;
    record_cap = cap;
    count = 0;
    hit = 0;
    paused = 0;
    __atomic_store_n(&armed, 1, __ATOMIC_SEQ_CST);
}

void alloc_fail_disarm(void) { __atomic_store_n(&armed, 0, __ATOMIC_SEQ_CST); }
void alloc_fail_pause(int on) { paused = on; }
uint64_t alloc_fail_count(void) { return __atomic_load_n(&count, __ATOMIC_RELAXED); }
int64_t alloc_live_bytes(void) { return __atomic_load_n(&live, __ATOMIC_RELAXED); }

int alloc_fail_hit(alloc_site *site, uint64_t *key)
{
    if (hit && site) *site = hit_site;
    if (hit && key) *key = hit_key;
    return hit;
}

#else

int alloc_fail_available(void) { return 0; }
void alloc_fail_arm(uint64_t n, uint64_t *rec, uint64_t cap) { (void)n; (void)rec; (void)cap; }
void alloc_fail_disarm(void) {}
void alloc_fail_pause(int on) { (void)on; }
uint64_t alloc_fail_count(void) { return 0; }
int64_t alloc_live_bytes(void) { return 0; }
int alloc_fail_hit(alloc_site *site, uint64_t *key) { (void)site; (void)key; return 0; }

#endif

void alloc_site_print(const alloc_site *s)
{
    for (int i = 0; i < s->n; i++) {
        Dl_info info;
        char line[512] = "";
        if (dladdr(s->frame[i], &info) && info.dli_fname) {
            /* a return address: the call is the byte before it */
            uintptr_t off = (uintptr_t)s->frame[i] - (uintptr_t)info.dli_fbase - 1;
            char cmd[1200];
            snprintf(cmd, sizeof cmd, "addr2line -f -s -i -e '%s' 0x%lx 2>/dev/null | paste -sd ' '", info.dli_fname,
                     (unsigned long)off);
            FILE *p = popen(cmd, "r");
            if (p) {
                if (!fgets(line, sizeof line, p)) line[0] = 0;
                pclose(p);
            }
            line[strcspn(line, "\n")] = 0;
            if (!line[0] || line[0] == '?')
                snprintf(line, sizeof line, "%s+0x%lx", info.dli_fname, (unsigned long)off);
        }
        fprintf(stderr, "      #%d %s\n", i, line[0] ? line : "?");
    }
}
