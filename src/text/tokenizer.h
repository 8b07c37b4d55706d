/* tokenizer.h - spaCy v3's rule-based tokenizer, reproduced exactly: whitespace splitting,
 * special cases, prefix/suffix stripping, URL and infix rules, and the final special-case
 * matcher pass. Works on UTF-8 byte offsets; the caller converts to code points. */
#ifndef NERD_TOKENIZER_H
#define NERD_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "nerd.h"

#include "text/pyre.h"
#include "text/keycache.h"

typedef struct {
    uint32_t start, len;   /* bytes in the text */
    uint8_t ws;            /* followed by one space that belongs to no token */
    int32_t norm_sub;      /* special-case subtoken that sets NORM, or -1 */
} tok_span;

typedef struct tokenizer tokenizer;

/* Per-thread state: PCRE2 match data and the growing arrays of one call. */
typedef struct {
    pcre2_match_data *md;
    tok_span *toks;
    size_t ntoks, cap;
    uint32_t *aff;         /* prefix/suffix stacks of one span */
    size_t affcap;
    uint32_t *spans;       /* special-case matcher: candidate spans, */
    size_t spancap;
    uint32_t *keep;        /* the ones kept, */
    size_t keepcap;
    uint8_t *seen;         /* tokens they cover, */
    size_t seencap;
    tok_span *old;         /* and the token list before the replacements */
    size_t oldcap;
    key_cache chunks;      /* tokens of whitespace-delimited chunks seen before (off: zeroed) */
} tok_scratch;

/* Loads the msgpack `tokenizer` file of a pipeline folder into *out. NERD_OK, or the cause
 * (modelfile/modelfile.h) with a message naming the file in err (*out is then NULL). */
nerd_status tokenizer_load(const char *path, tokenizer **out, char *err, size_t errlen);
/* The tokenizer of spacy.zh.ChineseTokenizer's "char" segmenter (a token per non-space
 * character), which reads nothing from the folder; NULL when memory runs out. */
tokenizer *tokenizer_new_chars(void);
void tokenizer_free(tokenizer *t);

void tok_scratch_free(tok_scratch *s);
/* Keeps the tokens of up to `entries` chunks (0: none, the default of a zeroed scratch) in s:
 * a chunk's tokens depend on its bytes and the tokenizer only (docs/design.md), so a chunk seen
 * before is copied, not tokenized again. */
void tok_scratch_cache(tok_scratch *s, size_t entries);

/* Tokenizes valid UTF-8 text into s->toks / s->ntoks. Returns 0, or -1 when memory runs out. */
int tokenizer_run(const tokenizer *t, const char *text, size_t len, tok_scratch *s);
/* The same, stopping with TOK_DEADLINE (s->toks then incomplete) once the monotonic clock
 * passes deadline (deadline.h; 0 for none). */
enum { TOK_DEADLINE = -2 };
int tokenizer_run_until(const tokenizer *t, const char *text, size_t len, double deadline, tok_scratch *s);

/* The url_match pattern at s's start (Python's re.match; 0 when the tokenizer has none): the
 * English URL_MATCH that spaCy's LIKE_URL also tries. sc is a scratch that has run. */
int tokenizer_url_match(const tokenizer *t, const char *s, size_t len, tok_scratch *sc);

/* A special case's NORM for a subtoken index from tok_span.norm_sub. */
void tokenizer_sub_norm(const tokenizer *t, int32_t sub, const char **p, size_t *len);

#endif
