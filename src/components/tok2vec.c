/* tok2vec.c - spaCy's tok2vec factory: the shared tok2vec its listeners (the parser, the ner)
 * read, and the input attributes of any tok2vec, gathered per token from the doc. */
#include "pipeline/engine.h"
#include "text/hash.h"
#include "text/pystr.h"

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
    if (arch_tok2vec_bind(&m->t2v, &m->t2v_weights, &d, path, err, errlen)) return NERD_ERR_FORMAT;
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
