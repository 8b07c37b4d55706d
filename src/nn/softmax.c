#include "nn/softmax.h"

#include <stdio.h>
#include <string.h>

int softmax_bind(softmax_layer *s, const thinc_model *m, int nI, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    int node = tw_find(m, "softmax", 0);
    const tw_tensor *W = tw_param_of(m, node, "W"), *b = tw_param_of(m, node, "b");
    if (node < 0 || !W || !b || W->ndim != 2 || b->ndim != 1 || b->shape[0] != W->shape[0] || W->shape[0] == 0) {
        snprintf(err, errlen, "no softmax layer with W (nO, nI) and b (nO)");
        return -1;
    }
    if ((int)W->shape[1] != nI) {
        snprintf(err, errlen, "the softmax layer reads %u inputs, but its tok2vec gives %d", W->shape[1], nI);
        return -1;
    }
    if (softmax_init(s, W->data, b->data, (int)W->shape[0], nI)) {
        snprintf(err, errlen, "out of memory");
        return -2;
    }
    return 0;
}

int softmax_init(softmax_layer *s, const float *W, const float *b, int nO, int nI)
{
    memset(s, 0, sizeof *s);
    if (kn_pack(&s->W, W, nO, nI, 0)) return -1;
    s->b = b;
    s->nO = nO;
    s->nI = nI;
    return 0;
}

void softmax_free(softmax_layer *s)
{
    kn_free(&s->W);
    memset(s, 0, sizeof *s);
}

size_t softmax_scratch_floats(const softmax_layer *s, size_t n) { return n * (size_t)s->nO; }

void softmax_scores(const softmax_layer *s, const float *X, size_t n, float *out)
{
    if (!n) return;
    /* thinc's affine: the product first, the bias added to it after (two roundings, as numpy) */
    kn_gemm_f32(&s->W, X, (size_t)s->nI, n, out, (size_t)s->nO);
    kn_add_bias(out, (size_t)s->nO, n, s->b, s->nO);
}

void softmax_argmax(const softmax_layer *s, const float *X, size_t n, float *scratch, int32_t *out)
{
    if (!n) return;
    /* thinc's affine: the product first, the bias added to it after (two roundings, as numpy) */
    kn_gemm_f32(&s->W, X, (size_t)s->nI, n, scratch, (size_t)s->nO);
    for (size_t i = 0; i < n; i++) {
        const float *row = scratch + i * (size_t)s->nO;
        int best = 0;
        float top = row[0] + s->b[0];
        for (int k = 1; k < s->nO; k++) {
            float v = row[k] + s->b[k];
            if (v > top) top = v, best = k; /* strictly greater: the first maximum stays */
        }
        out[i] = best;
    }
}
