/* attr_ruler.h - spaCy's attribute_ruler. The doc pipeline runs all of it (ar_ruler below): the
 * folder's patterns through nerd's Matcher, attributes set on the token at each rule's index.
 * The full pipeline runs only the part its output shows (ar_dep_rules):
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
#include "matcher/matcher.h"

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

/* ---- the whole attribute_ruler (doc pipeline) ---- */

/* What one rule (one add() of spaCy's: its patterns, attrs and index) sets; a NULL ptr (dep -1)
 * leaves the attribute as it is. Strings are owned by the ruler; morph is normalized
 * (text/morph.h), pos is the UD name as spaCy spells it. */
typedef struct {
    int index;               /* the matched span's token (negative: from its end) */
    nerd_str tag, pos, morph, lemma;
    int dep;                 /* a label of the parser's table, or -1 */
} ar_rule;

typedef struct {
    matcher *mt;             /* rule k's patterns under key k, added in the file's order */
    ar_rule *rules;
    int nrules;
    unsigned reads;          /* the string attributes the patterns read (1u << matcher_str_attr) */
    unsigned view;           /* MATCHER_VIEW_* the patterns need (engine_matcher_view) */
} ar_ruler;

/* Reads an attribute_ruler patterns file for the doc pipeline; DEP labels join mv's table (mv
 * NULL: a DEP rule is refused). NERD_ERR_UNSUPPORTED with the reason in err when a rule sets an
 * attribute other than TAG, POS, MORPH, LEMMA, DEP or a pattern reads what the doc pipeline does
 * not give the Matcher at that point (the entities, flags other than IS_SPACE and SPACY). */
nerd_status ar_ruler_load(ar_ruler *r, ae_moves *mv, const char *path, char *err, size_t errlen);
void ar_ruler_free(ar_ruler *r);

/* The rules' effects on one doc, in spaCy's order: matches sorted by rule, then start, then end;
 * each sets its rule's attributes on the token at its index (later ones win). matches are the
 * Matcher's over the doc as it was before the ruler; apply(k, token) is called for each. */
typedef void (*ar_apply_fn)(void *ctx, const ar_rule *rule, size_t token);
int ar_ruler_run(const ar_ruler *r, const matcher_token *toks, size_t n, matcher_matches *scratch, ar_apply_fn apply,
                 void *ctx);

#endif
