/* noun_chunks.c - English and French noun chunks and the edges they span (noun_chunks.h). */
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

static void edge_pass(size_t n, const int32_t *head, int32_t *left_edge, int32_t *right_edge)
{
    /* forward then backward, each widening a head's edges to its child's, as spaCy's loops do */
    for (size_t i = 0; i < n; i++) {
        int32_t h = head_of(n, head, i);
        if (left_edge[i] < left_edge[h]) left_edge[h] = left_edge[i];
        if (right_edge[i] > right_edge[h]) right_edge[h] = right_edge[i];
    }
    for (size_t i = n; i-- > 0;) {
        int32_t h = head_of(n, head, i);
        if (right_edge[i] > right_edge[h]) right_edge[h] = right_edge[i];
        if (left_edge[i] < left_edge[h]) left_edge[h] = left_edge[i];
    }
}

/* Both edges: the right ones take as many passes as the left ones decide (spaCy's check reads
 * the left edges only, and neither kind feeds the other). */
static void edges_with(size_t n, const int32_t *head, int32_t *left_edge, int32_t *right_edge, uint8_t *is_start)
{
    for (size_t i = 0; i < n; i++) left_edge[i] = right_edge[i] = (int32_t)i;
    for (int pass = 0; pass < EDGE_MAX_PASSES; pass++) {
        edge_pass(n, head, left_edge, right_edge);
        if (heads_within_sentences(n, head, left_edge, is_start)) break;
    }
}

int doc_edges(size_t n, const int32_t *head, int32_t *left_edge, int32_t *right_edge)
{
    uint8_t *is_start = malloc(n ? n : 1);
    if (!is_start) return -1;
    edges_with(n, head, left_edge, right_edge, is_start);
    free(is_start);
    return 0;
}

int doc_left_edges(size_t n, const int32_t *head, int32_t *left_edge)
{
    int32_t *right_edge = malloc((n ? n : 1) * sizeof *right_edge);
    int rc = right_edge ? doc_edges(n, head, left_edge, right_edge) : -1;
    free(right_edge);
    return rc;
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

/* A parsed doc as a language's rule reads it. */
typedef struct {
    size_t n;
    const int32_t *head, *left_edge, *right_edge;
    const char *const *dep, *const *pos;
} parse_view;

/* A language's rule for a NOUN, PROPN or PRON i not nested in the previous chunk: 1 and its chunk
 * [*first, *last], or 0 when it heads none. */
typedef int (*chunk_rule)(const parse_view *p, size_t i, size_t *first, size_t *last);

/* The loop both syntax iterators share: the nominal tokens in order, a chunk starting at or
 * before the end of the previous one skipped (no nesting). A doc without a parse (every label "")
 * has none. */
static long run_chunks(chunk_rule rule, size_t n, const int32_t *head, const char *const *dep,
                       const char *const *pos, size_t *start, size_t *end)
{
    int has_parse = 0;
    for (size_t i = 0; i < n && !has_parse; i++) has_parse = dep[i][0] != 0;
    if (!has_parse) return 0;
    /* n > 0: a parsed doc has tokens */
    int32_t *edges = malloc(2 * n * sizeof *edges);
    if (!edges || doc_edges(n, head, edges, edges + n)) {
        free(edges);
        return -1;
    }
    parse_view p = {n, head, edges, edges + n, dep, pos};
    long count = 0;
    long prev_end = -1;
    for (size_t i = 0; i < n; i++) {
        size_t first, last;
        if (!in_list(pos[i], nominal_pos, sizeof nominal_pos / sizeof *nominal_pos)) continue;
        if (p.left_edge[i] <= prev_end) continue; /* would nest in the previous chunk */
        if (!rule(&p, i, &first, &last)) continue;
        prev_end = (long)last;
        start[count] = first;
        end[count] = last + 1;
        count++;
    }
    free(edges);
    return count;
}

/* The head a conj's chain of leftward conj heads ends on (syntax_iterators.py's loop). */
static size_t conj_chain_head(const parse_view *p, size_t i)
{
    size_t h = (size_t)head_of(p->n, p->head, i);
    while (!strcmp(p->dep[h], "conj") && (size_t)head_of(p->n, p->head, h) < h) h = (size_t)head_of(p->n, p->head, h);
    return h;
}

/* English: a noun phrase's label, or a conj coordinated to one; from the left edge to itself */
static int en_chunk_rule(const parse_view *p, size_t i, size_t *first, size_t *last)
{
    int is_np = is_np_label(p->dep[i]);
    if (!is_np && !strcmp(p->dep[i], "conj")) is_np = is_np_label(p->dep[conj_chain_head(p, i)]);
    *first = (size_t)p->left_edge[i];
    *last = i;
    return is_np;
}

long en_noun_chunks(size_t n, const int32_t *head, const char *const *dep, const char *const *pos, size_t *start,
                    size_t *end)
{
    return run_chunks(en_chunk_rule, n, head, dep, pos, start, end);
}

/* ---- French (spacy/lang/fr/syntax_iterators.py): Universal Dependencies labels ---------- */

static const char *const fr_np_labels[] = {"nsubj", "nsubj:pass", "obj",  "obl",   "obl:agent", "obl:arg",
                                           "obl:mod", "nmod",     "pcomp", "appos", "ROOT"};
/* a right child with one of these labels stretches the chunk to its head's right edge */
static const char *const fr_post_modifiers[] = {"flat", "flat:name", "flat:foreign", "fixed", "compound"};

static int fr_is_np_label(const char *dep) { return in_list(dep, fr_np_labels, sizeof fr_np_labels / sizeof *fr_np_labels); }

/* token.rights' first: the leftmost token in (i, right_edge[i]] headed by i, or -1 (spaCy scans
 * only up to the right edge it computed) */
static long first_right_child(const parse_view *p, size_t i)
{
    for (size_t j = i + 1; j <= (size_t)p->right_edge[i]; j++)
        if ((size_t)head_of(p->n, p->head, j) == i) return (long)j;
    return -1;
}

static int fr_chunk_rule(const parse_view *p, size_t i, size_t *first, size_t *last)
{
    size_t left = (size_t)p->left_edge[i];
    if (fr_is_np_label(p->dep[i])) {
        long rc = first_right_child(p, i);
        if (rc < 0) *last = i;
        else if (!strcmp(p->dep[rc], "amod")) *last = (size_t)p->right_edge[rc]; /* a chain of adjectives */
        else if (!strcmp(p->dep[rc], "det") && !strcmp(p->pos[rc], "DET")) *last = (size_t)rc; /* cut there */
        else if (in_list(p->dep[rc], fr_post_modifiers, sizeof fr_post_modifiers / sizeof *fr_post_modifiers))
            *last = (size_t)p->right_edge[i];
        else *last = i;
        *first = left + !strcmp(p->pos[left], "ADP"); /* the preposition starting the subtree stays out */
        return 1;
    }
    if (strcmp(p->dep[i], "conj") || !fr_is_np_label(p->dep[conj_chain_head(p, i)])) return 0;
    *last = i;
    *first = left + !strcmp(p->pos[left], "CCONJ"); /* so does the conjunction before a conjunct */
    return 1;
}

long fr_noun_chunks(size_t n, const int32_t *head, const char *const *dep, const char *const *pos, size_t *start,
                    size_t *end)
{
    return run_chunks(fr_chunk_rule, n, head, dep, pos, start, end);
}

int spacy_lang_has_noun_chunks(const char *lang)
{
    static const char *const langs[] = {"ca", "da", "de", "el", "en", "es", "fa", "fi", "fr", "id",
                                        "it", "ja", "la", "ms", "nb", "nl", "pt", "sv", "tr"};
    return in_list(lang, langs, sizeof langs / sizeof *langs);
}

noun_chunks_fn noun_chunks_for_lang(const char *lang)
{
    static const struct {
        const char *lang;
        noun_chunks_fn fn;
    } iterators[] = {{"en", en_noun_chunks}, {"fr", fr_noun_chunks}};
    for (size_t i = 0; i < sizeof iterators / sizeof *iterators; i++)
        if (!strcmp(lang, iterators[i].lang)) return iterators[i].fn;
    return NULL;
}
