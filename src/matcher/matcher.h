/* matcher.h - spaCy's token Matcher and PhraseMatcher over tokens whose attributes are given,
 * with spaCy's semantics: the same matches, in the same order (docs/matcher.md).
 *
 * Internal API: the entity_ruler (and later the whole Doc) feed it the attributes nerd's
 * pipeline computed; tests feed attributes spaCy computed. A compiled matcher is read-only
 * while it runs, so one matcher serves many threads. */
#ifndef NERD_MATCHER_H
#define NERD_MATCHER_H

#include <stddef.h>

#include "text/lexattr.h"
#include "util/json.h"

/* The string attributes of a token, as spaCy's StringStore holds them. */
typedef enum {
    MATCHER_ORTH,      /* ORTH and TEXT */
    MATCHER_LOWER,
    MATCHER_NORM,
    MATCHER_LEMMA,
    MATCHER_POS,       /* "" when unset, as token.pos_ */
    MATCHER_TAG,
    MATCHER_MORPH,     /* the analysis key string: "Number=Sing|Person=3", "_" for an analysed
                        * token without features (spaCy's EMPTY_MORPH), "" when never analysed */
    MATCHER_DEP,
    MATCHER_ENT_TYPE,
    MATCHER_ENT_ID,
    MATCHER_ENT_KB_ID,
    MATCHER_SHAPE,
    MATCHER_NSTR
} matcher_str_attr;

/* The boolean attributes, one bit each in matcher_token.flags: the lexical flags as
 * text/lexattr.h computes them, and SPACY. */
enum {
    MATCHER_IS_ALPHA = LEX_IS_ALPHA,
    MATCHER_IS_ASCII = LEX_IS_ASCII,
    MATCHER_IS_DIGIT = LEX_IS_DIGIT,
    MATCHER_IS_LOWER = LEX_IS_LOWER,
    MATCHER_IS_UPPER = LEX_IS_UPPER,
    MATCHER_IS_TITLE = LEX_IS_TITLE,
    MATCHER_IS_PUNCT = LEX_IS_PUNCT,
    MATCHER_IS_SPACE = LEX_IS_SPACE,
    MATCHER_IS_BRACKET = LEX_IS_BRACKET,
    MATCHER_IS_QUOTE = LEX_IS_QUOTE,
    MATCHER_IS_LEFT_PUNCT = LEX_IS_LEFT_PUNCT,
    MATCHER_IS_RIGHT_PUNCT = LEX_IS_RIGHT_PUNCT,
    MATCHER_IS_CURRENCY = LEX_IS_CURRENCY,
    MATCHER_IS_STOP = LEX_IS_STOP,
    MATCHER_LIKE_NUM = LEX_LIKE_NUM,
    MATCHER_LIKE_URL = LEX_LIKE_URL,
    MATCHER_LIKE_EMAIL = LEX_LIKE_EMAIL,
    MATCHER_SPACY = 1u << 17,          /* followed by a space */
};

typedef struct {
    const char *s;  /* UTF-8, not necessarily NUL-terminated */
    size_t len;
} matcher_text;

typedef struct {
    matcher_text str[MATCHER_NSTR];
    long length;      /* LENGTH: the text's length in characters (code points) */
    unsigned flags;   /* MATCHER_IS_* bits */
    int sent_start;   /* spaCy's token.sent_start: 1 starts a sentence, -1 does not, 0 unknown;
                       * IS_SENT_START true matches 1 only */
    int ent_iob;      /* 0 unset, 1 I, 2 O, 3 B */
} matcher_token;

/* One match: tokens [start, end) matched a pattern added under key number `key`. */
typedef struct {
    unsigned key;
    int start, end;
} matcher_match;

typedef struct {
    matcher_match *items;
    size_t n, cap;
} matcher_matches;

void matcher_matches_free(matcher_matches *m);

/* ---- the token Matcher ---- */

typedef struct matcher matcher;

typedef enum { MATCHER_GREEDY_NONE, MATCHER_GREEDY_FIRST, MATCHER_GREEDY_LONGEST } matcher_greedy;

matcher *matcher_new(void);
void matcher_free(matcher *m);

/* Matcher.add(key, patterns, greedy=...): patterns_json is the JSON text of a list of patterns,
 * each a list of token dicts. As spaCy, adding to a key that exists appends its patterns and
 * replaces its greedy filter. 0, or -1 with a message naming the pattern, the token and the bad
 * key, value or operator in err (nothing is added then). */
int matcher_add_json(matcher *m, const char *key, const char *patterns_json, size_t len,
                     matcher_greedy greedy, char *err, size_t errlen);
/* The same for patterns already parsed: an array of patterns. */
int matcher_add(matcher *m, const char *key, const json_value *patterns, matcher_greedy greedy,
                char *err, size_t errlen);

/* Matcher(doc): every match of every pattern over toks[0..n), spaCy's order (the matches of
 * greedy keys after the others). out is reset first. 0, or -1 when memory runs out. */
int matcher_run(const matcher *m, const matcher_token *toks, size_t n, matcher_matches *out);

/* The string attributes the patterns read, a bit (1u << matcher_str_attr) each: spaCy refuses
 * to match patterns on TAG, POS, MORPH, LEMMA or DEP over a doc that lacks them (its E155), and
 * a caller that feeds tokens without them can do the same. */
unsigned matcher_str_attrs_used(const matcher *m);
/* The MATCHER_IS_* / SPACY bits the patterns read (a view without them can skip computing them). */
unsigned matcher_flags_used(const matcher *m);
/* What a caller's token view must compute beyond the text: LOWER, the lexical flags (past
 * IS_SPACE and SPACY). */
enum { MATCHER_VIEW_LOWER = 1, MATCHER_VIEW_FLAGS = 2 };

/* The key a match names (its string), and how many keys there are. */
const char *matcher_key_name(const matcher *m, unsigned key);
size_t matcher_key_count(const matcher *m);

/* ---- the PhraseMatcher ---- */

typedef struct phrase_matcher phrase_matcher;

/* PhraseMatcher(vocab, attr=...): attr is MATCHER_ORTH or MATCHER_LOWER (NULL otherwise). */
phrase_matcher *phrase_matcher_new(matcher_str_attr attr);
void phrase_matcher_free(phrase_matcher *pm);

/* Adds one phrase under key: the attribute values (ORTH or LOWER) of its tokens, as the
 * tokenizer splits the phrase. An empty phrase is skipped, as spaCy does. 0, or -1 when memory
 * runs out. */
int phrase_matcher_add(phrase_matcher *pm, const char *key, const matcher_text *phrase, size_t n);

/* PhraseMatcher(doc): by start, then by end, then (several keys on one span) in the order of
 * spaCy's hash table of keys. */
int phrase_matcher_run(const phrase_matcher *pm, const matcher_token *toks, size_t n,
                       matcher_matches *out);

const char *phrase_matcher_key_name(const phrase_matcher *pm, unsigned key);

#endif
