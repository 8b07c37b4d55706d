/* noun_chunks.c - English noun chunks and the left edges they start at (noun_chunks.h). */
#include "components/noun_chunks.h"

#include <stdlib.h>
#include <string.h>

/* spaCy retries its edge passes while some head lies outside the sentence the edges imply;
 * its loop stops after this many passes even if one still does. */
enum { EDGE_MAX_PASSES = 12 };

static int32_t head_of(size_t n, const int32_t *head, size_t i)
{
    return head[i] >= 0 && (size_t)head[i] < n ? head[i] : (int32_t)i;
}

/* Do the sentences the roots' left edges start agree with the heads? Each stretch from one
 * sentence start to the next must have its heads within it or on the next start (spaCy's
 * bound is inclusive there), the last stretch up to the last token. */
static int heads_within_sentences(size_t n, const int32_t *head, const int32_t *left_edge, uint8_t *is_start)
{
    memset(is_start, 0, n);
    for (size_t i = 0; i < n; i++)
        if ((size_t)head_of(n, head, i) == i) is_start[left_edge[i]] = 1;
    size_t sent_start = 0;
    for (size_t i = 0; i < n; i++) {
        if (!((i > 0 && is_start[i]) || i == n - 1)) continue;
        for (size_t j = sent_start; j < i; j++) {
            int32_t h = head_of(n, head, j);
            if (h < (int32_t)sent_start || h > (int32_t)i) return 0;
        }
        sent_start = i;
    }
    return 1;
}

static void edge_pass(size_t n, const int32_t *head, int32_t *left_edge)
{
    /* forward then backward, each lowering a head's edge to its child's */
    for (size_t i = 0; i < n; i++) {
        int32_t h = head_of(n, head, i);
        if (left_edge[i] < left_edge[h]) left_edge[h] = left_edge[i];
    }
    for (size_t i = n; i-- > 0;) {
        int32_t h = head_of(n, head, i);
        if (left_edge[i] < left_edge[h]) left_edge[h] = left_edge[i];
    }
}

static void left_edges_with(size_t n, const int32_t *head, int32_t *left_edge, uint8_t *is_start)
{
    for (size_t i = 0; i < n; i++) left_edge[i] = (int32_t)i;
    for (int pass = 0; pass < EDGE_MAX_PASSES; pass++) {
        edge_pass(n, head, left_edge);
        if (heads_within_sentences(n, head, left_edge, is_start)) break;
    }
}

int doc_left_edges(size_t n, const int32_t *head, int32_t *left_edge)
{
    uint8_t *is_start = malloc(n ? n : 1);
    if (!is_start) return -1;
    left_edges_with(n, head, left_edge, is_start);
    free(is_start);
    return 0;
}

/* the labels of a noun phrase's head (syntax_iterators.py's `labels`) */
static const char *const np_labels[] = {"oprd", "nsubj", "dobj", "nsubjpass", "pcomp",
                                        "pobj", "dative", "appos", "attr", "ROOT"};
static const char *const nominal_pos[] = {"NOUN", "PROPN", "PRON"};

static int in_list(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(s, list[i])) return 1;
    return 0;
}

static int is_np_label(const char *dep) { return in_list(dep, np_labels, sizeof np_labels / sizeof *np_labels); }

long en_noun_chunks(size_t n, const int32_t *head, const char *const *dep, const char *const *pos, size_t *start,
                    size_t *end)
{
    int has_parse = 0;
    for (size_t i = 0; i < n && !has_parse; i++) has_parse = dep[i][0] != 0;
    if (!has_parse) return 0;
    int32_t *left_edge = malloc(n * sizeof *left_edge);
    uint8_t *is_start = malloc(n);  /* n > 0: a parsed doc has tokens */
    if (!left_edge || !is_start) {
        free(left_edge);
        free(is_start);
        return -1;
    }
    left_edges_with(n, head, left_edge, is_start);
    long count = 0;
    long prev_end = -1;
    for (size_t i = 0; i < n; i++) {
        if (!in_list(pos[i], nominal_pos, sizeof nominal_pos / sizeof *nominal_pos)) continue;
        if (left_edge[i] <= prev_end) continue; /* would nest in the previous chunk */
        int is_np = is_np_label(dep[i]);
        if (!is_np && !strcmp(dep[i], "conj")) {
            /* coordinated to a noun phrase: follow the conj chain leftwards */
            size_t h = (size_t)head_of(n, head, i);
            while (!strcmp(dep[h], "conj") && (size_t)head_of(n, head, h) < h) h = (size_t)head_of(n, head, h);
            is_np = is_np_label(dep[h]);
        }
        if (!is_np) continue;
        prev_end = (long)i;
        start[count] = (size_t)left_edge[i];
        end[count] = i + 1;
        count++;
    }
    free(left_edge);
    free(is_start);
    return count;
}
