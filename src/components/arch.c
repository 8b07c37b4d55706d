/* arch.c - config.cfg's architecture sections -> the dimensions nerd's networks take. */
#include "components/arch.h"

#include "transition/arc_eager.h"
#include "transition/biluo.h"

#include <stdio.h>
#include <string.h>

/* the names of token_attr, as spaCy's attrs lists spell them */
static const char *const attr_names[ATTR_COUNT] = {
    [ATTR_NORM] = "NORM", [ATTR_PREFIX] = "PREFIX", [ATTR_SUFFIX] = "SUFFIX", [ATTR_SHAPE] = "SHAPE",
    [ATTR_SPACY] = "SPACY", [ATTR_IS_SPACE] = "IS_SPACE", [ATTR_ORTH] = "ORTH", [ATTR_LOWER] = "LOWER",
};

/* Which Tok2Vec wraps which encoder, and the pad that gives (spaCy's tok2vec.py and
 * spacy-legacy): Tok2Vec.v2 chains the encoder as it is, MaxoutWindowEncoder.v2 pads its own
 * input by its receptive field, MishWindowEncoder.v2 by nothing; Tok2Vec.v1 pads the (v1)
 * encoder by the encoder's receptive_field attribute, which only MaxoutWindowEncoder.v1 sets.
 * Other pairs batch documents into one unpadded sequence in spaCy (or fail): refused. */
static const struct {
    const char *tok2vec, *encoder;
    t2v_encoder enc;
    int padded; /* pad = depth x window, else 0 */
} encoders[] = {
    {"spacy.Tok2Vec.v2", "spacy.MaxoutWindowEncoder.v2", T2V_ENC_MAXOUT, 1},
    {"spacy.Tok2Vec.v2", "spacy.MishWindowEncoder.v2", T2V_ENC_MISH, 0},
    {"spacy.Tok2Vec.v1", "spacy.MaxoutWindowEncoder.v1", T2V_ENC_MAXOUT, 1},
    {"spacy.Tok2Vec.v1", "spacy.MishWindowEncoder.v1", T2V_ENC_MISH, 0},
};
#define NENCODERS (sizeof encoders / sizeof *encoders)

static int refuse_arch(const spacy_config *c, const char *sec, const char *path, const char *implemented, char *err,
                       size_t errlen)
{
    const char *raw = cfg_raw(c, sec, "@architectures");
    snprintf(err, errlen, "%s [%s]: architecture %s is not supported (nerd implements %s)", path, sec,
             raw ? raw : "(none)", implemented);
    return -1;
}

int arch_tok2vec(const spacy_config *c, const char *sec, t2v_dims *d, const char *path, char *err, size_t errlen)
{
    char embed[160], encode[160], t2v[64], enc[64], emb[64];
    snprintf(embed, sizeof embed, "%s.embed", sec);
    snprintf(encode, sizeof encode, "%s.encode", sec);
    memset(d, 0, sizeof *d);
    if (cfg_str(c, sec, "@architectures", t2v, sizeof t2v) ||
        (strcmp(t2v, "spacy.Tok2Vec.v1") && strcmp(t2v, "spacy.Tok2Vec.v2")))
        return refuse_arch(c, sec, path, "spacy.Tok2Vec.v1, spacy.Tok2Vec.v2", err, errlen);
    if (cfg_str(c, embed, "@architectures", emb, sizeof emb) ||
        (strcmp(emb, "spacy.MultiHashEmbed.v1") && strcmp(emb, "spacy.MultiHashEmbed.v2")))
        return refuse_arch(c, embed, path, "spacy.MultiHashEmbed.v1, spacy.MultiHashEmbed.v2", err, errlen);
    size_t k = 0;
    if (!cfg_str(c, encode, "@architectures", enc, sizeof enc))
        while (k < NENCODERS && (strcmp(encoders[k].tok2vec, t2v) || strcmp(encoders[k].encoder, enc))) k++;
    if (k >= NENCODERS || cfg_raw(c, encode, "@architectures") == NULL) {
        char impl[160];
        snprintf(impl, sizeof impl, "%s with %s", t2v,
                 !strcmp(t2v, "spacy.Tok2Vec.v2") ? "spacy.MaxoutWindowEncoder.v2 or spacy.MishWindowEncoder.v2"
                                                  : "spacy.MaxoutWindowEncoder.v1 or spacy.MishWindowEncoder.v1");
        return refuse_arch(c, encode, path, impl, err, errlen);
    }
    int b;
    if (cfg_bool(c, embed, "include_static_vectors", &b)) {
        snprintf(err, errlen, "%s [%s]: include_static_vectors is not true or false", path, embed);
        return -1;
    }
    d->static_vectors = b ? (!strcmp(emb, "spacy.MultiHashEmbed.v1") ? 2 : 1) : 0;
    d->nattrs = cfg_str_list(c, embed, "attrs", d->attrs, T2V_MAX_ATTRS);
    int nrows = cfg_int_list(c, embed, "rows", d->rows, T2V_MAX_ATTRS);
    for (int a = 0; a < d->nattrs; a++) {
        d->attr[a] = -1;
        for (int t = 0; t < ATTR_COUNT; t++)
            if (!strcmp(d->attrs[a], attr_names[t])) d->attr[a] = t;
        if (d->attr[a] < 0) {
            snprintf(err, errlen,
                     "%s [%s]: attribute %s is not supported (nerd implements ORTH, LOWER, NORM, PREFIX, SUFFIX, "
                     "SHAPE, SPACY, IS_SPACE)",
                     path, embed, d->attrs[a]);
            return -1;
        }
    }
    long w, ew, depth, window, pieces = 1;
    d->encoder = encoders[k].enc;
    if (d->nattrs < 1 || nrows != d->nattrs || cfg_int(c, embed, "width", &ew) || cfg_int(c, encode, "width", &w) ||
        cfg_int(c, encode, "depth", &depth) || cfg_int(c, encode, "window_size", &window) ||
        (d->encoder == T2V_ENC_MAXOUT && cfg_int(c, encode, "maxout_pieces", &pieces)) || ew != w || w < 1 ||
        w > 4096 || depth < 1 || depth > T2V_MAX_DEPTH || window < 1 || window > T2V_MAX_WINDOW || pieces < 1 ||
        pieces > 16) {
        snprintf(err, errlen,
                 "%s [%s]: attrs/rows/width/depth/window_size/maxout_pieces missing or beyond nerd's limits "
                 "(%d attributes, depth %d, window %d, width 4096)",
                 path, sec, T2V_MAX_ATTRS, T2V_MAX_DEPTH, T2V_MAX_WINDOW);
        return -1;
    }
    d->width = (int)w;
    d->depth = (int)depth;
    d->window = (int)window;
    d->pieces = (int)pieces;
    d->pad = encoders[k].padded ? d->depth * d->window : 0;
    return 0;
}

/* the token attribute of a vectors table's key */
static const struct { int vec_attr, token_attr; } vector_keys[] = {
    {VEC_ATTR_ORTH, ATTR_ORTH}, {VEC_ATTR_LOWER, ATTR_LOWER}, {VEC_ATTR_NORM, ATTR_NORM},
};

int arch_tok2vec_bind(t2v_net *net, const thinc_model *w, t2v_dims *d, const vec_table *vt, const char *path,
                      char *err, size_t errlen)
{
    char sub[256];
    if (d->static_vectors == 2 && vt && vt->mode == VEC_MODE_FLORET) { /* spaCy fails: find() refuses floret */
        snprintf(err, errlen, "%s: spacy.StaticVectors.v1 (MultiHashEmbed.v1) over floret vectors is not supported", path);
        return -1;
    }
    if (t2v_bind_encoder(net, w, d->nattrs, d->width, d->depth, d->window, d->pieces, d->encoder, d->pad,
                         d->static_vectors ? vt : NULL, sub, sizeof sub)) {
        snprintf(err, errlen, "%s: %s", path, sub);
        return -1;
    }
    if (d->static_vectors) {
        /* v2 keys by the table's attribute (vectors.cfg); v1 by its own key_attr, ORTH */
        int key = d->static_vectors == 2 ? VEC_ATTR_ORTH : vt->attr;
        for (size_t k = 0; k < sizeof vector_keys / sizeof *vector_keys; k++)
            if (vector_keys[k].vec_attr == key) d->attr[d->nattrs] = vector_keys[k].token_attr;
        net->sv_unknown_last = d->static_vectors == 2;
    }
    for (int k = 0; k < d->nattrs; k++)
        if ((long)net->embed[k].nV != d->rows[k]) {
            snprintf(err, errlen, "%s: embedding table %d has %u rows, config says %ld", path, k, net->embed[k].nV,
                     d->rows[k]);
            return -1;
        }
    return 0;
}

int arch_tb_parser(const spacy_config *c, const char *sec, const char *state_type, tb_dims *d, const char *path,
                   char *err, size_t errlen)
{
    char v[64];
    if (cfg_str(c, sec, "@architectures", v, sizeof v) ||
        (strcmp(v, "spacy.TransitionBasedParser.v1") && strcmp(v, "spacy.TransitionBasedParser.v2")))
        return refuse_arch(c, sec, path, "spacy.TransitionBasedParser.v1, spacy.TransitionBasedParser.v2", err,
                           errlen);
    int extra;
    if (cfg_str(c, sec, "state_type", v, sizeof v) || strcmp(v, state_type) ||
        cfg_bool(c, sec, "extra_state_tokens", &extra) || cfg_int(c, sec, "hidden_width", &d->hidden) ||
        cfg_int(c, sec, "maxout_pieces", &d->pieces) || d->hidden < 1 || d->pieces < 1) {
        snprintf(err, errlen, "%s [%s]: state_type \"%s\", extra_state_tokens, hidden_width or maxout_pieces missing",
                 path, sec, state_type);
        return -1;
    }
    d->use_upper = 1;
    if (cfg_raw(c, sec, "use_upper") && cfg_bool(c, sec, "use_upper", &d->use_upper)) {
        snprintf(err, errlen, "%s [%s]: use_upper is not true or false", path, sec);
        return -1;
    }
    d->nfeats = !strcmp(state_type, "ner") ? (extra ? BILUO_EXTRA_FEATS : 3) : (extra ? AE_NFEATS_EXTRA : AE_NFEATS);
    return 0;
}

int arch_tb_check(const parser_net *p, const tb_dims *d, const char *path, char *err, size_t errlen)
{
    if (p->nF == d->nfeats && p->nP == d->pieces && (!d->use_upper || p->nO == d->hidden) &&
        !p->upper_W == !d->use_upper)
        return 0;
    snprintf(err, errlen,
             "%s: parser layers (%d features, width %d, %d pieces, %s output layer) do not match the config", path,
             p->nF, p->nO, p->nP, p->upper_W ? "an" : "no");
    return -1;
}

int arch_is_listener(const spacy_config *c, const char *sec, char *up, size_t uplen)
{
    char v[64];
    if (cfg_str(c, sec, "@architectures", v, sizeof v) || strcmp(v, "spacy.Tok2VecListener.v1")) return 0;
    if (cfg_str(c, sec, "upstream", up, uplen)) snprintf(up, uplen, "*");
    return 1;
}
