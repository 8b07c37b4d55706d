/* morph_labels.c - the morphologizer's cfg (morph_labels.h). */
#include "components/morph_labels.h"
#include "modelfile/modelfile.h"
#include "text/morph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* spaCy's parts_of_speech: NO_TAG is 0 (""), the others are the symbols ADJ (84) to SPACE (103) */
#define POS_FIRST_ID 84
static const char *const pos_names[] = {"ADJ",   "ADP",  "ADV",   "AUX",  "CONJ", "CCONJ", "DET",
                                        "INTJ",  "NOUN", "NUM",   "PART", "PRON", "PROPN", "PUNCT",
                                        "SCONJ", "SYM",  "VERB",  "X",    "EOL",  "SPACE"};
#define NPOS (long)(sizeof pos_names / sizeof *pos_names)

const char *pos_name(long id)
{
    if (id == 0) return "";
    return id >= POS_FIRST_ID && id < POS_FIRST_ID + NPOS ? pos_names[id - POS_FIRST_ID] : NULL;
}

void morph_labels_free(morph_labels *ml)
{
    free(ml->morph_off);
    free(ml->morph_len);
    free((void *)ml->pos);
    buf_free(&ml->strs);
    memset(ml, 0, sizeof *ml);
}

nerd_status morph_labels_load(morph_labels *ml, const char *path, char *err, size_t errlen)
{
    memset(ml, 0, sizeof *ml);
    json_doc jd = {0};
    nerd_status rc = mf_read_json(path, &jd, err, errlen);
    if (rc != NERD_OK) goto out;
    const json_value *morph = json_get(&jd.root, "labels_morph"), *pos = json_get(&jd.root, "labels_pos");
    rc = NERD_ERR_FORMAT;
    if (!morph || morph->type != JSON_OBJECT || !morph->u.obj.n || morph->u.obj.n >= UINT32_MAX || !pos ||
        pos->type != JSON_OBJECT) {
        snprintf(err, errlen, "%s: no labels_morph and labels_pos maps", path);
        goto out;
    }
    ml->n = (uint32_t)morph->u.obj.n;
    ml->morph_off = calloc(ml->n, sizeof *ml->morph_off);
    ml->morph_len = calloc(ml->n, sizeof *ml->morph_len);
    ml->pos = calloc(ml->n, sizeof *ml->pos);
    if (!ml->morph_off || !ml->morph_len || !ml->pos) goto oom;
    for (uint32_t i = 0; i < ml->n; i++) {
        const json_member *lab = &morph->u.obj.items[i];
        if (lab->val.type != JSON_STRING) {
            snprintf(err, errlen, "%s: labels_morph of label %u is not a string", path, i);
            goto out;
        }
        /* a label repeated in the JSON object is one key of spaCy's dict, at its first place */
        for (uint32_t k = 0; k < i; k++)
            if (morph->u.obj.items[k].keylen == lab->keylen && !memcmp(morph->u.obj.items[k].key, lab->key, lab->keylen)) {
                snprintf(err, errlen, "%s: label %.*s is repeated", path, (int)lab->keylen, lab->key);
                goto out;
            }
        /* spaCy sets Morphology.add(the label's morph): normalized, and "_" for no features */
        ml->morph_off[i] = (uint32_t)ml->strs.len;
        int got = morph_normalize(lab->val.u.str.ptr, lab->val.u.str.len, &ml->strs);
        if (got == -2) goto oom;
        if (got) {
            snprintf(err, errlen, "%s: the morphology of label %u is not Field=Value features", path, i);
            goto out;
        }
        ml->morph_len[i] = (uint32_t)(ml->strs.len - ml->morph_off[i]);
        if (buf_putc(&ml->strs, 0)) goto oom;
        /* spaCy: labels_pos.get(label, 0) */
        ml->pos[i] = "";
        for (size_t k = 0; k < pos->u.obj.n; k++) {
            const json_member *p = &pos->u.obj.items[k];
            if (p->keylen != lab->keylen || memcmp(p->key, lab->key, lab->keylen)) continue;
            const char *name = p->val.type == JSON_NUMBER && p->val.u.num == (long)p->val.u.num ? pos_name((long)p->val.u.num) : NULL;
            if (!name) {
                snprintf(err, errlen, "%s: labels_pos of %.*s is not a part of speech", path, (int)lab->keylen, lab->key);
                goto out;
            }
            ml->pos[i] = name; /* the last of repeated keys, as Python's dict */
        }
    }
    rc = NERD_OK;
    goto out;
oom:
    rc = NERD_ERR_NOMEM;
    snprintf(err, errlen, "%s: out of memory", path);
out:
    json_doc_free(&jd);
    if (rc != NERD_OK) morph_labels_free(ml);
    return rc;
}
