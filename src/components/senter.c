/* senter.c - spaCy's senter (SentenceRecognizer): a softmax over labels "I" and "S" per token.
 * In a pipeline without a parser its sentence starts are the doc's, and the ner after it
 * respects them as it respects the parser's. set_annotations sets token j's start (1 for "S",
 * -1 for "I") only where none is set yet or with overwrite; a new Doc has its first token's. */
#include "pipeline/engine.h"

#include <stdio.h>
#include <string.h>

#define SENTER_LABEL_S 1 /* labels ("I", "S"): column 1 starts a sentence */
#define SENTER_NLABELS 2

static nerd_status senter_begin(const nerd_model *m, nerd_doc *d)
{
    (void)m;
    /* the parse's three arrays share parsecap: grown together, as engine_parse grows them */
    size_t cap = d->parsecap;
    if (grow_array((void **)&d->heads, &cap, d->ntoks + 1, sizeof *d->heads)) return NERD_ERR_NOMEM;
    cap = d->parsecap;
    if (grow_array((void **)&d->deps, &cap, d->ntoks + 1, sizeof *d->deps)) return NERD_ERR_NOMEM;
    cap = d->parsecap;
    if (grow_array((void **)&d->sent_starts, &cap, d->ntoks + 1, 1)) return NERD_ERR_NOMEM;
    d->parsecap = cap;
    memset(d->sent_starts, 0, d->ntoks);
    if (d->ntoks) d->sent_starts[0] = 1; /* "unset" is 0 for the others: none is set before */
    d->heads_ran |= HEAD_SENTER;
    return NERD_OK;
}

static nerd_status senter_consume(const nerd_model *m, nerd_doc *d, size_t i0, size_t n, const float *scores,
                                  float *spare)
{
    (void)spare;
    for (size_t i = 0; i < n; i++) {
        const float *s = scores + i * SENTER_NLABELS;
        int starts = s[SENTER_LABEL_S] > s[0]; /* numpy's argmax: the first of equal scores */
        /* token 0 is the only one whose start is already set (to 1) */
        if (i0 + i > 0 || m->senter_overwrite) d->sent_starts[i0 + i] = (uint8_t)starts;
    }
    return NERD_OK;
}

nerd_status senter_component_load(nerd_model *m, const spacy_config *c, const char *dir, const char *name,
                                  const pipeline_plan *plan, char *err, size_t errlen)
{
    if (strcmp(plan->senter, name)) return NERD_OK; /* after the parser without overwrite: it changes nothing */
    nerd_status s = head_register(m, c, dir, name, SENTER_NLABELS, HEAD_SENTER, senter_begin, senter_consume, err, errlen);
    if (s != NERD_OK) return s;
    char sec[64];
    snprintf(sec, sizeof sec, "components.%.31s", name);
    int overwrite = 0;
    if (cfg_bool(c, sec, "overwrite", &overwrite)) overwrite = 0; /* spaCy's default */
    m->senter_sets_starts = 1;
    m->senter_overwrite = overwrite;
    m->senter_before_ner = plan->senter_before_ner;
    m->has_full = 1;
    return NERD_OK;
}
