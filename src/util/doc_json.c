#include "util/doc_json.h"
#include "util/json.h"

#include <string.h>

/* The end, in code points, of token i (its start plus its length), as spaCy's token.idx + len(token). */
static size_t token_end_char(const nerd_doc *d, size_t i)
{
    nerd_token t;
    nerd_doc_token(d, i, &t);
    return t.idx + t.nchars;
}

static size_t token_start_char(const nerd_doc *d, size_t i)
{
    nerd_token t;
    nerd_doc_token(d, i, &t);
    return t.idx;
}

static int write_sents(const nerd_doc *d, buf *out)
{
    size_t n = nerd_doc_ntokens(d);
    int rc = buf_puts(out, ",\"sents\":[");
    for (size_t start = 0, i = 1; i <= n && !rc; i++) {
        if (i < n && nerd_doc_sent_start(d, i) != 1) continue;
        rc |= buf_printf(out, "%s{\"start\":%zu,\"end\":%zu}", start ? "," : "", token_start_char(d, start),
                         token_end_char(d, i - 1));
        start = i;
    }
    return rc | buf_putc(out, ']');
}

static int write_field(buf *out, const char *name, const char *s, size_t len)
{
    return buf_printf(out, ",\"%s\":", name) || json_write_string(out, s, len, 0);
}

static int write_tokens(const nerd_doc *d, unsigned have, buf *out)
{
    int rc = buf_puts(out, ",\"tokens\":[");
    for (size_t i = 0; i < nerd_doc_ntokens(d) && !rc; i++) {
        nerd_token t;
        nerd_token_annot a;
        nerd_doc_token(d, i, &t);
        nerd_doc_token_annot(d, i, &a);
        rc |= buf_printf(out, "%s{\"id\":%zu,\"start\":%zu,\"end\":%zu", i ? "," : "", i, t.idx, t.idx + t.nchars);
        if (have & NERD_ANNOT_TAG) rc |= write_field(out, "tag", a.tag.ptr, a.tag.len);
        if (have & NERD_ANNOT_POS) rc |= write_field(out, "pos", a.pos.ptr, a.pos.len);
        if (have & NERD_ANNOT_MORPH) rc |= write_field(out, "morph", a.morph.ptr, a.morph.len);
        if (have & NERD_ANNOT_LEMMA) rc |= write_field(out, "lemma", a.lemma.ptr, a.lemma.len);
        size_t head;
        const char *dep;
        if ((have & NERD_ANNOT_DEP) && !nerd_doc_head(d, i, &head, &dep))
            rc |= write_field(out, "dep", dep, strlen(dep)) || buf_printf(out, ",\"head\":%zu", head);
        rc |= buf_putc(out, '}');
    }
    return rc | buf_putc(out, ']');
}

static int write_noun_chunks(const nerd_doc *d, buf *out)
{
    int rc = buf_puts(out, ",\"spans\":{\"noun_chunks\":[");
    size_t start, end;
    for (size_t i = 0; !rc && !nerd_doc_noun_chunk(d, i, &start, &end); i++)
        rc |= buf_printf(out, "%s{\"start\":%zu,\"end\":%zu,\"label\":\"NP\",\"kb_id\":\"\"}", i ? "," : "",
                         token_start_char(d, start), token_end_char(d, end - 1));
    return rc | buf_puts(out, "]}");
}

int doc_json_write(const nerd_doc *d, const char *text, size_t len, int noun_chunks, buf *out)
{
    unsigned have = nerd_doc_annotations(d);
    int rc = buf_puts(out, "{\"text\":") || json_write_string(out, text, len, 0);
    if (!rc && (have & NERD_ANNOT_ENTS)) {
        rc |= buf_puts(out, ",\"ents\":[");
        nerd_ent e;
        for (size_t i = 0; !rc && !nerd_doc_ent(d, i, &e); i++) {
            rc |= buf_printf(out, "%s{\"start\":%zu,\"end\":%zu,\"label\":", i ? "," : "", e.start_char, e.end_char) ||
                  json_write_string(out, e.label, strlen(e.label), 0) || buf_putc(out, '}');
        }
        rc |= buf_putc(out, ']');
    }
    if (!rc && (have & NERD_ANNOT_SENT_START)) rc |= write_sents(d, out);
    if (!rc) rc |= write_tokens(d, have, out);
    if (!rc && noun_chunks) rc |= write_noun_chunks(d, out);
    return rc || buf_putc(out, '}') ? -1 : 0;
}
