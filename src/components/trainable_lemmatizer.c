/* trainable_lemmatizer.c - spaCy's trainable_lemmatizer (EditTreeLemmatizer): a softmax over edit
 * trees (edit_tree.h); a token's lemma is the first of its top_k likeliest trees that applies to
 * its text, else the backoff ("orth": the text; null: unset). Computed as the first component
 * that sets lemmas (overwrite then changes nothing). */
#include "pipeline/engine.h"

#include <stdio.h>
#include <string.h>

#define LEMMA_UNSET UINT32_MAX

static nerd_status lemma_begin(const nerd_model *m, nerd_doc *d)
{
    (void)m;
    size_t cap = d->lemmacap;
    if (grow_array((void **)&d->lemma_off, &cap, d->ntoks + 1, sizeof *d->lemma_off)) return NERD_ERR_NOMEM;
    cap = d->lemmacap;
    if (grow_array((void **)&d->lemma_len, &cap, d->ntoks + 1, sizeof *d->lemma_len)) return NERD_ERR_NOMEM;
    d->lemmacap = cap;
    buf_clear(&d->lemma_strs);
    d->heads_ran |= HEAD_LEMMA;
    return NERD_OK;
}

static nerd_status lemma_consume(const nerd_model *m, nerd_doc *d, size_t i0, size_t n, const float *scores,
                                 float *spare)
{
    const edit_trees *t = &m->trees;
    for (size_t i = 0; i < n; i++) {
        const ner_token *tok = &d->toks[i0 + i];
        const char *text = d->text.ptr + tok->start;
        size_t before = d->lemma_strs.len;
        uint32_t tree;
        if (et_choose(t, scores + i * t->nlabels, spare, text, tok->len, &d->lemma_strs, &tree)) return NERD_ERR_NOMEM;
        if (tree == ET_NO_TREE && t->backoff == ET_BACKOFF_ORTH && buf_append(&d->lemma_strs, text, tok->len))
            return NERD_ERR_NOMEM;
        int unset = tree == ET_NO_TREE && t->backoff == ET_BACKOFF_NONE;
        d->lemma_off[i0 + i] = (uint32_t)before;
        d->lemma_len[i0 + i] = unset ? LEMMA_UNSET : (uint32_t)(d->lemma_strs.len - before);
    }
    return NERD_OK;
}

nerd_status trainable_lemmatizer_component_load(nerd_model *m, const spacy_config *c, const char *dir,
                                                const char *name, const pipeline_plan *plan, char *err, size_t errlen)
{
    (void)plan;
    char sec[64], cfgpath[4096], path[4096], strings[4096], backoff[32] = "orth";
    snprintf(cfgpath, sizeof cfgpath, "%s/config.cfg", dir);
    snprintf(sec, sizeof sec, "components.%.31s", name);
    if (m->trees.nnodes) {
        snprintf(err, errlen, "%s [%s]: a second trainable_lemmatizer is not supported", cfgpath, sec);
        return NERD_ERR_UNSUPPORTED;
    }
    long top_k = 1;
    int overwrite = 0;
    if (cfg_int(c, sec, "top_k", &top_k)) top_k = 1; /* spaCy's defaults */
    if (cfg_bool(c, sec, "overwrite", &overwrite)) overwrite = 0;
    const char *raw = cfg_raw(c, sec, "backoff");
    et_backoff bo = ET_BACKOFF_ORTH;
    if (raw && !strcmp(raw, "null")) bo = ET_BACKOFF_NONE;
    else if (raw && (cfg_str(c, sec, "backoff", backoff, sizeof backoff) || strcmp(backoff, "orth"))) {
        snprintf(err, errlen, "%s [%s]: backoff = %s is not supported (nerd implements \"orth\" and null)", cfgpath,
                 sec, raw);
        return NERD_ERR_UNSUPPORTED;
    }
    if (top_k < 1 || top_k > 1 << 20) {
        snprintf(err, errlen, "%s [%s]: top_k = %ld is not a positive number of trees", cfgpath, sec, top_k);
        return NERD_ERR_UNSUPPORTED;
    }
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(strings, sizeof strings, "%s/vocab/strings.json", dir);
    nerd_status s = et_load(&m->trees, path, strings, (int)top_k, bo, overwrite, err, errlen);
    if (s != NERD_OK) return s;
    s = head_register(m, c, dir, name, (int)m->trees.nlabels, HEAD_LEMMA, lemma_begin, lemma_consume, err, errlen);
    if (s != NERD_OK) et_free(&m->trees);
    return s;
}
