/* attr_ruler.h - the part of spaCy's attribute_ruler that the full pipeline's output shows:
 * rules that set DEP. en_core_web_sm's gives every whitespace token the label "dep" after
 * the parser ({"IS_SPACE": true, "DEP": {"NOT_IN": [""]}} -> DEP "dep"). Rules are read from
 * attribute_ruler/patterns; those nerd can evaluate are single-token patterns over IS_SPACE
 * and DEP (a string, IN or NOT_IN). Its other rules set TAG/POS/MORPH/LEMMA, which nerd does
 * not output and which nothing downstream (the ner) reads. */
#ifndef NERD_ATTR_RULER_H
#define NERD_ATTR_RULER_H

#include <stddef.h>
#include <stdint.h>

#include "nerd.h"

#include "transition/arc_eager.h"

typedef struct {
    int8_t is_space;     /* -1: any; else the token's is_space must equal it */
    int8_t dep_op;       /* 0: any, 1: dep in deps, 2: dep not in deps */
    int16_t *deps;       /* label indices (labels of the parser's table, added when new) */
    int ndeps;
    int16_t set_dep;     /* the label the rule gives */
} ar_dep_rule;

typedef struct {
    ar_dep_rule *rules;
    int nrules;
    int skipped;         /* DEP rules with patterns nerd cannot evaluate (not applied) */
} ar_dep_rules;

/* Reads the DEP rules of an attribute_ruler patterns file; labels join mv's table. NERD_OK, or
 * the cause (modelfile/modelfile.h) with a message naming the file. */
nerd_status ar_load(ar_dep_rules *r, ae_moves *mv, const char *path, char *err, size_t errlen);
void ar_free(ar_dep_rules *r);
/* Does any rule of the patterns file set an attribute outside allowed (NULL-terminated)?
 * *sets_other = 1 with its name in bad, or 0; the status is the file's (err names the cause). */
nerd_status ar_sets_only(const char *path, const char *const *allowed, int *sets_other, char *bad, size_t badlen,
                         char *err, size_t errlen);
/* Applies the rules to n tokens' labels, as the attribute_ruler after the parser. */
void ar_apply(const ar_dep_rules *r, size_t n, const uint8_t *is_space, int16_t *dep);

#endif
