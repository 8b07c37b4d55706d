/* noun_chunks.h - English and French base noun phrases from a dependency parse: doc.noun_chunks
 * as spacy/lang/en/syntax_iterators.py and spacy/lang/fr/syntax_iterators.py define them (spaCy
 * 3.8.7), over plain arrays.
 *
 * English:
 * A token tagged NOUN, PROPN or PRON heads a chunk from its left edge to itself when its label is
 * one of oprd nsubj dobj nsubjpass pcomp pobj dative appos attr ROOT, or when it is a conj whose
 * chain of leftward conj heads ends on such a label; a chunk that would start at or before the
 * end of the previous one is skipped (no nesting). Labels are ClearNLP's, as en_core_web_sm's
 * parser predicts them; a parse with other labels (Universal Dependencies) gets only the chunks
 * its labels name, as in spaCy.
 *
 * French (Universal Dependencies labels, as fr_core_news_sm/md's parser predicts them): a NOUN,
 * PROPN or PRON labelled nsubj nsubj:pass obj obl obl:agent obl:arg obl:mod nmod pcomp appos ROOT
 * spans from its left edge (one past it when that token is an ADP) to an end its first right
 * child (token.rights[0]) decides: that child's right edge when it is an amod, the child itself
 * when it is a det tagged DET, the noun's own right edge when it is flat flat:name flat:foreign
 * fixed or compound, else the noun itself (and the noun alone without a right child). A conj whose
 * chain of leftward conj heads ends on such a label spans from its left edge (one past it when
 * that token is a CCONJ) to itself. A chunk starting at or before the end of the previous one is
 * skipped. */
#ifndef NERD_NOUN_CHUNKS_H
#define NERD_NOUN_CHUNKS_H

#include <stddef.h>
#include <stdint.h>

/* spaCy's token.left_edge and token.right_edge for every token (set_children_from_heads: the parse's edges as spaCy
 * propagates them, a pass at a time, up to its bound on passes for non-projective trees).
 * head[i] is the absolute index of token i's head, a root its own; a head outside [0, n) counts
 * as the token itself. 0, or -1 when memory runs out. */
int doc_edges(size_t n, const int32_t *head, int32_t *left_edge, int32_t *right_edge);
/* doc_edges' left edges alone. */
int doc_left_edges(size_t n, const int32_t *head, int32_t *left_edge);

/* The English noun chunks of n tokens: head as above, dep[i] and pos[i] their labels and coarse
 * tags as NUL-terminated strings (token.dep_, token.pos_). Writes chunk k as tokens
 * [start[k], end[k]) in spaCy's order (start and end hold n entries at most) and returns the
 * count, or -1 when memory runs out. A doc without a parse (every dep "") has none. */
long en_noun_chunks(size_t n, const int32_t *head, const char *const *dep, const char *const *pos, size_t *start,
                    size_t *end);
/* The French noun chunks, as en_noun_chunks gives the English ones. */
long fr_noun_chunks(size_t n, const int32_t *head, const char *const *dep, const char *const *pos, size_t *start,
                    size_t *end);

/* en_noun_chunks' and fr_noun_chunks' signature */
typedef long (*noun_chunks_fn)(size_t n, const int32_t *head, const char *const *dep, const char *const *pos,
                               size_t *start, size_t *end);
/* The syntax iterator of spaCy's language `lang` ("en", "fr") that nerd computes, or NULL. */
noun_chunks_fn noun_chunks_for_lang(const char *lang);
/* 1 if spaCy 3.8.7 has a syntax iterator for `lang` (spacy/lang/<lang>/syntax_iterators.py), nerd
 * computing it or not; without one, spaCy's doc.noun_chunks raises (E894). */
int spacy_lang_has_noun_chunks(const char *lang);

#endif
