/* softmax_head.h - spaCy's Tagger.v1/v2 architecture as the senter, the morphologizer and the
 * trainable_lemmatizer use it: a tok2vec (a listener of the shared one, or its own Tok2Vec)
 * then a Softmax over its rows (nn/softmax.h: its scores at inference), of which these
 * components take argmaxes. */
#ifndef NERD_SOFTMAX_HEAD_H
#define NERD_SOFTMAX_HEAD_H

#include "components/arch.h"
#include "modelfile/spacy_config.h"
#include "modelfile/thinc_weights.h"
#include "nn/softmax.h"
#include "nn/t2v_fast.h"

typedef struct {
    char name[32];           /* the component's */
    int listens;             /* on the shared tok2vec, else its own below */
    thinc_model weights;
    t2v_net t2v;
    t2v_packed t2v_packed;
    int t2v_attr[T2V_MAX_ATTRS];
    softmax_layer out;
} softmax_head;

struct nerd_model;
/* Loads component `name`'s model (config.cfg's [components.NAME.model], NAME/model); a listener
 * loads the shared tok2vec it listens to. nO_expected: the labels the component has (0: any).
 * NERD_OK, or the status with err naming the file and section. */
nerd_status head_load(struct nerd_model *m, softmax_head *h, const spacy_config *c, const char *dir,
                      const char *name, int nO_expected, char *err, size_t errlen);
void head_free(softmax_head *h);

#endif
