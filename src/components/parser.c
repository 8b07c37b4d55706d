/* parser.c - the full pipeline's first half over a tokenized doc: the shared tok2vec, the
 * parser's network and its arc-eager decoding, and what set_annotations leaves on the doc.
 * The networks run on nerd's kernels (t2v_fast.h), with the shared tok2vec's word cache.
 *
 * The shared tok2vec's rows are those every listener reads (tok2vec_shared_rows: computed once
 * per document); the parser keeps their projections (nI floats per token), and its precomputed
 * feature table covers a window of tokens around the buffer's front. A feature token outside the
 * window (deep in the stack of a very long sentence) gets its one slot computed from its
 * projected vector. */
#include "pipeline/engine.h"
#include "transition/choose.h"
#include "util/deadline.h"
#include "util/json.h"
#include "modelfile/modelfile.h"

#include <stdio.h>

#include <string.h>

#define PARSE_CHUNK 2048   /* tokens per projection (and the tagger's scores) */

/* The parser and the tok2vec it listens to: config, weights, moves, and the attribute_ruler's
 * DEP rules after it. The doc pipeline's tagger reads the same tok2vec output. */
/* The parser's cfg, when there is one: beam search would decode differently. */
static nerd_status check_greedy(const char *path, char *err, size_t errlen)
{
    json_doc jd;
    nerd_status rc = mf_read_json(path, &jd, err, errlen);
    const json_value *bw = rc == NERD_OK ? json_get(&jd.root, "beam_width") : NULL;
    if (bw && bw->type == JSON_NUMBER && bw->u.num != 1) {
        snprintf(err, errlen, "%s: beam_width is not 1; nerd implements greedy decoding", path);
        rc = NERD_ERR_UNSUPPORTED;
    }
    json_doc_free(&jd);
    return rc == NERD_ERR_NOT_FOUND ? NERD_OK : rc;
}

nerd_status parser_component_load(nerd_model *m, const spacy_config *c, const char *dir, const char *name,
                                  const pipeline_plan *plan, char *err, size_t errlen)
{
    nerd_status ls;
    char cfgpath[4096], path[4096], sec[96], lsec[128], up[32], t2v[32], sub[512];
    snprintf(cfgpath, sizeof cfgpath, "%s/config.cfg", dir);
    snprintf(sec, sizeof sec, "components.%.31s.model", name);
    snprintf(lsec, sizeof lsec, "%s.tok2vec", sec);
    tb_dims tb;
    if (arch_tb_parser(c, sec, "parser", &tb, cfgpath, err, errlen)) return NERD_ERR_UNSUPPORTED;
    if (!arch_is_listener(c, lsec, up, sizeof up)) {
        const char *raw = cfg_raw(c, lsec, "@architectures");
        snprintf(err, errlen, "%s [%s]: architecture %s is not supported for the parser (nerd implements spacy.Tok2VecListener.v1)",
                 cfgpath, lsec, raw ? raw : "(none)");
        return NERD_ERR_UNSUPPORTED;
    }
    snprintf(sec, sizeof sec, "components.%.31s", name);
    int b;
    if (!cfg_bool(c, sec, "learn_tokens", &b) && b) {
        snprintf(err, errlen, "%s [%s]: learn_tokens = true (subtoken merging) is not supported", cfgpath, sec);
        return NERD_ERR_UNSUPPORTED;
    }
    if (registry_listened(c, up, name, t2v, sizeof t2v)) {
        snprintf(err, errlen, "%s [%s]: the parser listens to tok2vec component \"%s\", which does not run before it",
                 cfgpath, lsec, up);
        return NERD_ERR_UNSUPPORTED;
    }
    nerd_status s = tok2vec_component_load_shared(m, c, dir, t2v, err, errlen);
    if (s != NERD_OK) return s;
    m->full_t2v_packed.feeds_dep_parser = 1; /* its partials' precision (t2v_fast.h) */
    snprintf(m->parser_name, sizeof m->parser_name, "%s", name);
    snprintf(path, sizeof path, "%s/%s/model", dir, name);
    if ((ls = tw_load(path, &m->parser_weights, err, errlen)) != NERD_OK) return ls;
    if (parser_net_bind(&m->parser, &m->parser_weights, m->t2v.width, sub, sizeof sub)) {
        snprintf(err, errlen, "%s: %s", path, sub);
        return NERD_ERR_FORMAT;
    }
    if (arch_tb_check(&m->parser, &tb, path, err, errlen)) return NERD_ERR_FORMAT;
    snprintf(path, sizeof path, "%s/%s/cfg", dir, name);
    if ((ls = check_greedy(path, err, errlen)) != NERD_OK) return ls;
    snprintf(path, sizeof path, "%s/%s/moves", dir, name);
    if ((ls = ae_load(&m->parser_moves, path, err, errlen)) != NERD_OK) return ls;
    if (m->parser_moves.nclasses != m->parser.nclasses) {
        snprintf(err, errlen, "%s: %d classes, but the parser model scores %d", path, m->parser_moves.nclasses,
                 m->parser.nclasses);
        return NERD_ERR_FORMAT;
    }
    if (*plan->ruler) {
        snprintf(path, sizeof path, "%s/%s/patterns", dir, plan->ruler);
        if ((ls = ar_load(&m->dep_rules, &m->parser_moves, path, err, errlen)) != NERD_OK) return ls;
    }
    if (parser_pack(&m->full_parser_packed, &m->parser)) {
        snprintf(err, errlen, "out of memory");
        return NERD_ERR_NOMEM;
    }
    m->parser_before_ner = plan->parser_before_ner;
    m->parse_window = 2048;
    m->parse_back = 256;
    m->has_full = 1;
    return NERD_OK;
}

nerd_status engine_parse(const nerd_model *m, nerd_doc *d, int doc, double deadline)
{
    const size_t n = d->ntoks;
    const t2v_net *t2v = &m->t2v;
    const parser_net *pn = &m->parser;
    const ae_moves *mv = &m->parser_moves;
    d->has_parse = 0;
    if (pn->nF != AE_NFEATS && pn->nF != AE_NFEATS_EXTRA) return NERD_ERR_UNSUPPORTED;
    const float *vecs;
    nerd_status s = tok2vec_shared_rows(m, d, deadline, &vecs);
    if (s != NERD_OK) return s;
    const size_t rowlen = (size_t)pn->nF * pn->nO * pn->nP;
    const size_t window = m->parse_window, back = m->parse_back;
    const size_t win = n < window ? n : window;
    const size_t f_proj = n * pn->nI, f_table = (win + 1) * rowlen, f_side = rowlen;
    const int tag = doc && m->tagger.nlabels > 0; /* the tagger reads the same tok2vec rows */
    const size_t f_tags = tag ? softmax_scratch_floats(&m->tagger.out, PARSE_CHUNK) : 0;
    /* the fast modes' table input, the window's rows rounded (parser_table_precision) */
    const size_t f_lowp = m->precision == KN_FP32 ? 0 : parser_fast_lowp_floats(pn, win);
    const size_t f_scores = parser_fast_scores_floats(pn);
    const size_t need = f_proj + f_table + f_side + pn->nO + f_scores + f_tags + f_lowp + 64;
    const size_t nints = ae_state_ints(n) + ae_annotate_ints(n), nbytes = ae_state_bytes(n);
    if ((tag && grow_array((void **)&d->tag_ids, &d->tagcap, n + 1, sizeof *d->tag_ids)) ||
        grow_array_aligned((void **)&d->pwork, &d->pworkcap, need, sizeof(float)) ||
        grow_array((void **)&d->pints, &d->pintscap, nints + 1, sizeof(int)) ||
        grow_array((void **)&d->pbytes, &d->pbytescap, nbytes + 1, 1))
        return NERD_ERR_NOMEM;
    size_t cap = d->parsecap;
    if (grow_array((void **)&d->heads, &cap, n + 1, sizeof *d->heads)) return NERD_ERR_NOMEM;
    cap = d->parsecap;
    if (grow_array((void **)&d->deps, &cap, n + 1, sizeof *d->deps)) return NERD_ERR_NOMEM;
    cap = d->parsecap;
    if (grow_array((void **)&d->sent_starts, &cap, n + 1, 1)) return NERD_ERR_NOMEM;
    d->parsecap = cap;
    float *proj = d->pwork, *table = proj + f_proj;
    float *side = table + f_table, *hidden = side + f_side, *scores = hidden + pn->nO;
    float *tag_scores = scores + f_scores, *lowp = tag_scores + f_tags;
    const kn_precision table_prec = dep_table_precision(m->precision); /* the projection fp32 */

    /* the shared tok2vec's rows, chunk by chunk, into the projection the parser reads */
    for (size_t c0 = 0; c0 < n; c0 += PARSE_CHUNK) {
        if (deadline_passed(deadline)) return NERD_ERR_DEADLINE; /* between chunks of rows */
        size_t c1 = c0 + PARSE_CHUNK < n ? c0 + PARSE_CHUNK : n;
        parser_fast_project(pn, &m->full_parser_packed, KN_FP32, vecs + c0 * t2v->width, c1 - c0,
                            proj + c0 * pn->nI, NULL, 0);
        if (tag) softmax_argmax(&m->tagger.out, vecs + c0 * t2v->width, c1 - c0, tag_scores, d->tag_ids + c0);
    }

    /* greedy arc-eager decoding */
    ae_state st;
    ae_state_init(&st, n, d->pints, d->pbytes);
    size_t w0 = 0, wn = win;
    parser_fast_table(pn, &m->full_parser_packed, table_prec, proj, wn, table, lowp, f_lowp);
    const size_t max_steps = 16 * n + 16; /* a parse takes under 8n steps; this only guards */
    uint64_t valid[CHOOSE_MAX_WORDS];
    while (!ae_is_final(&st)) {
        if (!(st.steps & (DEADLINE_EVERY_TRANSITIONS - 1)) && deadline_passed(deadline)) return NERD_ERR_DEADLINE;
        if ((size_t)st.b_i + 1 >= w0 + wn && w0 + wn < n) { /* B0 and B1 must be in the window */
            w0 = (size_t)st.b_i > back ? (size_t)st.b_i - back : 0;
            wn = n - w0 < window ? n - w0 : window;
            parser_fast_table(pn, &m->full_parser_packed, table_prec, proj + w0 * pn->nI, wn, table, lowp, f_lowp);
        }
        int feats[AE_NFEATS_EXTRA];
        const float *rows[AE_NFEATS_EXTRA];
        ae_features(&st, pn->nF, feats);
        for (int f = 0; f < pn->nF; f++) {
            long j = feats[f];
            if (j < 0) rows[f] = table; /* the learned pad row */
            else if ((size_t)j >= w0 && (size_t)j < w0 + wn) rows[f] = table + ((size_t)j - w0 + 1) * rowlen;
            else {
                parser_fast_feature_slot(pn, &m->full_parser_packed, table_prec, proj + (size_t)j * pn->nI, f, side,
                                         lowp, f_lowp);
                rows[f] = side; /* each feature reads only its own slot of a row */
            }
        }
        ae_valid_mask(mv, &st, valid); /* the fast modes score only the panels of the valid classes */
        const int chosen = parser_fast_step_rows(pn, &m->full_parser_packed, m->precision, rows, valid, hidden, scores);
        int best = st.steps >= max_steps ? -1
                 : chosen != KN_NOT_CHOSEN ? chosen /* made from the scores in registers */
                 : (parser_fast_scores_padded(m->precision) ? choose_best_padded : choose_best)(scores, valid,
                                                                                                mv->nclasses);
        ae_apply(mv, &st, best);
    }
    ae_annotate(mv, &st, d->space, d->heads, d->deps, d->sent_starts, d->pints + ae_state_ints(n));
    if (!doc) ar_apply(&m->dep_rules, n, d->space, d->deps); /* else the whole ruler sets them */
    d->parse_steps = st.steps;
    d->has_parse = 1;
    d->model = m;
    return NERD_OK;
}
