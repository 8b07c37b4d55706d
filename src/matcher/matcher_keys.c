/* matcher_keys.c - see matcher_keys.h. A linear search: keys are labels, few per matcher,
 * and are looked up only when patterns are added. */
#include "matcher/matcher_keys.h"

#include <stdlib.h>
#include <string.h>

#include "text/hash.h"
#include "util/buf.h"

int matcher_keys_intern(matcher_keys *k, const char *key)
{
    for (size_t i = 0; i < k->n; i++)
        if (!strcmp(k->names[i], key)) return (int)i;
    if (k->n >= (size_t)INT32_MAX) return -1;
    if (grow_array((void **)&k->names, &k->cap, k->n + 1, sizeof *k->names) ||
        grow_array((void **)&k->ids, &k->ids_cap, k->n + 1, sizeof *k->ids))
        return -1;
    size_t len = strlen(key);
    if (!(k->names[k->n] = malloc(len + 1))) return -1;
    memcpy(k->names[k->n], key, len + 1);
    k->ids[k->n] = nerd_string_hash(key, len);
    return (int)k->n++;
}

const char *matcher_keys_name(const matcher_keys *k, unsigned key)
{
    return key < k->n ? k->names[key] : NULL;
}

void matcher_keys_truncate(matcher_keys *k, size_t n)
{
    while (k->n > n) free(k->names[--k->n]);
}

void matcher_keys_free(matcher_keys *k)
{
    matcher_keys_truncate(k, 0);
    free(k->names);
    free(k->ids);
    *k = (matcher_keys){0};
}
