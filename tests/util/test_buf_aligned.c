/* grow_array_aligned: the networks' scratch starts on a cache line after every growth, keeps
 * its elements as realloc would, and refuses sizes that overflow without touching the array. */
#include "test.h"
#include "util/buf.h"

#include <stdint.h>
#include <stdlib.h>

TEST(grow_array_aligned_keeps_elements_on_a_cache_line)
{
    float *a = NULL;
    size_t cap = 0;
    size_t filled = 0;
    static const size_t needs[] = {1, 63, 64, 65, 1000, 1000, 70000, 10};
    for (size_t t = 0; t < sizeof needs / sizeof *needs; t++) {
        const size_t old_cap = cap;
        CHECK(grow_array_aligned((void **)&a, &cap, needs[t], sizeof *a) == 0);
        CHECKF((uintptr_t)a % BUF_LINE == 0, "need %zu: %p not on a %d-byte line", needs[t], (void *)a, BUF_LINE);
        CHECK(cap >= needs[t] && cap >= old_cap);
        if (needs[t] <= old_cap) CHECK(cap == old_cap); /* no growth when it fits */
        for (size_t i = 0; i < filled; i++) CHECKF(a[i] == (float)i * 0.5f, "element %zu lost growing to %zu", i, cap);
        for (size_t i = filled; i < cap; i++) a[i] = (float)i * 0.5f;
        filled = cap;
    }
    float *before = a;
    const size_t before_cap = cap;
    CHECK(grow_array_aligned((void **)&a, &cap, SIZE_MAX / 2, sizeof *a) == -1);
    CHECK(a == before && cap == before_cap);
    free(a);
}
