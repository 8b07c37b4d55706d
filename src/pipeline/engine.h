/* engine.h - the map of libnerd: what a loaded model holds and what a doc (one thread's
 * workspace) holds. The public API in include/nerd.h is implemented in engine.c over these.
 *
 * The library's folders, by concept (src/FOLDER/FILE):
 *   text/        from UTF-8 to tokens and their lexical attributes
 *     tokenizer.c     spaCy's tokenizer
 *     pyre.c          Python `re` patterns -> PCRE2
 *     pyre_tail.c     where an end-anchored suffix pattern can first match (linear suffix search)
 *     pystr.c         Python str semantics on UTF-8 (isspace, isalpha, lower, ...)
 *     lexeme.c        NORM / PREFIX / SUFFIX / SHAPE and the vocab's lexeme_norm table
 *     keycache.c      a doc's caches of chunks' tokens and words' lexical attributes
 *     lang.c          the languages nerd computes: tokenizer class, LIKE_NUM, IS_STOP (config.cfg's lang)
 *     lang_words.c    their stop and number words, generated from spaCy (tools/gen_lang_words.py)
 *     lexattr.c       the lexical flags (IS_ALPHA ... LIKE_EMAIL; LIKE_NUM and IS_STOP from lang.c)
 *     hash.c          spaCy's string hash and thinc's HashEmbed hash
 *     symbols.c       spaCy's reserved strings and their fixed IDs
 *     morph.c         spaCy's normalized morphological analysis strings
 *     lang.c          the languages nerd computes: tokenizer class, LIKE_NUM, IS_STOP (config.cfg's lang)
 *     lang_words.c    their stop and number words, generated from spaCy (tools/gen_lang_words.py)
 *   modelfile/   reading a pipeline folder's files
 *     modelfile.c     the one file layer: whole files with the real cause of a failure, bounded
 *                     msgpack, map keys by one rule, JSON lines
 *     spacy_config.c  config.cfg: the architectures and dimensions
 *     thinc_weights.c model files -> one read-only block of floats
 *     vectors_file.c  vocab/vectors (mapped), key2row, vectors.cfg: the static vectors' table
 *     moves_file.c    ner/moves and parser/moves: the labels of a transition system
 *   nn/          the networks
 *     tok2vec_net.c   MultiHashEmbed + MaxoutWindowEncoder (the plain reference)
 *     parser_net.c    TransitionBasedParser's layers (the plain reference)
 *     t2v_fast.c      the networks as nerd runs them: packed weights, fused passes, the cache
 *     softmax.c       thinc's Softmax output layer and its argmax (tagger-like components)
 *     kernels.c       nerd's packed fp32 / bf16 / int8 matrix products (runtime CPU dispatch)
 *     embed_cache.c   the bounded, thread-safe per-word cache of the tok2vec's mixing layer
 *   transition/  transition systems and greedy decoding
 *     biluo.c         the ner's BILUO system
 *     arc_eager.c     the parser's arc-eager system: heads, labels, sentence starts
 *     choose.c        a step's class: the first highest-scoring valid one, from a bitset (vectorized)
 *   components/  one file per spaCy factory nerd computes, and their architectures
 *     arch.c          config.cfg's architecture sections (Tok2Vec, encoders, TransitionBasedParser)
 *     ner.c           the ner: its config, weights and run (own tok2vec or a listener)
 *     tok2vec.c       the shared tok2vec component (its rows, once per doc for every listener)
 *                     and every tok2vec's input attributes
 *     parser.c        the full pipeline's parser over the shared tok2vec's rows
 *     attr_ruler.c    the attribute_ruler: all of it (doc pipeline), its DEP rules (full pipeline)
 *     tagger.c        the tagger (its softmax reads the shared tok2vec's pass in parser.c)
 *     lemmatizer.c    the rule lemmatizer (English, French): a token's lemma from its text, POS and morph
 *     noun_chunks.c   English and French noun chunks (and spaCy's edges) from a parse
 *     entity_ruler.c  the entity_ruler: patterns on the matchers, entities per token as spaCy's Doc
 *     ruler_load.c    its load function and its place between the ner's steps
 *     softmax_head.c  spacy.Tagger over a tok2vec for the senter, morphologizer, trainable_lemmatizer
 *     senter.c        the senter: sentence starts where there is no parser (the ner respects them)
 *     morphologizer.c the morphologizer: POS and MORPH of the argmax label (doc pipeline)
 *     morph_labels.c  its labels from morphologizer/cfg
 *     trainable_lemmatizer.c  the edit-tree lemmatizer: top_k, backoff (doc pipeline)
 *     edit_tree.c     spaCy's edit trees: the folder's trees and strings, a tree applied to a form
 *   matcher/     spaCy's rule matchers over tokens whose attributes are given
 *     matcher.c       the token Matcher: patterns from spaCy's JSON, its matches in its order
 *     phrase.c        the PhraseMatcher (ORTH, LOWER)
 *     matcher_keys.c  the match keys of either
 *   pipeline/    the public API
 *     engine.c        include/nerd.h over all of the above
 *     doc_stage.c     the doc pipeline after the parse: tags, attribute_ruler, lemmas, noun chunks
 *     registry.c      the factories nerd knows (what each can change, the load functions) and the pipeline plan
 *   util/        building blocks (and deadline.h, nerd_ner_until's clock)
 *     buf.c           the growable byte buffer
 *     json.c          a strict JSON parser into an arena, and the escaping answers are written with
 *     ents_json.c     a doc's entities as the JSON answers nerd gives (CLI and HTTP)
 *     doc_json.c      a doc as spaCy's doc.to_json() (CLI and HTTP)
 *     displacy_json.c a doc as displaCy renders it: parse_ents, parse_deps with its merges (HTTP)
 *     msgpack_bounds.c  msgpack counts checked against the bytes before msgpack-c allocates
 *     sha256.c        the weights' checksum
 *     u64map.c        an open-addressing map from 64-bit string hashes to 32-bit values
 */
#ifndef NERD_ENGINE_H
#define NERD_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "nerd.h"
#include "transition/arc_eager.h"
#include "components/attr_ruler.h"
#include "transition/biluo.h"
#include "nn/embed_cache.h"
#include "text/lang.h"
#include "text/lexeme.h"
#include "nn/parser_net.h"
#include "nn/t2v_fast.h"
#include "modelfile/thinc_weights.h"
#include "nn/tok2vec_net.h"
#include "text/tokenizer.h"
#include "util/buf.h"
#include "components/arch.h"
#include "components/entity_ruler.h"
#include "components/noun_chunks.h"
#include "pipeline/registry.h"
#include "components/edit_tree.h"
#include "components/morph_labels.h"
#include "components/softmax_head.h"

/* The components that are a softmax over a tok2vec (softmax_head.h), by what they set. */
enum { HEAD_SENTER = 1 << 0, HEAD_MORPH = 1 << 1, HEAD_LEMMA = 1 << 2 };
#define MAX_HEADS 3
struct nerd_model;
struct nerd_doc;
typedef struct model_head {
    softmax_head h;
    unsigned kind;  /* HEAD_* */
    /* before the tok2vec passes (workspace for the doc), then per chunk of n tokens from i0: their
     * nO scores each; spare holds nO floats */
    nerd_status (*begin)(const struct nerd_model *m, struct nerd_doc *d);
    nerd_status (*consume)(const struct nerd_model *m, struct nerd_doc *d, size_t i0, size_t n, const float *scores,
                           float *spare);
} model_head;
#include "components/tagger.h"
#include "components/lemmatizer.h"
#include "matcher/matcher.h"


struct nerd_model {
    char *dir;
    char name[128], version[64];
    /* which weights are served: SHA-256 of the weight files nerd reads, concatenated in this
     * order (weights_files, space-separated) */
    char weights_sha256[65], weights_files[256];
    const nerd_lang *lang;  /* config.cfg's [nlp] lang: the tokenizer class and lexical attributes */
    tokenizer *tok;
    lex_norms norms;
    /* the ner component: its own tok2vec (or, when ner_listens, the shared one), the
     * parser-model layers, the BILUO moves */
    char ner_name[PIPE_NAME];
    int ner_listens;
    int ner_t2v_attr[T2V_MAX_ATTRS]; /* the token_attr of each column of its own tok2vec */
    int ner_t2v_direct;              /* its columns are NORM PREFIX SUFFIX SHAPE: the doc's attrs */
    thinc_model ner_weights;
    t2v_net ner_t2v;
    parser_net ner_net;
    biluo_moves ner_moves;
    /* the full pipeline: the shared tok2vec the parser listens to, and the parser. When the
     * folder has none (or a component nerd cannot reproduce), full_error says why. */
    int has_full;
    char full_error[400];
    char doc_error[400];          /* why the doc pipeline cannot run ("" when it can) */
    int parser_before_ner;        /* else the ner never sees the parser's sentence starts */
    char t2v_name[PIPE_NAME];     /* the shared tok2vec component ("" when none is loaded) */
    char parser_name[PIPE_NAME];
    thinc_model t2v_weights, parser_weights;
    t2v_net t2v;
    int t2v_attr[T2V_MAX_ATTRS];  /* the token_attr embedded by each column of the shared tok2vec */
    parser_net parser;
    ae_moves parser_moves;
    ar_dep_rules dep_rules;       /* of an attribute_ruler after the parser */
    /* senter, morphologizer, trainable_lemmatizer (softmax_head.c runs them) */
    model_head heads[MAX_HEADS];
    int nheads;
    int senter_sets_starts;       /* an enabled senter and no parser: its starts are the doc's */
    int senter_before_ner;        /* and the ner respects them */
    int senter_overwrite;
    morph_labels morph;           /* the morphologizer's labels */
    edit_trees trees;             /* the trainable_lemmatizer's */
    /* the doc pipeline's components beyond FULL (doc_stage.c); doc_error says why it cannot run */
    tagger_component tagger;      /* nlabels 0: none */
    char tagger_name[PIPE_NAME];  /* its component's name (the weights checksum names its file) */
    ar_ruler ruler;               /* mt NULL: none */
    lemmatizer *lemmatizer;       /* NULL: none */
    noun_chunks_fn noun_chunks;   /* the language's syntax iterator (English's, French's), or NULL */
    char noun_chunks_error[192];  /* why not, naming the language, when NULL */
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
    /* the entity_rulers in pipeline order (entity_ruler.h) */
    entity_ruler *rulers[MAX_ENTITY_RULERS];
    int nrulers;
    /* the folder's static vectors (vocab/vectors), loaded when a tok2vec includes them */
    int has_vectors;
    vec_table vectors;
    char vectors_name[64];        /* meta.json's vectors.name, "" when it has none */
    /* a ruler reads TAG, POS, MORPH, LEMMA or DEP: the doc pipeline's components run before the
     * rulers in full and doc; ner (spaCy with them excluded raises E155) is refused by ner_error */
    int rulers_read_doc;
    char ner_error[400];
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

typedef struct {
    nerd_str tag, pos, morph;     /* ptr NULL: unset */
    nerd_str lemma_set;           /* what the attribute_ruler set (ptr NULL: nothing) */
    uint32_t lemma_off, lemma_len; /* token.lemma_ after the lemmatizer, in d->lemmas */
} doc_token_annot;

struct nerd_doc {
    buf text;                     /* a copy of the input */
    ner_token *toks;
    size_t ntoks, tokcap;
    buf strs;                     /* norms and shapes */
    uint64_t *attrs;              /* ntoks x NER_NATTRS */
    uint8_t *space;               /* is_space per token */
    size_t attrcap;               /* tokens attrs and space both hold */
    tok_scratch tsc;
    key_cache words;              /* lexical attributes of words seen before (lex_attrs_of) */
    /* network workspace, grown to the largest doc seen */
    float *work;
    size_t workcap;
    biluo_ent *ents;
    size_t nents, entcap;
    int has_ents;
    const nerd_model *model;      /* whose labels the entities name */
    /* the shared tok2vec's output, ntoks x its width, computed once per document by the first
     * of its listeners that reads it (tok2vec_shared_rows); the others read the same rows */
    float *t2v_rows;
    size_t t2v_rowcap;
    int has_t2v_rows;
    int t2v_rows_after_ner;       /* a listener after the ner reads them (set per pipeline run) */
    /* the full pipeline: the parse and its workspace, grown like the rest */
    uint64_t *t2v_attrs;          /* ntoks x the shared tok2vec's columns */
    uint64_t *ner_attrs;          /* ntoks x the ner's tok2vec's columns, when not the doc's attrs */
    size_t ner_attrcap;
    buf lower;                    /* scratch: a token's LOWER */
    buf vec_strs;                 /* floret keys (bow + text + eow), which vec_texts point into */
    t2v_text *vec_texts;
    size_t vec_textcap;
    float *pwork;
    int *pints;
    uint8_t *pbytes;
    int32_t *heads;
    int16_t *deps;
    uint8_t *sent_starts;
    size_t t2v_attrcap, pworkcap, pintscap, pbytescap, parsecap;
    size_t parse_steps;           /* transitions the parser took (benchmarks count its work) */
    int has_parse;
    /* entity rulers: their per-doc state, the ner's presets, and the entities they leave (the
     * doc's entities when ruled is set) */
    ruler_doc rd;
    biluo_preset *presets;
    ruler_ent *rents;
    size_t presetcap, rentcap, nrents;
    int ruled;
    int has_sents;                /* sent_starts hold the parser's or the senter's */
    /* the softmax heads (engine_heads): their tok2vec's input, the morphologizer's label per
     * token, the trainable lemmatizer's lemmas (offset and length into lemma_strs; length
     * UINT32_MAX: unset), which engine_doc puts in annot */
    uint64_t *head_attrs;
    size_t head_attrcap;
    uint32_t *morph_ids, *lemma_off, *lemma_len;
    size_t morphcap, lemmacap;
    buf lemma_strs;
    unsigned heads_ran;           /* HEAD_* kinds computed for this doc */
    /* the doc pipeline (doc_stage.c): per token its tag, pos and morph (strings owned by the
     * model; morph "_" is spaCy's analysed-without-features) and its lemma in d->lemmas */
    int32_t *tag_ids;             /* the tagger's argmax per token */
    doc_token_annot *annot;
    size_t tagcap, annotcap;
    buf lemmas;
    matcher_token *mtoks;         /* the Matcher's view of the tokens, for the attribute_ruler */
    size_t mtokcap;
    buf mstrs;                    /* their LOWER strings */
    matcher_matches matches;
    const char **chunk_dep, **chunk_pos;
    size_t *chunk_start, *chunk_end;
    size_t chunkcap, nchunks;
    int has_doc;                  /* the doc pipeline ran: annot, lemmas and chunks are the doc's */
};

/* The shared tok2vec and the parser over a tokenized doc: heads, deps, sentence starts; with
 * doc (the doc pipeline) also the tagger's tags in d->tag_ids from the same tok2vec pass, and
 * the attribute_ruler's DEP rules left to the whole ruler (engine_doc).
 * NERD_ERR_DEADLINE once the monotonic clock passes deadline (deadline.h; 0 for none). */
nerd_status engine_parse(const nerd_model *m, nerd_doc *d, int doc, double deadline);
/* Loads component `name` as the model's next softmax head of kind `kind` (HEAD_*) with nO labels. */
nerd_status head_register(nerd_model *m, const spacy_config *c, const char *dir, const char *name, int nO,
                          unsigned kind, nerd_status (*begin)(const nerd_model *, nerd_doc *),
                          nerd_status (*consume)(const nerd_model *, nerd_doc *, size_t, size_t, const float *, float *),
                          char *err, size_t errlen);
/* The softmax heads of kinds `which` (HEAD_*) over a tokenized doc. */
nerd_status engine_heads(const nerd_model *m, nerd_doc *d, unsigned which, double deadline);
/* The doc pipeline after the parse and the ner: tags, the attribute_ruler, the lemmatizer, the
 * noun chunks. */
nerd_status engine_doc(const nerd_model *m, nerd_doc *d);
/* The Matcher's view of d's tokens, one for both rulers, into out[0..ntoks): ORTH, LOWER (its
 * strings in strs), NORM, SHAPE, LENGTH, the lexical flags (lexattr.h, the language's LIKE_NUM
 * and IS_STOP), IS_SPACE and SPACY; with a parse its DEP and sentence starts; what annot holds
 * (TAG, POS, MORPH, the lemmas; NULL: none). LOWER and the other flags only when need has
 * MATCHER_VIEW_LOWER / MATCHER_VIEW_FLAGS (what the patterns read: matcher.h's *_used). No
 * entities: a ruler gives its own. 0, or -1 out of memory. */
int engine_matcher_view(const nerd_model *m, nerd_doc *d, const doc_token_annot *annot, unsigned need,
                        matcher_token *out, buf *strs);
/* The ner over a tokenized doc (sent_start: sentence starts it must respect, or NULL; preset:
 * entities set before it, which it keeps, or NULL). */
nerd_status engine_ner(const nerd_model *m, nerd_doc *d, const uint8_t *sent_start, const biluo_preset *preset,
                       double deadline);


/* The components' load functions (registry.c's table). */
nerd_status ner_component_load(nerd_model *m, const spacy_config *c, const char *dir, const char *name,
                               const pipeline_plan *plan, char *err, size_t errlen);
nerd_status parser_component_load(nerd_model *m, const spacy_config *c, const char *dir, const char *name,
                                  const pipeline_plan *plan, char *err, size_t errlen);
nerd_status entity_ruler_component_load(nerd_model *m, const spacy_config *c, const char *dir, const char *name,
                                        const pipeline_plan *plan, char *err, size_t errlen);
/* The entity rulers, the ner between them, over a tokenized (and maybe parsed) doc. */
nerd_status engine_ner_ruled(const nerd_model *m, nerd_doc *d, const uint8_t *sent_start, double deadline);
/* The root token of tokens [start, end) of a ruled doc, as spaCy's Span.root (whose ent_id is the
 * span's ent_id_). */
size_t engine_span_root(const nerd_doc *d, size_t start, size_t end);
nerd_status tagger_component_load(nerd_model *m, const spacy_config *c, const char *dir, const char *name,
                                  const pipeline_plan *plan, char *err, size_t errlen);
nerd_status senter_component_load(nerd_model *m, const spacy_config *c, const char *dir, const char *name,
                                  const pipeline_plan *plan, char *err, size_t errlen);
nerd_status morphologizer_component_load(nerd_model *m, const spacy_config *c, const char *dir, const char *name,
                                         const pipeline_plan *plan, char *err, size_t errlen);
nerd_status trainable_lemmatizer_component_load(nerd_model *m, const spacy_config *c, const char *dir,
                                                const char *name, const pipeline_plan *plan, char *err, size_t errlen);
/* Loads the tok2vec component `name` as the model's shared tok2vec (once). */
nerd_status tok2vec_component_load_shared(nerd_model *m, const spacy_config *c, const char *dir, const char *name,
                                          char *err, size_t errlen);
/* The tok2vec component `name`'s model reads (who names it in messages): a listener (*listens = 1;
 * the shared tok2vec is loaded) or its own Tok2Vec (its dimensions in *own). */
nerd_status tok2vec_component_input(nerd_model *m, const spacy_config *c, const char *dir, const char *name,
                                    const char *who, int *listens, t2v_dims *own, char *err, size_t errlen);
/* A tok2vec's input: n rows of the token_attr columns cols[nc]. 0, or -1 out of memory. */
int tok2vec_gather(nerd_doc *d, const int *cols, int nc, uint64_t *out);
/* The shared tok2vec's output for every token of d (ntoks x m->t2v.width floats, in the model's
 * precision, through its word cache) into *rows: computed by the first listener that asks, in
 * chunks of rows with the clock checked between them (NERD_ERR_DEADLINE once deadline passes),
 * then read by the others until the next document. Its chunk workspace is d->work: callers lay
 * out d->work after this call. */
nerd_status tok2vec_shared_rows(const nerd_model *m, nerd_doc *d, double deadline, const float **rows);
/* The texts net's floret table hashes (t2v_needs_text), one per token of d, or NULL when net
 * needs none; cols: net's token_attr columns (the key's is cols[nhash]); *failed set when out
 * of memory. */
const t2v_text *tok2vec_texts(nerd_doc *d, const t2v_net *net, const int *cols, int *failed);
/* The folder's vectors table, loaded once, for the tok2vec whose embed section (sec) has
 * include_static_vectors; an empty table is refused naming sec. */
nerd_status tok2vec_vectors(nerd_model *m, const char *dir, const char *sec, const vec_table **vt, char *err,
                            size_t errlen);

/* A model of only the language, tokenizer and norms of folder dir (no component is read): what
 * `nerd tokenize` needs, for any folder of a language nerd computes, a blank pipeline's too. */
nerd_model *engine_load_text(const char *dir, nerd_status *status, char *err, size_t errlen);

#endif
