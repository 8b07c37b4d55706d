/* tok2vec_net.h - spaCy's Tok2Vec.v2 = MultiHashEmbed.v2 (hashed row lookups per lexical
 * attribute, concatenated, Maxout + LayerNorm mix) >> MaxoutWindowEncoder.v2 (residual blocks
 * of window concat + Maxout + LayerNorm). Inference only; dimensions come from the weights. */
#ifndef NERD_TOK2VEC_NET_H
#define NERD_TOK2VEC_NET_H

#include <stddef.h>
#include <stdint.h>

#include "modelfile/thinc_weights.h"

#define T2V_MAX_ATTRS 8
#define T2V_MAX_DEPTH 8
#define T2V_PAD 4   /* thinc's with_array(pad=...) used by the encoder: rows of zeros each side */

typedef struct { const float *W, *b, *G, *Gb; } t2v_block; /* maxout W (nO,nP,nI), b (nO,nP); layernorm G, b */

typedef struct {
    int nattrs, width;
    struct { const float *E; uint32_t nV; uint32_t seed; } embed[T2V_MAX_ATTRS];
    int mix_nI, mix_pieces;
    t2v_block mix;
    int depth, window, pieces;
    t2v_block block[T2V_MAX_DEPTH];
} t2v_net;

/* Binds the tok2vec part of a thinc model: the hashembed nodes (in column order), the mixing
 * maxout/layernorm and the encoder blocks. Checks every shape; -1 with a message if off. */
int t2v_bind(t2v_net *net, const thinc_model *m, int nattrs, int width, int depth, int window, int pieces,
             char *err, size_t errlen);

/* Scratch floats t2v_forward needs for n tokens. */
size_t t2v_scratch_floats(const t2v_net *net, size_t n);

/* Optional observer of intermediate values (layer tests): stage names as in
 * golden/layers/README.md ("hashembed0_out", "embed_maxout", "embed_out",
 * "encoder_block0_padded", ...). */
typedef void (*t2v_trace_fn)(void *ctx, const char *stage, const float *data, size_t rows, size_t cols);

/* attrs: n rows of nattrs uint64 feature values (string hashes). out: n x width. */
void t2v_forward(const t2v_net *net, const uint64_t *attrs, size_t n, float *out, float *scratch,
                 t2v_trace_fn trace, void *trace_ctx);

/* Shared numeric helpers (also used by the parser network). */
void nn_maxout(const float *X, size_t n, size_t nI, const float *W, const float *b, int nO, int nP,
               float *tmp /* n*nO*nP */, float *Y /* n*nO */);
void nn_layernorm(float *X, size_t n, int nO, const float *G, const float *b);

#endif
