#include "nn/tok2vec_net.h"
#include "text/hash.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static int shape_is(const tw_tensor *t, int ndim, uint32_t a, uint32_t b, uint32_t c)
{
    if (!t || t->ndim != ndim) return 0;
    uint32_t want[3] = {a, b, c};
    for (int i = 0; i < ndim; i++) if (t->shape[i] != want[i]) return 0;
    return 1;
}

static int bind_block(t2v_block *blk, const thinc_model *m, int maxout_node, int ln_node, int nO, int nP, int nI,
                      char *err, size_t errlen)
{
    const tw_tensor *W = tw_param_of(m, maxout_node, "W"), *b = tw_param_of(m, maxout_node, "b");
    const tw_tensor *G = tw_param_of(m, ln_node, "G"), *Gb = tw_param_of(m, ln_node, "b");
    if (!shape_is(W, 3, nO, nP, nI) || !shape_is(b, 2, nO, nP, 0) || !shape_is(G, 1, nO, 0, 0) || !shape_is(Gb, 1, nO, 0, 0)) {
        snprintf(err, errlen, "maxout node %d / layernorm node %d: weights are not (%d,%d,%d)", maxout_node, ln_node,
                 nO, nP, nI);
        return -1;
    }
    blk->W = W->data;
    blk->b = b->data;
    blk->G = G->data;
    blk->Gb = Gb->data;
    return 0;
}

/* A Mish block: W (nO, nI) and b (nO) are a maxout of one piece. */
static int bind_mish_block(t2v_block *blk, const thinc_model *m, int mish_node, int ln_node, int nO, int nI, char *err,
                           size_t errlen)
{
    const tw_tensor *W = tw_param_of(m, mish_node, "W"), *b = tw_param_of(m, mish_node, "b");
    const tw_tensor *G = tw_param_of(m, ln_node, "G"), *Gb = tw_param_of(m, ln_node, "b");
    if (!shape_is(W, 2, nO, nI, 0) || !shape_is(b, 1, nO, 0, 0) || !shape_is(G, 1, nO, 0, 0) || !shape_is(Gb, 1, nO, 0, 0)) {
        snprintf(err, errlen, "mish node %d / layernorm node %d: weights are not (%d,%d)", mish_node, ln_node, nO, nI);
        return -1;
    }
    *blk = (t2v_block){W->data, b->data, G->data, Gb->data};
    return 0;
}

float nn_mish(float x)
{
    if (x < 20.0f) x = (float)((double)x * tanh(log(1.0 + (double)expf(x))));
    return x;
}

int t2v_bind(t2v_net *net, const thinc_model *m, int nattrs, int width, int depth, int window, int pieces,
             char *err, size_t errlen)
{
    return t2v_bind_encoder(net, m, nattrs, width, depth, window, pieces, T2V_ENC_MAXOUT, depth * window, NULL, err,
                            errlen);
}

int t2v_needs_text(const t2v_net *net) { return net->vt && net->vt->mode == VEC_MODE_FLORET; }

int t2v_static_input(const t2v_net *net, uint64_t key, const t2v_text *text, float *v)
{
    const vec_table *vt = net->vt;
    if (vt->mode == VEC_MODE_FLORET) {
        vec_floret(vt, text->s, text->len, v);
        return 1;
    }
    long row = vec_row(vt, key);
    if (row < 0 && net->sv_unknown_last && vt->rows) row = (long)vt->rows - 1; /* numpy's V[-1] */
    if (row < 0) return 0;
    memcpy(v, vt->data + (size_t)row * vt->dims, (size_t)vt->dims * sizeof(float));
    return 1;
}

/* StaticVectors' W (width, nM): the node "static_vectors", nM the table's width. */
static int bind_static(t2v_net *net, const thinc_model *m, const vec_table *vt, char *err, size_t errlen)
{
    const tw_tensor *W = tw_param_of(m, tw_find(m, "static_vectors", 0), "W");
    if (!shape_is(W, 2, (uint32_t)net->width, (uint32_t)vt->dims, 0)) {
        snprintf(err, errlen, "static_vectors: W missing or not (%d,%d), the width by the vectors' %d dimensions",
                 net->width, vt->dims, vt->dims);
        return -1;
    }
    net->vt = vt;
    net->sv_W = W->data;
    net->sv_nM = vt->dims;
    return 0;
}

int t2v_bind_encoder(t2v_net *net, const thinc_model *m, int nattrs, int width, int depth, int window, int pieces,
                     t2v_encoder enc, int pad, const vec_table *vt, char *err, size_t errlen)
{
    memset(net, 0, sizeof *net);
    if (nattrs < 1 || nattrs + (vt != NULL) > T2V_MAX_ATTRS || depth < 1 || depth > T2V_MAX_DEPTH || window < 1 ||
        window > T2V_MAX_WINDOW || pad < 0 || pad > T2V_MAX_DEPTH * T2V_MAX_WINDOW) {
        snprintf(err, errlen, "unsupported tok2vec shape (attrs %d, depth %d, window %d)", nattrs, depth, window);
        return -1;
    }
    net->encoder = enc;
    net->pad = pad;
    if (enc == T2V_ENC_MISH) pieces = 1;
    net->nhash = nattrs;
    net->nattrs = nattrs + (vt != NULL);
    net->width = width;
    if (vt && bind_static(net, m, vt, err, errlen)) return -1;
    /* hashembed nodes carry their column; order them by it */
    int found = 0;
    for (int k = 0; k < nattrs; k++) {
        int node = tw_find(m, "hashembed", k);
        int64_t col, seed;
        const tw_tensor *E = tw_param_of(m, node, "E");
        if (node < 0 || tw_attr_int(m, node, "column", &col) || tw_attr_int(m, node, "seed", &seed) || col < 0 ||
            col >= nattrs || !E || E->ndim != 2 || (int)E->shape[1] != width || net->embed[col].E) {
            snprintf(err, errlen, "hashembed %d: missing or malformed (expected %d tables of width %d)", k, nattrs, width);
            return -1;
        }
        net->embed[col].E = E->data;
        net->embed[col].nV = E->shape[0];
        net->embed[col].seed = (uint32_t)seed;
        found++;
    }
    if (tw_find(m, "hashembed", nattrs) >= 0) {
        snprintf(err, errlen, "more hashembed tables than the %d attributes of the config", nattrs);
        return -1;
    }
    /* maxout nodes: the first mixes the embeddings, the next `depth` are the encoder blocks */
    net->mix_nI = net->nattrs * width;
    net->mix_pieces = pieces;
    const tw_tensor *mw = tw_param_of(m, tw_find(m, "maxout", 0), "W");
    if (mw && mw->ndim == 3) net->mix_pieces = (int)mw->shape[1];
    if (bind_block(&net->mix, m, tw_find(m, "maxout", 0), tw_find(m, "layernorm", 0), width, net->mix_pieces,
                   net->mix_nI, err, errlen))
        return -1;
    net->depth = depth;
    net->window = window;
    net->pieces = pieces;
    for (int d = 0; d < depth; d++)
        if (enc == T2V_ENC_MISH
                ? bind_mish_block(&net->block[d], m, tw_find(m, "mish", d), tw_find(m, "layernorm", d + 1), width,
                                  (2 * window + 1) * width, err, errlen)
                : bind_block(&net->block[d], m, tw_find(m, "maxout", d + 1), tw_find(m, "layernorm", d + 1), width,
                             pieces, (2 * window + 1) * width, err, errlen))
            return -1;
    (void)found;
    return 0;
}

size_t t2v_scratch_floats(const t2v_net *net, size_t n)
{
    size_t rows = n + 2 * (size_t)net->pad;
    size_t cols = (size_t)(2 * net->window + 1) * net->width;
    size_t mixin = (size_t)net->mix_nI;
    size_t big = cols > mixin ? cols : mixin;
    size_t pieces = (size_t)(net->pieces > net->mix_pieces ? net->pieces : net->mix_pieces);
    return (size_t)net->sv_nM + rows * big                          /* maxout input: embeddings or windows */
           + rows * net->width * pieces         /* maxout pre-activations */
           + rows * net->width * 2;             /* padded sequence + block output */
}

void nn_maxout(const float *X, size_t n, size_t nI, const float *W, const float *b, int nO, int nP, float *tmp,
               float *Y)
{
    size_t cols = (size_t)nO * nP;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)cols, (int)nI, 1.0f, X, (int)nI, W, (int)nI,
                0.0f, tmp, (int)cols);
    for (size_t i = 0; i < n; i++) {
        const float *t = tmp + i * cols;
        float *y = Y + i * nO;
        for (int o = 0; o < nO; o++) {
            float best = t[o * nP] + b[o * nP];
            for (int p = 1; p < nP; p++) {
                float v = t[o * nP + p] + b[o * nP + p];
                if (v > best) best = v;
            }
            y[o] = best;
        }
    }
}

void nn_layernorm(float *X, size_t n, int nO, const float *G, const float *b)
{
    for (size_t i = 0; i < n; i++) {
        float *x = X + i * nO;
        float mean = 0, var = 0;
        for (int o = 0; o < nO; o++) mean += x[o];
        mean /= nO;
        for (int o = 0; o < nO; o++) var += (x[o] - mean) * (x[o] - mean);
        var /= nO;
        float inv = 1.0f / sqrtf(var + 1e-8f);
        for (int o = 0; o < nO; o++) x[o] = (x[o] - mean) * inv * G[o] + b[o];
    }
}

void t2v_forward(const t2v_net *net, const uint64_t *attrs, const t2v_text *texts, size_t n, float *out,
                 float *scratch, t2v_trace_fn trace, void *trace_ctx)
{
    const int w = net->width, na = net->nattrs, nh = net->nhash;
    float *sv_in = scratch;                          /* sv_nM: one token's static vector */
    scratch += net->sv_nM;
    const size_t rows = n + 2 * (size_t)net->pad;
    const size_t wcols = (size_t)(2 * net->window + 1) * w;
    const size_t big = wcols > (size_t)net->mix_nI ? wcols : (size_t)net->mix_nI;
    const int pieces = net->pieces > net->mix_pieces ? net->pieces : net->mix_pieces;
    float *in = scratch;                             /* rows x big */
    float *pre = in + rows * big;                    /* rows x w*pieces */
    float *seq = pre + rows * (size_t)w * pieces;    /* rows x w: the padded sequence */
    float *blk = seq + rows * (size_t)w;             /* rows x w */

    /* MultiHashEmbed: each attribute's uint64 is hashed (MurmurHash3_x64_128, the table's seed)
     * into four row indices whose rows are summed; the tables are concatenated per token. */
    for (size_t i = 0; i < n; i++) {
        float *x = in + i * net->mix_nI;
        for (int c = 0; c < nh; c++) {
            uint64_t key = attrs[i * na + c], h[2];
            murmur3_x64_128(&key, sizeof key, net->embed[c].seed, h);
            uint32_t r[4] = {(uint32_t)h[0], (uint32_t)(h[0] >> 32), (uint32_t)h[1], (uint32_t)(h[1] >> 32)};
            const float *E = net->embed[c].E;
            uint32_t nV = net->embed[c].nV;
            float *dst = x + c * w;
            const float *e0 = E + (size_t)(r[0] % nV) * w, *e1 = E + (size_t)(r[1] % nV) * w;
            const float *e2 = E + (size_t)(r[2] % nV) * w, *e3 = E + (size_t)(r[3] % nV) * w;
            for (int k = 0; k < w; k++) dst[k] = e0[k] + e1[k] + e2[k] + e3[k];
        }
        if (net->vt) { /* StaticVectors: V[row] @ W^T, zeros for a key without a row */
            float *dst = x + nh * w;
            int known = t2v_static_input(net, attrs[i * na + nh], texts ? texts + i : NULL, sv_in);
            for (int k = 0; k < w; k++) {
                float acc = 0;
                for (int j = 0; known && j < net->sv_nM; j++) acc += sv_in[j] * net->sv_W[(size_t)k * net->sv_nM + j];
                dst[k] = acc;
            }
        }
    }
    if (trace) {
        for (int c = 0; c < nh; c++) {
            char name[32];
            snprintf(name, sizeof name, "hashembed%d_out", c);
            /* a strided view: copy rows for the observer */
            for (size_t i = 0; i < n; i++) memcpy(blk + i * w, in + i * net->mix_nI + c * w, w * sizeof(float));
            trace(trace_ctx, name, blk, n, w);
        }
    }

    /* mix: maxout then layernorm, written into the padded sequence between zero pads */
    memset(seq, 0, rows * w * sizeof(float));
    float *body = seq + (size_t)net->pad * w;
    if (n) nn_maxout(in, n, net->mix_nI, net->mix.W, net->mix.b, w, net->mix_pieces, pre, body);
    if (trace) trace(trace_ctx, "embed_maxout", body, n, w);
    nn_layernorm(body, n, w, net->mix.G, net->mix.Gb);
    if (trace) trace(trace_ctx, "embed_out", body, n, w);

    /* encoder: residual blocks over the whole padded sequence; the pad rows take part and are
     * not reset between blocks, as in thinc's with_array(pad=4) around the residual chain */
    for (int d = 0; d < net->depth; d++) {
        for (size_t i = 0; i < rows; i++) {
            float *x = in + i * wcols;
            for (int k = -net->window; k <= net->window; k++) {
                float *dst = x + (size_t)(k + net->window) * w;
                long j = (long)i + k;
                if (j < 0 || j >= (long)rows) memset(dst, 0, w * sizeof(float));
                else memcpy(dst, seq + (size_t)j * w, w * sizeof(float));
            }
        }
        nn_maxout(in, rows, wcols, net->block[d].W, net->block[d].b, w, net->pieces, pre, blk);
        if (net->encoder == T2V_ENC_MISH)
            for (size_t k = 0; k < rows * (size_t)w; k++) blk[k] = nn_mish(blk[k]);
        nn_layernorm(blk, rows, w, net->block[d].G, net->block[d].Gb);
        for (size_t k = 0; k < rows * (size_t)w; k++) seq[k] += blk[k];
        if (trace) {
            char name[32];
            snprintf(name, sizeof name, "encoder_block%d_padded", d);
            trace(trace_ctx, name, seq, rows, w);
        }
    }
    memcpy(out, body, n * w * sizeof(float));
    if (trace) trace(trace_ctx, "tok2vec_out", out, n, w);
}
