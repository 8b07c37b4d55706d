/* softmax.h - thinc's Softmax (v1/v2) output layer at inference, as spacy.Tagger.v2 builds it
 * over a tok2vec: scores = X W^T + b per token, and the class a tagger picks from them (numpy's
 * argmax: the first of equal maxima). With normalize_outputs = false (Tagger.v2's default, what
 * spaCy's pipelines ship) thinc returns those raw scores at inference; normalizing them would
 * not change the order but could round two near scores to one probability, so a folder asking
 * for it is refused by the component, not approximated. Shared by every tagger-like component
 * (tagger, morphologizer, senter). */
#ifndef NERD_SOFTMAX_H
#define NERD_SOFTMAX_H

#include <stddef.h>
#include <stdint.h>

#include "modelfile/thinc_weights.h"

typedef struct {
    const float *W; /* nO x nI, row-major (thinc's layout) */
    const float *b; /* nO */
    int nO, nI;
} softmax_layer;

/* Binds the model's (first) "softmax" node, whose input must be nI wide. 0, or -1 with err. */
int softmax_bind(softmax_layer *s, const thinc_model *m, int nI, char *err, size_t errlen);

/* The scratch softmax_argmax needs for n rows, in floats. */
size_t softmax_scratch_floats(const softmax_layer *s, size_t n);
/* For n rows of X (n x nI): out[i] = the index of the largest score of row i, the first of
 * equal ones. */
void softmax_argmax(const softmax_layer *s, const float *X, size_t n, float *scratch, int32_t *out);

#endif
