/* tagger.h - spaCy's tagger factory (spacy.Tagger.v2 over the shared tok2vec): a softmax over
 * the tok2vec's output per token, the argmax's label as token.tag_. Computed in the doc
 * pipeline only, inside the shared tok2vec's pass (parser.c), so that pass runs once. */
#ifndef NERD_TAGGER_H
#define NERD_TAGGER_H

#include "modelfile/thinc_weights.h"
#include "nn/softmax.h"
#include "nerd.h"

typedef struct {
    thinc_model weights;
    softmax_layer out;
    nerd_str *labels;  /* tagger/cfg "labels", in the order the softmax scores them */
    int nlabels;       /* 0: no tagger */
} tagger_component;

void tagger_free(tagger_component *t);

#endif
