/* softmax_head.c - the Tagger architecture's load and its run over a doc (softmax_head.h). */
#include "pipeline/engine.h"
#include "util/deadline.h"

#include <stdio.h>
#include <string.h>

void head_free(softmax_head *h)
{
    tw_free(&h->weights);
    t2v_packed_free(&h->t2v_packed);
    softmax_free(&h->out);
    memset(h, 0, sizeof *h);
}

nerd_status head_load(nerd_model *m, softmax_head *h, const spacy_config *c, const char *dir, const char *name,
                      int nO_expected, char *err, size_t errlen)
{
    char cfgpath[4096], path[4096], sec[96],  arch[64];
    snprintf(cfgpath, sizeof cfgpath, "%s/config.cfg", dir);
    snprintf(sec, sizeof sec, "components.%.31s.model", name);
    snprintf(h->name, sizeof h->name, "%s", name);
    if (cfg_str(c, sec, "@architectures", arch, sizeof arch) ||
        (strcmp(arch, "spacy.Tagger.v1") && strcmp(arch, "spacy.Tagger.v2"))) {
        snprintf(err, errlen, "%s [%s]: architecture %s is not supported for component %s (nerd implements "
                 "spacy.Tagger.v1 and spacy.Tagger.v2)", cfgpath, sec, cfg_raw(c, sec, "@architectures") ?: "(none)", name);
        return NERD_ERR_UNSUPPORTED;
    }
    t2v_dims td;
    nerd_status s = tok2vec_component_input(m, c, dir, name, name, &h->listens, &td, err, errlen);
    if (s != NERD_OK) return s;
    snprintf(path, sizeof path, "%s/%s/model", dir, name);
    nerd_status ls = tw_load(path, &h->weights, err, errlen);
    if (ls != NERD_OK) return ls;
    if (!h->listens) {
        const vec_table *vt = NULL;
        char esec[160];
        snprintf(esec, sizeof esec, "%s.tok2vec.embed", sec);
        if (td.static_vectors && (ls = tok2vec_vectors(m, dir, esec, &vt, err, errlen)) != NERD_OK) return ls;
        if (arch_tok2vec_bind(&h->t2v, &h->weights, &td, vt, path, err, errlen)) return NERD_ERR_FORMAT;
        memcpy(h->t2v_attr, td.attr, sizeof h->t2v_attr);
    }
    const int width = h->listens ? m->t2v.width : h->t2v.width;
    char why[256] = "";
    int normalize = 0;
    if (!cfg_bool(c, sec, "normalize", &normalize) && normalize) {
        snprintf(err, errlen, "%s [%s]: normalize = true is not supported (nerd computes spacy.Tagger's raw scores)",
                 cfgpath, sec);
        return NERD_ERR_UNSUPPORTED;
    }
    int bound = softmax_bind(&h->out, &h->weights, width, why, sizeof why);
    if (bound || (nO_expected && h->out.nO != nO_expected)) {
        snprintf(err, errlen, "%s: %s", path, *why ? why : "the softmax does not score one class per label");
        return bound == -2 ? NERD_ERR_NOMEM : NERD_ERR_FORMAT;
    }
    if (!h->listens && t2v_pack(&h->t2v_packed, &h->t2v, 0)) {
        snprintf(err, errlen, "out of memory");
        return NERD_ERR_NOMEM;
    }
    return NERD_OK;
}

nerd_status head_register(nerd_model *m, const spacy_config *c, const char *dir, const char *name, int nO,
                          unsigned kind, nerd_status (*begin)(const nerd_model *, nerd_doc *),
                          nerd_status (*consume)(const nerd_model *, nerd_doc *, size_t, size_t, const float *, float *),
                          char *err, size_t errlen)
{
    if (m->nheads >= MAX_HEADS) {
        snprintf(err, errlen, "%s/config.cfg [components.%s]: more than %d senter, morphologizer and "
                 "trainable_lemmatizer components", dir, name, MAX_HEADS);
        return NERD_ERR_UNSUPPORTED;
    }
    model_head *mh = &m->heads[m->nheads];
    nerd_status s = head_load(m, &mh->h, c, dir, name, nO, err, errlen);
    if (s != NERD_OK) {
        head_free(&mh->h);
        return s;
    }
    mh->kind = kind;
    mh->begin = begin;
    mh->consume = consume;
    m->nheads++;
    return NERD_OK;
}

#define HEAD_CHUNK 512      /* tokens per tok2vec pass and product */
#define HEAD_MIN_CONTEXT 8  /* tokens each side of a chunk, beyond the encoder's receptive field */

/* The heads of `which` that read tok2vec t2v (the shared one when own is NULL, else the one head
 * own), over the doc in chunks: its rows (the shared tok2vec's computed once per document, a
 * head's own run here over each chunk with the encoder's context), each head's scores, and the
 * head's consume. */
static nerd_status run_tok2vec(const nerd_model *m, nerd_doc *d, const model_head *own, unsigned which,
                               double deadline)
{
    const size_t n = d->ntoks;
    const t2v_net *t2v = own ? &own->h.t2v : &m->t2v;
    const float *shared = NULL;
    if (!own) {
        nerd_status s = tok2vec_shared_rows(m, d, deadline, &shared);
        if (s != NERD_OK) return s;
    }
    const size_t rf = (size_t)t2v->depth * t2v->window;
    const size_t context = rf + 1 > HEAD_MIN_CONTEXT ? rf + 1 : HEAD_MIN_CONTEXT, span = HEAD_CHUNK + 2 * context;
    size_t max_nO = 0;
    for (int k = 0; k < m->nheads; k++)
        if (m->heads[k].h.out.nO > (int)max_nO) max_nO = (size_t)m->heads[k].h.out.nO;
    const size_t f_scratch = shared ? 0 : t2v_fast_scratch_floats(t2v, span), f_vecs = shared ? 0 : span * t2v->width;
    const size_t need = f_scratch + f_vecs + HEAD_CHUNK * max_nO + max_nO + 64;
    if (grow_array_aligned((void **)&d->work, &d->workcap, need, sizeof(float))) return NERD_ERR_NOMEM;
    const t2v_text *texts = NULL;
    if (own) {
        int failed;
        if (grow_array((void **)&d->head_attrs, &d->head_attrcap, n * t2v->nattrs + 1, sizeof *d->head_attrs) ||
            tok2vec_gather(d, own->h.t2v_attr, t2v->nattrs, d->head_attrs))
            return NERD_ERR_NOMEM;
        texts = tok2vec_texts(d, t2v, own->h.t2v_attr, &failed);
        if (failed) return NERD_ERR_NOMEM;
    }
    float *scratch = d->work, *vecs = scratch + f_scratch, *scores = vecs + f_vecs, *spare = scores + HEAD_CHUNK * max_nO;
    for (size_t c0 = 0; c0 < n; c0 += HEAD_CHUNK) {
        if (deadline_passed(deadline)) return NERD_ERR_DEADLINE; /* between chunks of rows */
        size_t c1 = c0 + HEAD_CHUNK < n ? c0 + HEAD_CHUNK : n;
        size_t a = c0 > context ? c0 - context : 0, b = c1 + context < n ? c1 + context : n;
        const float *rows = shared ? shared + c0 * t2v->width : vecs + (c0 - a) * t2v->width;
        if (own)
            t2v_fast_forward(t2v, &own->h.t2v_packed, m->precision, NULL, d->head_attrs + a * t2v->nattrs,
                             texts ? texts + a : NULL, b - a, vecs, scratch, NULL, NULL, NULL);
        for (int k = 0; k < m->nheads; k++) {
            const model_head *mh = &m->heads[k];
            if (!(which & mh->kind) || (own ? mh != own : !mh->h.listens)) continue;
            softmax_scores(&mh->h.out, rows, c1 - c0, scores);
            nerd_status s = mh->consume(m, d, c0, c1 - c0, scores, spare);
            if (s != NERD_OK) return s;
        }
    }
    return NERD_OK;
}

nerd_status engine_heads(const nerd_model *m, nerd_doc *d, unsigned which, double deadline)
{
    int shared = 0;
    for (int k = 0; k < m->nheads; k++) {
        if (!(which & m->heads[k].kind)) continue;
        nerd_status s = m->heads[k].begin ? m->heads[k].begin(m, d) : NERD_OK;
        if (s != NERD_OK) return s;
        shared |= m->heads[k].h.listens;
    }
    if (d->ntoks && shared) {
        nerd_status s = run_tok2vec(m, d, NULL, which, deadline);
        if (s != NERD_OK) return s;
    }
    for (int k = 0; k < m->nheads; k++) {
        if (!(which & m->heads[k].kind) || m->heads[k].h.listens || !d->ntoks) continue;
        nerd_status s = run_tok2vec(m, d, &m->heads[k], which, deadline);
        if (s != NERD_OK) return s;
    }
    return NERD_OK;
}
