/* engine.c - include/nerd.h over the modules named in engine.h. */
#include "pipeline/engine.h"
#include "util/deadline.h"
#include "text/hash.h"
#include "text/pystr.h"
#include "modelfile/modelfile.h"
#include "modelfile/spacy_config.h"
#include "util/json.h"
#include "util/sha256.h"

#include <cblas.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Where a model is looked for when neither --model nor $NERD_MODEL names one, in order,
 * relative to the working directory (a clone's root, where `make serve` runs): the real
 * en_core_web_sm that `make deps` fetches, then the stand-in beside the clone. */
static const char *const default_models[] = {NERD_FETCHED_MODEL, "../shared/models/en_core_web_sm"};
#define NDEFAULT_MODELS (sizeof default_models / sizeof *default_models)
#define NERD_DEFAULT_CACHE 32768

const char *nerd_strerror(nerd_status s)
{
    switch (s) {
#define NERD_STATUS_MESSAGE(name, value, message) case NERD_##name: return message;
        NERD_STATUS_MAP(NERD_STATUS_MESSAGE)
#undef NERD_STATUS_MESSAGE
    }
    return "unknown error";
}

const char *nerd_status_name(nerd_status s)
{
    switch (s) {
#define NERD_STATUS_NAME(name, value, message) case NERD_##name: return "NERD_" #name;
        NERD_STATUS_MAP(NERD_STATUS_NAME)
#undef NERD_STATUS_NAME
    }
    return NULL;
}

/* The version this library was built as, for a program that loads libnerd.so at run time
 * with another header (the macros are the header's). */
const char *nerd_version(void) { return NERD_VERSION; }
int nerd_version_number(void) { return NERD_VERSION_NUMBER; }

static int is_dir(const char *p)
{
    struct stat st;
    return p && stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int nerd_model_path(const char *flag, char *out, size_t outlen, char *err, size_t errlen)
{
    const char *env = getenv("NERD_MODEL");
    /* a folder named explicitly is never replaced by another one */
    const char *named = flag ? flag : env && *env ? env : NULL;
    if (named) {
        if (is_dir(named)) return snprintf(out, outlen, "%s", named), 0;
        if (flag) snprintf(err, errlen, "model folder not found: --model %s is not a folder", flag);
        else snprintf(err, errlen, "model folder not found: $NERD_MODEL=%s is not a folder", env);
        return -1;
    }
    for (size_t i = 0; i < NDEFAULT_MODELS; i++)
        if (is_dir(default_models[i])) return snprintf(out, outlen, "%s", default_models[i]), 0;
    size_t n = (size_t)snprintf(err, errlen,
                                "model folder not found: looked at --model (not given), $NERD_MODEL (not set)");
    for (size_t i = 0; i < NDEFAULT_MODELS && n < errlen; i++)
        n += (size_t)snprintf(err + n, errlen - n, ", %s (no such folder)", default_models[i]);
    if (n < errlen)
        snprintf(err + n, errlen - n, "; `make deps` (or `make model`) fetches the real en_core_web_sm into %s",
                 NERD_FETCHED_MODEL);
    return -1;
}

static nerd_model *load_fail(nerd_model *m, nerd_status *status, nerd_status s, char *err, size_t errlen,
                             const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static nerd_model *load_fail(nerd_model *m, nerd_status *status, nerd_status s, char *err, size_t errlen,
                             const char *fmt, ...)
{
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    if (status) *status = s;
    nerd_model_free(m);
    return NULL;
}

/* meta.json's name and version; a folder without one is "unknown" (spaCy writes it, tests'
 * stand-ins may not), anything else that fails is the model's error. */
static nerd_status read_meta(nerd_model *m, const char *path, char *err, size_t errlen)
{
    snprintf(m->name, sizeof m->name, "unknown");
    snprintf(m->version, sizeof m->version, "unknown");
    json_doc jd;
    nerd_status rc = mf_read_json(path, &jd, err, errlen);
    if (rc == NERD_OK) {
        const json_value *lang = json_get(&jd.root, "lang"), *name = json_get(&jd.root, "name"),
                         *ver = json_get(&jd.root, "version");
        if (lang && name && lang->type == JSON_STRING && name->type == JSON_STRING)
            snprintf(m->name, sizeof m->name, "%s_%s", lang->u.str.ptr, name->u.str.ptr);
        if (ver && ver->type == JSON_STRING) snprintf(m->version, sizeof m->version, "%s", ver->u.str.ptr);
        const json_value *vec = json_get(&jd.root, "vectors"), *vname = vec ? json_get(vec, "name") : NULL;
        if (vname && vname->type == JSON_STRING)
            snprintf(m->vectors_name, sizeof m->vectors_name, "%s", vname->u.str.ptr);
    }
    json_doc_free(&jd);
    return rc == NERD_ERR_NOT_FOUND ? NERD_OK : rc;
}

/* The language spaCy builds the pipeline with: config.cfg's [nlp] lang picks its Language class
 * (spacy.util.load_model_from_config; meta.json's "lang" only names the model). One nerd does not
 * compute is refused by name, with the ones it does. */
static nerd_status pick_language(nerd_model *m, const spacy_config *cfg, const char *cfg_path, char *err,
                                 size_t errlen)
{
    char code[32];
    if (cfg_str(cfg, "nlp", "lang", code, sizeof code)) {
        snprintf(err, errlen, "%s: [nlp] has no lang: spaCy needs it to pick the language", cfg_path);
        return NERD_ERR_FORMAT;
    }
    if ((m->lang = lang_find(code))) return NERD_OK;
    size_t n = (size_t)snprintf(err, errlen, "%s: [nlp] lang = \"%s\": language not supported (nerd computes ",
                                cfg_path, code);
    for (size_t i = 0; i < lang_count && n < errlen; i++)
        n += (size_t)snprintf(err + n, errlen - n, "%s%s", i ? ", " : "", lang_table[i].code);
    if (n < errlen) snprintf(err + n, errlen - n, ")");
    return NERD_ERR_UNSUPPORTED;
}

/* The registered name of the config's tokenizer ({"@tokenizers": ...} inline in [nlp], or an
 * [nlp.tokenizer] section), "" when it names none. */
static void tokenizer_factory(const spacy_config *cfg, char *out, size_t outlen)
{
    *out = 0;
    if (!cfg_str(cfg, "nlp.tokenizer", "@tokenizers", out, outlen)) return;
    const char *raw = cfg_raw(cfg, "nlp", "tokenizer"), *at = raw ? strstr(raw, "\"@tokenizers\"") : NULL;
    if (!at || !(at = strchr(at + 13, '"'))) return;
    const char *end = strchr(at + 1, '"');
    if (end) snprintf(out, outlen, "%.*s", (int)(end - at - 1), at + 1);
}

/* The tokenizer the language's class builds (the rule-based one from the folder's `tokenizer`
 * file, or Chinese's per-character one), then the folder's norms. */
static nerd_status load_text(nerd_model *m, const char *dir, const spacy_config *cfg, char *err, size_t errlen)
{
    char path[4096], factory[64];
    nerd_status rc;
    tokenizer_factory(cfg, factory, sizeof factory);
    const char *want = m->lang->tokenizer == LANG_TOKENIZER_CHARS ? "spacy.zh.ChineseTokenizer" : "spacy.Tokenizer.v1";
    if (strcmp(factory, want)) {
        snprintf(err, errlen, "%s/config.cfg: [nlp] tokenizer \"%s\" is not supported for lang \"%s\" (nerd computes %s)",
                 dir, factory, m->lang->code, want);
        return NERD_ERR_UNSUPPORTED;
    }
    if (m->lang->tokenizer == LANG_TOKENIZER_CHARS) {
        /* the segmenter: the folder's tokenizer/cfg overrides the config (ChineseTokenizer.from_disk);
         * jieba and pkuseg are third-party packages, any other value segments by character */
        char seg[32] = "char";
        cfg_str(cfg, "nlp.tokenizer", "segmenter", seg, sizeof seg);
        snprintf(path, sizeof path, "%s/tokenizer/cfg", dir);
        json_doc jd;
        rc = mf_read_json(path, &jd, err, errlen);
        if (rc != NERD_OK && rc != NERD_ERR_NOT_FOUND) return rc;
        const json_value *v = rc == NERD_OK ? json_get(&jd.root, "segmenter") : NULL;
        if (v && v->type == JSON_STRING) snprintf(seg, sizeof seg, "%s", v->u.str.ptr);
        json_doc_free(&jd);
        if (!strcmp(seg, "jieba") || !strcmp(seg, "pkuseg")) {
            snprintf(err, errlen, "%s: segmenter \"%s\" is not supported (nerd computes \"char\")", path, seg);
            return NERD_ERR_UNSUPPORTED;
        }
        if (!(m->tok = tokenizer_new_chars())) {
            snprintf(err, errlen, "out of memory");
            return NERD_ERR_NOMEM;
        }
    } else {
        snprintf(path, sizeof path, "%s/tokenizer", dir);
        if ((rc = tokenizer_load(path, &m->tok, err, errlen)) != NERD_OK) return rc;
    }
    /* optional: without it, norms are spaCy's base norms and lowercasing */
    snprintf(path, sizeof path, "%s/vocab/lookups.bin", dir);
    if ((rc = lex_norms_load(&m->norms, path, err, errlen)) != NERD_OK && rc != NERD_ERR_NOT_FOUND) return rc;
    return NERD_OK;
}

/* meta.json, config.cfg (into *cfg, the caller frees it) and the language; path ends as
 * config.cfg's. */
static nerd_status load_head(nerd_model *m, const char *dir, spacy_config **cfg, char *path, size_t pathlen, char *err,
                             size_t errlen)
{
    nerd_status rc;
    snprintf(path, pathlen, "%s/meta.json", dir);
    if ((rc = read_meta(m, path, err, errlen)) != NERD_OK) return rc;
    snprintf(path, pathlen, "%s/config.cfg", dir);
    if ((rc = cfg_load(path, cfg, err, errlen)) != NERD_OK) return rc;
    if ((rc = pick_language(m, *cfg, path, err, errlen)) != NERD_OK) {
        cfg_free(*cfg);
        *cfg = NULL;
    }
    return rc;
}

/* Only what tokenizing needs (engine.h). */
nerd_model *engine_load_text(const char *dir, nerd_status *status, char *err, size_t errlen)
{
    char path[4096];
    if (status) *status = NERD_OK;
    nerd_model *m = calloc(1, sizeof *m);
    if (!m || !(m->dir = strdup(dir))) return load_fail(m, status, NERD_ERR_NOMEM, err, errlen, "out of memory");
    spacy_config *cfg;
    nerd_status rc = load_head(m, dir, &cfg, path, sizeof path, err, errlen);
    if (rc != NERD_OK) return load_fail(m, status, rc, err, errlen, NULL);
    rc = load_text(m, dir, cfg, err, errlen);
    cfg_free(cfg);
    return rc == NERD_OK ? m : load_fail(m, status, rc, err, errlen, NULL);
}

/* SHA-256 of the weight files as read (ner's, then the shared tok2vec's, the parser's, the softmax
 * heads' and the tagger's): which
 * weights are served, checkable with `cat FILES | sha256sum`; about 40 ms for en_core_web_sm. */
static void weights_checksum(nerd_model *m)
{
    sha256_ctx c;
    sha256_init(&c);
    sha256_update(&c, m->ner_weights.raw, m->ner_weights.raw_len);
    snprintf(m->weights_files, sizeof m->weights_files, "%s/model", m->ner_name);
    if (*m->t2v_name) {
        sha256_update(&c, m->t2v_weights.raw, m->t2v_weights.raw_len);
        size_t n = strlen(m->weights_files);
        snprintf(m->weights_files + n, sizeof m->weights_files - n, " %s/model", m->t2v_name);
    }
    /* the parser's (a senter without a parser gives the full pipeline too: has_full says nothing here) */
    if (*m->parser_name) {
        sha256_update(&c, m->parser_weights.raw, m->parser_weights.raw_len);
        size_t n = strlen(m->weights_files);
        snprintf(m->weights_files + n, sizeof m->weights_files - n, " %s/model", m->parser_name);
    }
    for (int k = 0; k < m->nheads; k++) { /* the senter, morphologizer, trainable lemmatizer */
        sha256_update(&c, m->heads[k].h.weights.raw, m->heads[k].h.weights.raw_len);
        size_t n = strlen(m->weights_files);
        snprintf(m->weights_files + n, sizeof m->weights_files - n, " %s/model", m->heads[k].h.name);
    }
    if (m->tagger.nlabels && m->tagger.weights.raw) { /* the doc pipeline's tags (a refused tagger has none) */
        sha256_update(&c, m->tagger.weights.raw, m->tagger.weights.raw_len);
        size_t n = strlen(m->weights_files);
        snprintf(m->weights_files + n, sizeof m->weights_files - n, " %s/model", m->tagger_name);
    }
    sha256_hex(&c, m->weights_sha256);
}

/* The doc pipeline's components beyond FULL's: the tagger (its registry row's load), the whole
 * attribute_ruler, the rule lemmatizer, and the language's noun chunks. */
static nerd_status load_doc_components(nerd_model *m, const spacy_config *cfg, const char *dir,
                                       const pipeline_plan *plan, char *err, size_t errlen)
{
    char path[4096], lang[16] = "";
    nerd_status s;
    cfg_str(cfg, "nlp", "lang", lang, sizeof lang);
    m->noun_chunks = noun_chunks_for_lang(lang);
    if (!m->noun_chunks && spacy_lang_has_noun_chunks(lang))
        snprintf(m->noun_chunks_error, sizeof m->noun_chunks_error,
                 "noun chunks of lang \"%s\": nerd does not compute spaCy's syntax iterator of this language "
                 "(spacy/lang/%s/syntax_iterators.py; it computes en and fr)", lang, lang);
    else if (!m->noun_chunks)
        snprintf(m->noun_chunks_error, sizeof m->noun_chunks_error,
                 "noun chunks of lang \"%s\": spaCy has no syntax iterator for this language (doc.noun_chunks "
                 "raises E894)", lang);
    if (*plan->tagger) {
        if (!m->has_full) {
            snprintf(err, errlen, "%s/config.cfg [components.%s]: nerd computes the tagger with the parser's tok2vec, "
                     "and this pipeline has no parser", dir, plan->tagger);
            return NERD_ERR_UNSUPPORTED;
        }
        if ((s = registry_load_fn("tagger")(m, cfg, dir, plan->tagger, plan, err, errlen)) != NERD_OK) return s;
    }
    if (*plan->doc_ruler) {
        snprintf(path, sizeof path, "%s/%s/patterns", dir, plan->doc_ruler);
        if ((s = ar_ruler_load(&m->ruler, m->has_full ? &m->parser_moves : NULL, path, err, errlen)) != NERD_OK)
            return s;
    }
    if (*plan->lemmatizer)
        return lemmatizer_load_component(&m->lemmatizer, cfg, dir, plan->lemmatizer, err, errlen);
    return NERD_OK;
}

/* A ruler whose patterns read what the doc pipeline's components set needs them before it:
 * full computes them (the common path stays as it is for the other models); without them
 * (--pipeline ner, or a doc pipeline nerd cannot compute) spaCy's Matcher raises E155. */
static void rulers_need_doc(nerd_model *m)
{
    /* in the order spaCy's Matcher checks them */
    static const struct {
        matcher_str_attr attr;
        const char *name;
    } doc_attrs[] = {{MATCHER_TAG, "TAG"}, {MATCHER_POS, "POS"}, {MATCHER_MORPH, "MORPH"},
                     {MATCHER_LEMMA, "LEMMA"}, {MATCHER_DEP, "DEP"}};
    for (int r = 0; r < m->nrulers && !m->rulers_read_doc; r++) {
        unsigned reads = entity_ruler_reads(m->rulers[r]);
        for (size_t a = 0; a < sizeof doc_attrs / sizeof *doc_attrs && !m->rulers_read_doc; a++) {
            if (!(reads & (1u << doc_attrs[a].attr))) continue;
            m->rulers_read_doc = 1;
            snprintf(m->ner_error, sizeof m->ner_error,
                     "an entity_ruler's patterns match on %s, which --pipeline ner does not compute (spaCy with the "
                     "other components excluded raises E155); use --pipeline full or doc", doc_attrs[a].name);
        }
    }
    if (m->rulers_read_doc && *m->doc_error && m->has_full) {
        snprintf(m->full_error, sizeof m->full_error,
                 "an entity_ruler's patterns match on what the doc pipeline's components set, and %.300s", m->doc_error);
        m->has_full = 0;
    }
}

/* $name as a cache's number of entries: the default when unset or empty; -1 when it is not a
 * decimal number up to max (the model's loader refuses it, a document keeps the default). */
static int env_entries(const char *name, unsigned long long dflt, unsigned long long max, unsigned long long *entries)
{
    const char *env = getenv(name);
    char *end;
    *entries = dflt;
    if (!env || !*env) return 0;
    unsigned long long v = strtoull(env, &end, 10);
    if (*end || v > max) return -1;
    *entries = v;
    return 0;
}


nerd_model *nerd_model_load(const char *dir, nerd_status *status, char *err, size_t errlen)
{
    char path[4096];
    if (status) *status = NERD_OK;
    if (!dir) return load_fail(NULL, status, NERD_ERR_ARG, err, errlen, "no model folder given");
    struct stat st;
    if (stat(dir, &st))
        return load_fail(NULL, status, errno == ENOENT || errno == ENOTDIR ? NERD_ERR_NOT_FOUND : NERD_ERR_IO, err,
                         errlen, "model folder %s: %s", dir, errno == ENOENT ? "no such folder" : strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return load_fail(NULL, status, NERD_ERR_IO, err, errlen, "model folder %s: not a folder", dir);
    /* BLAS calls are per document and small: never let them spawn threads */
    openblas_set_num_threads(1);
    char why[160];
    if (kn_isa_from_env(why, sizeof why)) return load_fail(NULL, status, NERD_ERR_ARG, err, errlen, "%s", why);
    nerd_model *m = calloc(1, sizeof *m);
    if (!m || !(m->dir = strdup(dir))) return load_fail(m, status, NERD_ERR_NOMEM, err, errlen, "out of memory");

    spacy_config *cfg;
    nerd_status rc = load_head(m, dir, &cfg, path, sizeof path, err, errlen);
    if (rc != NERD_OK) return load_fail(m, status, rc, err, errlen, NULL);
    pipeline_plan plan;
    nerd_status ps = registry_plan(cfg, dir, &plan, path, err, errlen);
    if (ps != NERD_OK) {
        cfg_free(cfg);
        return load_fail(m, status, ps, err, errlen, NULL);
    }
    snprintf(m->full_error, sizeof m->full_error, "%s", plan.full_error);
    snprintf(m->doc_error, sizeof m->doc_error, "%s", plan.doc_error);

    if ((rc = load_text(m, dir, cfg, err, errlen)) != NERD_OK) {
        cfg_free(cfg);
        return load_fail(m, status, rc, err, errlen, NULL);
    }
    /* the components nerd computes, each by its registry row's load function: the ner, the parser,
     * then the entity_rulers (which tokenize their phrase patterns) in pipeline order */
    const char *computed[2 + MAX_ENTITY_RULERS] = {plan.ner, plan.parser};
    for (int r = 0; r < plan.n_entity_rulers; r++) computed[2 + r] = plan.entity_rulers[r];
    for (size_t i = 0; i < 2 + (size_t)plan.n_entity_rulers; i++) {
        if (!*computed[i]) continue;
        char sec[64], factory[32];
        snprintf(sec, sizeof sec, "components.%.31s", computed[i]);
        nerd_status cs = cfg_str(cfg, sec, "factory", factory, sizeof factory)
                             ? NERD_ERR_UNSUPPORTED
                             : registry_load_fn(factory)(m, cfg, dir, computed[i], &plan, err, errlen);
        if (cs != NERD_OK) {
            cfg_free(cfg);
            return load_fail(m, status, cs, err, errlen, NULL);
        }
    }
    /* the softmax heads: one that cannot be computed leaves the pipelines it serves refused (a
     * senter without a parser: full and doc; the morphologizer and the trainable lemmatizer: doc),
     * not the folder */
    const char *heads[] = {plan.senter, plan.morphologizer, plan.trainable_lemmatizer};
    for (size_t i = 0; i < sizeof heads / sizeof *heads; i++) {
        if (!*heads[i]) continue;
        char sec[64], factory[32], why[400] = "";
        snprintf(sec, sizeof sec, "components.%.31s", heads[i]);
        nerd_status cs = cfg_str(cfg, sec, "factory", factory, sizeof factory)
                             ? NERD_ERR_UNSUPPORTED
                             : registry_load_fn(factory)(m, cfg, dir, heads[i], &plan, why, sizeof why);
        if (cs == NERD_ERR_NOMEM) {
            cfg_free(cfg);
            return load_fail(m, status, cs, err, errlen, "%s", why);
        }
        if (cs == NERD_OK) continue;
        if (!*m->doc_error) snprintf(m->doc_error, sizeof m->doc_error, "%s", why);
        if (heads[i] == plan.senter && !*m->parser_name) {
            snprintf(m->full_error, sizeof m->full_error, "%s", why);
            m->has_full = 0;
        }
    }
    if (!*m->doc_error) {
        nerd_status ds = load_doc_components(m, cfg, dir, &plan, err, errlen);
        if (ds == NERD_ERR_NOMEM) {
            cfg_free(cfg);
            return load_fail(m, status, ds, err, errlen, NULL);
        }
        /* a doc-only component nerd cannot read leaves the other pipelines served */
        if (ds != NERD_OK) snprintf(m->doc_error, sizeof m->doc_error, "%s", err);
        *err = 0;
    }
    cfg_free(cfg);
    rulers_need_doc(m);
    weights_checksum(m);
    unsigned long long entries;
    if (env_entries("NERD_EMBED_CACHE", NERD_DEFAULT_CACHE, (size_t)1 << 26, &entries))
        return load_fail(m, status, NERD_ERR_ARG, err, errlen,
                         "$NERD_EMBED_CACHE=%s: expected a number of entries from 0 to %zu", getenv("NERD_EMBED_CACHE"),
                         (size_t)1 << 26);
    if (nerd_model_set_cache(m, (size_t)entries) != NERD_OK)
        return load_fail(m, status, NERD_ERR_NOMEM, err, errlen, "out of memory");
    return m;
}

void nerd_model_free(nerd_model *m)
{
    if (!m) return;
    tokenizer_free(m->tok);
    lex_norms_free(&m->norms);
    tw_free(&m->ner_weights);
    biluo_free(&m->ner_moves);
    t2v_packed_free(&m->ner_t2v_packed);
    parser_packed_free(&m->ner_net_packed);
    embed_cache_free(m->ner_cache);
    t2v_packed_free(&m->full_t2v_packed);
    parser_packed_free(&m->full_parser_packed);
    embed_cache_free(m->full_cache);
    tw_free(&m->t2v_weights);
    tw_free(&m->parser_weights);
    ae_free(&m->parser_moves);
    ar_free(&m->dep_rules);
    for (int r = 0; r < m->nrulers; r++) entity_ruler_free(m->rulers[r]);
    tagger_free(&m->tagger);
    for (int k = 0; k < m->nheads; k++) head_free(&m->heads[k].h);
    morph_labels_free(&m->morph);
    et_free(&m->trees);
    ar_ruler_free(&m->ruler);
    lemmatizer_free(m->lemmatizer);
    vec_free(&m->vectors);
    free(m->dir);
    free(m);
}

const char *nerd_model_name(const nerd_model *m) { return m->name; }
const char *nerd_model_version(const nerd_model *m) { return m->version; }
const char *nerd_model_lang(const nerd_model *m) { return m->lang->code; }
const char *nerd_model_dir(const nerd_model *m) { return m->dir; }
const char *nerd_model_weights_sha256(const nerd_model *m) { return m->weights_sha256; }
const char *nerd_model_weights_files(const nerd_model *m) { return m->weights_files; }
size_t nerd_model_nlabels(const nerd_model *m) { return (size_t)m->ner_moves.nlabels; }

int nerd_model_vectors(const nerd_model *m, nerd_vectors_info *v)
{
    if (!m || !m->has_vectors) return 0;
    const vec_table *t = &m->vectors;
    *v = (nerd_vectors_info){m->vectors_name, vec_mode_name(t->mode), vec_attr_name(t->attr), t->rows, (size_t)t->dims,
                             t->nkeys};
    return 1;
}
const char *nerd_model_label(const nerd_model *m, size_t i)
{
    return i < (size_t)m->ner_moves.nlabels ? m->ner_moves.labels[i] : NULL;
}
nerd_pipeline nerd_model_default_pipeline(const nerd_model *m)
{
    return nerd_model_has_pipeline(m, NERD_PIPELINE_FULL) ? NERD_PIPELINE_FULL : NERD_PIPELINE_NER;
}

int nerd_model_has_pipeline(const nerd_model *m, nerd_pipeline p)
{
    return m && nerd_model_pipeline_error(m, p) == NULL;
}

const char *nerd_model_pipeline_error(const nerd_model *m, nerd_pipeline p)
{
    if (!m) return "no model";
    switch (p) {
    case NERD_PIPELINE_NER: return *m->ner_error ? m->ner_error : NULL;
    case NERD_PIPELINE_FULL: return m->has_full ? NULL : m->full_error;
    case NERD_PIPELINE_DOC: return *m->doc_error ? m->doc_error : NULL;
    }
    return "unknown pipeline";
}

const char *nerd_model_noun_chunks_error(const nerd_model *m)
{
    if (!m) return "no model";
    if (*m->doc_error) return m->doc_error; /* noun chunks come with the doc pipeline */
    return m->noun_chunks ? NULL : m->noun_chunks_error;
}

/* The names the CLI, the server and the Python package use, by value. */
static const char *const pipeline_names[] = {[NERD_PIPELINE_NER] = "ner", [NERD_PIPELINE_FULL] = "full",
                                             [NERD_PIPELINE_DOC] = "doc"};
#define NPIPELINES (sizeof pipeline_names / sizeof *pipeline_names)

int nerd_pipeline_parse(const char *s, nerd_pipeline *p)
{
    for (size_t i = 0; s && i < NPIPELINES; i++)
        if (!strcmp(s, pipeline_names[i])) return *p = (nerd_pipeline)i, 0;
    return -1;
}

const char *nerd_pipeline_name(nerd_pipeline p)
{
    return (unsigned)p < NPIPELINES ? pipeline_names[p] : "unknown";
}

/* ---- precision and the word cache ---- */

int nerd_precision_parse(const char *s, nerd_precision *p)
{
    if (s && !strcmp(s, "fp32")) *p = NERD_PRECISION_FP32;
    else if (s && !strcmp(s, "bf16")) *p = NERD_PRECISION_BF16;
    else if (s && !strcmp(s, "int8")) *p = NERD_PRECISION_INT8;
    else return -1;
    return 0;
}

const char *nerd_precision_name(nerd_precision p)
{
    return p == NERD_PRECISION_BF16 ? "bf16" : p == NERD_PRECISION_INT8 ? "int8" : "fp32";
}

const char *nerd_precision_kernel(nerd_precision p)
{
    return p == NERD_PRECISION_BF16 ? kn_bf16_path() : p == NERD_PRECISION_INT8 ? kn_i8_path() : kn_f32_path();
}

const char *nerd_isa(void) { return kn_isa_name(kn_isa_current()); }

/* Packs a tok2vec's low-precision copies (KN_PACK_*) when first asked for, beside those
 * already there. */
static int ensure_lowp(t2v_packed *pk, const t2v_net *net, int need)
{
    if (!(need & ~pk->lowp)) return 0;
    t2v_packed with;
    if (t2v_pack(&with, net, pk->lowp | need)) return -1;
    with.feeds_dep_parser = pk->feeds_dep_parser;
    t2v_packed_free(pk);
    *pk = with;
    return 0;
}

nerd_status nerd_model_set_precision(nerd_model *m, nerd_precision p)
{
    static const kn_precision kn_of[] = {[NERD_PRECISION_FP32] = KN_FP32, [NERD_PRECISION_BF16] = KN_BF16,
                                         [NERD_PRECISION_INT8] = KN_INT8};
    if (!m || p < NERD_PRECISION_FP32 || p > NERD_PRECISION_INT8) return NERD_ERR_ARG;
    int need = p == NERD_PRECISION_BF16 ? KN_PACK_BF16 : p == NERD_PRECISION_INT8 ? KN_PACK_INT8 : 0;
    if ((!m->ner_listens && ensure_lowp(&m->ner_t2v_packed, &m->ner_t2v, need)) ||
        (*m->t2v_name && ensure_lowp(&m->full_t2v_packed, &m->t2v, need)))
        return NERD_ERR_NOMEM;
    m->precision = kn_of[p];
    return NERD_OK;
}

nerd_precision nerd_model_precision(const nerd_model *m)
{
    if (!m) return NERD_PRECISION_FP32;
    return m->precision == KN_BF16 ? NERD_PRECISION_BF16 : m->precision == KN_INT8 ? NERD_PRECISION_INT8 : NERD_PRECISION_FP32;
}

/* One cache per tok2vec: the ner's own and the shared one the parser (or the ner) listens to. */
#define PARTIAL_CACHE_SHARE 8
nerd_status nerd_model_set_cache(nerd_model *m, size_t entries)
{
    if (!m) return NERD_ERR_ARG;
    const int own = !m->ner_listens, shared = *m->t2v_name != 0;
    embed_cache *c = entries && own ? embed_cache_new(entries, m->ner_t2v.nattrs, m->ner_t2v.width) : NULL;
    embed_cache *fc = entries && shared ? embed_cache_new(entries, m->t2v.nattrs, m->t2v.width) : NULL;
    /* the fast modes' partials (t2v_fast.h), 10x a word's row for en_core_web_sm: an eighth of
     * the entries, so that each table takes about the word cache's memory (docs/design.md);
     * its pages are touched only in bf16 and int8 */
    const size_t part_entries = (entries + PARTIAL_CACHE_SHARE - 1) / PARTIAL_CACHE_SHARE;
    if ((c && embed_cache_attach(c, part_entries, (int)t2v_partial_row_floats(&m->ner_t2v))) ||
        (fc && embed_cache_attach(fc, part_entries, (int)t2v_partial_row_floats(&m->t2v)))) {
        embed_cache_free(c);
        embed_cache_free(fc);
        return NERD_ERR_NOMEM;
    }
    if (entries && ((own && !c) || (shared && !fc))) {
        embed_cache_free(c);
        embed_cache_free(fc);
        return NERD_ERR_NOMEM;
    }
    embed_cache_free(m->ner_cache);
    embed_cache_free(m->full_cache);
    m->ner_cache = c;
    m->full_cache = fc;
    return NERD_OK;
}

void nerd_model_cache_stats(const nerd_model *m, nerd_cache_stats *s)
{
    embed_cache_stats a, b;
    embed_cache_get_stats(m ? m->ner_cache : NULL, &a);
    embed_cache_get_stats(m ? m->full_cache : NULL, &b);
    *s = (nerd_cache_stats){a.hits + b.hits, a.misses + b.misses, a.slots + b.slots, a.bytes + b.bytes};
    for (int i = 0; m && m->precision != KN_FP32 && i < 2; i++) { /* the fast modes' partials tables too */
        embed_cache_get_stats(embed_cache_attached(i ? m->full_cache : m->ner_cache), &a);
        s->bytes += a.bytes;
    }
}

/* ---- documents ---- */

/* Chunks and words each document workspace keeps (text/keycache.h); $NERD_TOKEN_CACHE=0 turns
 * both off (the answers are the same either way). */
#define NERD_DEFAULT_TOKEN_CACHE 4096
#define NERD_MAX_TOKEN_CACHE (1u << 20)

nerd_doc *nerd_doc_new(void)
{
    nerd_doc *d = calloc(1, sizeof(nerd_doc));
    if (!d) return NULL;
    unsigned long long entries;
    if (env_entries("NERD_TOKEN_CACHE", NERD_DEFAULT_TOKEN_CACHE, NERD_MAX_TOKEN_CACHE, &entries))
        entries = NERD_DEFAULT_TOKEN_CACHE; /* a document has no error to give: the default */
    nerd_doc_set_token_cache(d, (size_t)entries);
    return d;
}

void nerd_doc_set_token_cache(nerd_doc *d, size_t entries)
{
    tok_scratch_cache(&d->tsc, entries);
    lex_word_cache(&d->words, entries);
}

void nerd_doc_free(nerd_doc *d)
{
    if (!d) return;
    buf_free(&d->text);
    buf_free(&d->strs);
    free(d->toks);
    free(d->attrs);
    free(d->space);
    tok_scratch_free(&d->tsc);
    key_cache_free(&d->words);
    free(d->work);
    free(d->ents);
    free(d->t2v_rows);
    free(d->t2v_attrs);
    free(d->ner_attrs);
    buf_free(&d->lower);
    buf_free(&d->vec_strs);
    free(d->vec_texts);
    free(d->pwork);
    free(d->pints);
    free(d->pbytes);
    free(d->heads);
    free(d->deps);
    free(d->sent_starts);
    ruler_doc_free(&d->rd);
    free(d->presets);
    free(d->rents);
    free(d->head_attrs);
    free(d->morph_ids);
    free(d->lemma_off);
    free(d->lemma_len);
    buf_free(&d->lemma_strs);
    free(d->tag_ids);
    free(d->annot);
    buf_free(&d->lemmas);
    free(d->mtoks);
    buf_free(&d->mstrs);
    matcher_matches_free(&d->matches);
    free(d->chunk_dep);
    free(d->chunk_pos);
    free(d->chunk_start);
    free(d->chunk_end);
    free(d);
}

/* Lexical attributes of every token: strings into d->strs, hashes into d->attrs. */
static nerd_status fill_tokens(const nerd_model *m, nerd_doc *d)
{
    const char *text = d->text.ptr;
    size_t n = d->tsc.ntoks;
    if (grow_array((void **)&d->toks, &d->tokcap, n + 1, sizeof *d->toks)) return NERD_ERR_NOMEM;
    if (d->attrcap < d->tokcap) { /* attrcap only once both have grown: a failure here leaves the doc usable */
        uint64_t *a = realloc(d->attrs, d->tokcap * NER_NATTRS * sizeof *a);
        if (!a) return NERD_ERR_NOMEM;
        d->attrs = a;
        uint8_t *s = realloc(d->space, d->tokcap);
        if (!s) return NERD_ERR_NOMEM;
        d->space = s;
        d->attrcap = d->tokcap;
    }
    buf_clear(&d->strs);
    size_t pos = 0, chars = 0;
    for (size_t i = 0; i < n; i++) {
        const tok_span *ts = &d->tsc.toks[i];
        ner_token *t = &d->toks[i];
        chars += py_utf8_count(text + pos, ts->start - pos); /* the characters since the last token ended */
        const char *norm = NULL;
        size_t nl = 0;
        if (ts->norm_sub >= 0) tokenizer_sub_norm(m->tok, ts->norm_sub, &norm, &nl);
        lex_attrs la;
        if (lex_attrs_of(&m->norms, &d->words, text + ts->start, ts->len, norm, nl, &d->strs, &la))
            return NERD_ERR_NOMEM;
        *t = (ner_token){.start = ts->start, .len = ts->len, .idx = (uint32_t)chars, .nchars = la.nchars,
                         .ws = ts->ws, .is_space = la.is_space, .norm_off = la.norm_off, .norm_len = la.norm_len,
                         .shape_off = la.shape_off, .shape_len = la.shape_len, .prefix_len = la.prefix_len,
                         .suffix_len = la.suffix_len};
        d->space[i] = t->is_space;
        chars += la.nchars;
        pos = ts->start + ts->len;
        uint64_t *a = d->attrs + i * NER_NATTRS;
        a[ATTR_NORM] = la.norm_hash;
        a[ATTR_PREFIX] = la.prefix_hash;
        a[ATTR_SUFFIX] = la.suffix_hash;
        a[ATTR_SHAPE] = la.shape_hash;
    }
    d->ntoks = n;
    return NERD_OK;
}

static nerd_status tokenize_until(const nerd_model *m, nerd_doc *d, const char *text, size_t len, double deadline)
{
    if (!m || !d || (!text && len)) return NERD_ERR_ARG;
    d->ntoks = 0;
    d->nents = 0;
    d->has_ents = 0;
    d->has_parse = 0;
    d->ruled = 0;
    d->nrents = 0;
    d->has_sents = 0;
    d->heads_ran = 0;
    d->has_t2v_rows = 0;
    d->has_doc = 0;
    d->nchunks = 0;
    if (len > NERD_MAX_TEXT_BYTES) return NERD_ERR_TOO_LONG;
    if (deadline_passed(deadline)) return NERD_ERR_DEADLINE;
    if (!py_utf8_valid(text, len, NULL)) return NERD_ERR_UTF8;
    buf_clear(&d->text);
    if (buf_append(&d->text, text ? text : "", len)) return NERD_ERR_NOMEM;
    int rc = tokenizer_run_until(m->tok, d->text.ptr, len, deadline, &d->tsc);
    if (rc) return rc == TOK_DEADLINE ? NERD_ERR_DEADLINE : NERD_ERR_NOMEM;
    return fill_tokens(m, d);
}

nerd_status nerd_tokenize(const nerd_model *m, nerd_doc *d, const char *text, size_t len)
{
    return tokenize_until(m, d, text, len, 0);
}

nerd_status nerd_ner(const nerd_model *m, nerd_doc *d, const char *text, size_t len, nerd_pipeline p)
{
    return nerd_ner_until(m, d, text, len, p, 0);
}

/* the morphologizer and trainable lemmatizer, then the tagger's tags through the lemmatizer */
static nerd_status doc_components(const nerd_model *m, nerd_doc *d, double deadline)
{
    nerd_status s = engine_heads(m, d, HEAD_MORPH | HEAD_LEMMA, deadline);
    if (s == NERD_OK) s = deadline_passed(deadline) ? NERD_ERR_DEADLINE : engine_doc(m, d);
    return s;
}

nerd_status nerd_ner_until(const nerd_model *m, nerd_doc *d, const char *text, size_t len, nerd_pipeline p,
                           double deadline)
{
    if (!m || !d || (unsigned)p > NERD_PIPELINE_DOC) return NERD_ERR_ARG;
    if (!nerd_model_has_pipeline(m, p)) return NERD_ERR_UNSUPPORTED;
    /* full and doc run what spacy.load runs before the ner: the parser, or a senter without one */
    const int parse = p != NERD_PIPELINE_NER && *m->parser_name, senter = p != NERD_PIPELINE_NER && m->senter_sets_starts;
    /* the doc pipeline's components before the rulers when their patterns read what those set
     * (rulers_need_doc: then every one of them comes before every such ruler); their output does
     * not depend on the entities (the attribute_ruler's patterns cannot read them) */
    const int doc_first = p != NERD_PIPELINE_NER && m->rulers_read_doc;
    nerd_status s = tokenize_until(m, d, text, len, deadline);
    /* the doc pipeline's softmax heads after the ner read the shared rows too: a listening ner
     * keeps them for them, and otherwise streams through its chunks as its own tok2vec does */
    d->t2v_rows_after_ner = p == NERD_PIPELINE_DOC && !doc_first;
    if (s == NERD_OK && parse) s = engine_parse(m, d, p == NERD_PIPELINE_DOC || doc_first, deadline);
    if (s == NERD_OK && senter) s = engine_heads(m, d, HEAD_SENTER, deadline);
    if (s != NERD_OK) return s;
    d->has_sents = parse || senter;
    if (doc_first && (s = doc_components(m, d, deadline)) != NERD_OK) return s;
    /* their sentence starts: no entity crosses into one */
    const uint8_t *sent_start =
        (parse && m->parser_before_ner) || (senter && m->senter_before_ner) ? d->sent_starts : NULL;
    s = m->nrulers ? engine_ner_ruled(m, d, sent_start, deadline) : engine_ner(m, d, sent_start, NULL, deadline);
    if (s == NERD_OK && p == NERD_PIPELINE_DOC && !doc_first) s = doc_components(m, d, deadline);
    /* full shows none of the doc's fields it computed for the rulers */
    if (p == NERD_PIPELINE_FULL) d->has_doc = 0;
    return s;
}

size_t nerd_doc_ntokens(const nerd_doc *d) { return d ? d->ntoks : 0; }

int nerd_doc_token(const nerd_doc *d, size_t i, nerd_token *out)
{
    if (!d || i >= d->ntoks) return -1;
    const ner_token *t = &d->toks[i];
    const char *s = d->text.ptr + t->start;
    const uint64_t *a = d->attrs + i * NER_NATTRS;
    *out = (nerd_token){
        .text = {s, t->len},
        .idx = t->idx,
        .byte_start = t->start,
        .nchars = t->nchars,
        .ws = t->ws,
        .is_space = t->is_space,
        .norm = {d->strs.ptr + t->norm_off, t->norm_len},
        .prefix = {s, t->prefix_len},
        .suffix = {s + t->len - t->suffix_len, t->suffix_len},
        .shape = {d->strs.ptr + t->shape_off, t->shape_len},
        .norm_hash = a[ATTR_NORM],
        .prefix_hash = a[ATTR_PREFIX],
        .suffix_hash = a[ATTR_SUFFIX],
        .shape_hash = a[ATTR_SHAPE],
    };
    return 0;
}

size_t nerd_doc_nents(const nerd_doc *d)
{
    return d && d->has_ents ? (d->ruled ? d->nrents : d->nents) : 0;
}

/* the span of tokens [start, end) with its offsets */
static void fill_span(const nerd_doc *d, size_t start, size_t end, const char *label, const char *id, nerd_ent *e)
{
    const ner_token *first = &d->toks[start], *last = &d->toks[end - 1];
    *e = (nerd_ent){
        .start = start,
        .end = end,
        .start_char = first->idx,
        .end_char = last->idx + last->nchars,
        .start_byte = first->start,
        .end_byte = last->start + last->len,
        .label = label,
        .ent_id = id,
    };
}

int nerd_doc_ent(const nerd_doc *d, size_t i, nerd_ent *e)
{
    if (!d || !d->has_ents || i >= nerd_doc_nents(d)) return -1;
    /* the ner's entities, or the entities the rulers and the ner left together */
    if (d->ruled) fill_span(d, d->rents[i].start, d->rents[i].end, d->rents[i].label, d->rents[i].ent_id, e);
    else fill_span(d, d->ents[i].start, d->ents[i].end, d->model->ner_moves.labels[d->ents[i].label], "", e);
    return 0;
}

size_t nerd_doc_nspan_groups(const nerd_doc *d) { return d && d->has_ents && d->ruled ? d->rd.ngroups : 0; }

const char *nerd_doc_span_group(const nerd_doc *d, size_t g, size_t *nspans)
{
    if (g >= nerd_doc_nspan_groups(d)) return NULL;
    if (nspans) *nspans = d->rd.groups[g].n;
    return d->rd.groups[g].key;
}

int nerd_doc_span(const nerd_doc *d, size_t g, size_t i, nerd_ent *e)
{
    if (g >= nerd_doc_nspan_groups(d) || i >= d->rd.groups[g].n) return -1;
    const ruler_ent *s = &d->rd.groups[g].items[i];
    /* spaCy's Span.ent_id_ is its root token's ent_id, as an entity's */
    const char *id = d->rd.id[engine_span_root(d, s->start, s->end)];
    fill_span(d, s->start, s->end, s->label, id ? id : "", e);
    return 0;
}

int nerd_doc_sent_start(const nerd_doc *d, size_t i)
{
    if (!d || !d->has_sents || i >= d->ntoks) return -1;
    return d->sent_starts[i];
}

int nerd_doc_head(const nerd_doc *d, size_t i, size_t *head, const char **dep)
{
    if (!d || !d->has_parse || i >= d->ntoks) return -1;
    if (head) *head = (size_t)d->heads[i];
    if (dep) *dep = d->model->parser_moves.labels[d->deps[i]];
    return 0;
}
