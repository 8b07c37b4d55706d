/* ner.c - spaCy's ner factory: a TransitionBasedParser (state_type "ner") over its own tok2vec
 * or a listener of the shared one, decoded greedily with the BILUO moves. */
#include "pipeline/engine.h"
#include "transition/choose.h"
#include "util/deadline.h"

#include <stdio.h>
#include <string.h>

nerd_status ner_component_load(nerd_model *m, const spacy_config *c, const char *dir, const char *name,
                               const pipeline_plan *plan, char *err, size_t errlen)
{
    nerd_status ls;
    (void)plan;
    char cfgpath[4096], path[4096], sec[96],  sub[512];
    snprintf(cfgpath, sizeof cfgpath, "%s/config.cfg", dir);
    snprintf(sec, sizeof sec, "components.%.31s.model", name);
    snprintf(m->ner_name, sizeof m->ner_name, "%s", name);
    tb_dims tb;
    t2v_dims td;
    if (arch_tb_parser(c, sec, "ner", &tb, cfgpath, err, errlen)) return NERD_ERR_UNSUPPORTED;
    if ((ls = tok2vec_component_input(m, c, dir, name, "the ner", &m->ner_listens, &td, err, errlen)) != NERD_OK)
        return ls;
    snprintf(path, sizeof path, "%s/%s/model", dir, name);
    if ((ls = tw_load(path, &m->ner_weights, err, errlen)) != NERD_OK) return ls;
    int width = m->ner_listens ? m->t2v.width : td.width;
    if (!m->ner_listens) {
        const vec_table *vt = NULL;
        char esec[160];
        snprintf(esec, sizeof esec, "%s.tok2vec.embed", sec);
        if (td.static_vectors && (ls = tok2vec_vectors(m, dir, esec, &vt, err, errlen)) != NERD_OK) return ls;
        if (arch_tok2vec_bind(&m->ner_t2v, &m->ner_weights, &td, vt, path, err, errlen)) return NERD_ERR_FORMAT;
        memcpy(m->ner_t2v_attr, td.attr, sizeof m->ner_t2v_attr);
        m->ner_t2v_direct = td.nattrs == NER_NATTRS && !td.static_vectors;
        for (int k = 0; k < td.nattrs; k++) m->ner_t2v_direct &= td.attr[k] == k;
    }
    if (parser_net_bind(&m->ner_net, &m->ner_weights, width, sub, sizeof sub)) {
        snprintf(err, errlen, "%s: %s", path, sub);
        return NERD_ERR_FORMAT;
    }
    if (arch_tb_check(&m->ner_net, &tb, path, err, errlen)) return NERD_ERR_FORMAT;
    snprintf(path, sizeof path, "%s/%s/moves", dir, name);
    if ((ls = biluo_load(&m->ner_moves, path, err, errlen)) != NERD_OK) return ls;
    if (m->ner_moves.nclasses != m->ner_net.nclasses) {
        snprintf(err, errlen, "%s: %d classes, but %s/model scores %d", path, m->ner_moves.nclasses, name,
                 m->ner_net.nclasses);
        return NERD_ERR_FORMAT;
    }
    if ((!m->ner_listens && t2v_pack(&m->ner_t2v_packed, &m->ner_t2v, 0)) ||
        parser_pack(&m->ner_net_packed, &m->ner_net)) {
        snprintf(err, errlen, "out of memory");
        return NERD_ERR_NOMEM;
    }
    return NERD_OK;
}

/* The network runs over chunks of NER_CHUNK tokens so that a doc's workspace stays bounded
 * whatever the text's length. Its own tok2vec sees `context` extra tokens on each side of a
 * chunk, more than its receptive field (depth x window), so the rows kept are those a
 * whole-document pass computes; a listener reads the shared tok2vec's rows, computed once per
 * document for all its listeners (tok2vec_shared_rows). The decoder streams through the
 * chunks' precomputed rows, keeping copies of the two rows a later step may still need: the
 * token before the chunk and the first token of the open entity. */
#define NER_CHUNK 2048
#define NER_MIN_CONTEXT 8

nerd_status engine_ner(const nerd_model *m, nerd_doc *d, const uint8_t *sent_start, const biluo_preset *preset,
                       double deadline)
{
    const size_t n = d->ntoks;
    const t2v_net *t2v = m->ner_listens ? &m->t2v : &m->ner_t2v;
    const t2v_packed *t2v_pk = m->ner_listens ? &m->full_t2v_packed : &m->ner_t2v_packed;
    embed_cache *cache = m->ner_listens ? m->full_cache : m->ner_cache;
    const int *cols = m->ner_listens ? m->t2v_attr : m->ner_t2v_attr;
    const parser_net *pn = &m->ner_net;
    /* a listener reads the shared tok2vec's rows when the parser computed them or a component
     * after it will read them; else (the ner pipeline) it streams the same rows chunk by chunk,
     * so that a long document's rows are not all held for one reader */
    const float *shared = NULL;
    if (m->ner_listens && (d->has_t2v_rows || d->t2v_rows_after_ner)) {
        nerd_status s = tok2vec_shared_rows(m, d, deadline, &shared);
        if (s != NERD_OK) return s;
    }
    const size_t rf = (size_t)t2v->depth * t2v->window;
    const size_t context = rf + 1 > NER_MIN_CONTEXT ? rf + 1 : NER_MIN_CONTEXT;
    const size_t span = NER_CHUNK + 2 * context, rowlen = (size_t)pn->nF * pn->nO * pn->nP;
    /* the scratch holds bf16's table input too, when the ner listens */
    const size_t f_scratch = t2v_fast_scratch_floats(t2v, span), f_vecs = shared ? 0 : span * t2v->width,
                 f_proj = NER_CHUNK * pn->nI, f_table = (NER_CHUNK + 1) * rowlen;
    const int nF = pn->nF, extra = nF == BILUO_EXTRA_FEATS; /* else 3 (checked at load) */
    const size_t f_ent = extra ? (BILUO_EXTRA_FEATS - 1) * rowlen : 0;
    size_t need = f_scratch + f_vecs + f_proj + f_table + 2 * rowlen + f_ent + pn->nO + parser_fast_scores_floats(pn) + 64;
    if (grow_array_aligned((void **)&d->work, &d->workcap, need, sizeof(float))) return NERD_ERR_NOMEM;
    if (grow_array((void **)&d->ents, &d->entcap, n + 1, sizeof *d->ents)) return NERD_ERR_NOMEM;
    /* its own tok2vec's input: the doc's four attributes as they are, or gathered per column */
    const uint64_t *attrs = d->attrs;
    const t2v_text *texts = NULL;
    if (!shared) {
        if (m->ner_listens || !m->ner_t2v_direct) {
            if (grow_array((void **)&d->ner_attrs, &d->ner_attrcap, n * t2v->nattrs + 1, sizeof *d->ner_attrs) ||
                tok2vec_gather(d, cols, t2v->nattrs, d->ner_attrs))
                return NERD_ERR_NOMEM;
            attrs = d->ner_attrs;
        }
        int failed;
        texts = tok2vec_texts(d, t2v, cols, &failed);
        if (failed) return NERD_ERR_NOMEM;
    }
    float *scratch = d->work, *vecs = scratch + f_scratch, *proj = vecs + f_vecs, *table = proj + f_proj;
    float *prev_row = table + f_table, *open_row = prev_row + rowlen, *ent_rows = open_row + rowlen;
    float *hidden = ent_rows + f_ent;
    float *scores = hidden + pn->nO;

    biluo_state st = {0, -1, -1, 0};
    uint64_t valid[CHOOSE_MAX_WORDS]; /* the step's valid classes: the fast modes score only their panels */
    const int padded = parser_fast_scores_padded(m->precision);
    for (size_t c0 = 0; c0 < n && st.i != SIZE_MAX; c0 += NER_CHUNK) {
        /* between chunks: one look at the clock per NER_CHUNK rows and transitions */
        if (deadline_passed(deadline)) return NERD_ERR_DEADLINE;
        size_t c1 = c0 + NER_CHUNK < n ? c0 + NER_CHUNK : n;
        size_t a = c0 > context ? c0 - context : 0, b = c1 + context < n ? c1 + context : n;
        const float *chunk_vecs = shared ? shared + c0 * t2v->width : vecs + (c0 - a) * t2v->width;
        if (!shared)
            t2v_fast_forward(t2v, t2v_pk, m->precision, cache, attrs + a * t2v->nattrs, texts ? texts + a : NULL,
                             b - a, vecs, scratch, NULL, NULL, NULL);
        /* the table in parser_table_precision, its low-precision input in the tok2vec's scratch
         * (free again) */
        parser_fast_precompute(pn, &m->ner_net_packed, parser_table_precision(m->precision), chunk_vecs, c1 - c0,
                               proj, table, scratch, f_scratch);
        while (st.i < c1 && extra) {
            /* B(0) from the table, the open entity's first tokens from their copies */
            int feats[BILUO_EXTRA_FEATS];
            const float *rows[BILUO_EXTRA_FEATS];
            biluo_features_extra(&st, feats);
            rows[0] = table + (st.i - c0 + 1) * rowlen;
            for (int f = 1; f < BILUO_EXTRA_FEATS; f++)
                rows[f] = feats[f] < 0 ? table : ent_rows + (size_t)(feats[f] - st.open_start) * rowlen;
            biluo_valid_mask(&m->ner_moves, &st, n, d->space, sent_start, preset, valid);
            const int chosen = parser_fast_step_rows(pn, &m->ner_net_packed, m->precision, rows, valid, hidden, scores);
            int best = chosen >= 0 ? chosen /* made in registers; none valid: the preset's classes */
                     : biluo_choose_valid(&m->ner_moves, &st, n, d->space, sent_start, preset, scores, valid, padded);
            size_t i = st.i;
            biluo_apply(&m->ner_moves, &st, best, d->ents);
            if (st.open_start >= 0 && (long)i - st.open_start < BILUO_EXTRA_FEATS - 1)
                memcpy(ent_rows + (i - (size_t)st.open_start) * rowlen, table + (i - c0 + 1) * rowlen,
                       rowlen * sizeof(float));
        }
        while (st.i < c1 && !extra) {
            int feats[3];
            const float *rows[3];
            biluo_features(&st, feats);
            for (int f = 0; f < 3; f++) {
                long j = feats[f];
                rows[f] = j < 0 ? table                                     /* the learned pad row */
                        : (size_t)j >= c0 ? table + ((size_t)j - c0 + 1) * rowlen
                        : j == st.open_start ? open_row
                        : prev_row;                                          /* j == c0 - 1 */
            }
            biluo_valid_mask(&m->ner_moves, &st, n, d->space, sent_start, preset, valid);
            const int chosen = parser_fast_step_rows(pn, &m->ner_net_packed, m->precision, rows, valid, hidden, scores);
            int best = chosen >= 0 ? chosen /* made in registers; none valid: the preset's classes */
                     : biluo_choose_valid(&m->ner_moves, &st, n, d->space, sent_start, preset, scores, valid, padded);
            size_t i = st.i;
            biluo_apply(&m->ner_moves, &st, best, d->ents);
            if (st.open_start == (long)i) memcpy(open_row, table + (i - c0 + 1) * rowlen, rowlen * sizeof(float));
        }
        memcpy(prev_row, table + (c1 - c0) * rowlen, rowlen * sizeof(float));
    }
    d->nents = st.nents;
    d->has_ents = 1;
    d->model = m;
    return NERD_OK;
}
