/* lexattr.h - spaCy's lexical attribute functions: the boolean flags a Lexeme carries
 * (IS_ALPHA ... LIKE_EMAIL), computed from its text as spacy/lang/lex_attrs.py and each
 * language's lex_attrs.py and stop_words.py define them. The language-independent functions
 * are here; a language's own (LIKE_NUM, IS_STOP) are its row of the language table (lang.h). */
#ifndef NERD_LEXATTR_H
#define NERD_LEXATTR_H

#include <stddef.h>

#include "text/lang.h"
#include "util/buf.h"

/* One bit per flag, in spaCy's attrs order. */
enum {
    LEX_IS_ALPHA = 1u << 0,
    LEX_IS_ASCII = 1u << 1,
    LEX_IS_DIGIT = 1u << 2,
    LEX_IS_LOWER = 1u << 3,
    LEX_IS_PUNCT = 1u << 4,
    LEX_IS_SPACE = 1u << 5,
    LEX_IS_TITLE = 1u << 6,
    LEX_IS_UPPER = 1u << 7,
    LEX_LIKE_URL = 1u << 8,
    LEX_LIKE_NUM = 1u << 9,
    LEX_LIKE_EMAIL = 1u << 10,
    LEX_IS_STOP = 1u << 11,
    LEX_IS_BRACKET = 1u << 12,
    LEX_IS_QUOTE = 1u << 13,
    LEX_IS_LEFT_PUNCT = 1u << 14,
    LEX_IS_RIGHT_PUNCT = 1u << 15,
    LEX_IS_CURRENCY = 1u << 16,
};

/* spaCy's URL_MATCH (the tokenizer's url_match pattern): 1 when it matches at s's start. */
typedef int (*lex_url_match_fn)(void *ctx, const char *s, size_t len);

/* The LEX_* flags of a lexeme's text s (valid UTF-8, not empty), as spaCy's lexeme has them.
 * -1 when memory runs out. */
long lex_flags(const nerd_lang *lang, const char *s, size_t len, lex_url_match_fn url_match, void *url_ctx);

#endif
