/* lang.h - what a pipeline takes from spaCy's Python code for its language (meta.json "lang")
 * rather than from its folder: the tokenizer class, and the lexical attributes the language's
 * Defaults define (spaCy's create_vocab: LIKE_NUM from lex_attr_getters, IS_STOP from
 * stop_words). NORM needs nothing per language here: for every language of the table it is
 * spaCy's default (a special case's norm, the folder's lexeme_norm, BASE_NORMS, str.lower(),
 * lexeme.c). A language not in the table is refused at load, by name. */
#ifndef NERD_LANG_H
#define NERD_LANG_H

#include <stddef.h>

/* How a language's Doc is made from text. */
typedef enum {
    LANG_TOKENIZER_RULES,  /* spaCy's Tokenizer, rules from the folder's `tokenizer` file */
    LANG_TOKENIZER_CHARS,  /* one token per non-space character (spacy.zh.ChineseTokenizer, "char") */
} lang_tokenizer;

/* The generated word lists of one language (lang_words.c, tools/gen_lang_words.py). */
typedef struct {
    const char *code;
    const char *const *stop;  /* spaCy's stop_words, sorted by bytes */
    size_t nstop;
    const char *const *num;   /* the number words LIKE_NUM looks up, sorted by bytes */
    size_t nnum;
} lang_words;
extern const lang_words lang_word_lists[];
extern const size_t lang_nword_lists;

typedef struct {
    const char *code;            /* meta.json "lang" */
    const char *name;            /* English name, as spaCy's Language subclass */
    lang_tokenizer tokenizer;
    unsigned like_num_steps;     /* LN_* below: where the language's like_num departs from spaCy's base */
    const char *const *num_strip;/* characters removed before the digit test beyond "," and "." (NULL-ended) */
} nerd_lang;

/* like_num's steps, as each language's lex_attrs.py orders them */
enum {
    LN_SIGN = 1u << 0,            /* a leading + - ± ~ is dropped */
    LN_PERCENT = 1u << 1,         /* then a trailing % */
    LN_CARET = 1u << 2,           /* digits^digits counts as a number */
    LN_WORDS_LOWER = 1u << 3,     /* str.lower() of the text in the number words */
    LN_WORDS_FIRST = 1u << 4,     /* or its part before the first space */
    LN_WORDS_EXACT = 1u << 5,     /* or the text itself */
    LN_ORDINAL_SUFFIX = 1u << 6,  /* digits followed by st/nd/rd/th (lowercased) */
    LN_CJK_COUNT = 1u << 7,       /* Chinese counted numbers: (digit word, base word)+ digit word? */
};

/* The languages nerd computes, and the row for meta.json's "lang" (NULL when not there). */
extern const nerd_lang lang_table[];
extern const size_t lang_count;
const nerd_lang *lang_find(const char *code);

/* spaCy's LIKE_NUM / IS_STOP of a token's text s (valid UTF-8) in language l: 1, 0, or -1 when
 * memory runs out. */
int lang_like_num(const nerd_lang *l, const char *s, size_t len);
int lang_is_stop(const nerd_lang *l, const char *s, size_t len);

#endif
