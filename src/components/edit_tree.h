/* edit_tree.h - spaCy's trainable_lemmatizer (EditTreeLemmatizer): its edit trees as the folder
 * stores them, the label -> tree table, and a tree applied to a form.
 *
 * An edit tree rewrites a form into its lemma. A substitution node applies only to exactly its
 * original string and gives its substitute; a match node keeps the form's middle and applies
 * its prefix and suffix subtrees to the first prefix_len and last suffix_len characters (code
 * points, as Python slices str), failing when the form is shorter than both. The folder's
 * trainable_lemmatizer/trees is msgpack {"trees": [node...]} with match nodes
 * {prefix_len, suffix_len, prefix_tree, suffix_tree} (UINT32_MAX: no subtree) and substitution
 * nodes {orig, subst} holding StringStore keys (vocab/strings.json has their strings);
 * trainable_lemmatizer/cfg is {"labels": [tree id per softmax column]}. */
#ifndef NERD_EDIT_TREE_H
#define NERD_EDIT_TREE_H

#include <stddef.h>
#include <stdint.h>

#include "nerd.h"
#include "util/buf.h"

#define ET_NO_TREE UINT32_MAX  /* a match node without that subtree; a token without a tree */
/* the top_k above which spaCy orders all candidates by argsort rather than repeated argmax */
#define ET_TOP_K_GUARDRAIL 20

typedef struct {
    uint8_t is_match;
    uint32_t prefix_len, suffix_len;    /* code points */
    uint32_t prefix_tree, suffix_tree;  /* ET_NO_TREE or an id smaller than this node's */
    uint32_t orig, subst;               /* substitution: indices into the string table */
} et_node;

/* What the lemma is when no tree applies (the component's backoff): spaCy's "orth" gives the
 * token's text, null leaves it unset. */
typedef enum { ET_BACKOFF_NONE = 0, ET_BACKOFF_ORTH = 1 } et_backoff;

typedef struct {
    et_node *nodes;
    uint32_t nnodes;
    uint32_t *labels;        /* softmax column -> tree id */
    uint32_t nlabels;
    buf strs;                /* the substitution nodes' strings, NUL-separated */
    uint32_t *str_off, *str_len;
    uint32_t nstrs;
    int top_k;
    et_backoff backoff;
    int overwrite;
} edit_trees;

/* Reads dir/trees, dir/cfg and the strings they need from vocab_strings (vocab/strings.json).
 * top_k, backoff and overwrite are the config's. NERD_OK, or the status with err naming the file. */
nerd_status et_load(edit_trees *t, const char *dir, const char *vocab_strings, int top_k, et_backoff backoff,
                    int overwrite, char *err, size_t errlen);
void et_free(edit_trees *t);

/* Appends tree `tree` applied to form[0..len) (valid UTF-8) to out: 0, 1 when it does not apply
 * (out is then unchanged), -1 out of memory. */
int et_apply(const edit_trees *t, uint32_t tree, const char *form, size_t len, buf *out);

/* The tree spaCy's predict chooses for a token from its nlabels scores: the likeliest of the
 * top_k likeliest trees that applies to the form (*tree, its lemma appended to lemma), or
 * ET_NO_TREE (lemma unchanged). scratch holds nlabels floats. 0, or -1 out of memory. */
int et_choose(const edit_trees *t, const float *scores, float *scratch, const char *form, size_t len, buf *lemma,
              uint32_t *tree);

#endif
