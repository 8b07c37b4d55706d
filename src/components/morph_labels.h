/* morph_labels.h - the morphologizer's labels as its cfg stores them: "labels_morph" maps each
 * label (the features with POS among them, e.g. "Gender=Fem|Number=Sing|POS=NOUN"), in the
 * softmax's column order, to the token's morphology without POS ("Gender=Fem|Number=Sing", as
 * str(token.morph) writes it), and "labels_pos" maps it to spaCy's univ_pos_t value (0: none). */
#ifndef NERD_MORPH_LABELS_H
#define NERD_MORPH_LABELS_H

#include <stddef.h>
#include <stdint.h>

#include "nerd.h"
#include "util/buf.h"

typedef struct {
    uint32_t n;
    uint32_t *morph_off, *morph_len;  /* into strs: normalized (text/morph.h), "_" for none */
    const char **pos;                 /* token.pos_: a name of spaCy's parts_of_speech, or "" */
    buf strs;
} morph_labels;

/* Reads the morphologizer's cfg at path. NERD_OK, or the status with err naming the file. */
nerd_status morph_labels_load(morph_labels *ml, const char *path, char *err, size_t errlen);
void morph_labels_free(morph_labels *ml);

/* spaCy's univ_pos_t name of value id ("" for 0, NULL for no part of speech). */
const char *pos_name(long id);

#endif
