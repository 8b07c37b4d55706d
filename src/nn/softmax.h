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
#include "nn/kernels.h"

typedef struct {
    kn_weights W;   /* nO x nI, packed for nerd's kernels (the served model never calls a BLAS) */
    const float *b; /* nO */
    int nO, nI;
} softmax_layer;

/* A layer over W (nO x nI, row-major: thinc's layout) and b (nO, kept by reference). 0, or -1
 * when memory runs out. */
int softmax_init(softmax_layer *s, const float *W, const float *b, int nO, int nI);
/* softmax_init over the model's (first) "softmax" node, whose input must be nI wide. 0, -1 with
 * err, or -2 when memory runs out. */
int softmax_bind(softmax_layer *s, const thinc_model *m, int nI, char *err, size_t errlen);
void softmax_free(softmax_layer *s);

/* The scratch softmax_argmax needs for n rows, in floats. */
size_t softmax_scratch_floats(const softmax_layer *s, size_t n);
/* For n rows of X (n x nI): out[i] = the index of the largest score of row i, the first of
 * equal ones. */
void softmax_argmax(const softmax_layer *s, const float *X, size_t n, float *scratch, int32_t *out);

#endif
