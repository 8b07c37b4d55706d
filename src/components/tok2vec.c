/* tok2vec.c - spaCy's tok2vec factory: the shared tok2vec its listeners (the parser, the ner,
 * the softmax heads) read, computed once per document, and the input attributes of any tok2vec,
 * gathered per token from the doc. */
#include "pipeline/engine.h"
#include "text/hash.h"
#include "text/pystr.h"
#include "util/deadline.h"

#include <stdio.h>
#include <string.h>

nerd_status tok2vec_component_load_shared(nerd_model *m, const spacy_config *c, const char *dir, const char *name,
                                          char *err, size_t errlen)
{
    nerd_status ls;
    if (*m->t2v_name) {
        if (!strcmp(m->t2v_name, name)) return NERD_OK;
        snprintf(err, errlen, "%s/config.cfg [components.%s]: listeners of two tok2vec components (%s and %s) are not supported",
                 dir, name, m->t2v_name, name);
        return NERD_ERR_UNSUPPORTED;
    }
    char sec[96], path[4096];
    t2v_dims d;
    snprintf(sec, sizeof sec, "components.%.31s.model", name);
    snprintf(path, sizeof path, "%s/config.cfg", dir);
    if (arch_tok2vec(c, sec, &d, path, err, errlen)) return NERD_ERR_UNSUPPORTED;
    snprintf(path, sizeof path, "%s/%s/model", dir, name);
    if ((ls = tw_load(path, &m->t2v_weights, err, errlen)) != NERD_OK) return ls;
    const vec_table *vt = NULL;
    snprintf(sec, sizeof sec, "components.%.31s.model.embed", name);
    if (d.static_vectors && (ls = tok2vec_vectors(m, dir, sec, &vt, err, errlen)) != NERD_OK) return ls;
    if (arch_tok2vec_bind(&m->t2v, &m->t2v_weights, &d, vt, path, err, errlen)) return NERD_ERR_FORMAT;
    memcpy(m->t2v_attr, d.attr, sizeof m->t2v_attr);
    if (t2v_pack(&m->full_t2v_packed, &m->t2v, 0)) {
        snprintf(err, errlen, "out of memory");
        return NERD_ERR_NOMEM;
    }
    snprintf(m->t2v_name, sizeof m->t2v_name, "%s", name);
    return NERD_OK;
}

nerd_status tok2vec_component_input(nerd_model *m, const spacy_config *c, const char *dir, const char *name,
                                    const char *who, int *listens, t2v_dims *own, char *err, size_t errlen)
{
    char cfgpath[4096], lsec[128], up[32], t2v[32];
    snprintf(cfgpath, sizeof cfgpath, "%s/config.cfg", dir);
    snprintf(lsec, sizeof lsec, "components.%.31s.model.tok2vec", name);
    *listens = arch_is_listener(c, lsec, up, sizeof up);
    if (!*listens) return arch_tok2vec(c, lsec, own, cfgpath, err, errlen) ? NERD_ERR_UNSUPPORTED : NERD_OK;
    if (registry_listened(c, up, name, t2v, sizeof t2v)) {
        snprintf(err, errlen, "%s [%s]: %s listens to tok2vec component \"%s\", which does not run before it",
                 cfgpath, lsec, who, up);
        return NERD_ERR_UNSUPPORTED;
    }
    return tok2vec_component_load_shared(m, c, dir, t2v, err, errlen);
}

int tok2vec_gather(nerd_doc *d, const int *cols, int nc, uint64_t *out)
{
    for (size_t i = 0; i < d->ntoks; i++) {
        const ner_token *t = &d->toks[i];
        const char *s = d->text.ptr + t->start;
        uint64_t *a = out + i * nc;
        for (int c = 0; c < nc; c++) {
            switch (cols[c]) {
            case ATTR_SPACY: a[c] = t->ws; break;
            case ATTR_IS_SPACE: a[c] = t->is_space; break;
            case ATTR_ORTH: a[c] = nerd_string_hash(s, t->len); break;
            case ATTR_LOWER: /* spaCy's Lexeme.lower: the text's str.lower() */
                buf_clear(&d->lower);
                if (py_lower(s, t->len, &d->lower)) return -1;
                a[c] = nerd_string_hash(d->lower.ptr ? d->lower.ptr : "", d->lower.len);
                break;
            default: a[c] = d->attrs[i * NER_NATTRS + cols[c]]; break;
            }
        }
    }
    return 0;
}

nerd_status tok2vec_vectors(nerd_model *m, const char *dir, const char *sec, const vec_table **vt, char *err,
                            size_t errlen)
{
    if (!m->has_vectors) {
        char vocab[4096];
        snprintf(vocab, sizeof vocab, "%s/vocab", dir);
        vec_table t;
        nerd_status st = vec_load(vocab, &t, err, errlen);
        if (st != NERD_OK) return st;
        if (!t.rows || !t.dims) { /* spaCy cannot build the layer either */
            snprintf(err, errlen,
                     "%s/config.cfg [%s]: include_static_vectors = true needs vectors, and %s/vectors is empty (%zu x %d)",
                     dir, sec, vocab, t.rows, t.dims);
            vec_free(&t);
            return NERD_ERR_UNSUPPORTED;
        }
        m->vectors = t;
        m->has_vectors = 1;
    }
    *vt = &m->vectors;
    return NERD_OK;
}

const t2v_text *tok2vec_texts(nerd_doc *d, const t2v_net *net, const int *cols, int *failed)
{
    *failed = 0;
    if (!t2v_needs_text(net)) return NULL;
    const int key_attr = cols[net->nhash];
    const vec_table *vt = net->vt;
    const size_t n = d->ntoks, lb = strlen(vt->bow), le = strlen(vt->eow);
    buf_clear(&d->vec_strs);
    if (grow_array((void **)&d->vec_texts, &d->vec_textcap, n + 1, sizeof *d->vec_texts)) goto oom;
    for (size_t i = 0; i < n; i++) { /* offsets first: the buffer may move while it grows */
        const ner_token *t = &d->toks[i];
        const char *s = key_attr == ATTR_NORM ? d->strs.ptr + t->norm_off : d->text.ptr + t->start;
        size_t len = key_attr == ATTR_NORM ? t->norm_len : t->len;
        d->vec_texts[i].s = (const char *)(uintptr_t)d->vec_strs.len;
        d->vec_texts[i].len = (uint32_t)(lb + len + le);
        if (buf_append(&d->vec_strs, vt->bow, lb) || buf_append(&d->vec_strs, s, len) ||
            buf_append(&d->vec_strs, vt->eow, le))
            goto oom;
    }
    for (size_t i = 0; i < n; i++) d->vec_texts[i].s = d->vec_strs.ptr + (uintptr_t)d->vec_texts[i].s;
    return d->vec_texts;
oom:
    *failed = 1;
    return NULL;
}

/* The shared tok2vec runs over chunks of rows so that its workspace stays bounded: the encoder
 * sees `context` extra tokens each side of a chunk (more than its receptive field, depth x
 * window), so the rows kept are those a whole-document pass computes. */
#define SHARED_CHUNK 2048
#define SHARED_MIN_CONTEXT 8

nerd_status tok2vec_shared_rows(const nerd_model *m, nerd_doc *d, double deadline, const float **rows)
{
    const size_t n = d->ntoks;
    const t2v_net *t2v = &m->t2v;
    const size_t width = (size_t)t2v->width;
    *rows = d->t2v_rows;
    if (d->has_t2v_rows) return NERD_OK;
    const size_t rf = (size_t)t2v->depth * t2v->window;
    const size_t context = rf + 1 > SHARED_MIN_CONTEXT ? rf + 1 : SHARED_MIN_CONTEXT;
    const size_t span = SHARED_CHUNK + 2 * context, f_scratch = t2v_fast_scratch_floats(t2v, span);
    /* the chunk's rows go to the output itself when none before it is overwritten (the first
     * chunk: the whole of a short document), else through vecs */
    const size_t need = f_scratch + (n > SHARED_CHUNK ? span * width : 0) + 64;
    if (grow_array((void **)&d->t2v_rows, &d->t2v_rowcap, n * width + 1, sizeof(float)) ||
        grow_array((void **)&d->t2v_attrs, &d->t2v_attrcap, n * t2v->nattrs + 1, sizeof *d->t2v_attrs) ||
        grow_array_aligned((void **)&d->work, &d->workcap, need, sizeof(float)) ||
        tok2vec_gather(d, m->t2v_attr, t2v->nattrs, d->t2v_attrs))
        return NERD_ERR_NOMEM;
    int failed;
    const t2v_text *texts = tok2vec_texts(d, t2v, m->t2v_attr, &failed);
    if (failed) return NERD_ERR_NOMEM;
    float *scratch = d->work, *vecs = scratch + f_scratch;
    for (size_t c0 = 0; c0 < n; c0 += SHARED_CHUNK) {
        if (deadline_passed(deadline)) return NERD_ERR_DEADLINE; /* between chunks of rows */
        size_t c1 = c0 + SHARED_CHUNK < n ? c0 + SHARED_CHUNK : n;
        size_t a = c0 > context ? c0 - context : 0, b = c1 + context < n ? c1 + context : n;
        float *out = a == c0 ? d->t2v_rows + c0 * width : vecs;
        t2v_fast_forward(t2v, &m->full_t2v_packed, m->precision, m->full_cache, d->t2v_attrs + a * t2v->nattrs,
                         texts ? texts + a : NULL, b - a, out, scratch, NULL, NULL, NULL);
        if (out == vecs) memcpy(d->t2v_rows + c0 * width, vecs + (c0 - a) * width, (c1 - c0) * width * sizeof(float));
    }
    *rows = d->t2v_rows;
    d->has_t2v_rows = 1;
    return NERD_OK;
}
