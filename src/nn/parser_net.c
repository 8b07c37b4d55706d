#include "nn/parser_net.h"

#include <cblas.h>
#include <stdio.h>
#include <string.h>

int parser_net_bind(parser_net *p, const thinc_model *m, int t2v_width, char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    int lower = tw_find(m, "precomputable_affine", 0);
    const tw_tensor *W = tw_param_of(m, lower, "W"), *b = tw_param_of(m, lower, "b"), *pad = tw_param_of(m, lower, "pad");
    if (!W || !b || !pad || W->ndim != 4 || b->ndim != 2 || pad->ndim != 4) {
        snprintf(err, errlen, "precomputable_affine: missing W, b or pad");
        return -1;
    }
    p->nF = (int)W->shape[0];
    p->nO = (int)W->shape[1];
    p->nP = (int)W->shape[2];
    p->nI = (int)W->shape[3];
    if ((int)b->shape[0] != p->nO || (int)b->shape[1] != p->nP || pad->shape[0] != 1 || (int)pad->shape[1] != p->nF ||
        (int)pad->shape[2] != p->nO || (int)pad->shape[3] != p->nP) {
        snprintf(err, errlen, "precomputable_affine: b or pad do not match W (%d,%d,%d,%d)", p->nF, p->nO, p->nP, p->nI);
        return -1;
    }
    if ((size_t)p->nO * p->nP > 1024 || p->nF > 16) {
        snprintf(err, errlen, "precomputable_affine: hidden width %d x %d pieces is beyond 1024", p->nO, p->nP);
        return -1;
    }
    p->lower_W = W->data;
    p->lower_b = b->data;
    p->lower_pad = pad->data;
    p->t2v_width = t2v_width;
    for (int k = 0; k < 2; k++) {
        int node = tw_find(m, "linear", k);
        if (k == 1 && node < 0) break; /* use_upper = false: no output layer */
        const tw_tensor *lw = tw_param_of(m, node, "W"), *lb = tw_param_of(m, node, "b");
        if (!lw || !lb || lw->ndim != 2 || lb->ndim != 1 || lb->shape[0] != lw->shape[0]) {
            snprintf(err, errlen, "linear node %d: missing or malformed", node);
            return -1;
        }
        if ((int)lw->shape[1] == t2v_width && (int)lw->shape[0] == p->nI && !p->proj_W) {
            p->proj_W = lw->data;
            p->proj_b = lb->data;
        } else if ((int)lw->shape[1] == p->nO) {
            p->upper_W = lw->data;
            p->upper_b = lb->data;
            p->nclasses = (int)lw->shape[0];
        }
    }
    if (!p->upper_W) p->nclasses = p->nO; /* the lower layer scores the classes */
    if (!p->proj_W) {
        snprintf(err, errlen, "parser model: no projection %d->%d or no output layer from %d", t2v_width, p->nI, p->nO);
        return -1;
    }
    return 0;
}

size_t parser_net_table_floats(const parser_net *p, size_t n)
{
    return (n + 1) * (size_t)p->nF * p->nO * p->nP;
}

void parser_net_project(const parser_net *p, const float *tokvecs, size_t n, float *proj)
{
    if (!n) return;
    for (size_t i = 0; i < n; i++) memcpy(proj + i * p->nI, p->proj_b, p->nI * sizeof(float));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, p->nI, p->t2v_width, 1.0f, tokvecs, p->t2v_width,
                p->proj_W, p->t2v_width, 1.0f, proj, p->nI);
}

void parser_net_table(const parser_net *p, const float *proj, size_t n, float *table)
{
    const size_t row = (size_t)p->nF * p->nO * p->nP;
    memcpy(table, p->lower_pad, row * sizeof(float));
    if (!n) return;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)row, p->nI, 1.0f, proj, p->nI, p->lower_W,
                p->nI, 0.0f, table + row, (int)row);
}

void parser_net_precompute(const parser_net *p, const float *tokvecs, size_t n, float *proj, float *table)
{
    parser_net_project(p, tokvecs, n, proj);
    parser_net_table(p, proj, n, table);
}

void parser_net_feature_slot(const parser_net *p, const float *proj_row, int f, float *row)
{
    const size_t slot = (size_t)p->nO * p->nP;
    cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)slot, p->nI, 1.0f, p->lower_W + (size_t)f * slot * p->nI, p->nI,
                proj_row, 1, 0.0f, row + (size_t)f * slot, 1);
}

void parser_net_step(const parser_net *p, const float *table, const int *feats, float *hidden, float *scores)
{
    const size_t row = (size_t)p->nF * p->nO * p->nP;
    const float *rows[16];
    for (int f = 0; f < p->nF && f < 16; f++) rows[f] = table + (size_t)(feats[f] + 1) * row;
    parser_net_step_rows(p, rows, hidden, scores);
}

void parser_net_step_rows(const parser_net *p, const float *const *rows, float *hidden, float *scores)
{
    const int nO = p->nO, nP = p->nP;
    const size_t slot = (size_t)nO * nP;
    float acc[1024];
    float *sum = acc; /* parser_net_bind refuses nO*nP > 1024 */
    /* spaCy's order: the feature rows summed from zero, then the bias */
    memset(sum, 0, slot * sizeof(float));
    for (int f = 0; f < p->nF; f++) {
        const float *t = rows[f] + f * slot;
        for (size_t k = 0; k < slot; k++) sum[k] += t[k];
    }
    for (size_t k = 0; k < slot; k++) sum[k] += p->lower_b[k];
    for (int o = 0; o < nO; o++) {
        float best = sum[o * nP];
        for (int q = 1; q < nP; q++) if (sum[o * nP + q] > best) best = sum[o * nP + q];
        hidden[o] = best;
    }
    if (!p->upper_W) {
        memcpy(scores, hidden, (size_t)p->nclasses * sizeof(float));
        return;
    }
    /* the product (a BLAS kernel, as spaCy's sgemm), then the bias */
    cblas_sgemv(CblasRowMajor, CblasNoTrans, p->nclasses, nO, 1.0f, p->upper_W, nO, hidden, 1, 0.0f, scores, 1);
    for (int c = 0; c < p->nclasses; c++) scores[c] += p->upper_b[c];
}
