/* doc_stage.c - the doc pipeline after the parse and the ner (engine.h's engine_doc): the
 * tagger's tags (computed in the parser's tok2vec pass), the attribute_ruler, the lemmatizer and
 * the noun chunks, in spaCy's order; and the accessors of include/nerd.h over what they set. */
#include "pipeline/engine.h"
#include "components/noun_chunks.h"
#include "text/morph.h"
#include "text/pystr.h"

#include <string.h>

static const nerd_str unset = {"", 0};

/* LIKE_URL asks the tokenizer's url_match */
typedef struct {
    const tokenizer *tok;
    tok_scratch *tsc;
} url_ctx;

static int url_match(void *ctx, const char *s, size_t len)
{
    url_ctx *u = ctx;
    return tokenizer_url_match(u->tok, s, len, u->tsc);
}

int engine_matcher_view(const nerd_model *m, nerd_doc *d, const doc_token_annot *annot, unsigned need,
                        matcher_token *out, buf *strs)
{
    const size_t n = d->ntoks;
    buf_clear(strs);
    url_ctx uc = {m->tok, &d->tsc};
    for (size_t i = 0; i < n; i++) {
        const ner_token *t = &d->toks[i];
        matcher_token *mt = &out[i];
        memset(mt, 0, sizeof *mt);
        for (int a = 0; a < MATCHER_NSTR; a++) mt->str[a] = (matcher_text){"", 0};
        mt->str[MATCHER_ORTH] = (matcher_text){d->text.ptr + t->start, t->len};
        mt->str[MATCHER_NORM] = (matcher_text){d->strs.ptr + t->norm_off, t->norm_len};
        mt->str[MATCHER_SHAPE] = (matcher_text){d->strs.ptr + t->shape_off, t->shape_len};
        if (annot) { /* what the tagger, a morphologizer or a trainable lemmatizer set before the ruler */
            const doc_token_annot *an = &annot[i];
            if (an->tag.ptr) mt->str[MATCHER_TAG] = (matcher_text){an->tag.ptr, an->tag.len};
            if (an->pos.ptr) mt->str[MATCHER_POS] = (matcher_text){an->pos.ptr, an->pos.len};
            if (an->morph.ptr) mt->str[MATCHER_MORPH] = (matcher_text){an->morph.ptr, an->morph.len};
            /* the lemmatizer's once the doc pipeline ran, else what was set before the attribute_ruler */
            if (d->has_doc) mt->str[MATCHER_LEMMA] = (matcher_text){d->lemmas.ptr + an->lemma_off, an->lemma_len};
            else if (an->lemma_set.ptr) mt->str[MATCHER_LEMMA] = (matcher_text){an->lemma_set.ptr, an->lemma_set.len};
        }
        if (d->has_parse) {
            const char *dep = m->parser_moves.labels[d->deps[i]];
            mt->str[MATCHER_DEP] = (matcher_text){dep, strlen(dep)};
            mt->sent_start = d->sent_starts[i] ? 1 : -1;
        }
        if (need & MATCHER_VIEW_LOWER) { /* offsets now, pointers once strs has stopped moving */
            size_t at = strs->len;
            if (py_lower(d->text.ptr + t->start, t->len, strs)) return -1;
            mt->str[MATCHER_LOWER] = (matcher_text){(const char *)(uintptr_t)at, strs->len - at};
        }
        mt->length = (long)t->nchars;
        long lf = t->is_space ? MATCHER_IS_SPACE : 0;
        if ((need & MATCHER_VIEW_FLAGS) && (lf = lex_flags(m->lang, d->text.ptr + t->start, t->len, url_match, &uc)) < 0)
            return -1;
        mt->flags = (unsigned)lf | (t->ws ? MATCHER_SPACY : 0); /* the matcher's flags are lexattr.h's */
    }
    for (size_t i = 0; (need & MATCHER_VIEW_LOWER) && i < n; i++)
        out[i].str[MATCHER_LOWER].s = strs->ptr + (uintptr_t)out[i].str[MATCHER_LOWER].s;
    return 0;
}

/* set_token_attrs: what rule sets, on token i. */
static void apply_rule(void *ctx, const ar_rule *rule, size_t i)
{
    nerd_doc *d = ctx;
    doc_token_annot *a = &d->annot[i];
    if (rule->tag.ptr) a->tag = rule->tag;
    if (rule->pos.ptr) a->pos = rule->pos;
    if (rule->morph.ptr) a->morph = rule->morph;
    if (rule->lemma.ptr) a->lemma_set = rule->lemma;
    if (rule->dep >= 0 && d->has_parse) d->deps[i] = (int16_t)rule->dep;
}

/* str(token.morph): spaCy's EMPTY_MORPH shows as "" */
static nerd_str morph_str(nerd_str morph)
{
    return !morph.ptr || (morph.len == 1 && morph.ptr[0] == '_') ? unset : morph;
}

/* The morphologizer's POS and MORPH and the trainable lemmatizer's lemmas (engine_heads computed
 * them), set before the attribute_ruler as spaCy's pipelines order them. */
static void heads_annotate(const nerd_model *m, nerd_doc *d)
{
    for (size_t i = 0; i < d->ntoks; i++) {
        doc_token_annot *a = &d->annot[i];
        if (d->heads_ran & HEAD_MORPH) {
            const morph_labels *ml = &m->morph;
            uint32_t k = d->morph_ids[i];
            a->pos = (nerd_str){ml->pos[k], strlen(ml->pos[k])};
            a->morph = (nerd_str){ml->strs.ptr + ml->morph_off[k], ml->morph_len[k]};
        }
        if (d->heads_ran & HEAD_LEMMA && d->lemma_len[i] != UINT32_MAX)
            a->lemma_set = (nerd_str){d->lemma_strs.ptr + d->lemma_off[i], d->lemma_len[i]};
    }
}

nerd_status engine_doc(const nerd_model *m, nerd_doc *d)
{
    const size_t n = d->ntoks;
    d->has_doc = 0;
    d->nchunks = 0;
    if (grow_array((void **)&d->annot, &d->annotcap, n + 1, sizeof *d->annot)) return NERD_ERR_NOMEM;
    const int tagged = m->tagger.nlabels > 0 && d->has_parse;
    for (size_t i = 0; i < n; i++)
        d->annot[i] = (doc_token_annot){.tag = tagged ? m->tagger.labels[d->tag_ids[i]] : (nerd_str){NULL, 0}};
    heads_annotate(m, d);
    if (m->ruler.mt) {
        if (grow_array((void **)&d->mtoks, &d->mtokcap, n + 1, sizeof *d->mtoks) ||
            engine_matcher_view(m, d, d->annot, m->ruler.view, d->mtoks, &d->mstrs) || ar_ruler_run(&m->ruler, d->mtoks, n, &d->matches, apply_rule, d))
            return NERD_ERR_NOMEM;
    }
    buf_clear(&d->lemmas);
    for (size_t i = 0; i < n; i++) {
        doc_token_annot *a = &d->annot[i];
        const ner_token *t = &d->toks[i];
        size_t at = d->lemmas.len;
        nerd_str preset = a->lemma_set.ptr ? a->lemma_set : unset;
        lemmatizer_token lt = {.text = {d->text.ptr + t->start, t->len},
                               .pos = a->pos.ptr ? a->pos : unset,
                               .morph = morph_str(a->morph),
                               .preset = preset};
        if (m->lemmatizer ? lemmatizer_lemma(m->lemmatizer, &lt, &d->lemmas)
                          : buf_append(&d->lemmas, preset.ptr, preset.len))
            return NERD_ERR_NOMEM;
        a->lemma_off = (uint32_t)at;
        a->lemma_len = (uint32_t)(d->lemmas.len - at);
    }
    if (d->has_parse && m->noun_chunks) {
        size_t cap = d->chunkcap;
        if (grow_array((void **)&d->chunk_dep, &cap, n + 1, sizeof *d->chunk_dep)) return NERD_ERR_NOMEM;
        cap = d->chunkcap;
        if (grow_array((void **)&d->chunk_pos, &cap, n + 1, sizeof *d->chunk_pos)) return NERD_ERR_NOMEM;
        cap = d->chunkcap;
        if (grow_array((void **)&d->chunk_start, &cap, n + 1, sizeof *d->chunk_start)) return NERD_ERR_NOMEM;
        cap = d->chunkcap;
        if (grow_array((void **)&d->chunk_end, &cap, n + 1, sizeof *d->chunk_end)) return NERD_ERR_NOMEM;
        d->chunkcap = cap;
        for (size_t i = 0; i < n; i++) {
            d->chunk_dep[i] = m->parser_moves.labels[d->deps[i]];
            d->chunk_pos[i] = d->annot[i].pos.ptr ? d->annot[i].pos.ptr : ""; /* NUL-terminated: the ruler's */
        }
        long nc = m->noun_chunks(n, d->heads, d->chunk_dep, d->chunk_pos, d->chunk_start, d->chunk_end);
        if (nc < 0) return NERD_ERR_NOMEM;
        d->nchunks = (size_t)nc;
    }
    d->has_doc = 1;
    return NERD_OK;
}

/* spaCy's has_annotation: an empty doc has every annotation, a one-token doc its sentence;
 * else an attribute is there when some token has it set (the sentence starts past the first). */
unsigned nerd_doc_annotations(const nerd_doc *d)
{
    if (!d) return 0;
    if (d->ntoks == 0)
        return NERD_ANNOT_TAG | NERD_ANNOT_POS | NERD_ANNOT_MORPH | NERD_ANNOT_LEMMA | NERD_ANNOT_DEP |
               NERD_ANNOT_SENT_START | NERD_ANNOT_ENTS;
    unsigned have = d->ntoks == 1 ? NERD_ANNOT_SENT_START : 0;
    if (d->has_parse) have |= NERD_ANNOT_DEP;
    if (d->has_sents) have |= NERD_ANNOT_SENT_START;
    if (d->has_ents) have |= NERD_ANNOT_ENTS;
    for (size_t i = 0; d->has_doc && i < d->ntoks; i++) {
        const doc_token_annot *a = &d->annot[i];
        if (a->tag.len) have |= NERD_ANNOT_TAG;
        if (a->pos.len) have |= NERD_ANNOT_POS;
        if (a->morph.ptr) have |= NERD_ANNOT_MORPH; /* analysed, "_" included */
        if (a->lemma_len) have |= NERD_ANNOT_LEMMA;
    }
    return have;
}

int nerd_doc_token_annot(const nerd_doc *d, size_t i, nerd_token_annot *a)
{
    if (!d || i >= d->ntoks) return -1;
    *a = (nerd_token_annot){.tag = unset, .pos = unset, .morph = unset, .lemma = unset};
    if (!d->has_doc) return 0;
    const doc_token_annot *t = &d->annot[i];
    if (t->tag.ptr) a->tag = t->tag;
    if (t->pos.ptr) a->pos = t->pos;
    a->morph = morph_str(t->morph);
    a->lemma = (nerd_str){d->lemmas.ptr + t->lemma_off, t->lemma_len};
    return 0;
}

size_t nerd_doc_nnoun_chunks(const nerd_doc *d) { return d && d->has_doc ? d->nchunks : 0; }

int nerd_doc_noun_chunk(const nerd_doc *d, size_t i, size_t *start, size_t *end)
{
    if (i >= nerd_doc_nnoun_chunks(d)) return -1;
    if (start) *start = d->chunk_start[i];
    if (end) *end = d->chunk_end[i];
    return 0;
}
