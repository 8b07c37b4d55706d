/* nerd.h - the only public API of libnerd, spaCy-exact named-entity recognition in C.
 *
 * A model (nerd_model) is loaded once from a spaCy v3 pipeline folder and is read-only
 * afterwards: any number of threads may use one model at once. All per-call state lives in
 * a nerd_doc, a reusable workspace owned by one thread at a time; reusing it keeps the hot
 * path free of allocation once it has grown to the largest text seen.
 *
 * Offsets: text is UTF-8. Everything reported has character offsets in Unicode code points
 * (as Python's str indices, like spaCy) and byte offsets into the caller's buffer.
 */
#ifndef NERD_H
#define NERD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* NERD_API marks the library's public functions, the only symbols libnerd.so exports (it is
 * built with -fvisibility=hidden; tests/ner/test_public_api.c checks its export list against this
 * header). NERD_SHARED: the program links the DLL on Windows; NERD_BUILD: compiling nerd itself. */
#if defined(_WIN32) || defined(__CYGWIN__)
#  if defined(NERD_BUILD)
#    define NERD_API __declspec(dllexport)
#  elif defined(NERD_SHARED)
#    define NERD_API __declspec(dllimport)
#  else
#    define NERD_API
#  endif
#elif defined(__GNUC__) && __GNUC__ >= 4
#  define NERD_API __attribute__((visibility("default")))
#else
#  define NERD_API
#endif

/* The version of this header: NERD_VERSION is the string (what `nerd --version` prints),
 * NERD_VERSION_NUMBER the number MAJOR * 10000 + MINOR * 100 + PATCH, to compare in #if.
 * nerd_version() and nerd_version_number() give the library's own, which a program loading
 * libnerd.so at run time can check against these. */
#define NERD_VERSION_MAJOR 0
#define NERD_VERSION_MINOR 1
#define NERD_VERSION_PATCH 0
#define NERD_VERSION "0.1.0"
#define NERD_VERSION_NUMBER (NERD_VERSION_MAJOR * 10000 + NERD_VERSION_MINOR * 100 + NERD_VERSION_PATCH)

typedef struct nerd_model nerd_model;
typedef struct nerd_doc nerd_doc;

/* Status codes: NERD_STATUS_MAP(X) calls X(NAME, value, message) once per code, so the enum,
 * nerd_strerror()'s messages and any table a program builds over them (as libuv's
 * UV_ERRNO_MAP) cannot disagree. The values are the ABI: new codes are only ever appended.
 * Call-specific detail (the file at fault, the cause) goes to an err buffer. */
#define NERD_STATUS_MAP(X)                                                                     \
    X(OK, 0, "ok")                                                                           \
    X(ERR_IO, 1, "a model file is unreadable")                                               \
    X(ERR_FORMAT, 2, "a model file is corrupt")                                              \
    X(ERR_UNSUPPORTED, 3, "unsupported model architecture or pipeline")                      \
    X(ERR_NOMEM, 4, "out of memory")                                                         \
    X(ERR_UTF8, 5, "text is not valid UTF-8")                                                \
    X(ERR_TOO_LONG, 6, "text is too long")                                                   \
    X(ERR_ARG, 7, "invalid argument")                                                        \
    X(ERR_DEADLINE, 8, "deadline exceeded")                                                  \
    X(ERR_NOT_FOUND, 9, "a model file or folder does not exist")

/* NERD_ERR_IO: a model file exists but cannot be read (permission, not a regular file, an I/O
 * error); NERD_ERR_FORMAT: it is corrupt or not what spaCy writes; NERD_ERR_UNSUPPORTED: the
 * config names an architecture nerd does not implement; NERD_ERR_UTF8: the input text is not
 * valid UTF-8; NERD_ERR_TOO_LONG: the input exceeds NERD_MAX_TEXT_BYTES; NERD_ERR_ARG: a NULL or
 * otherwise invalid argument; NERD_ERR_DEADLINE: nerd_ner_until's deadline passed before the
 * call finished; NERD_ERR_NOT_FOUND: a model file or the folder is missing (nerd 0.1.0 reported that as
 * NERD_ERR_IO). */
typedef enum {
#define NERD_STATUS_ENUM(name, value, message) NERD_##name = value,
    NERD_STATUS_MAP(NERD_STATUS_ENUM)
#undef NERD_STATUS_ENUM
} nerd_status;

/* The code's message from NERD_STATUS_MAP; "unknown error" for a value not in it. */
NERD_API const char *nerd_strerror(nerd_status s);
/* The code's name as the enum spells it ("NERD_ERR_IO"), or NULL for a value that is no code. */
NERD_API const char *nerd_status_name(nerd_status s);

NERD_API const char *nerd_version(void);     /* the library's NERD_VERSION */
NERD_API int nerd_version_number(void);      /* the library's NERD_VERSION_NUMBER */

/* Inputs larger than this are refused with NERD_ERR_TOO_LONG (offsets are 32-bit inside). */
#define NERD_MAX_TEXT_BYTES ((size_t)1 << 30)

/* ---- model ------------------------------------------------------------------------ */

/* Which components run. NER_ONLY is spacy.load(path, exclude=[all but ner]); FULL adds the
 * shared tok2vec and parser, whose sentence starts constrain the entities. DOC is everything
 * spacy.load(path) runs: FULL plus the tagger, attribute_ruler, lemmatizer (and noun chunks),
 * what doc.to_json() shows; the entities are FULL's. */
typedef enum { NERD_PIPELINE_NER = 0, NERD_PIPELINE_FULL = 1, NERD_PIPELINE_DOC = 2 } nerd_pipeline;
/* "ner", "full" or "doc" -> *p; -1 for anything else. */
NERD_API int nerd_pipeline_parse(const char *s, nerd_pipeline *p);
/* "ner", "full", "doc", or "unknown" for a value that is none of them. */
NERD_API const char *nerd_pipeline_name(nerd_pipeline p);

/* The folder `make deps` fetches the real en_core_web_sm 3.8.0 into, relative to a clone's root. */
#define NERD_FETCHED_MODEL "models/en_core_web_sm-3.8.0"
/* Resolve the model folder: `flag` if non-NULL, else $NERD_MODEL (a folder named so must exist),
 * else the first folder of NERD_FETCHED_MODEL and the stand-in "../shared/models/en_core_web_sm"
 * (both relative to the working directory). Writes the chosen path to `out`. Returns 0, or -1
 * with a message naming every place looked at in `err` when none of them is a folder. */
NERD_API int nerd_model_path(const char *flag, char *out, size_t outlen, char *err, size_t errlen);

/* Load a spaCy pipeline folder. On failure returns NULL, sets *status if non-NULL and
 * writes a message naming the file at fault into err. */
NERD_API nerd_model *nerd_model_load(const char *dir, nerd_status *status, char *err, size_t errlen);
NERD_API void nerd_model_free(nerd_model *m);

NERD_API const char *nerd_model_name(const nerd_model *m);    /* meta.json "lang"_"name", e.g. en_core_web_sm */
NERD_API const char *nerd_model_version(const nerd_model *m); /* meta.json "version" */
NERD_API const char *nerd_model_lang(const nerd_model *m);    /* config.cfg [nlp] lang, e.g. "en", "fr" */
NERD_API const char *nerd_model_dir(const nerd_model *m);     /* the folder it was loaded from */
/* Which weights are served: the SHA-256 (64 hex digits) of the weight files nerd reads,
 * concatenated in the order nerd_model_weights_files names them (space-separated, relative to
 * the folder, e.g. "ner/model tok2vec/model parser/model"): `cat` them into `sha256sum`. */
NERD_API const char *nerd_model_weights_sha256(const nerd_model *m);
NERD_API const char *nerd_model_weights_files(const nerd_model *m);
NERD_API size_t nerd_model_nlabels(const nerd_model *m);
/* The folder's static vectors (vocab/vectors), when a tok2vec reads them (include_static_vectors,
 * as md and lg models): 1 and *v filled (strings owned by the model), else 0. name: meta.json's
 * vectors.name ("" without); mode: "default" or "floret"; attr: the key ("ORTH", "NORM", "LOWER");
 * rows x dims the table's shape; keys: key2row's keys (0 in floret mode). */
typedef struct {
    const char *name, *mode, *attr;
    size_t rows, dims, keys;
} nerd_vectors_info;
NERD_API int nerd_model_vectors(const nerd_model *m, nerd_vectors_info *v);
NERD_API const char *nerd_model_label(const nerd_model *m, size_t i); /* ner labels in ner/moves order */
NERD_API int nerd_model_has_pipeline(const nerd_model *m, nerd_pipeline p);
/* The pipeline spacy.load(folder) runs: NERD_PIPELINE_FULL when the folder has a parser (nerd
 * refuses at load one it cannot compute), else NERD_PIPELINE_NER (a `spacy init config -p ner`
 * pipeline). What the server and the CLI run when --pipeline is not given. */
NERD_API nerd_pipeline nerd_model_default_pipeline(const nerd_model *m);
/* Why pipeline p cannot run with this model (e.g. "config.cfg: the pipeline has no (enabled)
 * parser component", or for DOC the first enabled component nerd does not compute, by name and
 * factory), or NULL when it can. */
NERD_API const char *nerd_model_pipeline_error(const nerd_model *m, nerd_pipeline p);
/* Why doc.noun_chunks cannot be computed spaCy's way for this model (the doc pipeline's error, or
 * its language: nerd computes English's and French's syntax iterators; spaCy's of other languages,
 * such as de es it nl pt el, are refused by name, as is a language spaCy has none for), or NULL. */
NERD_API const char *nerd_model_noun_chunks_error(const nerd_model *m);

/* Precision of the network's products. FP32 (the default) gives spaCy's entities exactly;
 * BF16 rounds the tok2vec's weights and activations to bfloat16 for its products (fp32
 * accumulation), using AVX512_BF16 where the CPU has it; INT8 quantizes them to int8 (weights
 * per output column, activations per row; int32 accumulation, AVX512-VNNI, AVX-VNNI or AVX2). */
typedef enum { NERD_PRECISION_FP32 = 0, NERD_PRECISION_BF16 = 1, NERD_PRECISION_INT8 = 2 } nerd_precision;

/* "fp32", "bf16" or "int8" -> *p; -1 for anything else. */
NERD_API int nerd_precision_parse(const char *s, nerd_precision *p);
NERD_API const char *nerd_precision_name(nerd_precision p);
/* The code path the products of precision p take on this CPU: fp32 "avx512", "avx2" or
 * "portable"; bf16 "avx512bf16", "avx2" or "portable"; int8 "avx512vnni", "avxvnni", "avx2"
 * or "portable". */
NERD_API const char *nerd_precision_kernel(nerd_precision p);
/* The instruction-set level of nerd's kernels: the highest this CPU and OS run ("avx512",
 * "avxvnni", "avx2", "portable"), chosen once at start, or a lower one forced by $NERD_ISA
 * when a model is loaded (a level the CPU lacks, or an unknown name, fails the load). */
NERD_API const char *nerd_isa(void);
/* Switch a loaded model's precision. Not thread-safe: call before the model is shared. */
NERD_API nerd_status nerd_model_set_precision(nerd_model *m, nerd_precision p);
NERD_API nerd_precision nerd_model_precision(const nerd_model *m);

/* The per-word cache of the tok2vecs' embedding and mixing layers, one for the ner's own and
 * one for the full pipeline's shared tok2vec (results are bit-identical with and without it).
 * By default 32768 entries each (about 14 MB at most each), or $NERD_EMBED_CACHE entries when
 * set at load; 0 disables it. Each has a table of entries/8 words' first encoder block partial
 * products beside it (about 16 MB at most each), used (and counted in bytes) only in bf16 and
 * int8. Not thread-safe: call before the model is shared.
 * Changing it drops the cached rows. */
NERD_API nerd_status nerd_model_set_cache(nerd_model *m, size_t entries);
typedef struct { uint64_t hits, misses; size_t entries, bytes; } nerd_cache_stats;
/* Totals over both caches since load (hits + misses = tokens looked up); all zero when the
 * cache is off. */
NERD_API void nerd_model_cache_stats(const nerd_model *m, nerd_cache_stats *s);

/* ---- documents ---------------------------------------------------------------------- */

NERD_API nerd_doc *nerd_doc_new(void);
NERD_API void nerd_doc_free(nerd_doc *d);
/* The doc's own cache of the tokenizer's chunks and of words' lexical attributes (results are
 * identical with and without it): by default 4096 entries of each (at most about 1.2 MB per
 * doc, touched as used), or $NERD_TOKEN_CACHE entries when set as the doc is made (0: off; a
 * value that is not a number up to 1048576 gives the default). Changing it drops the cache. */
NERD_API void nerd_doc_set_token_cache(nerd_doc *d, size_t entries);

/* Tokenize only. The text need not be NUL-terminated and may contain NUL bytes; it is
 * copied into the doc, so the caller's buffer may be reused right after the call. */
NERD_API nerd_status nerd_tokenize(const nerd_model *m, nerd_doc *d, const char *text, size_t len);

/* Tokenize and run the pipeline; entities are then available on the doc. */
NERD_API nerd_status nerd_ner(const nerd_model *m, nerd_doc *d, const char *text, size_t len,
                              nerd_pipeline p);

/* nerd_ner that gives up once the monotonic clock passes `deadline`: seconds of
 * CLOCK_MONOTONIC (clock_gettime's, Python's time.monotonic()), 0 for none. It looks at the
 * clock between blocks of work (every few hundred words in the tokenizer, every chunk of the
 * networks, every thousand transitions), so it returns NERD_ERR_DEADLINE within one such block
 * (milliseconds) of the deadline, and at once when the deadline has already passed. The doc
 * then holds no entities and no parse (only the tokens, if the tokenizer had finished), and is
 * ready for the next call. */
NERD_API nerd_status nerd_ner_until(const nerd_model *m, nerd_doc *d, const char *text, size_t len,
                                    nerd_pipeline p, double deadline);

typedef struct {
    const char *ptr; /* points into the doc or the model; valid until the doc's next call */
    size_t len;      /* bytes */
} nerd_str;

typedef struct {
    nerd_str text;
    size_t idx;                         /* start, code points */
    size_t byte_start;                  /* start, bytes */
    size_t nchars;                      /* length, code points */
    int ws;                             /* followed by one trailing space */
    int is_space;                       /* a whitespace token */
    nerd_str norm, prefix, suffix, shape;
    uint64_t norm_hash, prefix_hash, suffix_hash, shape_hash; /* spaCy StringStore hashes */
} nerd_token;

NERD_API size_t nerd_doc_ntokens(const nerd_doc *d);
/* Fills *t for token i (0 <= i < ntokens). Returns 0, or -1 if i is out of range. */
NERD_API int nerd_doc_token(const nerd_doc *d, size_t i, nerd_token *t);

typedef struct {
    size_t start, end;             /* token span [start, end) */
    size_t start_char, end_char;   /* code points */
    size_t start_byte, end_byte;   /* bytes */
    const char *label;             /* NUL-terminated, owned by the model */
    const char *ent_id;            /* spaCy's ent_id_: the "id" of the entity_ruler pattern that made
                                    * it, "" when none (NUL-terminated, owned by the model) */
} nerd_ent;

NERD_API size_t nerd_doc_nents(const nerd_doc *d);
NERD_API int nerd_doc_ent(const nerd_doc *d, size_t i, nerd_ent *e);

/* doc.spans: the span groups the pipeline's span_rulers set (doc.spans[spans_key]), in the order
 * first set, each span as an entity (its label; ent_id: spaCy's Span.ent_id_, its root token's
 * ent_id, as an entity's).
 * nerd_doc_span_group gives group g's key and span count, NULL when g is out of range. */
NERD_API size_t nerd_doc_nspan_groups(const nerd_doc *d);
NERD_API const char *nerd_doc_span_group(const nerd_doc *d, size_t g, size_t *nspans);
NERD_API int nerd_doc_span(const nerd_doc *d, size_t g, size_t i, nerd_ent *e);

/* Full and doc pipelines only (after nerd_ner with NERD_PIPELINE_FULL or DOC): whether token i starts a
 * sentence (1 or 0, spaCy's token.is_sent_start), its head's index (a root points to
 * itself) and its dependency label (owned by the model; "ROOT" for roots). Return -1 when
 * not computed or out of range. */
NERD_API int nerd_doc_sent_start(const nerd_doc *d, size_t i);
NERD_API int nerd_doc_head(const nerd_doc *d, size_t i, size_t *head, const char **dep);

/* ---- the whole Doc (spaCy's doc.to_json()) ------------------------------------------ */

/* Which annotations the doc holds, as spaCy's doc.has_annotation(ATTR) answers: a bit each.
 * doc.to_json() writes a field exactly when its bit is set (ENTS: "ents", SENT_START: "sents",
 * TAG/POS/MORPH/LEMMA: the tokens' fields, DEP: "dep" and "head"). As spaCy's: every bit for an
 * empty doc, SENT_START always for a doc of one token; TAG, POS, MORPH and LEMMA only after the doc
 * pipeline. */
enum {
    NERD_ANNOT_TAG = 1 << 0,
    NERD_ANNOT_POS = 1 << 1,
    NERD_ANNOT_MORPH = 1 << 2,
    NERD_ANNOT_LEMMA = 1 << 3,
    NERD_ANNOT_DEP = 1 << 4,
    NERD_ANNOT_SENT_START = 1 << 5,
    NERD_ANNOT_ENTS = 1 << 6,
};
NERD_API unsigned nerd_doc_annotations(const nerd_doc *d);

typedef struct {
    /* token.tag_, token.pos_, str(token.morph) and token.lemma_: "" (length 0) where the
     * pipeline did not set them; valid until the doc's next call */
    nerd_str tag, pos, morph, lemma;
} nerd_token_annot;
/* Fills *a for token i. Returns 0, or -1 if i is out of range. */
NERD_API int nerd_doc_token_annot(const nerd_doc *d, size_t i, nerd_token_annot *a);

/* doc.noun_chunks (the language's syntax iterator over the parse): token spans [start, end),
 * in spaCy's order, after the doc pipeline; 0 when the doc has no parse or the model's language
 * is one nerd_model_noun_chunks_error refuses (ask it first). */
NERD_API size_t nerd_doc_nnoun_chunks(const nerd_doc *d);
NERD_API int nerd_doc_noun_chunk(const nerd_doc *d, size_t i, size_t *start, size_t *end);

#ifdef __cplusplus
}
#endif
#endif /* NERD_H */
