#include "util/displacy_json.h"
#include "text/pystr.h"
#include "util/json.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* The languages whose writing system spaCy declares right-to-left (writing_system "direction" in
 * spacy/lang/CODE); displaCy's settings.direction. */
static const char *const rtl_languages[] = {"ar", "fa", "he", "ur"};

static int write_settings(buf *out, const char *lang)
{
    const char *direction = "ltr";
    for (size_t i = 0; i < sizeof rtl_languages / sizeof *rtl_languages; i++)
        if (!strcmp(lang, rtl_languages[i])) direction = "rtl";
    return buf_puts(out, "\"settings\":{\"lang\":") || json_write_string(out, lang, strlen(lang), 0) ||
           buf_printf(out, ",\"direction\":\"%s\"}", direction);
}

int displacy_write_ents(const nerd_doc *d, const char *text, size_t len, const char *lang, buf *out)
{
    int rc = buf_puts(out, "{\"text\":") || json_write_string(out, text, len, 0) || buf_puts(out, ",\"ents\":[");
    nerd_ent e;
    /* no knowledge base links: kb_id "" and parse_ents' kb_url without a kb_url_template, "#" */
    for (size_t i = 0; !rc && !nerd_doc_ent(d, i, &e); i++)
        rc |= buf_printf(out, "%s{\"start\":%zu,\"end\":%zu,\"label\":", i ? "," : "", e.start_char, e.end_char) ||
              json_write_string(out, e.label, strlen(e.label), 0) || buf_puts(out, ",\"kb_id\":\"\",\"kb_url\":\"#\"}");
    /* the title comes from doc.user_data, which a doc made from a text has not */
    rc = rc || buf_puts(out, "],\"title\":null,") || write_settings(out, lang) || buf_putc(out, '}');
    return rc ? -1 : 0;
}

/* ---- parse_deps: the words after displaCy's retokenizer merges, and their arcs ---- */

typedef struct {
    size_t byte_start, byte_end; /* the word's text in the input: a merged word spans its tokens and the spaces between */
    nerd_str tag, pos, lemma;
    const char *dep;
    size_t head; /* the head word's index; a root is its own head */
    int is_punct, is_space;      /* the lexical flags of the word's text (IS_PUNCT, IS_SPACE) */
} dep_word;

/* spaCy's is_punct: every character of a Unicode punctuation category (P*). */
static int text_is_punct(const char *s, size_t len)
{
    for (size_t at = 0; at < len;) {
        uint32_t cp;
        at += py_utf8_next(s + at, len - at, &cp);
        utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
        if (c < UTF8PROC_CATEGORY_PC || c > UTF8PROC_CATEGORY_PO) return 0;
    }
    return 1;
}

static void set_flags(dep_word *w, const char *text)
{
    w->is_punct = text_is_punct(text + w->byte_start, w->byte_end - w->byte_start);
    w->is_space = py_str_isspace(text + w->byte_start, w->byte_end - w->byte_start);
}

/* Steps from word i up to its sentence's root, as spaCy's Span.root ranks candidates: a space or
 * punctuation word without children ranks last (n - 1), so it is not a span's root when another word can be. */
static size_t words_to_root(const dep_word *w, size_t n, const size_t *nkids, size_t i)
{
    if ((w[i].is_space || w[i].is_punct) && nkids[i] == 0) return n - 1;
    size_t steps = 0;
    for (size_t at = i; w[at].head != at && steps < n; at = w[at].head) steps++;
    return steps;
}

/* spaCy's Span.root of words [start, end): a sentence root in it, else the first word with the
 * fewest steps to the root among those whose head is outside the span, else the first word. */
static size_t span_root(const dep_word *w, size_t n, const size_t *nkids, size_t start, size_t end)
{
    for (size_t i = start; i < end; i++)
        if (w[i].head == i) return i;
    size_t best = n, root = start;
    for (size_t i = start; i < end; i++) {
        if (w[i].head >= start && w[i].head < end) continue;
        size_t steps = words_to_root(w, n, nkids, i);
        if (steps < best) best = steps, root = i;
    }
    return root;
}

typedef struct { size_t start, end; } word_span;

/* Merges each span (sorted, disjoint) into one word as spaCy's retokenizer does: the span root's
 * part of speech, dependency label and head; the tag and lemma of the root (attrs_of_root, noun
 * chunks) or of the first word (punctuation). Heads are renumbered. 0, or -1 when memory ran out. */
static int merge_words(const char *text, dep_word *w, size_t *nwords, const word_span *spans, size_t nspans,
                       int attrs_of_root)
{
    size_t n = *nwords;
    if (!nspans) return 0;
    size_t *nkids = calloc(n, sizeof *nkids), *new_index = malloc(n * sizeof *new_index);
    dep_word *merged = malloc(nspans * sizeof *merged);
    if (!nkids || !new_index || !merged) {
        free(nkids), free(new_index), free(merged);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (w[i].head != i) nkids[w[i].head]++;
    /* every span's merged word from the words as they are before any merge */
    for (size_t k = 0; k < nspans; k++) {
        size_t s = spans[k].start, e = spans[k].end, root = span_root(w, n, nkids, s, e), attrs = attrs_of_root ? root : s;
        merged[k] = (dep_word){.byte_start = w[s].byte_start, .byte_end = w[e - 1].byte_end, .tag = w[attrs].tag,
                               .pos = w[root].pos, .lemma = w[attrs].lemma, .dep = w[root].dep, .head = w[root].head};
        set_flags(&merged[k], text);
    }
    size_t out = 0, k = 0;
    for (size_t i = 0; i < n; out++) {
        if (k < nspans && i == spans[k].start) {
            for (; i < spans[k].end; i++) new_index[i] = out;
            k++;
        } else {
            new_index[i++] = out;
        }
    }
    out = 0, k = 0;
    for (size_t i = 0; i < n; out++) {
        if (k < nspans && i == spans[k].start) {
            w[out] = merged[k];
            i = spans[k++].end;
        } else {
            w[out] = w[i++];
        }
        w[out].head = new_index[w[out].head];
    }
    *nwords = out;
    free(nkids), free(new_index), free(merged);
    return 0;
}

/* parse_deps' collapse_punct spans: a word that is not punctuation with the punctuation right after it. */
static size_t punct_spans(const dep_word *w, size_t n, word_span *spans)
{
    size_t nspans = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        if (w[i].is_punct || !w[i + 1].is_punct) continue;
        size_t end = i + 1;
        while (end < n && w[end].is_punct) end++;
        spans[nspans++] = (word_span){i, end};
    }
    return nspans;
}

static int write_deps(const dep_word *w, size_t n, const char *text, const char *lang, const displacy_dep_options *o,
                      buf *out)
{
    int rc = buf_puts(out, "{\"words\":[");
    for (size_t i = 0; i < n && !rc; i++) {
        nerd_str tag = o->fine_grained ? w[i].tag : w[i].pos;
        rc |= buf_puts(out, i ? ",{\"text\":" : "{\"text\":") ||
              json_write_string(out, text + w[i].byte_start, w[i].byte_end - w[i].byte_start, 0) ||
              buf_puts(out, ",\"tag\":") || json_write_string(out, tag.ptr, tag.len, 0) || buf_puts(out, ",\"lemma\":") ||
              (o->add_lemma ? json_write_string(out, w[i].lemma.ptr, w[i].lemma.len, 0) : buf_puts(out, "null")) ||
              buf_putc(out, '}');
    }
    rc = rc || buf_puts(out, "],\"arcs\":[");
    int first = 1;
    for (size_t i = 0; i < n && !rc; i++) {
        if (w[i].head == i) continue;
        size_t start = i < w[i].head ? i : w[i].head, end = i < w[i].head ? w[i].head : i;
        rc |= buf_printf(out, "%s{\"start\":%zu,\"end\":%zu,\"label\":", first ? "" : ",", start, end) ||
              json_write_string(out, w[i].dep, strlen(w[i].dep), 0) ||
              buf_printf(out, ",\"dir\":\"%s\"}", i < w[i].head ? "left" : "right");
        first = 0;
    }
    return rc || buf_puts(out, "],") || write_settings(out, lang) || buf_putc(out, '}') ? -1 : 0;
}

int displacy_write_deps(const nerd_doc *d, const char *text, const char *lang, const displacy_dep_options *o, buf *out)
{
    size_t n = nerd_doc_ntokens(d);
    dep_word *w = malloc((n ? n : 1) * sizeof *w);
    word_span *spans = malloc((n ? n : 1) * sizeof *spans);
    int rc = -1;
    if (!w || !spans) goto done;
    for (size_t i = 0; i < n; i++) {
        nerd_token t;
        nerd_token_annot a;
        nerd_doc_token(d, i, &t);
        nerd_doc_token_annot(d, i, &a);
        w[i] = (dep_word){.byte_start = t.byte_start, .byte_end = t.byte_start + t.text.len, .tag = a.tag, .pos = a.pos,
                          .lemma = a.lemma, .dep = "", .head = i};
        /* without a parse every word is its own root and there are no arcs (spaCy warns W005) */
        if (nerd_doc_head(d, i, &w[i].head, &w[i].dep)) w[i].head = i, w[i].dep = "";
        set_flags(&w[i], text);
    }
    size_t nspans = 0, start, end;
    if (o->collapse_phrases) {
        for (size_t k = 0; !nerd_doc_noun_chunk(d, k, &start, &end); k++) spans[nspans++] = (word_span){start, end};
        if (merge_words(text, w, &n, spans, nspans, 1)) goto done;
    }
    if (o->collapse_punct && merge_words(text, w, &n, spans, punct_spans(w, n, spans), 0)) goto done;
    rc = write_deps(w, n, text, lang, o, out);
done:
    free(w);
    free(spans);
    return rc;
}
