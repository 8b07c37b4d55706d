/* parser_net.h - spaCy's TransitionBasedParser.v2 at inference: the tok2vec output is
 * projected (Linear) to the hidden width's input, each token's contribution to every state
 * feature slot is precomputed once per document (PrecomputableAffine, with a learned pad row
 * for absent tokens), and each step sums the feature rows, takes the maxout and scores the
 * classes with the upper Linear. */
#ifndef NERD_PARSER_NET_H
#define NERD_PARSER_NET_H

#include <stddef.h>

#include "modelfile/thinc_weights.h"

typedef struct {
    int nF, nO, nP, nI;      /* feature slots, hidden width, maxout pieces, projected width */
    int t2v_width;           /* input of the projection */
    int nclasses;
    const float *proj_W, *proj_b;    /* (nI, t2v_width), (nI) */
    const float *lower_W;            /* (nF, nO, nP, nI) */
    const float *lower_b;            /* (nO, nP) */
    const float *lower_pad;          /* (1, nF, nO, nP) */
    const float *upper_W, *upper_b;  /* (nclasses, nO), (nclasses) */
} parser_net;

/* Binds the nodes "precomputable_affine" and the two "linear" nodes of a parser model file
 * (the projection is the one whose input is t2v_width). -1 with a message if off. */
int parser_net_bind(parser_net *p, const thinc_model *m, int t2v_width, char *err, size_t errlen);

/* Floats of the precomputed table for n tokens: (n+1) * nF*nO*nP. */
size_t parser_net_table_floats(const parser_net *p, size_t n);

/* tokvecs (n x t2v_width) -> proj (n x nI, scratch) -> table (row 0 = pad, row 1+i = token i). */
void parser_net_precompute(const parser_net *p, const float *tokvecs, size_t n, float *proj, float *table);
/* The two halves: the projection (Linear) of n tokens, and the table from projected rows. */
void parser_net_project(const parser_net *p, const float *tokvecs, size_t n, float *proj);
void parser_net_table(const parser_net *p, const float *proj, size_t n, float *table);
/* One token's contribution to feature slot f alone, written at row + f*nO*nP (a row laid out
 * as the table's): for a token whose table row is not at hand. */
void parser_net_feature_slot(const parser_net *p, const float *proj_row, int f, float *row);

/* One step: feats[nF] are token indices or -1 (the pad row). hidden (nO) and scores (nclasses). */
void parser_net_step(const parser_net *p, const float *table, const int *feats, float *hidden, float *scores);
/* The same from the table rows themselves (rows[f] = a whole row, nF*nO*nP floats), so that a
 * caller can stream the table in chunks and keep only the rows it still needs. */
void parser_net_step_rows(const parser_net *p, const float *const *rows, float *hidden, float *scores);

#endif
