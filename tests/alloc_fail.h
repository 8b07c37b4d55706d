/* alloc_fail.h - allocation failure injection for the tests (tests/alloc_fail.c). The test
 * binary defines malloc, calloc, realloc, reallocarray, aligned_alloc, posix_memalign, memalign
 * and free itself (glibc lets an executable replace them, for the libraries it loads too) and
 * forwards them to glibc's. Armed with n, it counts the allocations from then on and makes the
 * nth fail (NULL, errno ENOMEM); it also keeps the bytes live, to find leaks. Sanitizer
 * builds own malloc, so there the hooks are not built and alloc_fail_available() is 0. */
#ifndef NERD_TESTS_ALLOC_FAIL_H
#define NERD_TESTS_ALLOC_FAIL_H

#include <stddef.h>
#include <stdint.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define ALLOC_FAIL_HOOKS 0
#else
#define ALLOC_FAIL_HOOKS 1
#endif

/* The call stack of an allocation, a few frames above the hook. */
#define ALLOC_FAIL_FRAMES 6
typedef struct { void *frame[ALLOC_FAIL_FRAMES]; int n; } alloc_site;

int alloc_fail_available(void);
/* Counts allocations from 0; the nth (from 1) fails, none when n is 0. With record set, the
 * call stack of every allocation is hashed into record[i] (i < record_cap) as it is made. */
void alloc_fail_arm(uint64_t n, uint64_t *record, uint64_t record_cap);
void alloc_fail_disarm(void);
/* While paused (on = 1), allocations are neither counted nor failed: a test checks its results so. */
void alloc_fail_pause(int on);
/* Allocations counted since arming. */
uint64_t alloc_fail_count(void);
/* 1 once the nth allocation has failed; *site gets its call stack and *key its hash. */
int alloc_fail_hit(alloc_site *site, uint64_t *key);
/* Bytes held by the blocks allocated and not freed (malloc_usable_size of each). */
int64_t alloc_live_bytes(void);
/* The caller's call stack, without its skip innermost frames. */
void alloc_site_here(alloc_site *s, int skip);
/* Prints a call stack as file:line lines (addr2line on the test binary, else raw addresses). */
void alloc_site_print(const alloc_site *site);

#endif
