/* arch.h - the model architectures of config.cfg that nerd computes, read from their
 * sections: a tok2vec (Tok2Vec.v1/v2 = MultiHashEmbed.v1/v2 >> MaxoutWindowEncoder.v1/v2 or
 * MishWindowEncoder.v1/v2) and a TransitionBasedParser.v1/v2. Anything else is refused with
 * a message naming config.cfg, the section and the architecture or setting. */
#ifndef NERD_ARCH_H
#define NERD_ARCH_H

#include "modelfile/spacy_config.h"
#include "modelfile/thinc_weights.h"
#include "nn/parser_net.h"
#include "nn/tok2vec_net.h"

/* The token attributes a MultiHashEmbed may read, as nerd computes them per token. */
typedef enum {
    ATTR_NORM = 0, ATTR_PREFIX, ATTR_SUFFIX, ATTR_SHAPE, /* the four every doc keeps (NER_NATTRS) */
    ATTR_SPACY, ATTR_IS_SPACE, ATTR_ORTH, ATTR_LOWER, ATTR_COUNT
} token_attr;
#define NER_NATTRS 4

typedef struct {
    int width, depth, window, pieces, nattrs, pad;  /* nattrs: hashed attributes */
    int static_vectors;  /* include_static_vectors: 1 (StaticVectors.v2), 2 (v1, MultiHashEmbed.v1) */
    t2v_encoder encoder;
    char attrs[T2V_MAX_ATTRS][32];
    int attr[T2V_MAX_ATTRS];  /* token_attr of each column; after the hashed ones, the vectors' key */
    long rows[T2V_MAX_ATTRS];
} t2v_dims;

typedef struct { int nfeats, use_upper; long hidden, pieces; } tb_dims;

/* The tok2vec of section sec (e.g. "components.tok2vec.model"). 0, or -1 with err. */
int arch_tok2vec(const spacy_config *c, const char *sec, t2v_dims *d, const char *path, char *err, size_t errlen);
/* Binds its weights (and vt, the folder's vectors, when d has static vectors) and checks them
 * against the config; sets d's column of the vectors' key. */
int arch_tok2vec_bind(t2v_net *net, const thinc_model *w, t2v_dims *d, const vec_table *vt, const char *path,
                      char *err, size_t errlen);
/* A TransitionBasedParser of state_type "ner" (nfeats 3, or 6 with extra_state_tokens) or
 * "parser" (8; its 13 extra features are refused). */
int arch_tb_parser(const spacy_config *c, const char *sec, const char *state_type, tb_dims *d, const char *path,
                   char *err, size_t errlen);
/* Checks the bound layers against the config. */
int arch_tb_check(const parser_net *p, const tb_dims *d, const char *path, char *err, size_t errlen);

/* Is section sec a Tok2VecListener.v1? Its upstream ("*" when not named) into up. */
int arch_is_listener(const spacy_config *c, const char *sec, char *up, size_t uplen);

#endif
