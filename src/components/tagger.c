/* tagger.c - the tagger component: its config, labels and weights (tagger.h). */
#include "components/tagger.h"
#include "modelfile/modelfile.h"
#include "pipeline/engine.h"
#include "util/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* tagger/cfg's "labels" into t->labels (copies). */
static nerd_status read_labels(tagger_component *t, const char *path, char *err, size_t errlen)
{
    json_doc jd;
    nerd_status rc = mf_read_json(path, &jd, err, errlen);
    const json_value *labels = rc == NERD_OK ? json_get(&jd.root, "labels") : NULL;
    if (rc == NERD_OK && (!labels || labels->type != JSON_ARRAY || labels->u.arr.n == 0)) {
        snprintf(err, errlen, "%s: no \"labels\" list", path);
        rc = NERD_ERR_FORMAT;
    }
    if (rc == NERD_OK && !(t->labels = calloc(labels->u.arr.n, sizeof *t->labels))) rc = NERD_ERR_NOMEM;
    for (size_t i = 0; rc == NERD_OK && i < labels->u.arr.n; i++) {
        const json_value *l = &labels->u.arr.items[i];
        char *s = l->type == JSON_STRING ? malloc(l->u.str.len + 1) : NULL;
        if (l->type != JSON_STRING) {
            snprintf(err, errlen, "%s: label %zu is not a string", path, i);
            rc = NERD_ERR_FORMAT;
        } else if (!s) {
            rc = NERD_ERR_NOMEM;
        } else {
            memcpy(s, l->u.str.ptr, l->u.str.len + 1);
            t->labels[t->nlabels++] = (nerd_str){s, l->u.str.len};
        }
    }
    if (rc == NERD_ERR_NOMEM) snprintf(err, errlen, "%s: out of memory", path);
    json_doc_free(&jd);
    return rc;
}

nerd_status tagger_component_load(nerd_model *m, const spacy_config *c, const char *dir, const char *name,
                                  const pipeline_plan *plan, char *err, size_t errlen)
{
    (void)plan;
    char cfgpath[4096], path[4096], sec[96], lsec[128], arch[64], up[32], t2v[32], sub[256];
    tagger_component *t = &m->tagger;
    snprintf(m->tagger_name, sizeof m->tagger_name, "%s", name);
    snprintf(cfgpath, sizeof cfgpath, "%s/config.cfg", dir);
    snprintf(sec, sizeof sec, "components.%.31s.model", name);
    snprintf(lsec, sizeof lsec, "%s.tok2vec", sec);
    int normalize = 0;
    if (cfg_str(c, sec, "@architectures", arch, sizeof arch) || strcmp(arch, "spacy.Tagger.v2") ||
        (!cfg_bool(c, sec, "normalize", &normalize) && normalize)) {
        snprintf(err, errlen, "%s [%s]: nerd computes a tagger of architecture spacy.Tagger.v2 with normalize = false",
                 cfgpath, sec);
        return NERD_ERR_UNSUPPORTED;
    }
    if (!arch_is_listener(c, lsec, up, sizeof up) || registry_listened(c, up, name, t2v, sizeof t2v) ||
        strcmp(t2v, m->t2v_name)) {
        snprintf(err, errlen,
                 "%s [%s]: nerd computes a tagger that listens to the tok2vec the parser listens to (%s)", cfgpath,
                 lsec, *m->t2v_name ? m->t2v_name : "no parser");
        return NERD_ERR_UNSUPPORTED;
    }
    nerd_status s;
    snprintf(path, sizeof path, "%s/%s/cfg", dir, name);
    if ((s = read_labels(t, path, err, errlen)) != NERD_OK) return s;
    snprintf(path, sizeof path, "%s/%s/model", dir, name);
    if ((s = tw_load(path, &t->weights, err, errlen)) != NERD_OK) return s;
    int bound = softmax_bind(&t->out, &t->weights, m->t2v.width, sub, sizeof sub);
    if (bound) {
        snprintf(err, errlen, "%s: %s", path, sub);
        return bound == -2 ? NERD_ERR_NOMEM : NERD_ERR_FORMAT;
    }
    if (t->out.nO != t->nlabels) {
        snprintf(err, errlen, "%s: the softmax scores %d classes, but %s/cfg names %d labels", path, t->out.nO, name,
                 t->nlabels);
        return NERD_ERR_FORMAT;
    }
    return NERD_OK;
}

void tagger_free(tagger_component *t)
{
    for (int i = 0; i < t->nlabels; i++) free((char *)t->labels[i].ptr);
    free(t->labels);
    softmax_free(&t->out);
    tw_free(&t->weights);
    memset(t, 0, sizeof *t);
}
