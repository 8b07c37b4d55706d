#include "util/doc_json.h"
#include "util/json.h"

#include <string.h>

static int write_key_str(buf *out, const char *key, nerd_str s)
{
    return buf_puts(out, key) || json_write_string(out, s.ptr, s.len, 0);
}

/* [{"start","end"}] of the sentences: a new one at each token whose sentence start is 1, as
 * doc.sents (one sentence when nothing was parsed: a doc of one token). */
static int write_sents(const nerd_doc *d, buf *out)
{
    size_t n = nerd_doc_ntokens(d), first = 0;
    if (buf_puts(out, ",\"sents\":[")) return -1;
    for (size_t i = 1; i <= n && n; i++) {
        if (i < n && nerd_doc_sent_start(d, i) != 1) continue;
        nerd_token a, b;
        nerd_doc_token(d, first, &a);
        nerd_doc_token(d, i - 1, &b);
        if (buf_printf(out, "%s{\"start\":%zu,\"end\":%zu}", first ? "," : "", a.idx, b.idx + b.nchars)) return -1;
        first = i;
    }
    return buf_putc(out, ']');
}

int doc_write_json(const nerd_doc *d, const char *text, size_t len, unsigned opts, buf *out)
{
    const unsigned have = nerd_doc_annotations(d);
    if (buf_puts(out, "{\"text\":") || json_write_string(out, text, len, 0)) return -1;
    if (have & NERD_ANNOT_ENTS) {
        if (buf_puts(out, ",\"ents\":[")) return -1;
        for (size_t i = 0; i < nerd_doc_nents(d); i++) {
            nerd_ent e;
            nerd_doc_ent(d, i, &e);
            if (buf_printf(out, "%s{\"start\":%zu,\"end\":%zu,\"label\":", i ? "," : "", e.start_char, e.end_char) ||
                json_write_string(out, e.label, strlen(e.label), 0) || buf_putc(out, '}'))
                return -1;
        }
        if (buf_putc(out, ']')) return -1;
    }
    if ((have & NERD_ANNOT_SENT_START) && write_sents(d, out)) return -1;
    if (buf_puts(out, ",\"tokens\":[")) return -1;
    for (size_t i = 0; i < nerd_doc_ntokens(d); i++) {
        nerd_token t;
        nerd_token_annot a;
        nerd_doc_token(d, i, &t);
        nerd_doc_token_annot(d, i, &a);
        if (buf_printf(out, "%s{\"id\":%zu,\"start\":%zu,\"end\":%zu", i ? "," : "", i, t.idx, t.idx + t.nchars) ||
            ((have & NERD_ANNOT_TAG) && write_key_str(out, ",\"tag\":", a.tag)) ||
            ((have & NERD_ANNOT_POS) && write_key_str(out, ",\"pos\":", a.pos)) ||
            ((have & NERD_ANNOT_MORPH) && write_key_str(out, ",\"morph\":", a.morph)) ||
            ((have & NERD_ANNOT_LEMMA) && write_key_str(out, ",\"lemma\":", a.lemma)))
            return -1;
        size_t head;
        const char *dep;
        if ((have & NERD_ANNOT_DEP) && !nerd_doc_head(d, i, &head, &dep) &&
            (write_key_str(out, ",\"dep\":", (nerd_str){dep, strlen(dep)}) || buf_printf(out, ",\"head\":%zu", head)))
            return -1;
        if (buf_putc(out, '}')) return -1;
    }
    if (buf_putc(out, ']')) return -1;
    /* doc.spans, when a span group was set: {"key": [{"start","end","label","kb_id"}]} (kb_id "":
     * a span_ruler's spans have none) */
    for (size_t g = 0; g < nerd_doc_nspan_groups(d); g++) {
        size_t n = 0;
        const char *key = nerd_doc_span_group(d, g, &n);
        if (buf_puts(out, g ? "," : ",\"spans\":{") || json_write_string(out, key, strlen(key), 0) ||
            buf_puts(out, ":["))
            return -1;
        for (size_t i = 0; i < n; i++) {
            nerd_ent s;
            nerd_doc_span(d, g, i, &s);
            if (buf_printf(out, "%s{\"start\":%zu,\"end\":%zu,\"label\":", i ? "," : "", s.start_char, s.end_char) ||
                json_write_string(out, s.label, strlen(s.label), 0) || buf_puts(out, ",\"kb_id\":\"\"}"))
                return -1;
        }
        if (buf_putc(out, ']') || (g + 1 == nerd_doc_nspan_groups(d) && buf_putc(out, '}'))) return -1;
    }
    if ((opts & DOC_JSON_NOUN_CHUNKS) && (have & NERD_ANNOT_DEP)) {
        if (buf_puts(out, ",\"noun_chunks\":[")) return -1;
        for (size_t k = 0; k < nerd_doc_nnoun_chunks(d); k++) {
            size_t s, e;
            nerd_token a, b;
            nerd_doc_noun_chunk(d, k, &s, &e);
            nerd_doc_token(d, s, &a);
            nerd_doc_token(d, e - 1, &b);
            if (buf_printf(out, "%s{\"start\":%zu,\"end\":%zu}", k ? "," : "", a.idx, b.idx + b.nchars)) return -1;
        }
        if (buf_putc(out, ']')) return -1;
    }
    return buf_putc(out, '}');
}
