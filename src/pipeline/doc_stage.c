/* doc_stage.c - the doc pipeline after the parse and the ner (engine.h's engine_doc): the
 * tagger's tags (computed in the parser's tok2vec pass), the attribute_ruler, the lemmatizer and
 * the noun chunks, in spaCy's order; and the accessors of include/nerd.h over what they set. */
#include "pipeline/engine.h"
#include "components/noun_chunks.h"
#include "text/morph.h"
#include "text/pystr.h"

#include <string.h>

static const nerd_str unset = {"", 0};

/* The Matcher's view of every token as the attribute_ruler sees it: the text's attributes, the
 * tagger's tags and the parser's labels; POS, MORPH, LEMMA and the entities not set yet. */
static int matcher_view(const nerd_model *m, nerd_doc *d)
{
    const size_t n = d->ntoks;
    if (grow_array((void **)&d->mtoks, &d->mtokcap, n + 1, sizeof *d->mtoks)) return -1;
    const int lower = (m->ruler.reads >> MATCHER_LOWER) & 1;
    buf_clear(&d->mstrs);
    for (size_t i = 0; i < n; i++) {
        const ner_token *t = &d->toks[i];
        matcher_token *mt = &d->mtoks[i];
        memset(mt, 0, sizeof *mt);
        for (int a = 0; a < MATCHER_NSTR; a++) mt->str[a] = (matcher_text){"", 0};
        mt->str[MATCHER_ORTH] = (matcher_text){d->text.ptr + t->start, t->len};
        mt->str[MATCHER_NORM] = (matcher_text){d->strs.ptr + t->norm_off, t->norm_len};
        mt->str[MATCHER_SHAPE] = (matcher_text){d->strs.ptr + t->shape_off, t->shape_len};
        if (d->annot[i].tag.ptr) mt->str[MATCHER_TAG] = (matcher_text){d->annot[i].tag.ptr, d->annot[i].tag.len};
        if (d->has_parse) {
            const char *dep = m->parser_moves.labels[d->deps[i]];
            mt->str[MATCHER_DEP] = (matcher_text){dep, strlen(dep)};
            mt->sent_start = d->sent_starts[i] ? 1 : -1;
        }
        if (lower) { /* offsets now, pointers once mstrs has stopped moving */
            size_t at = d->mstrs.len;
            if (py_lower(d->text.ptr + t->start, t->len, &d->mstrs)) return -1;
            mt->str[MATCHER_LOWER] = (matcher_text){(const char *)(uintptr_t)at, d->mstrs.len - at};
        }
        mt->length = t->nchars;
        mt->flags = (t->is_space ? MATCHER_IS_SPACE : 0) | (t->ws ? MATCHER_SPACY : 0);
    }
    for (size_t i = 0; lower && i < n; i++)
        d->mtoks[i].str[MATCHER_LOWER].s = d->mstrs.ptr + (uintptr_t)d->mtoks[i].str[MATCHER_LOWER].s;
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

nerd_status engine_doc(const nerd_model *m, nerd_doc *d)
{
    const size_t n = d->ntoks;
    d->has_doc = 0;
    d->nchunks = 0;
    if (grow_array((void **)&d->annot, &d->annotcap, n + 1, sizeof *d->annot)) return NERD_ERR_NOMEM;
    const int tagged = m->tagger.nlabels > 0 && d->has_parse;
    for (size_t i = 0; i < n; i++)
        d->annot[i] = (doc_token_annot){.tag = tagged ? m->tagger.labels[d->tag_ids[i]] : (nerd_str){NULL, 0}};
    if (m->ruler.mt) {
        if (matcher_view(m, d) || ar_ruler_run(&m->ruler, d->mtoks, n, &d->matches, apply_rule, d))
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
    if (d->has_parse && m->noun_chunks_en) {
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
        long nc = en_noun_chunks(n, d->heads, d->chunk_dep, d->chunk_pos, d->chunk_start, d->chunk_end);
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
    if (d->has_parse) have |= NERD_ANNOT_DEP | NERD_ANNOT_SENT_START;
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
