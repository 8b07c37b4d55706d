/* engine.h - the map of libnerd: what a loaded model holds and what a doc (one thread's
 * workspace) holds. The public API in include/nerd.h is implemented in engine.c over these.
 *
 *   hash.c        spaCy's string hash and thinc's HashEmbed hash
 *   pystr.c       Python str semantics on UTF-8 (isspace, isalpha, lower, ...)
 *   pyre.c        Python `re` patterns -> PCRE2
 *   tokenizer.c   spaCy's tokenizer
 *   lexeme.c      NORM / PREFIX / SUFFIX / SHAPE and the vocab's lexeme_norm table
 *   spacy_config.c  config.cfg: the architectures and dimensions
 *   thinc_weights.c model files -> one read-only block of floats
 *   tok2vec_net.c  MultiHashEmbed + MaxoutWindowEncoder
 *   parser_net.c   TransitionBasedParser's layers
 *   biluo.c        the ner transition system and greedy decoding
 *   moves_file.c   ner/moves and parser/moves: the labels of a transition system
 *   arc_eager.c    the parser's transition system, heads/labels, sentence starts
 *   attr_ruler.c   the attribute_ruler's DEP rules (whitespace tokens get "dep")
 *   parse.c        the full pipeline's shared tok2vec and parser over a doc
 *   kernels.c      nerd's packed fp32 / bf16 / int8 matrix products (runtime CPU dispatch)
 *   embed_cache.c  the bounded, thread-safe per-word cache of the tok2vec's mixing layer
 *   t2v_fast.c     the networks as nerd runs them: packed weights, fused passes, the cache
 *                  (tok2vec_net.c and parser_net.c stay the plain reference the layer tests trace)
 */
#ifndef NERD_ENGINE_H
#define NERD_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "nerd.h"
#include "ner/arc_eager.h"
#include "ner/attr_ruler.h"
#include "ner/biluo.h"
#include "ner/embed_cache.h"
#include "ner/lexeme.h"
#include "ner/parser_net.h"
#include "ner/t2v_fast.h"
#include "ner/thinc_weights.h"
#include "ner/tok2vec_net.h"
#include "ner/tokenizer.h"
#include "util/buf.h"

enum { ATTR_NORM = 0, ATTR_PREFIX, ATTR_SUFFIX, ATTR_SHAPE, NER_NATTRS };
/* the other token attributes a tok2vec may embed (spaCy's SPACY, IS_SPACE: 0 or 1) */
enum { ATTR_SPACY = NER_NATTRS, ATTR_IS_SPACE };

struct nerd_model {
    char *dir;
    char name[128], version[64];
    /* which weights are served: SHA-256 of the weight files nerd reads, concatenated in this
     * order (weights_files, space-separated) */
    char weights_sha256[65], weights_files[128];
    tokenizer *tok;
    lex_norms norms;
    /* the ner component: its own tok2vec, the parser-model layers, the BILUO moves */
    thinc_model ner_weights;
    t2v_net ner_t2v;
    parser_net ner_net;
    biluo_moves ner_moves;
    /* the full pipeline: the shared tok2vec the parser listens to, and the parser. When the
     * folder has none (or a component nerd cannot reproduce), full_error says why. */
    int has_full;
    char full_error[400];
    int parser_before_ner;        /* else the ner never sees the parser's sentence starts */
    thinc_model t2v_weights, parser_weights;
    t2v_net t2v;
    int t2v_attr[T2V_MAX_ATTRS];  /* the ATTR_* embedded by each column of the shared tok2vec */
    parser_net parser;
    ae_moves parser_moves;
    ar_dep_rules dep_rules;       /* of an attribute_ruler after the parser */
    /* the parser's precomputed rows are kept for parse_window tokens, from parse_back tokens
     * behind the buffer's front (2048 and 256; tests shrink them to move the window often) */
    size_t parse_window, parse_back;
    t2v_packed full_t2v_packed;   /* the shared tok2vec and the parser on nerd's kernels */
    parser_packed full_parser_packed;
    embed_cache *full_cache;      /* the shared tok2vec's word cache (NULL when disabled) */
    /* fast path (t2v_fast.h): packed weights, the precision products run in, the word cache */
    t2v_packed ner_t2v_packed;
    parser_packed ner_net_packed;
    kn_precision precision;
    embed_cache *ner_cache;       /* NULL when disabled */
};

typedef struct {
    uint32_t start, len;          /* bytes in the doc's text */
    uint32_t idx, nchars;         /* code points */
    uint8_t ws, is_space;
    uint32_t norm_off, norm_len;  /* in the doc's strings */
    uint32_t shape_off, shape_len;
    uint32_t prefix_len;          /* bytes: the first character of the text */
    uint32_t suffix_len;          /* bytes: the last three characters, ending at the text's end */
} ner_token;

struct nerd_doc {
    buf text;                     /* a copy of the input */
    ner_token *toks;
    size_t ntoks, tokcap;
    buf strs;                     /* norms and shapes */
    uint64_t *attrs;              /* ntoks x NER_NATTRS */
    uint8_t *space;               /* is_space per token */
    size_t attrcap;               /* tokens attrs and space both hold */
    tok_scratch tsc;
    /* network workspace, grown to the largest doc seen */
    float *work;
    size_t workcap;
    biluo_ent *ents;
    size_t nents, entcap;
    int has_ents;
    const nerd_model *model;      /* whose labels the entities name */
    /* the full pipeline: the parse and its workspace, grown like the rest */
    uint64_t *t2v_attrs;          /* ntoks x the shared tok2vec's columns */
    float *pwork;
    int *pints;
    uint8_t *pbytes;
    int32_t *heads;
    int16_t *deps;
    uint8_t *sent_starts;
    size_t t2v_attrcap, pworkcap, pintscap, pbytescap, parsecap;
    size_t parse_steps;           /* transitions the parser took (benchmarks count its work) */
    int has_parse;
};

/* The shared tok2vec and the parser over a tokenized doc: heads, deps, sentence starts.
 * NERD_ERR_DEADLINE once the monotonic clock passes deadline (deadline.h; 0 for none). */
nerd_status engine_parse(const nerd_model *m, nerd_doc *d, double deadline);

#endif
