/* tok2vec_net.h - spaCy's Tok2Vec = MultiHashEmbed (hashed row lookups per lexical attribute,
 * concatenated, Maxout + LayerNorm mix) >> a window encoder: residual blocks of window concat +
 * Maxout + LayerNorm (MaxoutWindowEncoder) or + Mish + LayerNorm (MishWindowEncoder), over the
 * sequence padded with `pad` zero rows each side (thinc's with_array(pad=...): the receptive
 * field depth x window for the Maxout encoder, none for the Mish one). Inference only. */
#ifndef NERD_TOK2VEC_NET_H
#define NERD_TOK2VEC_NET_H

#include <stddef.h>
#include <stdint.h>

#include "modelfile/thinc_weights.h"
#include "modelfile/vectors_file.h"

#define T2V_MAX_ATTRS 8
#define T2V_MAX_DEPTH 8
#define T2V_MAX_WINDOW 8

typedef enum { T2V_ENC_MAXOUT = 0, T2V_ENC_MISH } t2v_encoder;

typedef struct { const float *W, *b, *G, *Gb; } t2v_block; /* maxout W (nO,nP,nI), b (nO,nP); layernorm G, b */

/* The string a floret table hashes for a token: bow + the key's string + eow. */
typedef struct { const char *s; uint32_t len; } t2v_text;

typedef struct {
    int nattrs, width;   /* input columns: the nhash hashed attributes, then the static vectors' key */
    int nhash;
    struct { const float *E; uint32_t nV; uint32_t seed; } embed[T2V_MAX_ATTRS];
    /* spacy.StaticVectors (include_static_vectors): column nhash is the key (the table's
     * attribute hash); its vector times W^T (width x nM, no bias) is the last width columns of
     * the mixing layer's input, zeros for a key the table lacks. vt is NULL without. */
    const vec_table *vt;
    const float *sv_W;
    int sv_nM;
    int sv_unknown_last;  /* StaticVectors.v1 (MultiHashEmbed.v1): an unknown key takes the last row */
    int mix_nI, mix_pieces;
    t2v_block mix;
    int depth, window, pieces;   /* pieces is 1 for Mish blocks */
    t2v_encoder encoder;
    int pad;                     /* zero rows each side of the sequence the encoder runs over */
    t2v_block block[T2V_MAX_DEPTH];
} t2v_net;

/* Binds the tok2vec part of a thinc model: the hashembed nodes (in column order), the mixing
 * maxout/layernorm and the encoder blocks. Checks every shape; -1 with a message if off. */
int t2v_bind(t2v_net *net, const thinc_model *m, int nattrs, int width, int depth, int window, int pieces,
             char *err, size_t errlen);
/* The same for either encoder, with the pad its Tok2Vec/encoder versions give (see above), and
 * static vectors from vt (NULL: none; nattrs counts the hashed attributes only). */
int t2v_bind_encoder(t2v_net *net, const thinc_model *m, int nattrs, int width, int depth, int window, int pieces,
                     t2v_encoder enc, int pad, const vec_table *vt, char *err, size_t errlen);

/* Whether net's input needs the tokens' texts (a floret table), with NULL allowed otherwise. */
int t2v_needs_text(const t2v_net *net);
/* A token's static vector before the projection into v[sv_nM]: 1, or 0 when it is spaCy's zero
 * row (a key the default table lacks; v untouched). */
int t2v_static_input(const t2v_net *net, uint64_t key, const t2v_text *text, float *v);

/* thinc's mish on one float32 (its CPU kernel: expf, then log and tanh in double, x < 20). */
float nn_mish(float x);

/* Scratch floats t2v_forward needs for n tokens. */
size_t t2v_scratch_floats(const t2v_net *net, size_t n);

/* Optional observer of intermediate values (layer tests): stage names as in
 * golden/layers/README.md ("hashembed0_out", "embed_maxout", "embed_out",
 * "encoder_block0_padded", ...). */
typedef void (*t2v_trace_fn)(void *ctx, const char *stage, const float *data, size_t rows, size_t cols);

/* attrs: n rows of nattrs uint64 feature values (string hashes); texts: n tokens' texts when
 * t2v_needs_text, else may be NULL. out: n x width. */
void t2v_forward(const t2v_net *net, const uint64_t *attrs, const t2v_text *texts, size_t n, float *out,
                 float *scratch, t2v_trace_fn trace, void *trace_ctx);

/* Shared numeric helpers (also used by the parser network). */
void nn_maxout(const float *X, size_t n, size_t nI, const float *W, const float *b, int nO, int nP,
               float *tmp /* n*nO*nP */, float *Y /* n*nO */);
void nn_layernorm(float *X, size_t n, int nO, const float *G, const float *b);

#endif
