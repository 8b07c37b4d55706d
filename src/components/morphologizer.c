/* morphologizer.c - spaCy's morphologizer: one softmax over labels that are a part of speech and
 * a morphology at once (morph_labels.h); token.pos_ and str(token.morph) are the argmax label's.
 * Computed as the first component that sets them (overwrite and extend then give the same). */
#include "pipeline/engine.h"

#include <stdio.h>
#include <string.h>

static nerd_status morph_begin(const nerd_model *m, nerd_doc *d)
{
    (void)m;
    if (grow_array((void **)&d->morph_ids, &d->morphcap, d->ntoks + 1, sizeof *d->morph_ids)) return NERD_ERR_NOMEM;
    d->heads_ran |= HEAD_MORPH;
    return NERD_OK;
}

static nerd_status morph_consume(const nerd_model *m, nerd_doc *d, size_t i0, size_t n, const float *scores,
                                 float *spare)
{
    (void)spare;
    const uint32_t nO = m->morph.n;
    for (size_t i = 0; i < n; i++) {
        const float *s = scores + i * nO;
        uint32_t best = 0;
        for (uint32_t o = 1; o < nO; o++)
            if (s[o] > s[best]) best = o; /* numpy's argmax: the first of equal scores */
        d->morph_ids[i0 + i] = best;
    }
    return NERD_OK;
}

nerd_status morphologizer_component_load(nerd_model *m, const spacy_config *c, const char *dir, const char *name,
                                         const pipeline_plan *plan, char *err, size_t errlen)
{
    (void)plan;
    if (m->morph.n) {
        snprintf(err, errlen, "%s/config.cfg [components.%s]: a second morphologizer is not supported", dir, name);
        return NERD_ERR_UNSUPPORTED;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/%s/cfg", dir, name);
    nerd_status s = morph_labels_load(&m->morph, path, err, errlen);
    if (s != NERD_OK) return s;
    s = head_register(m, c, dir, name, (int)m->morph.n, HEAD_MORPH, morph_begin, morph_consume, err, errlen);
    if (s != NERD_OK) morph_labels_free(&m->morph);
    return s;
}
