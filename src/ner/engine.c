/* engine.c - include/nerd.h over the modules named in engine.h. */
#include "ner/engine.h"
#include "ner/deadline.h"
#include "ner/hash.h"
#include "ner/pystr.h"
#include "ner/spacy_config.h"
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
    case NERD_OK: return "ok";
    case NERD_ERR_IO: return "a model file is missing or unreadable";
    case NERD_ERR_FORMAT: return "a model file is corrupt";
    case NERD_ERR_UNSUPPORTED: return "unsupported model architecture or pipeline";
    case NERD_ERR_NOMEM: return "out of memory";
    case NERD_ERR_UTF8: return "text is not valid UTF-8";
    case NERD_ERR_TOO_LONG: return "text is too long";
    case NERD_ERR_ARG: return "invalid argument";
    case NERD_ERR_DEADLINE: return "deadline exceeded";
    }
    return "unknown error";
}

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

static nerd_status file_status(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? NERD_ERR_FORMAT : NERD_ERR_IO;
}

/* meta.json's name and version, "unknown" when it is missing or does not say; NERD_ERR_NOMEM
 * when memory ran out reading it (a model must not be served under a wrong name). */
static nerd_status read_meta(nerd_model *m, const char *path)
{
    snprintf(m->name, sizeof m->name, "unknown");
    snprintf(m->version, sizeof m->version, "unknown");
    buf b = {0};
    if (buf_read_file(&b, path)) {
        buf_free(&b);
        return errno == ENOMEM ? NERD_ERR_NOMEM : NERD_OK;
    }
    json_doc jd;
    char jerr[64];
    int parsed = json_parse(b.ptr ? b.ptr : "", b.len, 0, &jd, jerr, sizeof jerr);
    if (!parsed) {
        const json_value *lang = json_get(&jd.root, "lang"), *name = json_get(&jd.root, "name"),
                         *ver = json_get(&jd.root, "version");
        if (lang && name && lang->type == JSON_STRING && name->type == JSON_STRING)
            snprintf(m->name, sizeof m->name, "%s_%s", lang->u.str.ptr, name->u.str.ptr);
        if (ver && ver->type == JSON_STRING) snprintf(m->version, sizeof m->version, "%s", ver->u.str.ptr);
    }
    json_doc_free(&jd);
    buf_free(&b);
    return parsed == JSON_ERR_NOMEM ? NERD_ERR_NOMEM : NERD_OK;
}

/* A Tok2Vec.v2 section (MultiHashEmbed.v2 >> MaxoutWindowEncoder.v2) and its dimensions. */
typedef struct {
    int width, depth, window, pieces, nattrs;
    char attrs[T2V_MAX_ATTRS][32];
    long rows[T2V_MAX_ATTRS];
} t2v_dims;

static int check_arch(const spacy_config *c, const char *section, const char *want, const char *path, char *err,
                      size_t errlen)
{
    char v[128];
    if (!cfg_str(c, section, "@architectures", v, sizeof v) && !strcmp(v, want)) return 0;
    const char *raw = cfg_raw(c, section, "@architectures");
    snprintf(err, errlen, "%s: [%s] uses architecture %s; nerd implements %s", path, section, raw ? raw : "(none)",
             want);
    return -1;
}

static int check_tok2vec(const spacy_config *c, const char *sec, t2v_dims *d, const char *path, char *err,
                         size_t errlen)
{
    char embed[160], encode[160];
    snprintf(embed, sizeof embed, "%s.embed", sec);
    snprintf(encode, sizeof encode, "%s.encode", sec);
    if (check_arch(c, sec, "spacy.Tok2Vec.v2", path, err, errlen) ||
        check_arch(c, embed, "spacy.MultiHashEmbed.v2", path, err, errlen) ||
        check_arch(c, encode, "spacy.MaxoutWindowEncoder.v2", path, err, errlen))
        return -1;
    int b;
    if (cfg_bool(c, embed, "include_static_vectors", &b) || b) {
        snprintf(err, errlen, "%s: static vectors in [%s] are not supported", path, embed);
        return -1;
    }
    d->nattrs = cfg_str_list(c, embed, "attrs", d->attrs, T2V_MAX_ATTRS);
    int nrows = cfg_int_list(c, embed, "rows", d->rows, T2V_MAX_ATTRS);
    long w, ew, depth, window, pieces;
    if (d->nattrs < 1 || nrows != d->nattrs || cfg_int(c, embed, "width", &ew) || cfg_int(c, encode, "width", &w) ||
        cfg_int(c, encode, "depth", &depth) || cfg_int(c, encode, "window_size", &window) ||
        cfg_int(c, encode, "maxout_pieces", &pieces) || ew != w || w < 1 || w > 4096 || depth < 1 ||
        depth > T2V_MAX_DEPTH || window != 1 || pieces < 1 || pieces > 16) {
        snprintf(err, errlen, "%s: [%s] attrs/rows/dimensions missing or unsupported", path, sec);
        return -1;
    }
    d->width = (int)w;
    d->depth = (int)depth;
    d->window = (int)window;
    d->pieces = (int)pieces;
    return 0;
}

/* TransitionBasedParser.v2 without extra state tokens, with its upper layer: hidden width and
 * maxout pieces. */
static int check_tb_parser(const spacy_config *c, const char *sec, const char *state_type, long *hidden,
                           long *pieces, const char *path, char *err, size_t errlen)
{
    if (check_arch(c, sec, "spacy.TransitionBasedParser.v2", path, err, errlen)) return -1;
    char v[64];
    int b;
    if (cfg_str(c, sec, "state_type", v, sizeof v) || strcmp(v, state_type) ||
        cfg_bool(c, sec, "extra_state_tokens", &b) || b || cfg_bool(c, sec, "use_upper", &b) || !b ||
        cfg_int(c, sec, "hidden_width", hidden) || cfg_int(c, sec, "maxout_pieces", pieces) || *hidden < 1 ||
        *pieces < 1) {
        snprintf(err, errlen, "%s: [%s] must have state_type \"%s\", extra_state_tokens false, use_upper true",
                 path, sec, state_type);
        return -1;
    }
    return 0;
}

typedef struct { t2v_dims t2v; long hidden, hpieces; } ner_dims;

static int check_ner_config(const spacy_config *c, ner_dims *d, const char *path, char *err, size_t errlen)
{
    char v[128];
    if (cfg_str(c, "components.ner", "factory", v, sizeof v) || strcmp(v, "ner")) {
        snprintf(err, errlen, "%s: the pipeline has no ner component", path);
        return -1;
    }
    if (check_tb_parser(c, "components.ner.model", "ner", &d->hidden, &d->hpieces, path, err, errlen) ||
        check_tok2vec(c, "components.ner.model.tok2vec", &d->t2v, path, err, errlen))
        return -1;
    static const char *want[] = {"NORM", "PREFIX", "SUFFIX", "SHAPE"};
    int ok = d->t2v.nattrs == NER_NATTRS;
    for (int i = 0; ok && i < NER_NATTRS; i++) ok = !strcmp(d->t2v.attrs[i], want[i]);
    if (!ok) {
        snprintf(err, errlen, "%s: ner embeds %d attributes (%s...); nerd implements NORM, PREFIX, SUFFIX, SHAPE in that order",
                 path, d->t2v.nattrs, d->t2v.nattrs > 0 ? d->t2v.attrs[0] : "");
        return -1;
    }
    return 0;
}

/* The full pipeline as config.cfg describes it. Returns 0 (supported: the names of the
 * tok2vec and parser components and the dimensions filled), 1 (nothing to load: the reason
 * is in m->full_error and the model stays ner-only), or -1 (a parser nerd cannot run: err). */
typedef struct { char t2v_name[32], parser_name[32], ruler_name[32]; t2v_dims t2v; long hidden, hpieces; } full_dims;

static int check_full_config(nerd_model *m, const spacy_config *c, full_dims *d, const char *path, char *err,
                             size_t errlen)
{
    /* components that leave the ner's inputs alone: tok2vec and tagger (tensors, tags),
     * morphologizer, attribute_ruler (its patterns set TAG/POS/MORPH/LEMMA/DEP, not NORM),
     * lemmatizer; the parser is implemented here */
    static const char *harmless[] = {"tok2vec", "tagger", "morphologizer", "attribute_ruler", "lemmatizer", "ner", NULL};
    char pipe[32][32], off[32][32], sec[96], v[64];
    int np = cfg_str_list(c, "nlp", "pipeline", pipe, 32), noff = cfg_str_list(c, "nlp", "disabled", off, 32);
    if (noff < 0) noff = 0;
    int parser_at = -1, ner_at = -1;
    *d->parser_name = *d->ruler_name = 0;
    for (int i = 0; i < np; i++) {
        int disabled = 0;
        for (int k = 0; k < noff; k++) disabled |= !strcmp(pipe[i], off[k]);
        if (disabled) continue;
        snprintf(sec, sizeof sec, "components.%.31s", pipe[i]);
        if (cfg_str(c, sec, "factory", v, sizeof v)) {
            snprintf(m->full_error, sizeof m->full_error, "%.200s: component %.31s has no factory", path, pipe[i]);
            return 1;
        }
        if (!strcmp(v, "parser") && parser_at < 0) {
            parser_at = i;
            snprintf(d->parser_name, sizeof d->parser_name, "%.31s", pipe[i]);
            continue;
        }
        if (!strcmp(v, "ner") && ner_at < 0) ner_at = i;
        if (!strcmp(v, "attribute_ruler") && parser_at >= 0)
            snprintf(d->ruler_name, sizeof d->ruler_name, "%.31s", pipe[i]);
        int known = 0;
        for (int k = 0; harmless[k]; k++) known |= !strcmp(v, harmless[k]);
        if (!known) {
            snprintf(m->full_error, sizeof m->full_error,
                     "%.200s: the full pipeline has component %.31s (factory %.31s), which nerd does not implement", path,
                     pipe[i], v);
            return 1;
        }
    }
    if (parser_at < 0) {
        snprintf(m->full_error, sizeof m->full_error, "%.200s: the pipeline has no (enabled) parser component", path);
        return 1;
    }
    m->parser_before_ner = ner_at > parser_at;
    char lsec[128];
    snprintf(sec, sizeof sec, "components.%s.model", d->parser_name);
    snprintf(lsec, sizeof lsec, "components.%s.model.tok2vec", d->parser_name);
    int b;
    if (check_tb_parser(c, sec, "parser", &d->hidden, &d->hpieces, path, err, errlen) ||
        check_arch(c, lsec, "spacy.Tok2VecListener.v1", path, err, errlen))
        return -1;
    snprintf(sec, sizeof sec, "components.%s", d->parser_name);
    if (!cfg_bool(c, sec, "learn_tokens", &b) && b) {
        snprintf(err, errlen, "%s: [%s] learn_tokens = true (subtoken merging) is not supported", path, sec);
        return -1;
    }
    /* the listener's upstream: a tok2vec component by name, or "*" for the one in the pipeline */
    char up[32];
    if (cfg_str(c, lsec, "upstream", up, sizeof up)) snprintf(up, sizeof up, "*");
    *d->t2v_name = 0;
    for (int i = 0; i < parser_at && !*d->t2v_name; i++) {
        snprintf(sec, sizeof sec, "components.%.31s", pipe[i]);
        if (!cfg_str(c, sec, "factory", v, sizeof v) && !strcmp(v, "tok2vec") && (!strcmp(up, "*") || !strcmp(up, pipe[i])))
            snprintf(d->t2v_name, sizeof d->t2v_name, "%.31s", pipe[i]);
    }
    if (!*d->t2v_name) {
        snprintf(err, errlen, "%s: the parser listens to tok2vec component \"%s\", which does not run before it", path, up);
        return -1;
    }
    snprintf(sec, sizeof sec, "components.%s.model", d->t2v_name);
    if (check_tok2vec(c, sec, &d->t2v, path, err, errlen)) return -1;
    static const char *names[] = {"NORM", "PREFIX", "SUFFIX", "SHAPE", "SPACY", "IS_SPACE"};
    for (int k = 0; k < d->t2v.nattrs; k++) {
        m->t2v_attr[k] = -1;
        for (int a = 0; a < 6; a++)
            if (!strcmp(d->t2v.attrs[k], names[a])) m->t2v_attr[k] = a;
        if (m->t2v_attr[k] < 0) {
            snprintf(err, errlen, "%s: [%s.embed] embeds attribute %s; nerd implements NORM, PREFIX, SUFFIX, SHAPE, SPACY, IS_SPACE",
                     path, sec, d->t2v.attrs[k]);
            return -1;
        }
    }
    return 0;
}

/* Binds a tok2vec's weights and checks the tables against the config's rows. */
static int bind_tok2vec(t2v_net *net, const thinc_model *w, const t2v_dims *d, const char *path, char *err,
                        size_t errlen)
{
    char sub[256];
    if (t2v_bind(net, w, d->nattrs, d->width, d->depth, d->window, d->pieces, sub, sizeof sub)) {
        snprintf(err, errlen, "%s: %s", path, sub);
        return -1;
    }
    for (int k = 0; k < d->nattrs; k++)
        if ((long)net->embed[k].nV != d->rows[k]) {
            snprintf(err, errlen, "%s: embedding table %d has %u rows, config says %ld", path, k, net->embed[k].nV,
                     d->rows[k]);
            return -1;
        }
    return 0;
}

static int check_parser_layers(const parser_net *p, int nF, long hidden, long pieces, const char *path, char *err,
                               size_t errlen)
{
    if (p->nF == nF && p->nO == hidden && p->nP == pieces) return 0;
    snprintf(err, errlen, "%s: parser layers (%d features, width %d, %d pieces) do not match the config", path, p->nF,
             p->nO, p->nP);
    return -1;
}

/* The shared tok2vec and the parser: weights, moves, and their agreement. */
static nerd_status load_full(nerd_model *m, const char *dir, const full_dims *fd, char *err, size_t errlen)
{
    char path[4096], sub[512];
    snprintf(path, sizeof path, "%s/%s/model", dir, fd->t2v_name);
    if (tw_load(path, &m->t2v_weights, err, errlen)) return file_status(path);
    if (bind_tok2vec(&m->t2v, &m->t2v_weights, &fd->t2v, path, err, errlen)) return NERD_ERR_FORMAT;
    snprintf(path, sizeof path, "%s/%s/model", dir, fd->parser_name);
    if (tw_load(path, &m->parser_weights, err, errlen)) return file_status(path);
    if (parser_net_bind(&m->parser, &m->parser_weights, fd->t2v.width, sub, sizeof sub)) {
        snprintf(err, errlen, "%s: %s", path, sub);
        return NERD_ERR_FORMAT;
    }
    if (check_parser_layers(&m->parser, AE_NFEATS, fd->hidden, fd->hpieces, path, err, errlen)) return NERD_ERR_FORMAT;
    snprintf(path, sizeof path, "%s/%s/cfg", dir, fd->parser_name);
    FILE *f = fopen(path, "rb");
    if (!f && errno == ENOMEM) { /* a missing cfg means greedy; one that cannot be read is not known */
        snprintf(err, errlen, "%s: out of memory", path);
        return NERD_ERR_NOMEM;
    }
    if (f) { /* beam search would decode differently */
        char text[4096];
        size_t r = fread(text, 1, sizeof text - 1, f);
        fclose(f);
        json_doc jd;
        char jerr[64];
        const json_value *bw = NULL;
        int parsed = json_parse(text, r, 0, &jd, jerr, sizeof jerr);
        if (!parsed) bw = json_get(&jd.root, "beam_width");
        int beam = bw && bw->type == JSON_NUMBER && bw->u.num != 1;
        json_doc_free(&jd);
        if (parsed == JSON_ERR_NOMEM) {
            snprintf(err, errlen, "%s: out of memory", path);
            return NERD_ERR_NOMEM;
        }
        if (beam) {
            snprintf(err, errlen, "%s: beam_width is not 1; nerd implements greedy decoding", path);
            return NERD_ERR_UNSUPPORTED;
        }
    }
    snprintf(path, sizeof path, "%s/%s/moves", dir, fd->parser_name);
    if (ae_load(&m->parser_moves, path, err, errlen)) return file_status(path);
    if (m->parser_moves.nclasses != m->parser.nclasses) {
        snprintf(err, errlen, "%s: %d classes, but the parser model scores %d", path, m->parser_moves.nclasses,
                 m->parser.nclasses);
        return NERD_ERR_FORMAT;
    }
    if (*fd->ruler_name) {
        snprintf(path, sizeof path, "%s/%s/patterns", dir, fd->ruler_name);
        if (ar_load(&m->dep_rules, &m->parser_moves, path, err, errlen)) return file_status(path);
    }
    if (t2v_pack(&m->full_t2v_packed, &m->t2v, 0) ||
        parser_pack(&m->full_parser_packed, &m->parser)) {
        snprintf(err, errlen, "out of memory");
        return NERD_ERR_NOMEM;
    }
    m->parse_window = 2048;
    m->parse_back = 256;
    m->has_full = 1;
    return NERD_OK;
}

/* SHA-256 of the weight files as read (ner's, then the shared tok2vec's and the parser's): which
 * weights are served, checkable with `cat FILES | sha256sum`; about 40 ms for en_core_web_sm. */
static void weights_checksum(nerd_model *m, const full_dims *fd)
{
    sha256_ctx c;
    sha256_init(&c);
    sha256_update(&c, m->ner_weights.raw, m->ner_weights.raw_len);
    snprintf(m->weights_files, sizeof m->weights_files, "ner/model");
    if (fd) {
        sha256_update(&c, m->t2v_weights.raw, m->t2v_weights.raw_len);
        sha256_update(&c, m->parser_weights.raw, m->parser_weights.raw_len);
        snprintf(m->weights_files, sizeof m->weights_files, "ner/model %s/model %s/model", fd->t2v_name,
                 fd->parser_name);
    }
    sha256_hex(&c, m->weights_sha256);
}

nerd_model *nerd_model_load(const char *dir, nerd_status *status, char *err, size_t errlen)
{
    char path[4096], sub[512];
    if (status) *status = NERD_OK;
    if (!dir) return load_fail(NULL, status, NERD_ERR_ARG, err, errlen, "no model folder given");
    if (!is_dir(dir))
        return load_fail(NULL, status, NERD_ERR_IO, err, errlen, "model folder %s: %s", dir,
                         errno == ENOENT ? "no such folder" : "not a folder");
    /* BLAS calls are per document and small: never let them spawn threads */
    openblas_set_num_threads(1);
    char why[160];
    if (kn_isa_from_env(why, sizeof why)) return load_fail(NULL, status, NERD_ERR_ARG, err, errlen, "%s", why);
    nerd_model *m = calloc(1, sizeof *m);
    if (!m || !(m->dir = strdup(dir))) return load_fail(m, status, NERD_ERR_NOMEM, err, errlen, "out of memory");

    snprintf(path, sizeof path, "%s/meta.json", dir);
    if (read_meta(m, path) != NERD_OK) return load_fail(m, status, NERD_ERR_NOMEM, err, errlen, "%s: out of memory", path);

    snprintf(path, sizeof path, "%s/config.cfg", dir);
    spacy_config *cfg = cfg_load(path, sub, sizeof sub);
    if (!cfg) return load_fail(m, status, file_status(path), err, errlen, "%s", sub);
    ner_dims d;
    full_dims fd;
    int bad = check_ner_config(cfg, &d, path, err, errlen);
    int full = bad ? 1 : check_full_config(m, cfg, &fd, path, err, errlen);
    cfg_free(cfg);
    if (bad || full < 0) return load_fail(m, status, NERD_ERR_UNSUPPORTED, err, errlen, NULL);

    snprintf(path, sizeof path, "%s/tokenizer", dir);
    if (!(m->tok = tokenizer_load(path, err, errlen))) return load_fail(m, status, file_status(path), err, errlen, NULL);

    snprintf(path, sizeof path, "%s/vocab/lookups.bin", dir);
    struct stat st;
    if (stat(path, &st) == 0 && lex_norms_load(&m->norms, path, err, errlen))
        return load_fail(m, status, NERD_ERR_FORMAT, err, errlen, NULL);

    snprintf(path, sizeof path, "%s/ner/model", dir);
    if (tw_load(path, &m->ner_weights, err, errlen)) return load_fail(m, status, file_status(path), err, errlen, NULL);
    if (bind_tok2vec(&m->ner_t2v, &m->ner_weights, &d.t2v, path, err, errlen))
        return load_fail(m, status, NERD_ERR_FORMAT, err, errlen, NULL);
    if (parser_net_bind(&m->ner_net, &m->ner_weights, d.t2v.width, sub, sizeof sub))
        return load_fail(m, status, NERD_ERR_FORMAT, err, errlen, "%s: %s", path, sub);
    if (check_parser_layers(&m->ner_net, 3, d.hidden, d.hpieces, path, err, errlen))
        return load_fail(m, status, NERD_ERR_FORMAT, err, errlen, NULL);

    snprintf(path, sizeof path, "%s/ner/moves", dir);
    if (biluo_load(&m->ner_moves, path, err, errlen)) return load_fail(m, status, file_status(path), err, errlen, NULL);
    if (m->ner_moves.nclasses != m->ner_net.nclasses)
        return load_fail(m, status, NERD_ERR_FORMAT, err, errlen, "%s: %d classes, but ner/model scores %d", path,
                         m->ner_moves.nclasses, m->ner_net.nclasses);
    if (t2v_pack(&m->ner_t2v_packed, &m->ner_t2v, 0) || parser_pack(&m->ner_net_packed, &m->ner_net))
        return load_fail(m, status, NERD_ERR_NOMEM, err, errlen, "out of memory");
    if (full == 0) {
        nerd_status fs = load_full(m, dir, &fd, err, errlen);
        if (fs != NERD_OK) return load_fail(m, status, fs, err, errlen, NULL);
    }
    weights_checksum(m, full == 0 ? &fd : NULL);
    const char *cache_env = getenv("NERD_EMBED_CACHE");
    char *end = NULL;
    unsigned long long entries = cache_env && *cache_env ? strtoull(cache_env, &end, 10) : NERD_DEFAULT_CACHE;
    if (end && (*end || entries > ((size_t)1 << 26)))
        return load_fail(m, status, NERD_ERR_ARG, err, errlen,
                         "$NERD_EMBED_CACHE=%s: expected a number of entries from 0 to %zu", cache_env,
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
    free(m->dir);
    free(m);
}

const char *nerd_model_name(const nerd_model *m) { return m->name; }
const char *nerd_model_version(const nerd_model *m) { return m->version; }
const char *nerd_model_dir(const nerd_model *m) { return m->dir; }
const char *nerd_model_weights_sha256(const nerd_model *m) { return m->weights_sha256; }
const char *nerd_model_weights_files(const nerd_model *m) { return m->weights_files; }
size_t nerd_model_nlabels(const nerd_model *m) { return (size_t)m->ner_moves.nlabels; }
const char *nerd_model_label(const nerd_model *m, size_t i)
{
    return i < (size_t)m->ner_moves.nlabels ? m->ner_moves.labels[i] : NULL;
}
int nerd_model_has_pipeline(const nerd_model *m, nerd_pipeline p)
{
    return m && (p == NERD_PIPELINE_NER || (p == NERD_PIPELINE_FULL && m->has_full));
}

const char *nerd_model_pipeline_error(const nerd_model *m, nerd_pipeline p)
{
    if (!m) return "no model";
    if (p == NERD_PIPELINE_NER) return NULL;
    if (p != NERD_PIPELINE_FULL) return "unknown pipeline";
    return m->has_full ? NULL : m->full_error;
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
    if (ensure_lowp(&m->ner_t2v_packed, &m->ner_t2v, need) ||
        (m->has_full && ensure_lowp(&m->full_t2v_packed, &m->t2v, need)))
        return NERD_ERR_NOMEM;
    m->precision = kn_of[p];
    return NERD_OK;
}

nerd_precision nerd_model_precision(const nerd_model *m)
{
    if (!m) return NERD_PRECISION_FP32;
    return m->precision == KN_BF16 ? NERD_PRECISION_BF16 : m->precision == KN_INT8 ? NERD_PRECISION_INT8 : NERD_PRECISION_FP32;
}

/* One cache per tok2vec: the ner's own and the shared one the parser listens to. */
nerd_status nerd_model_set_cache(nerd_model *m, size_t entries)
{
    if (!m) return NERD_ERR_ARG;
    embed_cache *c = entries ? embed_cache_new(entries, m->ner_t2v.nattrs, m->ner_t2v.width) : NULL;
    embed_cache *fc = entries && m->has_full ? embed_cache_new(entries, m->t2v.nattrs, m->t2v.width) : NULL;
    if (entries && (!c || (m->has_full && !fc))) {
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
}

/* ---- documents ---- */

nerd_doc *nerd_doc_new(void) { return calloc(1, sizeof(nerd_doc)); }

void nerd_doc_free(nerd_doc *d)
{
    if (!d) return;
    buf_free(&d->text);
    buf_free(&d->strs);
    free(d->toks);
    free(d->attrs);
    free(d->space);
    tok_scratch_free(&d->tsc);
    free(d->work);
    free(d->ents);
    free(d->t2v_attrs);
    free(d->pwork);
    free(d->pints);
    free(d->pbytes);
    free(d->heads);
    free(d->deps);
    free(d->sent_starts);
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
        chars += py_utf8_count(text + pos, ts->start - pos);
        pos = ts->start;
        const char *s = text + ts->start;
        size_t len = ts->len;
        t->start = ts->start;
        t->len = ts->len;
        t->idx = (uint32_t)chars;
        t->nchars = (uint32_t)py_utf8_count(s, len);
        t->ws = ts->ws;
        t->is_space = (uint8_t)py_str_isspace(s, len);
        d->space[i] = t->is_space;

        t->norm_off = (uint32_t)d->strs.len;
        const char *norm;
        size_t nl;
        if (ts->norm_sub >= 0) tokenizer_sub_norm(m->tok, ts->norm_sub, &norm, &nl);
        else norm = lex_norms_get(&m->norms, s, len, &nl);
        if (norm ? buf_append(&d->strs, norm, nl) : py_lower(s, len, &d->strs)) return NERD_ERR_NOMEM;
        t->norm_len = (uint32_t)(d->strs.len - t->norm_off);

        t->shape_off = (uint32_t)d->strs.len;
        if (lex_shape(s, len, &d->strs)) return NERD_ERR_NOMEM;
        t->shape_len = (uint32_t)(d->strs.len - t->shape_off);

        t->prefix_len = 1;
        while (t->prefix_len < len && ((unsigned char)s[t->prefix_len] & 0xC0) == 0x80) t->prefix_len++;
        size_t k = len, c3 = 0;
        while (k > 0 && c3 < 3) {
            k--;
            if (((unsigned char)s[k] & 0xC0) != 0x80) c3++;
        }
        t->suffix_len = (uint32_t)(len - k);
    }
    /* hashes last: d->strs may have moved while it grew */
    for (size_t i = 0; i < n; i++) {
        const ner_token *t = &d->toks[i];
        const char *s = text + t->start;
        uint64_t *a = d->attrs + i * NER_NATTRS;
        a[ATTR_NORM] = nerd_string_hash(d->strs.ptr + t->norm_off, t->norm_len);
        a[ATTR_PREFIX] = nerd_string_hash(s, t->prefix_len);
        a[ATTR_SUFFIX] = nerd_string_hash(s + t->len - t->suffix_len, t->suffix_len);
        a[ATTR_SHAPE] = nerd_string_hash(d->strs.ptr + t->shape_off, t->shape_len);
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

/* The network runs over chunks of NER_CHUNK tokens so that a doc's workspace stays bounded
 * whatever the text's length. The encoder sees NER_CONTEXT extra tokens on each side of a
 * chunk: its receptive field is depth x window (4 tokens here), so the rows kept are those a
 * whole-document pass computes. The decoder streams through the chunks' precomputed rows,
 * keeping copies of the two rows a later step may still need: the token before the chunk
 * and the first token of the open entity. */
#define NER_CHUNK 2048
#define NER_CONTEXT 8

nerd_status nerd_ner(const nerd_model *m, nerd_doc *d, const char *text, size_t len, nerd_pipeline p)
{
    return nerd_ner_until(m, d, text, len, p, 0);
}

nerd_status nerd_ner_until(const nerd_model *m, nerd_doc *d, const char *text, size_t len, nerd_pipeline p,
                           double deadline)
{
    if (!m || !d || (p != NERD_PIPELINE_NER && p != NERD_PIPELINE_FULL)) return NERD_ERR_ARG;
    if (p == NERD_PIPELINE_FULL && !m->has_full) return NERD_ERR_UNSUPPORTED;
    nerd_status s = tokenize_until(m, d, text, len, deadline);
    if (s == NERD_OK && p == NERD_PIPELINE_FULL) s = engine_parse(m, d, deadline);
    if (s != NERD_OK) return s;
    /* the parser's sentence starts: no entity crosses into one */
    const uint8_t *sent_start = p == NERD_PIPELINE_FULL && m->parser_before_ner ? d->sent_starts : NULL;
    const size_t n = d->ntoks;
    const t2v_net *t2v = &m->ner_t2v;
    const parser_net *pn = &m->ner_net;
    if ((size_t)t2v->depth * t2v->window >= NER_CONTEXT) return NERD_ERR_UNSUPPORTED;
    const size_t span = NER_CHUNK + 2 * NER_CONTEXT, rowlen = (size_t)pn->nF * pn->nO * pn->nP;
    const size_t f_scratch = t2v_fast_scratch_floats(t2v, span), f_vecs = span * t2v->width, f_proj = NER_CHUNK * pn->nI,
                 f_table = (NER_CHUNK + 1) * rowlen;
    size_t need = f_scratch + f_vecs + f_proj + f_table + 2 * rowlen + pn->nO + 2 * (size_t)pn->nclasses + 64;
    if (grow_array((void **)&d->work, &d->workcap, need, sizeof(float))) return NERD_ERR_NOMEM;
    if (grow_array((void **)&d->ents, &d->entcap, n + 1, sizeof *d->ents)) return NERD_ERR_NOMEM;
    float *scratch = d->work, *vecs = scratch + f_scratch, *proj = vecs + f_vecs, *table = proj + f_proj;
    float *prev_row = table + f_table, *open_row = prev_row + rowlen, *hidden = open_row + rowlen;
    float *scores = hidden + pn->nO;
    uint8_t *valid = (uint8_t *)(scores + pn->nclasses);

    biluo_state st = {0, -1, -1, 0};
    for (size_t c0 = 0; c0 < n; c0 += NER_CHUNK) {
        /* between chunks: one look at the clock per NER_CHUNK rows and transitions */
        if (deadline_passed(deadline)) return NERD_ERR_DEADLINE;
        size_t c1 = c0 + NER_CHUNK < n ? c0 + NER_CHUNK : n;
        size_t a = c0 > NER_CONTEXT ? c0 - NER_CONTEXT : 0, b = c1 + NER_CONTEXT < n ? c1 + NER_CONTEXT : n;
        t2v_fast_forward(t2v, &m->ner_t2v_packed, m->precision, m->ner_cache, d->attrs + a * NER_NATTRS, b - a, vecs,
                         scratch, NULL, NULL, NULL);
        parser_fast_precompute(pn, &m->ner_net_packed, vecs + (c0 - a) * t2v->width, c1 - c0, proj, table);
        while (st.i < c1) {
            int feats[3];
            const float *rows[3];
            biluo_features(&st, feats);
            for (int f = 0; f < 3; f++) {
                long j = feats[f];
                rows[f] = j < 0 ? table                                     /* the learned pad row */
                        : (size_t)j >= c0 ? table + ((size_t)j - c0 + 1) * rowlen
                        : j == st.open_start ? open_row
                        : prev_row;                                          /* j == c0 - 1 */
            }
            parser_fast_step_rows(pn, &m->ner_net_packed, rows, hidden, scores);
            int best = biluo_choose(&m->ner_moves, &st, n, d->space, sent_start, scores, valid);
            size_t i = st.i;
            biluo_apply(&m->ner_moves, &st, best, d->ents);
            if (st.open_start == (long)i) memcpy(open_row, table + (i - c0 + 1) * rowlen, rowlen * sizeof(float));
        }
        memcpy(prev_row, table + (c1 - c0) * rowlen, rowlen * sizeof(float));
    }
    d->nents = st.nents;
    d->has_ents = 1;
    d->model = m;
    return NERD_OK;
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

size_t nerd_doc_nents(const nerd_doc *d) { return d && d->has_ents ? d->nents : 0; }

int nerd_doc_ent(const nerd_doc *d, size_t i, nerd_ent *e)
{
    if (!d || !d->has_ents || i >= d->nents) return -1;
    const biluo_ent *b = &d->ents[i];
    const ner_token *first = &d->toks[b->start], *last = &d->toks[b->end - 1];
    *e = (nerd_ent){
        .start = b->start,
        .end = b->end,
        .start_char = first->idx,
        .end_char = last->idx + last->nchars,
        .start_byte = first->start,
        .end_byte = last->start + last->len,
        .label = d->model->ner_moves.labels[b->label],
    };
    return 0;
}

int nerd_doc_sent_start(const nerd_doc *d, size_t i)
{
    if (!d || !d->has_parse || i >= d->ntoks) return -1;
    return d->sent_starts[i];
}

int nerd_doc_head(const nerd_doc *d, size_t i, size_t *head, const char **dep)
{
    if (!d || !d->has_parse || i >= d->ntoks) return -1;
    if (head) *head = (size_t)d->heads[i];
    if (dep) *dep = d->model->parser_moves.labels[d->deps[i]];
    return 0;
}
