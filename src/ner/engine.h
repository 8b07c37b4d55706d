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
 *   kernels.c      nerd's packed fp32 / bf16 matrix products (runtime CPU dispatch)
 *   embed_cache.c  the bounded, thread-safe per-word cache of the tok2vec's mixing layer
 *   t2v_fast.c     the network as nerd_ner runs it: packed weights, fused passes, the cache
 */
#ifndef NERD_ENGINE_H
#define NERD_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "nerd.h"
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

struct nerd_model {
    char *dir;
    char name[128], version[64];
    tokenizer *tok;
    lex_norms norms;
    /* the ner component: its own tok2vec, the parser-model layers, the BILUO moves */
    thinc_model ner_weights;
    t2v_net ner_t2v;
    parser_net ner_net;
    biluo_moves ner_moves;
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
    tok_scratch tsc;
    /* network workspace, grown to the largest doc seen */
    float *work;
    size_t workcap;
    biluo_ent *ents;
    size_t nents, entcap;
    int has_ents;
    const nerd_model *model;      /* whose labels the entities name */
};

#endif
