/* morph.h - spaCy's morphological analysis strings (Morphology.add / normalize_features): the
 * UD FEATS form "Field=Value|Field=Value1,Value2" with the values of a field sorted and the
 * "Field=Values" pairs sorted (Python's str order, which is UTF-8 byte order); a later repeat
 * of a field replaces the earlier one; no features is spaCy's EMPTY_MORPH "_", which
 * str(token.morph) shows as "". Shared by every component that sets MORPH. */
#ifndef NERD_MORPH_H
#define NERD_MORPH_H

#include <stddef.h>

#include "util/buf.h"

#define MORPH_EMPTY "_"

/* Appends the normalized form of feats[0..len) to out ("" and "_" give "_"). 0, -1 when a
 * feature is not Field=Value (spaCy raises on it), -2 when memory runs out. */
int morph_normalize(const char *feats, size_t len, buf *out);

#endif
